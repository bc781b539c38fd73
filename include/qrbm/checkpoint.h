/* Checkpoint files (format in docs/checkpoint.md): a plain QrbmCheckpointState written collectively
   and atomically, and read back in two parts. The checkpoint knows nothing of how a run schedules
   its work: the caller says which items to save, which group holds each, and what is done. */
#pragma once
#include <qrbm/grid.h>
#include <qrbm/util.h>

#define QRBM_CHECKPOINT_FORMAT 3 /* 2: run identity, provenance, checksums; 3: output_checksum */

/* A trajectory in progress: realisation k >= 0, or the exact reference (k = -1). */
typedef struct {
  PetscInt   k;
  PetscInt64 step;
  PetscBool pending; /* mid-chain: see QrbmPropagator */
  PetscBool mine;    /* held by this rank's group: psi on every rank, rows on the group root */
  qcomplex *psi;     /* this rank's slab of the state */
  double   *rows;    /* ntimes x reclen records measured so far */
} QrbmCheckpointItem;

typedef struct {
  /* parallel layout of the run (set by the caller for writes and loads) */
  MPI_Comm            world;
  PetscMPIInt         wrank, wsize;
  int                 ngroups, color;
  const QrbmGrid     *grid; /* this group's grid */
  const QrbmConfig   *cfg;
  /* contents */
  PetscInt64          nsteps;
  PetscInt            ntimes, reclen, rows_written;
  PetscInt64         *tsteps;   /* ntimes output steps */
  char               *done;     /* cfg->realizations flags: realisation completed */
  PetscBool           ref_done; /* -reference exact: the reference trajectory is complete */
  double             *ref_rows; /* its records (ntimes x reclen); NULL without -reference exact */
  PetscBool           ref_held; /* this rank holds ref_rows */
  PetscInt            nitems;
  QrbmCheckpointItem *items;
  double              acc_n, *acc_mean, *acc_m2; /* this group's accumulators (group root) */
  PetscInt            nbatch;                    /* K jackknife groups, 0: none */
  double             *bcount, *bsum;             /* K and K x ntimes x reclen (group root) */
  PetscInt            round;                     /* position, for the progress line */
  PetscInt64          step;
  PetscBool           wisdom_restored;           /* read: the saved FFTW wisdom was imported */
  char                run_id[33];                /* read: the identity of the checkpointed run */
  uint64_t            output_sum;                /* write: this rank's part of QrbmOutput.sum; read: the total */
} QrbmCheckpointState;

/* Collective over all ranks: written to FILE.tmp, agreed on, then rotated into place (FILE,
   FILE.1, ... -checkpoint_keep). Items with mine contribute their psi and rows. */
PetscErrorCode QrbmCheckpointWrite(const QrbmCheckpointState *st);
/* FNV-1a 64 over "name=value;" of the options a restart must not change (the list behind /physics),
   as 16 hex digits: the physics hash of outputs and checkpoints (hook for the options table). */
PetscErrorCode QrbmCheckpointPhysicsHash(const QrbmConfig *c, char hex[17]);
/* Whether this process completed a checkpoint file (FILE.tmp agreed on; rotation may follow). */
PetscBool QrbmCheckpointWritten(void);
/* Restart, part 0, collective and read-only: the format, the header counts and every dataset of
   cfg->restart against its layout-independent checksum, the shapes and types, and the norm of
   every saved state. When that fails and FILE.1 exists, the failure is reported as a warning and
   cfg->restart becomes FILE.1, which must pass. */
PetscErrorCode QrbmCheckpointChoose(QrbmConfig *cfg, const QrbmGrid *g, MPI_Comm world);
/* Restart, part 1 (before allocation), collective: checks cfg's physics options against the
   checkpoint of cfg->restart and fills nsteps, ntimes, rows_written, tsteps, done, ref_done and the
   items' (k, step, pending); imports the saved FFTW wisdom when the parallel layout (wsize ranks,
   groups of g->size, threads, planner) is the same (wisdom_restored). Free with QrbmCheckpointStateFree. */
PetscErrorCode QrbmCheckpointRead(const QrbmConfig *cfg, const QrbmGrid *g, PetscMPIInt wsize, QrbmCheckpointState *st);
PetscErrorCode QrbmCheckpointStateFree(QrbmCheckpointState *st);
/* Restart, part 2, collective. st describes the run now: its layout, ntimes output times, the
   saved items in file order with mine, psi (slab) and rows (ntimes x reclen) allocated where
   mine, and zeroed accumulators, jackknife sums and ref_rows. Reads the items' states and
   records (the first ntimes_saved output times) and merges saved accumulator slot s into group
   s mod ngroups, in slot order; the finished reference goes to group 0's root. */
PetscErrorCode QrbmCheckpointLoad(QrbmCheckpointState *st, PetscInt ntimes_saved);
