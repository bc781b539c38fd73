/* Checkpoint/restart (format in docs/checkpoint.md) and the signals that trigger a checkpoint. */
#pragma once
#include <qrbm/ensemble.h>

#define QRBM_CHECKPOINT_FORMAT 1

/* SIGUSR1 and SIGTERM only set a flag; ranks agree on it in the per-step check. */
PetscErrorCode QrbmSignalInstall(void);
int            QrbmSignalReceived(void);
/* Collective over all ranks: the in-progress items at (round, cur_step, cur_pending), the resumed
   items not yet run, the accumulators of every group, the output position; written to FILE.tmp,
   agreed on, then rotated into place (FILE, FILE.1, ... -checkpoint_keep). */
PetscErrorCode QrbmCheckpointWrite(QrbmRun *r);
/* Restart, part 1 (before allocation): checks the options against the checkpoint, reads the item
   list, completed realisations, output times and position, and imports the FFTW wisdom. */
PetscErrorCode QrbmCheckpointRead(QrbmRun *r);
/* Restart, part 2: the saved states and records of this group's items, and the accumulators. */
PetscErrorCode QrbmCheckpointLoad(QrbmRun *r);
