/* Signal flags: async-signal-safe handlers that only record the signal. */
#define _POSIX_C_SOURCE 200809L /* sigaction */
#include <qrbm/signals.h>
#include <signal.h>
#include <string.h>

static volatile sig_atomic_t signalled = 0;
static void OnSignal(int sig) { signalled = sig; }

PetscErrorCode QrbmSignalInstall(void)
{
  struct sigaction sa;
  PetscFunctionBeginUser;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  PetscCheck(!sigaction(SIGUSR1, &sa, NULL) && !sigaction(SIGTERM, &sa, NULL), PETSC_COMM_SELF, PETSC_ERR_SYS, "cannot install the SIGUSR1/SIGTERM handlers");
  PetscFunctionReturn(PETSC_SUCCESS);
}

int QrbmSignalReceived(void) { return signalled != 0; }
