/* Options: the options table (one row per option) gives the defaults, what is read from the PETSc
   options database and -help; then validation with messages that name the option and its valid
   range. */
#include <qrbm/config.h>
#include <qrbm/scheme.h>
#include <stddef.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const QrbmInitNames[]      = {"coherent", "symmetrized", "ground", "QrbmInitKind", "QRBM_INIT_", NULL};
const char *const QrbmPlannerNames[]   = {"estimate", "measure", "patient", "QrbmPlanner", "QRBM_PLAN_", NULL};
const char *const QrbmMethodNames[]    = {"exact", "rbm", "QrbmMethod", "QRBM_METHOD_", NULL};
const char *const QrbmReferenceNames[] = {"none", "exact", "QrbmReference", "QRBM_REFERENCE_", NULL};
const char *const QrbmExpectationNames[] = {"sample", "enumerate", "QrbmExpectation", "QRBM_EXPECT_", NULL};

/* Value i of a PETSc enum list (names, then the type name and the prefix, then NULL). */
static const char *EnumName(const char *const *list, PetscInt i)
{
  PetscInt n = 0;
  while (list[n]) n++;
  return i >= 0 && i < n - 2 ? list[i] : NULL;
}
#define CHOICES(fn, list) \
  static const char *fn(PetscInt i) { return EnumName(list, i); }
CHOICES(InitName, QrbmInitNames)
CHOICES(PlannerName, QrbmPlannerNames)
CHOICES(MethodName, QrbmMethodNames)
CHOICES(ReferenceName, QrbmReferenceNames)
CHOICES(ExpectationName, QrbmExpectationNames)

static PetscInt Packets(const QrbmConfig *c) { return c->ninit * c->dim; }
static PetscErrorCode ParseSeed(MPI_Comm comm, const char *text, void *seed);

#define FIELD(m) .offset = offsetof(QrbmConfig, m), .size = sizeof(((QrbmConfig *)0)->m)
#define ROW(nm, ty, df, cl, us, m, hl, ...) {.name = nm, .type = ty, .def = df, .cls = cl, .use = us, FIELD(m), .help = hl, __VA_ARGS__}
#define PHYS QRBM_OPT_FIXED
#define FREE QRBM_OPT_FREE
#define COMBINE QRBM_USE_COMBINE
#define COMPARE QRBM_USE_COMPARE
#define METRICS QRBM_USE_METRICS
/* Every option. The physics hash runs over the fixed rows in this order (scalars first, then
   lists), so keep the order of existing fixed rows (it is the hash of checkpoint format 2); a
   new option is one row here plus its range check below. */
const QrbmOption QrbmOptions[] = {
  ROW("-dim", QRBM_OPT_INT, "1", PHYS, COMBINE | COMPARE, dim, "space dimension d per particle [1..3]"),
  ROW("-particles", QRBM_OPT_INT, "2", PHYS, COMBINE | COMPARE, particles, "number of particles N [1..16]"),
  ROW("-grid", QRBM_OPT_INT, "64", PHYS, COMBINE | COMPARE, grid, "grid points M per axis [2..65536]"),
  ROW("-box", QRBM_OPT_REAL, "16", PHYS, COMBINE | COMPARE, box, "box length L per axis, box [-L/2,L/2), > 0 [length]"),
  ROW("-hbar", QRBM_OPT_REAL, "1", PHYS, COMBINE | COMPARE, hbar, "Planck constant hbar > 0 [action]"),
  ROW("-t_final", QRBM_OPT_REAL, "1", QRBM_OPT_EXTENDABLE, COMBINE, t_final, "final time > 0 [time]"),
  ROW("-dt", QRBM_OPT_REAL, "0.01", PHYS, COMBINE, dt, "time step dt, 0 < dt <= t_final, t_final/dt integer [time]"),
  ROW("-scheme", QRBM_OPT_CHOICE, "strang", PHYS, COMBINE, scheme, "splitting scheme (the rows of src/scheme.c)", .choice = QrbmSchemeName, .describe = QrbmSchemeHelp),
  ROW("-potential", QRBM_OPT_CHOICE, "gaussian", PHYS, COMBINE | METRICS, potential, "pair potential V", .choice = QrbmPairPotentialName),
  ROW("-potential_strength", QRBM_OPT_REAL, "1", PHYS, COMBINE | METRICS, strength, "strength lambda of V, finite [energy]"),
  ROW("-potential_width", QRBM_OPT_REAL, "1", PHYS, COMBINE | METRICS, width, "gaussian sigma, softcoulomb eps, cosine wavelength (L/width integer) > 0 [length]"),
  ROW("-trap_omega", QRBM_OPT_REAL, "0", PHYS, COMBINE, trap_omega, "harmonic trap U = omega^2 |x|^2/2, 0 = none, >= 0 [1/time]"),
  ROW("-init", QRBM_OPT_CHOICE, "coherent", PHYS, COMBINE, init, "initial state", .choice = InitName),
  ROW("-init_q", QRBM_OPT_REALS, "0", PHYS, COMBINE, init_q, "packet centres in (-L/2, L/2): d numbers (coherent, ground) or N*d (symmetrized) [length]", .count = Packets, .given = offsetof(QrbmConfig, nq)),
  ROW("-init_p", QRBM_OPT_REALS, "0", PHYS, COMBINE, init_p, "packet momenta: d numbers (coherent, ground) or N*d (symmetrized) [momentum]", .count = Packets, .given = offsetof(QrbmConfig, np)),
  ROW("-ground_tol", QRBM_OPT_REAL, "1e-10", PHYS, COMBINE, ground_tol, "ground state: stop when the energy changes by less than tol (relative) over 10 steps, (0, 1)"),
  ROW("-ground_maxiter", QRBM_OPT_INT, "100000", PHYS, COMBINE, ground_maxiter, "ground state: maximum imaginary-time steps >= 10"),
  ROW("-ground_dtau", QRBM_OPT_REAL, "0", PHYS, COMBINE, ground_dtau, "ground state: imaginary time step >= 0, 0 = dt [time]"),
  ROW("-method", QRBM_OPT_CHOICE, "exact", PHYS, COMBINE, method, "dynamics: exact H_N or random batch", .choice = MethodName),
  ROW("-batch_size", QRBM_OPT_INT, "2", PHYS, COMBINE, batch_size, "random batch size P: 2 <= P <= N, P divides N"),
  ROW("-rb_dt", QRBM_OPT_REAL, "0", PHYS, METRICS, rb_dt, "reshuffle interval Dt, a whole multiple of dt, 0 = dt [time]"),
  ROW("-realizations", QRBM_OPT_INT, "1", PHYS, 0, realizations, "independent random batch realisations R >= 1 (exact: 1)"),
  ROW("-seed", QRBM_OPT_INT, "1", PHYS, 0, seed, "random seed [0..4294967295]", .parse = ParseSeed),
  ROW("-rb_couple_level", QRBM_OPT_INT, "0", PHYS, 0, rb_couple_level, "common random numbers: interval 2j reuses interval j of the same seed at 2 Dt and level - 1, 0 = uncoupled [0..62]"),
  ROW("-output_interval", QRBM_OPT_INT, "10", PHYS, COMBINE, output_interval, "steps between output times >= 1"),
  ROW("-save_realizations", QRBM_OPT_BOOL, "false", PHYS, 0, save_realizations, "store the per-realisation series in /realizations"),
  ROW("-record_pairings", QRBM_OPT_BOOL, "false", PHYS, 0, record_pairings, "store every pairing permutation in /pairings"),
  ROW("-rb_expectation", QRBM_OPT_CHOICE, "sample", PHYS, 0, expectation, "sample realisations or enumerate every pairing sequence", .choice = ExpectationName),
  ROW("-rb_enumerate_limit", QRBM_OPT_REAL, "100000", FREE, 0, enumerate_limit, "largest number of pairing sequences -rb_expectation enumerate accepts, >= 1"),
  ROW("-ranks_per_realization", QRBM_OPT_INT, "0", FREE, 0, ranks_per_realization, "ranks per realisation group g (divides the rank count), 0 = automatic"),
  ROW("-rdm_interval", QRBM_OPT_INT, "0", PHYS, COMBINE, rdm_interval, "one-particle reduced density matrix R_1 every so many output times, 0 = never, >= 0"),
  ROW("-rdm_batches", QRBM_OPT_INT, "8", PHYS, 0, rdm_batches, "realisation groups K for jackknife errors of R_1 distances, >= 2"),
  ROW("-rdm_max_mb", QRBM_OPT_REAL, "1024", FREE, 0, rdm_max_mb, "largest R_1 (M^d x M^d complex) accepted [MiB]"),
  ROW("-reference", QRBM_OPT_CHOICE, "none", PHYS, 0, reference, "also run the exact dynamics as reference for the RB error (/error)", .choice = ReferenceName),
  ROW("-output", QRBM_OPT_STRING, "qrbm.h5", FREE, 0, output, "HDF5 output file (not empty)"),
  ROW("-progress_interval", QRBM_OPT_INT, "0", FREE, 0, progress_interval, "steps between progress lines >= 0, 0 = about 10 lines per run"),
  ROW("-quiet", QRBM_OPT_BOOL, "false", FREE, 0, quiet, "no progress lines or summary"),
  ROW("-fftw_planner", QRBM_OPT_CHOICE, "measure", FREE, 0, planner, "FFTW planner effort", .choice = PlannerName),
  ROW("-fftw_wisdom", QRBM_OPT_STRING, "", FREE, 0, wisdom, "FFTW wisdom: empty = per-user cache, none = no file, else a file prefix (grid, ranks, threads appended)"),
  ROW("-threads", QRBM_OPT_INT, "1", FREE, 0, threads, "threads per rank (FFTW + OpenMP) [1..256]"),
  ROW("-memory_limit_mb", QRBM_OPT_REAL, "0", FREE, 0, memory_limit_mb, "memory per rank in MiB >= 0, 0 = node MemAvailable / ranks on node [MiB]"),
  ROW("-checkpoint_file", QRBM_OPT_STRING, "", FREE, 0, checkpoint_file, "checkpoint file (HDF5); empty = OUTPUT.ckpt, written only when a signal or -max_walltime stops the run"),
  ROW("-checkpoint_interval", QRBM_OPT_STRING, "", FREE, 0, checkpoint_interval, "checkpoint every <n> steps, <x>t simulated time or <x>s wall seconds, empty = only on signals/limits"),
  ROW("-checkpoint_keep", QRBM_OPT_INT, "2", FREE, 0, checkpoint_keep, "number of checkpoints kept (FILE, FILE.1, ...) [1..32]"),
  ROW("-restart", QRBM_OPT_STRING, "", FREE, 0, restart, "continue the run saved in this checkpoint file"),
  ROW("-lock_takeover", QRBM_OPT_BOOL, "false", FREE, 0, lock_takeover, "take over the lock file of the output/checkpoint left by a run on another host (a requeued job)"),
  ROW("-max_walltime", QRBM_OPT_REAL, "0", FREE, 0, max_walltime, "checkpoint and exit 75 before this many wall seconds, >= 0, 0 = no limit [s]"),
  ROW("-checkpoint_test_delay", QRBM_OPT_REAL, "0", FREE, 0, checkpoint_test_delay, "TEST ONLY: sleep this long inside every checkpoint write, >= 0 [s]"),
  {.name = NULL},
};
#undef ROW
#undef FIELD
#undef PHYS
#undef FREE
#undef COMBINE
#undef COMPARE
#undef METRICS

PetscInt QrbmOptionChoiceIndex(const QrbmOption *o, const char *name)
{
  for (PetscInt i = 0; o->choice(i); i++)
    if (!strcmp(o->choice(i), name)) return i;
  return -1;
}

PetscErrorCode QrbmOptionChoiceList(const QrbmOption *o, const char *sep, char *buf, size_t len)
{
  PetscFunctionBeginUser;
  buf[0] = 0;
  for (PetscInt i = 0; o->choice(i); i++) {
    PetscCall(PetscStrlcat(buf, i ? sep : "", len));
    PetscCall(PetscStrlcat(buf, o->choice(i), len));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscInt64 QrbmOptionInt(const QrbmOption *o, const QrbmConfig *c)
{
  const void *f = (const char *)c + o->offset;
  switch (o->type) {
  case QRBM_OPT_INT: return o->size == sizeof(PetscInt64) ? *(const PetscInt64 *)f : (PetscInt64)*(const PetscInt *)f;
  case QRBM_OPT_BOOL: return (PetscInt64)*(const PetscBool *)f;
  case QRBM_OPT_CHOICE: return (PetscInt64)*(const int *)f;
  default: return 0;
  }
}

double QrbmOptionNumber(const QrbmOption *o, const QrbmConfig *c)
{
  return o->type == QRBM_OPT_REAL ? (double)*(const PetscReal *)((const char *)c + o->offset) : (double)QrbmOptionInt(o, c);
}

/* Lists last: the order of the physics hash of checkpoint format 2. */
const QrbmOption *QrbmOptionPhysics(PetscInt i)
{
  for (int lists = 0; lists < 2; lists++)
    for (const QrbmOption *o = QrbmOptions; o->name; o++)
      if (o->cls == QRBM_OPT_FIXED && (o->type == QRBM_OPT_REALS) == lists && i-- == 0) return o;
  return NULL;
}

PetscBool QrbmOptionSetNumber(const QrbmOption *o, QrbmConfig *c, double v)
{
  void *f = (char *)c + o->offset;
  if (o->type == QRBM_OPT_REAL) {
    *(PetscReal *)f = v;
    return PETSC_TRUE;
  }
  const double lim = o->type == QRBM_OPT_INT && o->size == sizeof(PetscInt64) ? 9.2e18 : PETSC_MAX_INT;
  if (!(v == round(v) && fabs(v) <= lim)) return PETSC_FALSE; /* also refuses NaN */
  if (o->type == QRBM_OPT_INT && o->size == sizeof(PetscInt64)) *(PetscInt64 *)f = (PetscInt64)v;
  else if (o->type == QRBM_OPT_INT) *(PetscInt *)f = (PetscInt)v;
  else if (o->type == QRBM_OPT_BOOL) *(PetscBool *)f = v != 0 ? PETSC_TRUE : PETSC_FALSE;
  else if (o->type == QRBM_OPT_CHOICE && v >= 0 && o->choice((PetscInt)v)) *(int *)f = (int)v;
  else return PETSC_FALSE;
  return PETSC_TRUE;
}

PetscErrorCode QrbmOptionText(const QrbmOption *o, const QrbmConfig *c, char *buf, size_t len)
{
  const void *f = (const char *)c + o->offset;
  PetscFunctionBeginUser;
  buf[0] = 0;
  switch (o->type) {
  case QRBM_OPT_REAL: PetscCall(PetscSNPrintf(buf, len, "%.17g", QrbmOptionNumber(o, c))); break;
  case QRBM_OPT_STRING: PetscCall(PetscStrncpy(buf, (const char *)f, len)); break;
  case QRBM_OPT_CHOICE: PetscCall(PetscStrncpy(buf, o->choice(*(const int *)f), len)); break;
  case QRBM_OPT_REALS: /* cut at len like snprintf: the hash of format 2 hashed the cut text */
    for (PetscInt i = 0; i < o->count(c); i++) snprintf(buf + strlen(buf), len - strlen(buf), "%.17g,", (double)((const PetscReal *)f)[i]);
    break;
  default: /* INT, BOOL */
    PetscCall(PetscSNPrintf(buf, len, "%lld", (long long)QrbmOptionInt(o, c)));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* A value given as text (the defaults of the table); the options database is read in ReadOption. */
static PetscErrorCode SetFromText(const QrbmOption *o, QrbmConfig *c, const char *text)
{
  char     *end = (char *)text;
  PetscBool ok  = PETSC_TRUE;
  void     *f   = (char *)c + o->offset;
  PetscFunctionBeginUser;
  switch (o->type) {
  case QRBM_OPT_INT: ok = QrbmOptionSetNumber(o, c, (double)strtoll(text, &end, 10)); break;
  case QRBM_OPT_REAL: *(PetscReal *)f = strtod(text, &end); break;
  case QRBM_OPT_BOOL: ok = (!strcmp(text, "true") || !strcmp(text, "false")) && QrbmOptionSetNumber(o, c, !strcmp(text, "true")), end += strlen(text); break;
  case QRBM_OPT_STRING: PetscCall(PetscStrncpy((char *)f, text, o->size)); end += strlen(text); break;
  case QRBM_OPT_CHOICE: ok = QrbmOptionSetNumber(o, c, (double)QrbmOptionChoiceIndex(o, text)), end += strlen(text); break;
  case QRBM_OPT_REALS:
    for (size_t i = 0; *end && i < o->size / sizeof(PetscReal); i++) ((PetscReal *)f)[i] = strtod(end + (i > 0), &end);
    break;
  }
  PetscCheck(ok && !*end, PETSC_COMM_SELF, PETSC_ERR_PLIB, "options table: the default '%s' of %s is not a valid value", text, o->name);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode SetDefaults(QrbmConfig *c)
{
  PetscFunctionBeginUser;
  memset(c, 0, sizeof(*c));
  for (const QrbmOption *o = QrbmOptions; o->name; o++) PetscCall(SetFromText(o, c, o->def));
  c->ninit = 1;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode CheckPackets(MPI_Comm comm, QrbmConfig *c)
{
  const PetscInt d = c->dim, N = c->particles, nq = c->nq, np = c->np;
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
static PetscErrorCode ReadChoice(PetscOptionItems *PetscOptionsObject, MPI_Comm comm, const QrbmOption *o, const char *note, int *v)
{
  char     buf[64], text[1024], list[256], *made = NULL;
  PetscInt i;
  PetscFunctionBeginUser;
  PetscCall(QrbmOptionChoiceList(o, " ", list, sizeof(list)));
  if (o->describe) PetscCall(o->describe(&made)); /* -scheme: QrbmSchemeHelp, which tests/test_schemes.py reads */
  if (made) PetscCall(PetscSNPrintf(text, sizeof(text), "%s%s", made, note));
  else PetscCall(PetscSNPrintf(text, sizeof(text), "%s (one of: %s)%s", o->help, list, note));
  PetscCall(PetscFree(made));
  PetscCall(PetscStrncpy(buf, o->choice(*v), sizeof(buf)));
  PetscCall(PetscOptionsString(o->name, text, "", buf, buf, sizeof(buf), NULL));
  i = QrbmOptionChoiceIndex(o, buf);
  PetscCheck(i >= 0, comm, PETSC_ERR_ARG_OUTOFRANGE, "%s %s: valid values are %s", o->name, buf, list);
  *v = (int)i;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode ParseSeed(MPI_Comm comm, const char *text, void *seed)
{
  char              *end;
  unsigned long long v;
  PetscFunctionBeginUser;
  v = strtoull(text, &end, 10);
  PetscCheck(end != text && !*end && text[0] != '-' && v <= 4294967295ULL, comm, PETSC_ERR_ARG_OUTOFRANGE, "-seed %s: valid range is 0..4294967295 (the Philox key word)", text);
  *(PetscInt64 *)seed = (PetscInt64)v;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Integers that PETSc's PetscInt parser cannot hold (64-bit fields) or that need their own
   parser are read as text. */
static PetscErrorCode ReadIntText(PetscOptionItems *PetscOptionsObject, MPI_Comm comm, const QrbmOption *o, const char *help, QrbmConfig *c)
{
  char      text[256], *end;
  PetscBool set;
  void     *f = (char *)c + o->offset;
  PetscFunctionBeginUser;
  PetscCall(QrbmOptionText(o, c, text, sizeof(text)));
  OPT(PetscOptionsString(o->name, help, "", text, text, sizeof(text), &set), o->name);
  if (!set) PetscFunctionReturn(PETSC_SUCCESS);
  if (o->parse) {
    PetscCall(o->parse(comm, text, f));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  errno = 0;
  const long long v = strtoll(text, &end, 10);
  if (errno == ERANGE || end == text || *end) PetscCall(Unreadable(comm, o->name));
  *(PetscInt64 *)f = (PetscInt64)v;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* -help shows what a restart may change. */
static const char *const ClassNotes[] = {" {fixed on restart}", " {may grow on restart}", ""};

static PetscErrorCode ReadOption(PetscOptionItems *PetscOptionsObject, MPI_Comm comm, const QrbmOption *o, QrbmConfig *c)
{
  void     *f = (char *)c + o->offset;
  PetscInt  n = (PetscInt)(o->size / sizeof(PetscReal));
  PetscBool set;
  char      help[512];
  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(help, sizeof(help), "%s%s", o->help, ClassNotes[o->cls]));
  switch (o->type) {
  case QRBM_OPT_INT:
    if (o->parse || o->size != sizeof(PetscInt)) PetscCall(ReadIntText(PetscOptionsObject, comm, o, help, c));
    else OPT(PetscOptionsInt(o->name, help, "", *(PetscInt *)f, (PetscInt *)f, NULL), o->name);
    break;
  case QRBM_OPT_REAL: OPT(PetscOptionsReal(o->name, help, "", *(PetscReal *)f, (PetscReal *)f, NULL), o->name); break;
  case QRBM_OPT_BOOL: OPT(PetscOptionsBool(o->name, help, "", *(PetscBool *)f, (PetscBool *)f, NULL), o->name); break;
  case QRBM_OPT_STRING: OPT(PetscOptionsString(o->name, help, "", (char *)f, (char *)f, o->size, NULL), o->name); break;
  case QRBM_OPT_CHOICE: PetscCall(ReadChoice(PetscOptionsObject, comm, o, ClassNotes[o->cls], (int *)f)); break;
  case QRBM_OPT_REALS:
    OPT(PetscOptionsRealArray(o->name, help, "", (PetscReal *)f, &n, &set), o->name);
    *(PetscInt *)((char *)c + o->given) = set ? n : 0;
    break;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode ParseOptions(MPI_Comm comm, QrbmConfig *c)
{
  PetscFunctionBeginUser;
  PetscOptionsBegin(comm, NULL, "qrbm: N-body Schroedinger dynamics, exact and random batch", NULL);
  for (const QrbmOption *o = QrbmOptions; o->name; o++) PetscCall(ReadOption(PetscOptionsObject, comm, o, c));
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
  PetscCheck(k <= QRBM_MAX_STEPS, comm, PETSC_ERR_ARG_OUTOFRANGE, "-rb_dt %g: %g steps of -dt %g exceed the %lld steps a run may have", (double)c->rb_dt, k, (double)c->dt, QRBM_MAX_STEPS);
  c->rb_steps = (PetscInt64)round(k);
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
  PetscCheck(c->checkpoint_keep >= 1 && c->checkpoint_keep <= QRBM_MAX_KEEP, comm, PETSC_ERR_ARG_OUTOFRANGE, "-checkpoint_keep %" PetscInt_FMT ": valid range is 1..%d", c->checkpoint_keep, QRBM_MAX_KEEP);
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
    PetscCheck(steps <= QRBM_MAX_STEPS, comm, PETSC_ERR_ARG_OUTOFRANGE, "-checkpoint_interval %s: %g steps exceed the %lld steps a run may have", c->checkpoint_interval, steps, QRBM_MAX_STEPS);
    c->ckpt_steps = (PetscInt64)round(steps);
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
  char      text[256];
  PetscBool set;
  PetscFunctionBeginUser;
  for (const QrbmOption *o = QrbmOptions; o->name; o++) {
    if (o->type != QRBM_OPT_INT || o->parse || o->size != sizeof(PetscInt)) continue; /* the others are read as text */
    PetscCall(PetscOptionsGetString(NULL, NULL, o->name, text, sizeof(text), &set));
    if (!set) continue;
    errno = 0;
    char           *end;
    const long long v = strtoll(text, &end, 10);
    PetscCheck(!(errno == ERANGE || (end != text && !*end && (v > PETSC_MAX_INT || v < PETSC_MIN_INT))), comm, PETSC_ERR_ARG_OUTOFRANGE,
               "option %s %s: out of the range of PETSc's integers (%d .. %d); see bin/qrbm -help for its valid range", o->name, text, (int)PETSC_MIN_INT, (int)PETSC_MAX_INT);
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
  PetscCheck(ratio <= QRBM_MAX_STEPS, comm, PETSC_ERR_ARG_OUTOFRANGE, "-t_final / -dt = %g steps: at most %lld steps are supported (2^53: step numbers stay exact in the float64 output), increase -dt or split the run", ratio, QRBM_MAX_STEPS);
  PetscCheck(fabs(ratio - n) <= 1e-9 * n, comm, PETSC_ERR_ARG_INCOMP,
             "-t_final / -dt = %.12g is not a whole number of steps: use -dt %.12g or %.12g", ratio, c->t_final / ceil(ratio), c->t_final / floor(ratio > 1 ? ratio : 1));
  c->nsteps = (PetscInt64)n;
  PetscCheck(PetscIsNormalReal(c->strength) || c->strength == 0, comm, PETSC_ERR_ARG_OUTOFRANGE, "-potential_strength: must be finite");
  PetscCheck(c->width > 0 && PetscIsNormalReal(c->width), comm, PETSC_ERR_ARG_OUTOFRANGE, "-potential_width %g: must be finite and > 0", (double)c->width);
  if (QrbmPairPotentials[c->potential].check) {
    const QrbmPairParams p = QrbmConfigPairParams(c);
    PetscCall(QrbmPairPotentials[c->potential].check(comm, &p));
  }
  PetscCheck(c->trap_omega >= 0 && (PetscIsNormalReal(c->trap_omega) || c->trap_omega == 0), comm, PETSC_ERR_ARG_OUTOFRANGE, "-trap_omega %g: must be finite and >= 0", (double)c->trap_omega);
  PetscCheck(c->output_interval >= 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "-output_interval %" PetscInt64_FMT ": must be >= 1 step", c->output_interval);
  PetscCheck(c->progress_interval >= 0, comm, PETSC_ERR_ARG_OUTOFRANGE, "-progress_interval %" PetscInt64_FMT ": must be >= 0 steps", c->progress_interval);
  const PetscInt64 ntimes = (c->nsteps + c->output_interval - 1) / c->output_interval + 1; /* no overflow: both <= 2^53 */
  PetscCheck(ntimes <= PETSC_MAX_INT, comm, PETSC_ERR_ARG_OUTOFRANGE, "-output_interval %" PetscInt64_FMT ": %" PetscInt64_FMT " output times of %" PetscInt64_FMT " steps exceed PETSc's integers (at most %d): raise -output_interval", c->output_interval, ntimes, c->nsteps, (int)PETSC_MAX_INT);
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
  PetscFunctionBeginUser;
  PetscCall(SetDefaults(cfg));
  PetscCall(ParseOptions(comm, cfg));
  PetscCall(CheckRanges(comm, cfg));
  PetscCall(CheckPackets(comm, cfg));
  PetscCall(CheckBatches(comm, cfg));
  PetscCall(CheckCheckpoints(comm, cfg));
  PetscCall(CheckRdm(comm, cfg));
  PetscCall(WarnResolution(comm, cfg));
  PetscFunctionReturn(PETSC_SUCCESS);
}

QrbmPairParams QrbmConfigPairParams(const QrbmConfig *cfg)
{
  return (QrbmPairParams){cfg->dim, cfg->strength, cfg->width, cfg->box};
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

PetscErrorCode QrbmConfigToolArgs(const char *tool, const char *usage, int argc, char **argv, PetscInt min, PetscInt max, PetscInt *nfiles, PetscBool *help_only)
{
  PetscMPIInt size;
  PetscFunctionBeginUser;
  *nfiles = 0;
  PetscCall(PetscOptionsHasHelp(NULL, help_only));
  if (*help_only) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(QrbmConfigCheckAllUsed(PETSC_COMM_WORLD));
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  PetscCheck(size == 1, PETSC_COMM_WORLD, PETSC_ERR_ARG_WRONG, "%s is serial: run it on one MPI rank, not %d", tool, size);
  while (*nfiles + 1 < argc && argv[*nfiles + 1][0] != '-') (*nfiles)++; /* PETSc skips them: they must come first */
  PetscCheck(*nfiles >= min && *nfiles <= max, PETSC_COMM_WORLD, PETSC_ERR_ARG_WRONG, "usage: %s; %" PetscInt_FMT " given", usage, *nfiles);
  PetscFunctionReturn(PETSC_SUCCESS);
}
