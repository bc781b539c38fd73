/* PETSc log events, one per phase, so that -log_view shows where the time goes. */
#pragma once
#include <qrbm/config.h>

extern PetscLogEvent QRBM_EVENT_PLAN, QRBM_EVENT_FFT, QRBM_EVENT_KINETIC, QRBM_EVENT_POTENTIAL, QRBM_EVENT_OBSERVABLES, QRBM_EVENT_IO, QRBM_EVENT_INIT, QRBM_EVENT_SHUFFLE, QRBM_EVENT_POTENTIAL_RB, QRBM_EVENT_CHECKPOINT, QRBM_EVENT_RDM, QRBM_EVENT_POTENTIAL_FG;
extern PetscLogStage QRBM_STAGE_SETUP, QRBM_STAGE_INIT, QRBM_STAGE_TIMELOOP;

PetscErrorCode QrbmEventsRegister(void);
