/* Agreement on success (see agree.h): the error handler records the first failure of this rank,
   QrbmAgree combines the outcome of every rank in one non-blocking reduction and rank 0 prints
   the message of the lowest failing rank. */
#define _POSIX_C_SOURCE 200809L /* sigaction, nanosleep */
#include <qrbm/agree.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static MPI_Comm  acomm = MPI_COMM_NULL;
static char      message[4096]; /* this rank's first failure since the last agreement */
static PetscBool recorded, failed, printed;
static double    timeout = QRBM_FAILURE_TIMEOUT;
static int       arank;
static void    (*on_abort)(void); /* removes this run's locks and its FILE.part (paths.c) */

void QrbmAgreeOnAbort(void (*fn)(void)) { on_abort = fn; }

static PetscErrorCode RecordingHandler(MPI_Comm comm, int line, const char *fun, const char *file, PetscErrorCode n, PetscErrorType p, const char *mess, void *ctx)
{
  const char *text = mess;
  (void)comm; (void)ctx;
  if (p != PETSC_ERROR_INITIAL || recorded) return n;
  if (!strncmp(fun, "PetscOptions", 12)) return n; /* a value PETSc cannot parse: qrbm names the option itself */
  if (!text || !text[0] || !strcmp(text, " ")) PetscErrorMessage(n, &text, NULL);
  snprintf(message, sizeof(message), "%s\n  [%s() at %s:%d, error code %d]", text ? text : "(no message)", fun, file, line, (int)n);
  recorded = PETSC_TRUE;
  return n;
}

void QrbmAgreeRecord(const char *msg)
{
  if (recorded) return;
  snprintf(message, sizeof(message), "%s", msg);
  recorded = PETSC_TRUE;
}

PetscBool QrbmAgreeFailed(void) { return failed; }

PetscErrorCode QrbmAgreeTestFault(const char *what, PetscBool after)
{
  static int  fired, seen;
  const char *env = getenv("QRBM_TEST_FAULT"), *at, *nth;
  char        text[256];
  if (!env || fired || !(at = strrchr(env, '@')) || atoi(at + 1) != arank || acomm == MPI_COMM_NULL) return PETSC_SUCCESS;
  if ((strchr(at, '+') != NULL) != (after != PETSC_FALSE)) return PETSC_SUCCESS;
  snprintf(text, sizeof(text), "%.*s", (int)(at - env), env);
  if (!strstr(what, text)) return PETSC_SUCCESS;
  nth = strchr(at, '#');
  if (++seen < (nth ? atoi(nth + 1) : 1)) return PETSC_SUCCESS;
  fired = 1;
  snprintf(message, sizeof(message), "QRBM_TEST_FAULT: injected failure of \"%s\" on rank %d", what, arank);
  recorded = PETSC_TRUE;
  return PETSC_ERR_FILE_WRITE;
}

/* Clean-up after an agreed failure must not hang: if it has not finished in time, end the job. */
static void OnAlarm(int sig)
{
  static const char m[] = "qrbm: ERROR: clean-up after the failure above did not finish in time: ending the job\n";
  (void)sig;
  if (arank == 0 && write(2, m, sizeof(m) - 1) < 0) _exit(1);
  _exit(1);
}

PetscErrorCode QrbmAgreeInitialize(void)
{
  const char *env = getenv("QRBM_FAILURE_TIMEOUT");
  PetscFunctionBeginUser;
  if (env && atof(env) > 0) timeout = atof(env);
  PetscCall(PetscPushErrorHandler(RecordingHandler, NULL));
  PetscCallMPI(MPI_Comm_dup(PETSC_COMM_WORLD, &acomm));
  PetscCallMPI(MPI_Comm_rank(acomm, &arank));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmAgreeFinalize(void)
{
  PetscFunctionBeginUser;
  if (acomm != MPI_COMM_NULL) PetscCallMPI(MPI_Comm_free(&acomm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static int PhaseId(const char *what)
{
  unsigned h = 2166136261u; /* FNV-1a: equal on every rank for the same phase */
  for (const char *s = what; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
  return (int)(h & 0x3fffffff);
}

/* This rank cannot complete the agreement: say why (once) and end the whole job. */
static void Abort(const char *what, const char *why)
{
  if (!printed) fprintf(stderr, "qrbm: ERROR: %s\n  [rank %d, %s: %s: ending the job]\n", recorded ? message : "(no message recorded)", arank, what, why);
  fflush(stderr);
  if (on_abort) on_abort();
  MPI_Abort(MPI_COMM_WORLD, 1);
}

PetscErrorCode QrbmAgreeQuiet(PetscErrorCode err, const char *what, PetscBool *ok, char *msg, size_t len)
{
  const int   id = PhaseId(what), bad = err != 0;
  int         size, v[4], done = 0;
  MPI_Request req;
  PetscFunctionBeginUser;
  if (acomm == MPI_COMM_NULL) { /* before start-up completed: nothing to agree with */
    *ok = bad ? PETSC_FALSE : PETSC_TRUE;
    if (msg && len) snprintf(msg, len, "%s", recorded ? message : what);
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  PetscCallMPI(MPI_Comm_size(acomm, &size));
  if (bad && !recorded) QrbmAgreeRecord(what);
  v[0] = bad; v[1] = -(bad ? arank : size); v[2] = id; v[3] = -id;
  PetscCallMPI(MPI_Iallreduce(MPI_IN_PLACE, v, 4, MPI_INT, MPI_MAX, acomm, &req));
  if (bad || failed) { /* the others may be stuck in a collective call this rank skipped */
    const double          t0 = MPI_Wtime();
    const struct timespec nap = {0, 2000000};
    while (!done && MPI_Wtime() - t0 < timeout) {
      PetscCallMPI(MPI_Test(&req, &done, MPI_STATUS_IGNORE));
      if (!done) nanosleep(&nap, NULL);
    }
    if (!done) Abort(what, "the other ranks did not reach the agreement in time");
  } else PetscCallMPI(MPI_Wait(&req, MPI_STATUS_IGNORE));
  if (v[2] != -v[3]) { /* some rank skipped a phase after a failure: no safe way to go on */
    if (arank == (v[0] ? -v[1] : 0)) Abort(what, "the ranks failed in different phases");
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  *ok = v[0] ? PETSC_FALSE : PETSC_TRUE;
  if (!*ok) { /* every rank learns the message of the lowest failing rank */
    PetscCallMPI(MPI_Bcast(message, sizeof(message), MPI_CHAR, -v[1], acomm));
    if (msg && len) snprintf(msg, len, "%s", message);
  }
  recorded = PETSC_FALSE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmAgree(PetscErrorCode err, const char *what)
{
  PetscBool ok;
  char      msg[sizeof(message)];
  PetscFunctionBeginUser;
  PetscCall(QrbmAgreeQuiet(err, what, &ok, msg, sizeof(msg)));
  if (ok) PetscFunctionReturn(PETSC_SUCCESS);
  if (!printed && arank == 0) {
    fprintf(stderr, "qrbm: ERROR: %s\n", msg);
    fflush(stderr);
  }
  printed = PETSC_TRUE;
  if (!failed) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = OnAlarm;
    sigaction(SIGALRM, &sa, NULL);
    alarm((unsigned)timeout + 5);
  }
  failed = PETSC_TRUE;
  PetscFunctionReturn(err ? err : PETSC_ERR_PLIB);
}

void QrbmAgreeExit(void)
{
  PetscBool ok;
  failed = PETSC_TRUE; /* the agreement below waits at most the failure timeout */
  (void)QrbmAgreeQuiet(PETSC_SUCCESS, "clean-up after a failure", &ok, NULL, 0);
  fflush(stdout);
  fflush(stderr);
  _exit(1);
}
