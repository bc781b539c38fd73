/* SIGUSR1 and SIGTERM ask a run to checkpoint and stop: the handlers only set a flag, which the
   ranks agree on in the per-step check. */
#pragma once
#include <qrbm/config.h>

PetscErrorCode QrbmSignalInstall(void);
int            QrbmSignalReceived(void);
