/* qrbm: N-body Schroedinger dynamics on a distributed grid, exact or with random batches.
   Exit codes: 0 success, 1 error (bad input or failure; no output file is left behind),
   75 (QRBM_EXIT_CHECKPOINTED) checkpoint written after a signal or -max_walltime: resubmit. */
#include <qrbm/ensemble.h>
#include <qrbm/events.h>
#include <qrbm/rdm.h>
#include <qrbm/signals.h>
#include <stdio.h>
#include <string.h>

static const char help[] = "qrbm: exact and random batch N-body quantum dynamics (Golse, Jin, Paul 2021).\n"
                           "Usage: mpirun -np R bin/qrbm [-options_file FILE] [-option value ...]\n\n";

/* Errors raised collectively are reported once, by rank 0, and returned on every rank so that all
   ranks clean up together (PETSc's default handler makes the other ranks sleep and exit). */
static PetscErrorCode QrbmErrorHandler(MPI_Comm comm, int line, const char *fun, const char *file, PetscErrorCode n, PetscErrorType p, const char *mess, void *ctx)
{
  PetscMPIInt rank = 0;
  (void)ctx;
  if (p != PETSC_ERROR_INITIAL) return n;
  if (!strncmp(fun, "PetscOptions", 12)) return n; /* a value PETSc cannot parse: qrbm names the option itself */
  if (comm != PETSC_COMM_SELF) MPI_Comm_rank(comm, &rank);
  if (rank == 0) fprintf(stderr, "qrbm: ERROR: %s\n  [%s() at %s:%d, error code %d]\n", mess ? mess : "(no message)", fun, file, line, (int)n);
  return n;
}

int main(int argc, char **argv)
{
  QrbmRun       *run;
  PetscBool      help_only, stopped = PETSC_FALSE;
  PetscErrorCode ierr;
  QrbmBlasSelectKernels(argv);
  if (PetscInitialize(&argc, &argv, NULL, help)) return 1; /* e.g. a missing -options_file */
  PetscCall(PetscPushErrorHandler(QrbmErrorHandler, NULL));
  PetscCall(QrbmEventsRegister());
  PetscCall(PetscCalloc1(1, &run));
  ierr = QrbmConfigSetFromOptions(PETSC_COMM_WORLD, &run->cfg);
  PetscCall(PetscOptionsHasHelp(NULL, &help_only));
  if (!ierr && !help_only) ierr = QrbmConfigCheckAllUsed(PETSC_COMM_WORLD);
  /* a signal during set-up (FFTW planning can be long) must not be lost; an enumeration cannot be
     checkpointed, so there the default actions stay */
  if (!ierr && !help_only && run->cfg.expectation == QRBM_EXPECT_SAMPLE) ierr = QrbmSignalInstall();
  if (!ierr && !help_only) ierr = QrbmRunSetUp(run);
  if (!ierr && !help_only) ierr = QrbmRunExecute(run, &stopped);
  if (ierr) (void)QrbmOutputClose(&run->out, QRBM_OUTPUT_FAILED); /* never leave a half-written output */
  if (!help_only) (void)QrbmRunDestroy(run);
  PetscCall(PetscFree(run));
  PetscCall(PetscFinalize());
  return ierr ? 1 : stopped ? QRBM_EXIT_CHECKPOINTED : 0;
}
