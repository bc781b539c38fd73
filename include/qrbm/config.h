/* Every run option: defaults, parsing from the PETSc options database, validation. */
#pragma once
#include <petscsys.h>

#if PETSC_VERSION_LT(3, 19, 0)
  #define PETSC_SUCCESS 0 /* Debian 12 ships PETSc 3.18 */
#endif

#define QRBM_MAX_DIM       3
#define QRBM_MAX_PARTICLES 16
#define QRBM_VERSION       "0.1.0"
#define QRBM_FORMAT_VERSION 2 /* 2: run_id, physics_hash, provenance */

typedef enum { QRBM_POT_NONE, QRBM_POT_GAUSSIAN, QRBM_POT_SOFTCOULOMB, QRBM_POT_COSINE } QrbmPotentialKind;
typedef enum { QRBM_INIT_COHERENT, QRBM_INIT_SYMMETRIZED, QRBM_INIT_GROUND } QrbmInitKind;
typedef enum { QRBM_METHOD_EXACT, QRBM_METHOD_RBM } QrbmMethod;
typedef enum { QRBM_EXPECT_SAMPLE, QRBM_EXPECT_ENUMERATE } QrbmExpectation;
typedef enum { QRBM_REFERENCE_NONE, QRBM_REFERENCE_EXACT } QrbmReference;
typedef enum { QRBM_PLAN_ESTIMATE, QRBM_PLAN_MEASURE, QRBM_PLAN_PATIENT } QrbmPlanner;

extern const char *const QrbmPotentialNames[];
extern const char *const QrbmInitNames[];
extern const char *const QrbmPlannerNames[];
extern const char *const QrbmMethodNames[];
extern const char *const QrbmExpectationNames[];
extern const char *const QrbmReferenceNames[];

typedef struct {
  PetscInt          dim, particles, grid;
  PetscReal         box, hbar, t_final, dt;
  PetscInt          nsteps; /* t_final / dt */
  int               scheme; /* row of the scheme table (scheme.h) */
  QrbmPotentialKind potential;
  PetscReal         strength, width, trap_omega;
  QrbmInitKind      init;
  PetscReal         init_q[QRBM_MAX_PARTICLES * QRBM_MAX_DIM];
  PetscReal         init_p[QRBM_MAX_PARTICLES * QRBM_MAX_DIM];
  PetscInt          ninit; /* packets given in init_q/init_p (1 or N) */
  PetscReal         ground_tol, ground_dtau;
  PetscInt          ground_maxiter;
  char              output[PETSC_MAX_PATH_LEN];
  PetscInt          output_interval, progress_interval;
  PetscBool         quiet;
  QrbmPlanner       planner;
  char              wisdom[PETSC_MAX_PATH_LEN];
  PetscInt          threads;
  PetscReal         memory_limit_mb; /* 0: use MemAvailable of the node */
  QrbmMethod        method;
  PetscInt          batch_size;       /* P */
  PetscReal         rb_dt;            /* reshuffle interval Dt */
  PetscInt          rb_steps;         /* Dt / dt */
  PetscInt          realizations, ranks_per_realization;
  PetscInt64        seed; /* 0..2^32-1 */
  PetscInt          rb_couple_level;  /* common random numbers with the run at 2 Dt (0: uncoupled) */
  PetscBool         record_pairings, save_realizations;
  QrbmExpectation   expectation;
  PetscReal         enumerate_limit;  /* largest number of enumerated pairing sequences */
  char              checkpoint_file[PETSC_MAX_PATH_LEN], restart[PETSC_MAX_PATH_LEN];
  PetscBool         checkpoint_given; /* -checkpoint_file given (else OUTPUT.ckpt, for stops only) */
  PetscBool         lock_takeover;    /* take over a lock file left by a run on another host */
  char              run_id[33];       /* identity of the run (identity.h): new, or the checkpoint's */
  char              physics_hash[17]; /* hash of the physics options (QrbmCheckpointPhysicsHash) */
  char              checkpoint_interval[64]; /* as given: "<n>" steps, "<x>t" time, "<x>s" wall s */
  PetscInt          ckpt_steps;       /* parsed: every so many steps (0 = not by steps) */
  PetscReal         ckpt_wall;        /* parsed: every so many wall seconds (0 = not by wall time) */
  PetscInt          checkpoint_keep;
  PetscReal         max_walltime;     /* seconds, 0 = no limit */
  PetscReal         checkpoint_test_delay; /* test only: seconds to sleep inside a checkpoint write */
  PetscInt          rdm_interval;     /* R_1 every so many output times, 0 = never */
  PetscInt          rdm_batches;      /* K realisation groups for jackknife errors */
  PetscReal         rdm_max_mb;       /* largest R_1 accepted */
  QrbmReference     reference;        /* in-run exact reference for the error of the RB mean */
} QrbmConfig;

PetscErrorCode QrbmConfigSetFromOptions(MPI_Comm comm, QrbmConfig *cfg);
PetscErrorCode QrbmConfigCheckAllUsed(MPI_Comm comm);
/* Exit code of a run that wrote a checkpoint and stopped (signal or -max_walltime): resubmit it. */
#define QRBM_EXIT_CHECKPOINTED 75
