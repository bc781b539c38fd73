#include <qrbm/events.h>

PetscLogEvent QRBM_EVENT_PLAN, QRBM_EVENT_FFT, QRBM_EVENT_KINETIC, QRBM_EVENT_POTENTIAL, QRBM_EVENT_OBSERVABLES, QRBM_EVENT_IO, QRBM_EVENT_INIT, QRBM_EVENT_SHUFFLE, QRBM_EVENT_POTENTIAL_RB, QRBM_EVENT_CHECKPOINT, QRBM_EVENT_RDM, QRBM_EVENT_POTENTIAL_FG, QRBM_EVENT_WIGNER, QRBM_EVENT_DISTANCE, QRBM_EVENT_KINETIC_POTENTIAL;
PetscLogStage QRBM_STAGE_SETUP, QRBM_STAGE_INIT, QRBM_STAGE_TIMELOOP;

PetscErrorCode QrbmEventsRegister(void)
{
  PetscClassId id;
  PetscFunctionBeginUser;
  PetscCall(PetscClassIdRegister("qrbm", &id));
  PetscCall(PetscLogEventRegister("QrbmFFTPlan", id, &QRBM_EVENT_PLAN));
  PetscCall(PetscLogEventRegister("QrbmFFT", id, &QRBM_EVENT_FFT));
  PetscCall(PetscLogEventRegister("QrbmKinetic", id, &QRBM_EVENT_KINETIC));
  PetscCall(PetscLogEventRegister("QrbmPotential", id, &QRBM_EVENT_POTENTIAL));
  PetscCall(PetscLogEventRegister("QrbmKineticPotential", id, &QRBM_EVENT_KINETIC_POTENTIAL));
  PetscCall(PetscLogEventRegister("QrbmShuffleBcast", id, &QRBM_EVENT_SHUFFLE));
  PetscCall(PetscLogEventRegister("QrbmPotentialRB", id, &QRBM_EVENT_POTENTIAL_RB));
  PetscCall(PetscLogEventRegister("QrbmPotentialFG", id, &QRBM_EVENT_POTENTIAL_FG));
  PetscCall(PetscLogEventRegister("QrbmObservables", id, &QRBM_EVENT_OBSERVABLES));
  PetscCall(PetscLogEventRegister("QrbmIO", id, &QRBM_EVENT_IO));
  PetscCall(PetscLogEventRegister("QrbmCheckpoint", id, &QRBM_EVENT_CHECKPOINT));
  PetscCall(PetscLogEventRegister("QrbmRDM", id, &QRBM_EVENT_RDM));
  PetscCall(PetscLogEventRegister("QrbmWigner", id, &QRBM_EVENT_WIGNER));
  PetscCall(PetscLogEventRegister("QrbmRdmDistance", id, &QRBM_EVENT_DISTANCE));
  PetscCall(PetscLogEventRegister("QrbmInitState", id, &QRBM_EVENT_INIT));
  PetscCall(PetscLogStageRegister("Setup", &QRBM_STAGE_SETUP));
  PetscCall(PetscLogStageRegister("InitialState", &QRBM_STAGE_INIT));
  PetscCall(PetscLogStageRegister("TimeLoop", &QRBM_STAGE_TIMELOOP));
  PetscFunctionReturn(PETSC_SUCCESS);
}
