/* qrbm: N-body Schroedinger dynamics on a distributed grid, exact or with random batches.
   Exit codes: 0 success, 1 error (one message; files this run did not create are left as they
   were), 75 (QRBM_EXIT_CHECKPOINTED) checkpoint written after a signal or -max_walltime: resubmit. */
#include <qrbm/agree.h>
#include <qrbm/checkpoint.h>
#include <qrbm/ensemble.h>
#include <qrbm/events.h>
#include <qrbm/identity.h>
#include <qrbm/paths.h>
#include <qrbm/rdm.h>
#include <qrbm/signals.h>
#include <stdio.h>
#include <string.h>

static const char help[] = "qrbm: exact and random batch N-body quantum dynamics (Golse, Jin, Paul 2021).\n"
                           "Usage: mpirun -np R bin/qrbm [-options_file FILE] [-option value ...]\n\n";

int main(int argc, char **argv)
{
  QrbmRun       *run;
  PetscBool      help_only, stopped = PETSC_FALSE;
  PetscErrorCode ierr;
  if (QrbmOptionsFilesCheck(argc, argv)) return 1; /* PETSc would recurse until it crashes */
  QrbmIdentitySetCommandLine(argc, argv);
  QrbmBlasSelectKernels(argv);
  if (PetscInitialize(&argc, &argv, NULL, help)) return 1; /* e.g. a missing -options_file */
  PetscCall(QrbmAgreeInitialize());
  PetscCall(QrbmEventsRegister());
  PetscCall(PetscCalloc1(1, &run));
  ierr = QrbmConfigSetFromOptions(PETSC_COMM_WORLD, &run->cfg);
  PetscCall(PetscOptionsHasHelp(NULL, &help_only));
  if (!ierr && !help_only) ierr = QrbmConfigCheckAllUsed(PETSC_COMM_WORLD);
  if (!ierr && !help_only) ierr = QrbmPathsSetUp(PETSC_COMM_WORLD, &run->cfg);
  /* a signal during set-up (FFTW planning can be long) must not be lost; an enumeration cannot be
     checkpointed, so there the default actions stay */
  if (!ierr && !help_only && run->cfg.expectation == QRBM_EXPECT_SAMPLE) ierr = QrbmSignalInstall();
  if (!ierr && !help_only) ierr = QrbmRunSetUp(run);
  if (!ierr && !help_only) ierr = QrbmRunExecute(run, &stopped);
  ierr = QrbmAgree(ierr, "the run"); /* prints the one message of a failure on any rank */
  if (ierr) {
    if (QrbmCheckpointWritten()) QrbmOutputSetCheckpointed(&run->out);
    (void)QrbmOutputClose(&run->out, QRBM_OUTPUT_FAILED); /* removes only an output this run created */
    QrbmPathsAbandon(); /* locks; old files moved aside go back when the run leaves nothing */
    QrbmAgreeExit(); /* exit 1 without MPI_Finalize: HDF5 would retry a failed close inside it */
  }
  if (!help_only) (void)QrbmRunDestroy(run);
  QrbmPathsRelease();
  PetscCall(PetscFree(run));
  PetscCall(QrbmAgreeFinalize());
  if (PetscFinalize()) fprintf(stderr, "qrbm: WARNING: PetscFinalize failed (e.g. -log_view could not write its file); the results are unaffected\n");
  return stopped ? QRBM_EXIT_CHECKPOINTED : 0;
}
