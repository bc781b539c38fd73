/* Ensembles of random batch realisations: communicator split into rank groups, realisation
   scheduling, ensemble statistics, exact enumeration of pairing sequences. */
#pragma once
#include <qrbm/output.h>
#include <qrbm/propagator.h>
#include <qrbm/wisdom.h>

typedef struct {
  MPI_Comm    world, group; /* all ranks; the ranks sharing one grid */
  PetscMPIInt wrank, wsize;
  int         ngroups, color; /* number of groups; this rank's group */
} QrbmEnsembleComm;

/* A realisation to run: from the initial state (psi == NULL) or resumed from a checkpoint. */
typedef struct {
  PetscInt   k;
  PetscInt64 step;
  PetscBool pending; /* psi is mid-chain (see QrbmPropagator) */
  PetscBool resumed; /* read from a checkpoint */
  qcomplex *psi;     /* this rank's slab of the saved state, only on the group that runs it */
  double   *rows;    /* records measured before the checkpoint (ntimes * len) */
} QrbmItem;

typedef enum { QRBM_ACTION_NONE, QRBM_ACTION_CHECKPOINT, QRBM_ACTION_STOP } QrbmAction;

typedef struct {
  QrbmConfig       cfg;
  QrbmEnsembleComm ec;
  QrbmGrid         grid;
  QrbmState        state;
  QrbmKinetic      kin;
  QrbmWisdom       wisdom;
  PetscBool        wisdom_restored; /* the checkpoint's FFTW wisdom was imported (it wins over files) */
  QrbmPotential    pot;
  QrbmPropagator   prop;
  QrbmObservables  obs;
  QrbmRecord       rec;
  QrbmOutput       out;
  PetscInt         ntimes;   /* output times of the run */
  PetscInt64      *tsteps;   /* their step numbers */
  double          *rows;     /* ntimes records of the current realisation */
  double           wall;
  qcomplex        *psi0;     /* initial state, kept when a group runs several realisations */
  /* Schedule: every group runs one item per round, in lockstep (all items of a round start at the
     same step), so that checks and checkpoints are collective over all ranks at one step. */
  PetscInt         nitems, nrounds, round;
  QrbmItem        *items;      /* global list: resumed items first, then fresh ones */
  PetscInt64      *round_step; /* nrounds */
  PetscInt        *round_item; /* nrounds x ngroups: item index or -1 (idle) */
  char            *done;       /* R flags: realisations completed before this process started */
  double           acc_n, *acc_mean, *acc_m2; /* this group's Welford accumulators (group root) */
  PetscInt         nbatch;     /* K jackknife groups (realisation k in group k mod K), 0 without R_1 */
  double          *bcount, *bsum; /* K counts, K x ntimes x len sums (group root) */
  double          *ref_rows;   /* -reference exact: its records (on the rank that holds them) */
  PetscBool        ref_done, ref_held;
  /* checks (once per step, collective over all ranks) */
  PetscInt64       work;       /* steps taken by every group in this process */
  QrbmAction       action;
  double           t_start, t_last_ckpt, t_last_check, step_wall_max, ckpt_cost;
  PetscInt         rows_written; /* single-trajectory runs: output rows already in the file */
  uint64_t         output_sum;   /* restart: the checkpoint's checksum of the output's kept rows */
  PetscInt64       cur_step;   /* step of the current round's items */
  PetscBool        cur_pending;
  PetscBool        in_reference; /* the current item is the exact reference of -reference exact */
  PetscInt         ntimes_saved; /* output times recorded in the checkpoint */
} QrbmRun;

/* Group size: -ranks_per_realization, or by default the smallest divisor g of the rank count with
   g >= ceil(points / 2^22) (one rank per 64 MiB of state) and g >= ceil(ranks / R), at most M. */
PetscErrorCode QrbmEnsembleSplit(MPI_Comm world, const QrbmConfig *cfg, QrbmEnsembleComm *ec);
PetscErrorCode QrbmRunSetUp(QrbmRun *run);
/* Returns QRBM_ACTION_STOP in *stopped when the run checkpointed and must be resubmitted. */
PetscErrorCode QrbmRunExecute(QrbmRun *run, PetscBool *stopped);
PetscErrorCode QrbmRunDestroy(QrbmRun *run);
