/* Options: defaults first, then the PETSc options database, then validation with messages that
   name the option and its valid range. */
#include <qrbm/config.h>
#include <qrbm/scheme.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const QrbmPotentialNames[] = {"none", "gaussian", "softcoulomb", "cosine", "QrbmPotentialKind", "QRBM_POT_", NULL};
const char *const QrbmInitNames[]      = {"coherent", "symmetrized", "ground", "QrbmInitKind", "QRBM_INIT_", NULL};
const char *const QrbmPlannerNames[]   = {"estimate", "measure", "patient", "QrbmPlanner", "QRBM_PLAN_", NULL};
const char *const QrbmMethodNames[]    = {"exact", "rbm", "QrbmMethod", "QRBM_METHOD_", NULL};
const char *const QrbmReferenceNames[] = {"none", "exact", "QrbmReference", "QRBM_REFERENCE_", NULL};
const char *const QrbmExpectationNames[] = {"sample", "enumerate", "QrbmExpectation", "QRBM_EXPECT_", NULL};

static PetscErrorCode SetDefaults(QrbmConfig *c)
{
  PetscFunctionBeginUser;
  memset(c, 0, sizeof(*c));
  c->dim = 1; c->particles = 2; c->grid = 64;
  c->box = 16.0; c->hbar = 1.0; c->t_final = 1.0; c->dt = 0.01;
  c->scheme = (int)QrbmSchemeFind("strang"); c->potential = QRBM_POT_GAUSSIAN;
  c->strength = 1.0; c->width = 1.0; c->trap_omega = 0.0;
  c->init = QRBM_INIT_COHERENT; c->ninit = 1;
  c->ground_tol = 1e-10; c->ground_maxiter = 100000; c->ground_dtau = 0.0;
  PetscCall(PetscStrncpy(c->output, "qrbm.h5", sizeof(c->output)));
  c->output_interval = 10; c->progress_interval = 0;
  c->planner = QRBM_PLAN_MEASURE; c->threads = 1;
  c->method = QRBM_METHOD_EXACT; c->batch_size = 2; c->rb_dt = 0; c->realizations = 1; c->seed = 1;
  c->expectation = QRBM_EXPECT_SAMPLE; c->enumerate_limit = 1e5;
  c->checkpoint_keep = 2; /* the previous checkpoint is the fallback when the newest fails its checks */
  c->rdm_interval = 0; c->rdm_batches = 8; c->rdm_max_mb = 1024; c->reference = QRBM_REFERENCE_NONE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode CheckPackets(MPI_Comm comm, QrbmConfig *c, PetscInt nq, PetscInt np)
{
  const PetscInt d = c->dim, N = c->particles;
  PetscFunctionBeginUser;
  c->ninit = c->init == QRBM_INIT_SYMMETRIZED ? N : 1; /* ground starts from one coherent packet */
  const PetscInt want = c->ninit * d;
  PetscCheck(nq == 0 || nq == want, comm, PETSC_ERR_ARG_SIZ, "-init_q: %s needs %" PetscInt_FMT " numbers (%s), got %" PetscInt_FMT,
             QrbmInitNames[c->init], want, c->ninit == 1 ? "d, shared by all particles" : "N*d, one packet per particle", nq);
  PetscCheck(np == 0 || np == want, comm, PETSC_ERR_ARG_SIZ, "-init_p: %s needs %" PetscInt_FMT " numbers (%s), got %" PetscInt_FMT,
             QrbmInitNames[c->init], want, c->ninit == 1 ? "d, shared by all particles" : "N*d, one packet per particle", np);
  for (PetscInt i = 0; i < want; i++) {
    PetscCheck(PetscAbsReal(c->init_q[i]) < 0.5 * c->box, comm, PETSC_ERR_ARG_OUTOFRANGE,
               "-init_q entry %" PetscInt_FMT " = %g lies outside the box (-L/2, L/2) = (%g, %g)", i, (double)c->init_q[i], -0.5 * (double)c->box, 0.5 * (double)c->box);
    PetscCheck(PetscIsNormalReal(c->init_p[i]) || c->init_p[i] == 0, comm, PETSC_ERR_ARG_OUTOFRANGE, "-init_p entry %" PetscInt_FMT " is not finite", i);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* PETSc's message for an unreadable value does not say which option: add it. */
#define OPT(call, name) \
  do { \
    if ((call)) PetscCall(Unreadable(comm, name)); \
  } while (0)

static PetscErrorCode Unreadable(MPI_Comm comm, const char *name)
{
  char      text[256] = "";
  PetscBool set;
  PetscFunctionBeginUser;
  PetscCall(PetscOptionsGetString(NULL, NULL, name, text, sizeof(text), &set));
  SETERRQ(comm, PETSC_ERR_ARG_WRONG, "option %s %s: the value given cannot be read (see bin/qrbm -help for its type and range)", name, text);
}

/* Enumerated options are read as strings and looked up here, so that a wrong value is answered with
   the list of valid ones (PETSc 3.18's enum parser also reads past its buffer on unknown values). */
static PetscErrorCode ReadChoice(PetscOptionItems *PetscOptionsObject, MPI_Comm comm, const char *opt, const char *help, const char *const *names, void *value)
{
  char      buf[64], text[256], list[160] = "";
  PetscInt  n = 0;
  PetscBool set;
  int      *v = (int *)value;
  PetscFunctionBeginUser;
  while (names[n]) n++;
  n -= 2; /* PETSc enum lists end with the type name and the prefix */
  for (PetscInt i = 0; i < n; i++) {
    PetscCall(PetscStrlcat(list, i ? " " : "", sizeof(list)));
    PetscCall(PetscStrlcat(list, names[i], sizeof(list)));
  }
  PetscCall(PetscSNPrintf(text, sizeof(text), "%s (one of: %s)", help, list));
  PetscCall(PetscStrncpy(buf, names[*v], sizeof(buf)));
  PetscCall(PetscOptionsString(opt, text, "", buf, buf, sizeof(buf), &set));
  for (PetscInt i = 0; i < n; i++)
    if (!strcmp(buf, names[i])) {
      *v = (int)i;
      PetscFunctionReturn(PETSC_SUCCESS);
    }
  SETERRQ(comm, PETSC_ERR_ARG_OUTOFRANGE, "%s %s: valid values are %s", opt, buf, list);
}

/* -scheme: a row of the scheme table. Its -help text is QrbmSchemeHelp's (every value with its
   order and FFT pairs per step): tests/test_schemes.py reads the schemes and orders from it. */
static PetscErrorCode ReadScheme(PetscOptionItems *PetscOptionsObject, MPI_Comm comm, int *scheme)
{
  char     buf[64], *help, *list;
  PetscInt i;
  PetscFunctionBeginUser;
  PetscCall(QrbmSchemeHelp(&help));
  PetscCall(PetscStrncpy(buf, QrbmSchemeName(*scheme), sizeof(buf)));
  PetscCall(PetscOptionsString("-scheme", help, "", buf, buf, sizeof(buf), NULL));
  PetscCall(PetscFree(help));
  i = QrbmSchemeFind(buf);
  if (i >= 0) *scheme = (int)i;
  if (i >= 0) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(QrbmSchemeNameList(&list));
  SETERRQ(comm, PETSC_ERR_ARG_OUTOFRANGE, "-scheme %s: valid values are %s", buf, list); /* list is lost: the run ends */
}

static PetscErrorCode ParseSeed(MPI_Comm comm, const char *text, PetscInt64 *seed)
{
  char              *end;
  unsigned long long v;
  PetscFunctionBeginUser;
  v = strtoull(text, &end, 10);
  PetscCheck(end != text && !*end && text[0] != '-' && v <= 4294967295ULL, comm, PETSC_ERR_ARG_OUTOFRANGE, "-seed %s: valid range is 0..4294967295 (the Philox key word)", text);
  *seed = (PetscInt64)v;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode ParseOptions(MPI_Comm comm, QrbmConfig *c, PetscInt *nq, PetscInt *np)
{
  PetscBool set;
  char      seed[64] = "1";
  PetscFunctionBeginUser;
  PetscOptionsBegin(comm, NULL, "qrbm: N-body Schroedinger dynamics, exact and random batch", NULL);
  OPT(PetscOptionsInt("-dim", "space dimension d per particle [1..3]", "", c->dim, &c->dim, NULL), "-dim");
  OPT(PetscOptionsInt("-particles", "number of particles N [1..16]", "", c->particles, &c->particles, NULL), "-particles");
  OPT(PetscOptionsInt("-grid", "grid points M per axis [2..65536]", "", c->grid, &c->grid, NULL), "-grid");
  OPT(PetscOptionsReal("-box", "box length L per axis, box [-L/2,L/2) [length]", "", c->box, &c->box, NULL), "-box");
  OPT(PetscOptionsReal("-hbar", "Planck constant hbar > 0 [action]", "", c->hbar, &c->hbar, NULL), "-hbar");
  OPT(PetscOptionsReal("-t_final", "final time > 0 [time]", "", c->t_final, &c->t_final, NULL), "-t_final");
  OPT(PetscOptionsReal("-dt", "time step dt, t_final/dt integer [time]", "", c->dt, &c->dt, NULL), "-dt");
  PetscCall(ReadScheme(PetscOptionsObject, comm, &c->scheme));
  PetscCall(ReadChoice(PetscOptionsObject, comm, "-potential", "pair potential V", QrbmPotentialNames, &c->potential));
  OPT(PetscOptionsReal("-potential_strength", "strength lambda of V [energy]", "", c->strength, &c->strength, NULL), "-potential_strength");
  OPT(PetscOptionsReal("-potential_width", "gaussian sigma, softcoulomb eps, cosine wavelength (L/width integer) > 0 [length]", "", c->width, &c->width, NULL), "-potential_width");
  OPT(PetscOptionsReal("-trap_omega", "harmonic trap U = omega^2 |x|^2/2, 0 = none, >= 0 [1/time]", "", c->trap_omega, &c->trap_omega, NULL), "-trap_omega");
  PetscCall(ReadChoice(PetscOptionsObject, comm, "-init", "initial state", QrbmInitNames, &c->init));
  *nq = *np = QRBM_MAX_PARTICLES * QRBM_MAX_DIM;
  OPT(PetscOptionsRealArray("-init_q", "packet centres: d numbers (coherent) or N*d (symmetrized) [length]", "", c->init_q, nq, &set), "-init_q");
  if (!set) *nq = 0;
  OPT(PetscOptionsRealArray("-init_p", "packet momenta: d numbers (coherent) or N*d (symmetrized) [momentum]", "", c->init_p, np, &set), "-init_p");
  if (!set) *np = 0;
  OPT(PetscOptionsReal("-ground_tol", "ground state: stop when the energy changes by less than tol (relative) over 10 steps", "", c->ground_tol, &c->ground_tol, NULL), "-ground_tol");
  OPT(PetscOptionsInt("-ground_maxiter", "ground state: maximum imaginary-time steps", "", c->ground_maxiter, &c->ground_maxiter, NULL), "-ground_maxiter");
  OPT(PetscOptionsReal("-ground_dtau", "ground state: imaginary time step, 0 = dt [time]", "", c->ground_dtau, &c->ground_dtau, NULL), "-ground_dtau");
  OPT(PetscOptionsString("-output", "HDF5 output file", "", c->output, c->output, sizeof(c->output), NULL), "-output");
  OPT(PetscOptionsInt("-output_interval", "steps between output times >= 1", "", c->output_interval, &c->output_interval, NULL), "-output_interval");
  OPT(PetscOptionsInt("-progress_interval", "steps between progress lines, 0 = about 10 lines per run", "", c->progress_interval, &c->progress_interval, NULL), "-progress_interval");
  OPT(PetscOptionsBool("-quiet", "no progress lines or summary", "", c->quiet, &c->quiet, NULL), "-quiet");
  PetscCall(ReadChoice(PetscOptionsObject, comm, "-fftw_planner", "FFTW planner effort", QrbmPlannerNames, &c->planner));
  OPT(PetscOptionsString("-fftw_wisdom", "FFTW wisdom: empty = per-user cache, none = no file, else a file prefix (grid, ranks, threads appended)", "", c->wisdom, c->wisdom, sizeof(c->wisdom), NULL), "-fftw_wisdom");
  OPT(PetscOptionsInt("-threads", "threads per rank (FFTW + OpenMP) [1..256]", "", c->threads, &c->threads, NULL), "-threads");
  OPT(PetscOptionsReal("-memory_limit_mb", "memory per rank in MiB, 0 = node MemAvailable / ranks on node [MiB]", "", c->memory_limit_mb, &c->memory_limit_mb, NULL), "-memory_limit_mb");
  PetscCall(ReadChoice(PetscOptionsObject, comm, "-method", "dynamics: exact H_N or random batch", QrbmMethodNames, &c->method));
  OPT(PetscOptionsInt("-batch_size", "random batch size P: 2 <= P <= N, P divides N", "", c->batch_size, &c->batch_size, NULL), "-batch_size");
  OPT(PetscOptionsReal("-rb_dt", "reshuffle interval Dt, a whole multiple of dt, 0 = dt [time]", "", c->rb_dt, &c->rb_dt, NULL), "-rb_dt");
  OPT(PetscOptionsInt("-realizations", "independent random batch realisations R >= 1", "", c->realizations, &c->realizations, NULL), "-realizations");
  OPT(PetscOptionsString("-seed", "random seed [0..4294967295]", "", seed, seed, sizeof(seed), &set), "-seed");
  if (set) PetscCall(ParseSeed(comm, seed, &c->seed));
  OPT(PetscOptionsInt("-rb_couple_level", "common random numbers: interval 2j reuses interval j of the same seed at 2 Dt and level - 1, 0 = uncoupled", "", c->rb_couple_level, &c->rb_couple_level, NULL), "-rb_couple_level");
  OPT(PetscOptionsInt("-ranks_per_realization", "ranks per realisation group g (divides the rank count), 0 = automatic", "", c->ranks_per_realization, &c->ranks_per_realization, NULL), "-ranks_per_realization");
  OPT(PetscOptionsBool("-record_pairings", "store every pairing permutation in /pairings", "", c->record_pairings, &c->record_pairings, NULL), "-record_pairings");
  OPT(PetscOptionsBool("-save_realizations", "store the per-realisation series in /realizations", "", c->save_realizations, &c->save_realizations, NULL), "-save_realizations");
  PetscCall(ReadChoice(PetscOptionsObject, comm, "-rb_expectation", "sample realisations or enumerate every pairing sequence", QrbmExpectationNames, &c->expectation));
  OPT(PetscOptionsReal("-rb_enumerate_limit", "largest number of pairing sequences -rb_expectation enumerate accepts", "", c->enumerate_limit, &c->enumerate_limit, NULL), "-rb_enumerate_limit");
  OPT(PetscOptionsString("-checkpoint_file", "checkpoint file (HDF5); empty = OUTPUT.ckpt, written only when a signal or -max_walltime stops the run", "", c->checkpoint_file, c->checkpoint_file, sizeof(c->checkpoint_file), NULL), "-checkpoint_file");
  OPT(PetscOptionsString("-checkpoint_interval", "checkpoint every <n> steps, <x>t simulated time or <x>s wall seconds, empty = only on signals/limits", "", c->checkpoint_interval, c->checkpoint_interval, sizeof(c->checkpoint_interval), NULL), "-checkpoint_interval");
  OPT(PetscOptionsInt("-checkpoint_keep", "number of checkpoints kept (FILE, FILE.1, ...) >= 1", "", c->checkpoint_keep, &c->checkpoint_keep, NULL), "-checkpoint_keep");
  OPT(PetscOptionsString("-restart", "continue the run saved in this checkpoint file", "", c->restart, c->restart, sizeof(c->restart), NULL), "-restart");
  OPT(PetscOptionsBool("-lock_takeover", "take over the lock file of the output/checkpoint left by a run on another host (a requeued job)", "", c->lock_takeover, &c->lock_takeover, NULL), "-lock_takeover");
  OPT(PetscOptionsReal("-max_walltime", "checkpoint and exit 75 before this many wall seconds, 0 = no limit [s]", "", c->max_walltime, &c->max_walltime, NULL), "-max_walltime");
  OPT(PetscOptionsReal("-checkpoint_test_delay", "TEST ONLY: sleep this long inside every checkpoint write [s]", "", c->checkpoint_test_delay, &c->checkpoint_test_delay, NULL), "-checkpoint_test_delay");
  OPT(PetscOptionsInt("-rdm_interval", "one-particle reduced density matrix R_1 every so many output times, 0 = never", "", c->rdm_interval, &c->rdm_interval, NULL), "-rdm_interval");
  OPT(PetscOptionsInt("-rdm_batches", "realisation groups K for jackknife errors of R_1 distances [2..]", "", c->rdm_batches, &c->rdm_batches, NULL), "-rdm_batches");
  OPT(PetscOptionsReal("-rdm_max_mb", "largest R_1 (M^d x M^d complex) accepted [MiB]", "", c->rdm_max_mb, &c->rdm_max_mb, NULL), "-rdm_max_mb");
  PetscCall(ReadChoice(PetscOptionsObject, comm, "-reference", "also run the exact dynamics as reference for the RB error (/error)", QrbmReferenceNames, &c->reference));
  PetscOptionsEnd();
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode CheckBatches(MPI_Comm comm, QrbmConfig *c)
{
  const PetscInt N = c->particles, P = c->batch_size;
  PetscFunctionBeginUser;
  PetscCheck(c->realizations >= 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "-realizations %" PetscInt_FMT ": must be >= 1", c->realizations);
  PetscCheck(c->ranks_per_realization >= 0, comm, PETSC_ERR_ARG_OUTOFRANGE, "-ranks_per_realization %" PetscInt_FMT ": must be >= 1 (or 0 = automatic)", c->ranks_per_realization);
  PetscCheck(c->enumerate_limit >= 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "-rb_enumerate_limit %g: must be >= 1", (double)c->enumerate_limit);
  if (c->rb_dt == 0) c->rb_dt = c->dt;
  PetscCheck(c->rb_dt > 0 && PetscIsNormalReal(c->rb_dt), comm, PETSC_ERR_ARG_OUTOFRANGE, "-rb_dt %g: must be finite and > 0 (0 = dt)", (double)c->rb_dt);
  const double k = c->rb_dt / c->dt;
  PetscCheck(fabs(k - round(k)) <= 1e-9 * k && round(k) >= 1, comm, PETSC_ERR_ARG_INCOMP, "-rb_dt %g is not a whole multiple of -dt %g: nearest valid values are %.12g and %.12g",
             (double)c->rb_dt, (double)c->dt, PetscMax(1, floor(k)) * c->dt, PetscMax(1, ceil(k)) * c->dt);
  c->rb_steps = (PetscInt)round(k);
  PetscCheck(c->expectation == QRBM_EXPECT_SAMPLE || (!c->checkpoint_file[0] && !c->checkpoint_interval[0] && !c->restart[0] && c->max_walltime == 0 && !c->save_realizations && !c->record_pairings), comm, PETSC_ERR_ARG_INCOMP,
             "-rb_expectation enumerate computes an exact expectation without realisations: it cannot be checkpointed (-checkpoint_file, -checkpoint_interval, -restart, -max_walltime) and has no -save_realizations or -record_pairings");
  PetscCheck(c->rb_couple_level >= 0 && c->rb_couple_level <= 62, comm, PETSC_ERR_ARG_OUTOFRANGE, "-rb_couple_level %" PetscInt_FMT ": valid range is 0..62 (0 = uncoupled)", c->rb_couple_level);
  PetscCheck(c->rb_couple_level == 0 || (c->method == QRBM_METHOD_RBM && c->expectation == QRBM_EXPECT_SAMPLE), comm, PETSC_ERR_ARG_INCOMP,
             "-rb_couple_level %" PetscInt_FMT " couples sampled pairings: it needs -method rbm and -rb_expectation sample", c->rb_couple_level);
  if (c->method == QRBM_METHOD_EXACT) {
    PetscCheck(c->realizations == 1, comm, PETSC_ERR_ARG_INCOMP, "-realizations %" PetscInt_FMT " with -method exact: the exact dynamics is deterministic, use -realizations 1 (or -method rbm)", c->realizations);
    PetscCheck(c->expectation == QRBM_EXPECT_SAMPLE, comm, PETSC_ERR_ARG_INCOMP, "-rb_expectation enumerate needs -method rbm");
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  PetscCheck(N >= 2, comm, PETSC_ERR_ARG_INCOMP, "-method rbm needs -particles >= 2 (got %" PetscInt_FMT ")", N);
  PetscCheck(P >= 2 && P <= N && N % P == 0, comm, PETSC_ERR_ARG_INCOMP, "-batch_size %" PetscInt_FMT ": P must divide -particles %" PetscInt_FMT " with 2 <= P <= N", P, N);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* "<n>" steps, "<x>t" simulated time (rounded to whole steps), "<x>s" wall-clock seconds. */
static PetscErrorCode CheckCheckpoints(MPI_Comm comm, QrbmConfig *c)
{
  char  *end;
  double v;
  PetscFunctionBeginUser;
  PetscCheck(c->checkpoint_keep >= 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "-checkpoint_keep %" PetscInt_FMT ": must be >= 1", c->checkpoint_keep);
  PetscCheck(c->max_walltime >= 0, comm, PETSC_ERR_ARG_OUTOFRANGE, "-max_walltime %g: must be >= 0 seconds (0 = no limit)", (double)c->max_walltime);
  PetscCheck(c->checkpoint_test_delay >= 0, comm, PETSC_ERR_ARG_OUTOFRANGE, "-checkpoint_test_delay %g: must be >= 0", (double)c->checkpoint_test_delay);
  if (!c->checkpoint_interval[0]) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCheck(c->checkpoint_file[0], comm, PETSC_ERR_ARG_INCOMP, "-checkpoint_interval needs -checkpoint_file");
  v = strtod(c->checkpoint_interval, &end);
  PetscCheck(end != c->checkpoint_interval && v > 0 && PetscIsNormalReal(v) && (!*end || !strcmp(end, "t") || !strcmp(end, "s")), comm, PETSC_ERR_ARG_WRONG,
             "-checkpoint_interval %s: expected <n> (steps), <x>t (simulated time) or <x>s (wall seconds), with a positive number", c->checkpoint_interval);
  if (*end == 's') c->ckpt_wall = v;
  else {
    const double steps = *end == 't' ? v / c->dt : v;
    PetscCheck(fabs(steps - round(steps)) < 1e-9 * steps && round(steps) >= 1, comm, PETSC_ERR_ARG_WRONG, "-checkpoint_interval %s: must be a whole number >= 1 of steps (dt = %g)", c->checkpoint_interval, (double)c->dt);
    PetscCheck(steps <= PETSC_MAX_INT, comm, PETSC_ERR_ARG_OUTOFRANGE, "-checkpoint_interval %s: %g steps exceed PETSc's integers (at most %d)", c->checkpoint_interval, steps, (int)PETSC_MAX_INT);
    c->ckpt_steps = (PetscInt)round(steps);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode CheckRdm(MPI_Comm comm, QrbmConfig *c)
{
  const double md = pow((double)c->grid, (double)c->dim), mb = 16.0 * md * md / 1048576.0;
  PetscFunctionBeginUser;
  PetscCheck(c->rdm_interval >= 0, comm, PETSC_ERR_ARG_OUTOFRANGE, "-rdm_interval %" PetscInt_FMT ": must be >= 0 output times (0 = never)", c->rdm_interval);
  PetscCheck(c->rdm_batches >= 2, comm, PETSC_ERR_ARG_OUTOFRANGE, "-rdm_batches %" PetscInt_FMT ": must be >= 2", c->rdm_batches);
  PetscCheck(c->rdm_interval == 0 || mb <= c->rdm_max_mb, comm, PETSC_ERR_ARG_OUTOFRANGE,
             "-rdm_interval: R_1 of M^d x M^d = %g x %g complex numbers needs %.1f MiB > -rdm_max_mb %g: reduce -grid, raise -rdm_max_mb or set -rdm_interval 0", md, md, mb, (double)c->rdm_max_mb);
  if (c->reference == QRBM_REFERENCE_NONE) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCheck(c->method == QRBM_METHOD_RBM, comm, PETSC_ERR_ARG_INCOMP, "-reference exact compares a random batch run with the exact one: it needs -method rbm");
  PetscCheck(c->rdm_interval > 0, comm, PETSC_ERR_ARG_INCOMP, "-reference exact compares reduced density matrices: set -rdm_interval >= 1");
  PetscCheck(c->expectation == QRBM_EXPECT_SAMPLE, comm, PETSC_ERR_ARG_INCOMP, "-reference exact works with -rb_expectation sample; for enumerate, run the exact reference separately and use qrbm-compare");
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* PETSc's integer parser wraps values beyond 32 bits silently (99999999999 reads as 1215752191):
   every integer option is re-read as text and refused when it does not fit a PetscInt. */
static PetscErrorCode CheckIntegerTexts(MPI_Comm comm)
{
  static const char *ints[] = {"-dim", "-particles", "-grid", "-ground_maxiter", "-output_interval", "-progress_interval", "-threads", "-batch_size", "-realizations", "-rb_couple_level",
                               "-ranks_per_realization", "-checkpoint_keep", "-rdm_interval", "-rdm_batches"};
  char      text[256];
  PetscBool set;
  PetscFunctionBeginUser;
  for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
    PetscCall(PetscOptionsGetString(NULL, NULL, ints[i], text, sizeof(text), &set));
    if (!set) continue;
    errno = 0;
    char           *end;
    const long long v = strtoll(text, &end, 10);
    PetscCheck(!(errno == ERANGE || (end != text && !*end && (v > PETSC_MAX_INT || v < PETSC_MIN_INT))), comm, PETSC_ERR_ARG_OUTOFRANGE,
               "option %s %s: out of the range of PETSc's integers (%d .. %d); see bin/qrbm -help for its valid range", ints[i], text, (int)PETSC_MIN_INT, (int)PETSC_MAX_INT);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode CheckRanges(MPI_Comm comm, QrbmConfig *c)
{
  PetscFunctionBeginUser;
  PetscCall(CheckIntegerTexts(comm));
  PetscCheck(c->dim >= 1 && c->dim <= QRBM_MAX_DIM, comm, PETSC_ERR_ARG_OUTOFRANGE, "-dim %" PetscInt_FMT ": valid range is 1..3", c->dim);
  PetscCheck(c->particles >= 1 && c->particles <= QRBM_MAX_PARTICLES, comm, PETSC_ERR_ARG_OUTOFRANGE, "-particles %" PetscInt_FMT ": valid range is 1..%d", c->particles, QRBM_MAX_PARTICLES);
  PetscCheck(c->grid >= 2 && c->grid <= 65536, comm, PETSC_ERR_ARG_OUTOFRANGE, "-grid %" PetscInt_FMT ": valid range is 2..65536 points per axis", c->grid);
  PetscCheck(c->box > 0 && PetscIsNormalReal(c->box), comm, PETSC_ERR_ARG_OUTOFRANGE, "-box %g: must be a finite length > 0", (double)c->box);
  PetscCheck(c->hbar > 0 && PetscIsNormalReal(c->hbar), comm, PETSC_ERR_ARG_OUTOFRANGE, "-hbar %g: must be finite and > 0", (double)c->hbar);
  PetscCheck(c->t_final > 0 && PetscIsNormalReal(c->t_final), comm, PETSC_ERR_ARG_OUTOFRANGE, "-t_final %g: must be finite and > 0", (double)c->t_final);
  PetscCheck(c->dt > 0 && PetscIsNormalReal(c->dt), comm, PETSC_ERR_ARG_OUTOFRANGE, "-dt %g: must be finite and > 0", (double)c->dt);
  PetscCheck(c->dt <= c->t_final, comm, PETSC_ERR_ARG_OUTOFRANGE, "-dt %g exceeds -t_final %g: need 0 < dt <= t_final", (double)c->dt, (double)c->t_final);
  const double ratio = c->t_final / c->dt, n = round(ratio);
  PetscCheck(ratio <= PETSC_MAX_INT - 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "-t_final / -dt = %g steps: at most %d steps are supported (PETSc's 32-bit integers), increase -dt or split the run", ratio, (int)PETSC_MAX_INT - 1);
  PetscCheck(fabs(ratio - n) <= 1e-9 * n, comm, PETSC_ERR_ARG_INCOMP,
             "-t_final / -dt = %.12g is not a whole number of steps: use -dt %.12g or %.12g", ratio, c->t_final / ceil(ratio), c->t_final / floor(ratio > 1 ? ratio : 1));
  c->nsteps = (PetscInt)n;
  PetscCheck(PetscIsNormalReal(c->strength) || c->strength == 0, comm, PETSC_ERR_ARG_OUTOFRANGE, "-potential_strength: must be finite");
  PetscCheck(c->width > 0 && PetscIsNormalReal(c->width), comm, PETSC_ERR_ARG_OUTOFRANGE, "-potential_width %g: must be finite and > 0", (double)c->width);
  if (c->potential == QRBM_POT_COSINE) {
    const double per = c->box / c->width;
    PetscCheck(fabs(per - round(per)) < 1e-9 * per, comm, PETSC_ERR_ARG_INCOMP, "-potential_width %g: the cosine wavelength must divide -box %g (L/width integer)", (double)c->width, (double)c->box);
  }
  PetscCheck(c->trap_omega >= 0 && (PetscIsNormalReal(c->trap_omega) || c->trap_omega == 0), comm, PETSC_ERR_ARG_OUTOFRANGE, "-trap_omega %g: must be finite and >= 0", (double)c->trap_omega);
  PetscCheck(c->output_interval >= 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "-output_interval %" PetscInt_FMT ": must be >= 1 step", c->output_interval);
  PetscCheck(c->progress_interval >= 0, comm, PETSC_ERR_ARG_OUTOFRANGE, "-progress_interval %" PetscInt_FMT ": must be >= 0 steps", c->progress_interval);
  PetscCheck(c->threads >= 1 && c->threads <= 256, comm, PETSC_ERR_ARG_OUTOFRANGE, "-threads %" PetscInt_FMT ": valid range is 1..256", c->threads);
  PetscCheck(c->memory_limit_mb >= 0, comm, PETSC_ERR_ARG_OUTOFRANGE, "-memory_limit_mb %g: must be >= 0 (0 = automatic)", (double)c->memory_limit_mb);
  PetscCheck(c->output[0], comm, PETSC_ERR_ARG_WRONG, "-output: file name must not be empty");
  PetscCheck(c->ground_tol > 0 && c->ground_tol < 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "-ground_tol %g: valid range is (0, 1)", (double)c->ground_tol);
  PetscCheck(c->ground_maxiter >= 10, comm, PETSC_ERR_ARG_OUTOFRANGE, "-ground_maxiter %" PetscInt_FMT ": must be >= 10", c->ground_maxiter);
  PetscCheck(c->ground_dtau == 0 || (c->ground_dtau > 0 && PetscIsNormalReal(c->ground_dtau)), comm, PETSC_ERR_ARG_OUTOFRANGE, "-ground_dtau %g: must be finite and >= 0 (0 = dt)", (double)c->ground_dtau);
  if (c->ground_dtau == 0) c->ground_dtau = c->dt;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The mesh must resolve the packet (width sqrt(hbar/2)) and its momentum (|p| + 4 sigma_p below
   the Nyquist momentum hbar*pi/h); otherwise results are aliased. This is a warning, not an error:
   a user may knowingly run an under-resolved convergence study. */
static PetscErrorCode WarnResolution(MPI_Comm comm, const QrbmConfig *c)
{
  const double h = c->box / c->grid, sigma = sqrt(c->hbar / 2), pmax_grid = c->hbar * PETSC_PI / h;
  double pmax = 0;
  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < c->ninit * c->dim; i++) pmax = PetscMax(pmax, fabs(c->init_p[i]));
  if (h > sigma)
    PetscCall(PetscPrintf(comm, "WARNING: mesh h = L/M = %g is coarser than the packet width sqrt(hbar/2) = %g: increase -grid or -hbar\n", h, sigma));
  if (pmax + 4 * sigma > pmax_grid)
    PetscCall(PetscPrintf(comm, "WARNING: packet momenta up to |p| + 4 sqrt(hbar/2) = %g exceed the grid's Nyquist momentum hbar*pi/h = %g: increase -grid\n", pmax + 4 * sigma, pmax_grid));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmConfigSetFromOptions(MPI_Comm comm, QrbmConfig *cfg)
{
  PetscInt nq, np;
  PetscFunctionBeginUser;
  PetscCall(SetDefaults(cfg));
  PetscCall(ParseOptions(comm, cfg, &nq, &np));
  PetscCall(CheckRanges(comm, cfg));
  PetscCall(CheckPackets(comm, cfg, nq, np));
  PetscCall(CheckBatches(comm, cfg));
  PetscCall(CheckCheckpoints(comm, cfg));
  PetscCall(CheckRdm(comm, cfg));
  PetscCall(WarnResolution(comm, cfg));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Unknown or unused options are errors: a typo must not silently run the defaults. Options that
   PETSc itself reads later (at PetscFinalize) are marked as used first. */
PetscErrorCode QrbmConfigCheckAllUsed(MPI_Comm comm)
{
  static const char *petsc_own[] = {"-log_view", "-options_left", "-malloc_debug", "-malloc_dump", "-malloc_view", "-info",
                                    "-log_trace", "-on_error_abort", "-fp_trap", "-options_monitor", "-check_pointer_intensity", "-help"};
  PetscInt  n, unused;
  char    **names, **values;
  PetscBool has;
  PetscFunctionBeginUser;
  for (size_t i = 0; i < sizeof(petsc_own) / sizeof(petsc_own[0]); i++) PetscCall(PetscOptionsHasName(NULL, NULL, petsc_own[i], &has));
  PetscCall(PetscOptionsLeftGet(NULL, &n, &names, &values));
  if (n > 0) {
    PetscCall(PetscPrintf(comm, "ERROR: unknown or unused option%s:", n > 1 ? "s" : ""));
    for (PetscInt i = 0; i < n; i++) PetscCall(PetscPrintf(comm, " -%s", names[i]));
    PetscCall(PetscPrintf(comm, "\n(see bin/qrbm -help for the valid options)\n"));
  }
  unused = n; /* PetscOptionsLeftRestore() resets n */
  PetscCall(PetscOptionsLeftRestore(NULL, &n, &names, &values));
  PetscCheck(unused == 0, comm, PETSC_ERR_ARG_WRONG, "unknown or unused option(s) on the command line or in -options_file: see the list above");
  PetscFunctionReturn(PETSC_SUCCESS);
}
