/* Every run option: defaults, parsing from the PETSc options database, validation. */
#pragma once
#include <petscsys.h>
#include <qrbm/pairpot.h>

#if PETSC_VERSION_LT(3, 19, 0)
  #define PETSC_SUCCESS 0 /* Debian 12 ships PETSc 3.18 */
#endif

#define QRBM_MAX_DIM       3
#define QRBM_MAX_PARTICLES 16
/* Most time steps of a run: step numbers stay exact in the float64 datasets (2^53). */
#define QRBM_MAX_STEPS 9007199254740992LL
/* Most checkpoints kept (-checkpoint_keep): every one is a name checked at start-up and rotated. */
#define QRBM_MAX_KEEP 32
#define QRBM_VERSION       "0.1.0"
#define QRBM_FORMAT_VERSION 2 /* 2: run_id, physics_hash, provenance */

typedef enum { QRBM_INIT_COHERENT, QRBM_INIT_SYMMETRIZED, QRBM_INIT_GROUND } QrbmInitKind;
typedef enum { QRBM_METHOD_EXACT, QRBM_METHOD_RBM } QrbmMethod;
typedef enum { QRBM_EXPECT_SAMPLE, QRBM_EXPECT_ENUMERATE } QrbmExpectation;
typedef enum { QRBM_REFERENCE_NONE, QRBM_REFERENCE_EXACT } QrbmReference;
typedef enum { QRBM_PLAN_ESTIMATE, QRBM_PLAN_MEASURE, QRBM_PLAN_PATIENT } QrbmPlanner;

extern const char *const QrbmInitNames[];
extern const char *const QrbmPlannerNames[];
extern const char *const QrbmMethodNames[];
extern const char *const QrbmExpectationNames[];
extern const char *const QrbmReferenceNames[];

typedef struct {
  PetscInt          dim, particles, grid;
  PetscReal         box, hbar, t_final, dt;
  PetscInt64        nsteps; /* t_final / dt (64-bit: up to QRBM_MAX_STEPS) */
  int               scheme; /* row of the scheme table (scheme.h) */
  int               potential; /* row of the potentials table QrbmPairPotentials (pairpot.h) */
  PetscReal         strength, width, trap_omega;
  QrbmInitKind      init;
  PetscReal         init_q[QRBM_MAX_PARTICLES * QRBM_MAX_DIM];
  PetscReal         init_p[QRBM_MAX_PARTICLES * QRBM_MAX_DIM];
  PetscInt          ninit; /* packets given in init_q/init_p (1 or N) */
  PetscInt          nq, np; /* numbers given in -init_q, -init_p (0: none) */
  PetscReal         ground_tol, ground_dtau;
  PetscInt          ground_maxiter;
  char              output[PETSC_MAX_PATH_LEN];
  PetscInt64        output_interval, progress_interval; /* steps */
  PetscBool         quiet;
  QrbmPlanner       planner;
  char              wisdom[PETSC_MAX_PATH_LEN];
  PetscInt          threads;
  PetscReal         memory_limit_mb; /* 0: use MemAvailable of the node */
  QrbmMethod        method;
  PetscInt          batch_size;       /* P */
  PetscReal         rb_dt;            /* reshuffle interval Dt */
  PetscInt64        rb_steps;         /* Dt / dt */
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
  PetscInt64        ckpt_steps;       /* parsed: every so many steps (0 = not by steps) */
  PetscReal         ckpt_wall;        /* parsed: every so many wall seconds (0 = not by wall time) */
  PetscInt          checkpoint_keep;
  PetscReal         max_walltime;     /* seconds, 0 = no limit */
  PetscReal         checkpoint_test_delay; /* test only: seconds to sleep inside a checkpoint write */
  PetscInt          rdm_interval;     /* R_1 every so many output times, 0 = never */
  PetscInt          rdm_batches;      /* K realisation groups for jackknife errors */
  PetscReal         rdm_max_mb;       /* largest R_1 accepted */
  QrbmReference     reference;        /* in-run exact reference for the error of the RB mean */
} QrbmConfig;

/* The options table (src/config.c): one row per option. Parsing, -help, the output attributes
   (QrbmIdentityWriteOptions), the restart's physics checks and physics hash (checkpoint.c,
   output.c), and the input checks of qrbm-compare and qrbm-extrapolate all read it. */
typedef enum {
  QRBM_OPT_INT,    /* PetscInt or PetscInt64 field (its size decides how it is read) */
  QRBM_OPT_REAL,   /* PetscReal */
  QRBM_OPT_BOOL,   /* PetscBool */
  QRBM_OPT_STRING, /* char array */
  QRBM_OPT_CHOICE, /* int (an enum): index of a name of the row's choice list */
  QRBM_OPT_REALS   /* PetscReal array, comma list; entries in use: the row's count() */
} QrbmOptionType;
typedef enum {
  QRBM_OPT_FIXED,      /* physics: a restart refuses a changed value; part of the physics hash */
  QRBM_OPT_EXTENDABLE, /* a restart may extend it (-t_final) */
  QRBM_OPT_FREE        /* output, threads, planner, ...: may change on restart */
} QrbmOptionClass;
/* Which runs must share the value (bits of QrbmOption.use). */
#define QRBM_USE_COMBINE 1u /* qrbm-extrapolate: all inputs agree (root attribute as text) */
#define QRBM_USE_COMPARE 2u /* qrbm-compare: both runs agree (the one-particle grid) */
#define QRBM_USE_METRICS 4u /* qrbm-compare reads it from the random batch run for the metrics */
typedef const char *(*QrbmChoiceFn)(PetscInt i); /* name of value i, NULL past the last */
typedef struct {
  const char     *name; /* with the dash: "-dim"; the output attribute is the name without it */
  QrbmOptionType  type;
  const char     *def;  /* default as text ("" = empty), parsed like a value */
  QrbmOptionClass cls;
  unsigned        use;
  size_t          offset, size; /* the QrbmConfig field it fills */
  const char     *help;         /* -help text: meaning, valid range, unit */
  QrbmChoiceFn    choice;       /* CHOICE: the names */
  PetscErrorCode (*describe)(char **text);                 /* CHOICE: -help text made at run time (PetscFree it); NULL: help and the names */
  PetscInt (*count)(const QrbmConfig *c);                  /* REALS: entries in use */
  size_t given;                                             /* REALS: offset of the PetscInt that receives how many were given */
  PetscErrorCode (*parse)(MPI_Comm, const char *, void *); /* INT read as text by its own parser (else the generic one) */
} QrbmOption;
extern const QrbmOption QrbmOptions[]; /* ends with a row whose name is NULL */

/* The value of option o in c as text: integers %lld, reals %.17g, choices by name, lists as
   "%.17g," per entry in use (the physics hash and the checkpoint's /physics group use it). */
PetscErrorCode QrbmOptionText(const QrbmOption *o, const QrbmConfig *c, char *buf, size_t len);
/* Index of name in a choice list (-1: not in it) and the list as "a, b, c". */
PetscInt       QrbmOptionChoiceIndex(const QrbmOption *o, const char *name);
PetscErrorCode QrbmOptionChoiceList(const QrbmOption *o, const char *sep, char *buf, size_t len);
/* A field of c as an integer (INT, BOOL, CHOICE) or a number (also REAL). */
PetscInt64 QrbmOptionInt(const QrbmOption *o, const QrbmConfig *c);
double     QrbmOptionNumber(const QrbmOption *o, const QrbmConfig *c);
/* The i-th fixed (physics) option: scalars in table order, then lists; NULL past the last. */
const QrbmOption *QrbmOptionPhysics(PetscInt i);
/* Stores a number into the field of o (INT, REAL, BOOL, CHOICE); false when it does not fit. */
PetscBool QrbmOptionSetNumber(const QrbmOption *o, QrbmConfig *c, double v);

PetscErrorCode QrbmConfigSetFromOptions(MPI_Comm comm, QrbmConfig *cfg);
/* The parameters of the pair potential (the one place that maps options to QrbmPairParams). */
QrbmPairParams QrbmConfigPairParams(const QrbmConfig *cfg);
PetscErrorCode QrbmConfigCheckAllUsed(MPI_Comm comm);
/* The common prologue of the serial tools (qrbm-compare, qrbm-extrapolate), after they read their
   options: -help ends the run (*help_only), unknown options are errors, one MPI rank only, and
   min..max run files come first on the command line (*nfiles of them). */
PetscErrorCode QrbmConfigToolArgs(const char *tool, const char *usage, int argc, char **argv, PetscInt min, PetscInt max, PetscInt *nfiles, PetscBool *help_only);
/* Exit code of a run that wrote a checkpoint and stopped (signal or -max_walltime): resubmit it. */
#define QRBM_EXIT_CHECKPOINTED 75
