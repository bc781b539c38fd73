/* Agreement on success. Every collective phase (output create/open/append/close, checkpoint
   write/read, restart validation, the run as a whole) ends in QrbmAgree, so that a failure on one
   rank makes every rank fail together with one message instead of leaving the others waiting in a
   collective call. Errors are recorded by qrbm's error handler, never printed where they arise. */
#pragma once
#include <petscsys.h>

#if PETSC_VERSION_LT(3, 19, 0)
  #define PETSC_SUCCESS 0
#endif

/* Seconds a rank that failed waits for the others to reach the agreement before it prints its
   message and aborts the job (exit 1); environment variable QRBM_FAILURE_TIMEOUT overrides it. */
#define QRBM_FAILURE_TIMEOUT 10.0

/* After PetscInitialize: installs the recording error handler and duplicates PETSC_COMM_WORLD for
   the agreements (so that they never match another collective call). */
PetscErrorCode QrbmAgreeInitialize(void);
PetscErrorCode QrbmAgreeFinalize(void);
/* Collective over PETSC_COMM_WORLD. err is this rank's result of phase `what`. Returns 0 on every
   rank when every rank succeeded; otherwise rank 0 prints the message of the lowest failing rank
   once ("qrbm: ERROR: ...") and every rank returns an error. A rank that failed waits at most the
   failure timeout for the others; ranks out of step (a different phase) abort the job with exit 1. */
PetscErrorCode QrbmAgree(PetscErrorCode err, const char *what);
/* The same agreement, for a failure the caller handles (a checkpoint that fails its checks): *ok,
   and on failure the message of the lowest failing rank on every rank; nothing is printed. */
PetscErrorCode QrbmAgreeQuiet(PetscErrorCode err, const char *what, PetscBool *ok, char *msg, size_t len);
/* True once a failure has been agreed on: clean-up runs under a watchdog that ends the job
   (exit 1) if a collective clean-up call never returns. */
PetscBool QrbmAgreeFailed(void);
/* After an agreed failure and its clean-up: waits (at most the failure timeout) until every rank
   has cleaned up, then ends this process with exit code 1 without MPI_Finalize (HDF5 would retry
   closing a file whose close failed on a full disk, and crash or hang, inside it; a failed run
   writes no -log_view either). */
void QrbmAgreeExit(void);
/* What a rank that ends the whole job alone must clean up first (the locks and FILE.part). */
void QrbmAgreeOnAbort(void (*fn)(void));
/* Records msg as this rank's failure (for failures detected outside PETSc's error path). */
void QrbmAgreeRecord(const char *msg);

/* Tests only: environment variable QRBM_TEST_FAULT=TEXT@RANK makes rank RANK fail the first
   collective phase whose description contains TEXT without running it (as a rank does that fails
   early, leaving the others inside the phase's collective calls); TEXT@RANK+ fails it after
   running it (as a rank does whose part of a collective write failed); a suffix #N fails the
   N-th such phase instead of the first. */
PetscErrorCode QrbmAgreeTestFault(const char *what, PetscBool after);

/* Runs `call` on every rank and agrees on its success. */
#define QrbmCollective(what, call) \
  do { \
    PetscErrorCode qrbm_err_ = QrbmAgreeTestFault(what, PETSC_FALSE); \
    if (!qrbm_err_) qrbm_err_ = (call); \
    if (!qrbm_err_) qrbm_err_ = QrbmAgreeTestFault(what, PETSC_TRUE); \
    PetscCall(QrbmAgree(qrbm_err_, what)); \
  } while (0)
