/* Unit tests of option parsing and validation (QrbmConfigSetFromOptions, QrbmConfigCheckAllUsed).

   Every case runs on a fresh options database (PetscOptionsCreate + PetscOptionsPush), so cases
   do not see each other's options. Errors are expected to be returned, not printed:
   PetscReturnErrorHandler is pushed around the calls that must fail.

   * defaults (docs: -dim 1 -particles 2 -grid 64 -box 16 -hbar 1 -t_final 1 -dt 0.01 ...);
   * a full set of valid non-default values is parsed into the right fields, with the derived ones
     (nsteps, ninit, ground_dtau = dt, rb_dt = dt, rb_steps);
   * values at the edges of every valid range are accepted;
   * every invalid value is refused with its PETSc error class and a message that names the option,
     the value and the valid range (checked as a substring of the message at the error's origin); values PETSc cannot read (non-numbers) are refused with
     PETSC_ERR_ARG_WRONG ("option -X: the value given cannot be read"), unknown values of the
     enumerated options with PETSC_ERR_ARG_OUTOFRANGE ("-X value: valid values are ...");
   * -seed is read as a string: 0..4294967295 (the Philox key word) accepted, anything else refused;
   * t_final/dt above 1e12 steps is refused as out of range (not as "not a whole number");
   * QrbmConfigCheckAllUsed accepts a fully used database and refuses an unknown option.

   Run: make unit (mpirun -np 1 build/tests/test_config). */
#include <qrbm/checkpoint.h>
#include <qrbm/config.h>
#include <qrbm/pairpot.h>
#include <qrbm/scheme.h>
#include "unit.h"

static PetscOptions db;

static void db_push(const char *opts)
{
  assert_int_equal(PetscOptionsCreate(&db), 0);
  assert_int_equal(PetscOptionsPush(db), 0);
  if (opts && opts[0]) assert_int_equal(PetscOptionsInsertString(NULL, opts), 0);
}

static void db_pop(void)
{
  assert_int_equal(PetscOptionsPop(), 0);
  assert_int_equal(PetscOptionsDestroy(&db), 0);
}

/* The message of the error at its origin (later frames of the same error repeat it). */
static char last_msg[1024];

static PetscErrorCode RecordError(MPI_Comm comm, int line, const char *fun, const char *file, PetscErrorCode n, PetscErrorType p, const char *mess, void *ctx)
{
  (void)comm; (void)line; (void)fun; (void)file; (void)ctx;
  if (p == PETSC_ERROR_INITIAL) snprintf(last_msg, sizeof(last_msg), "%s", mess ? mess : "");
  return n;
}

/* QrbmConfigSetFromOptions on a fresh database holding `opts`; errors returned quietly, the
   message kept in last_msg. */
static PetscErrorCode parse(const char *opts, QrbmConfig *cfg)
{
  PetscErrorCode ierr;
  db_push(opts);
  last_msg[0] = 0;
  assert_int_equal(PetscPushErrorHandler(RecordError, NULL), 0);
  ierr = QrbmConfigSetFromOptions(PETSC_COMM_SELF, cfg);
  assert_int_equal(PetscPopErrorHandler(), 0);
  db_pop();
  return ierr;
}

static void test_defaults(void **state)
{
  (void)state;
  QrbmConfig c;
  memset(&c, 0xab, sizeof(c)); /* SetFromOptions must set every field itself */
  assert_int_equal(parse("", &c), 0);
  assert_int_equal(c.dim, 1);
  assert_int_equal(c.particles, 2);
  assert_int_equal(c.grid, 64);
  assert_true(c.box == 16.0 && c.hbar == 1.0 && c.t_final == 1.0 && c.dt == 0.01);
  assert_int_equal(c.nsteps, 100);
  assert_int_equal(c.scheme, QrbmSchemeFind("strang"));
  assert_int_equal(c.potential, QRBM_POT_GAUSSIAN);
  assert_true(c.strength == 1.0 && c.width == 1.0 && c.trap_omega == 0.0);
  assert_int_equal(c.init, QRBM_INIT_COHERENT);
  assert_int_equal(c.ninit, 1);
  for (int i = 0; i < QRBM_MAX_PARTICLES * QRBM_MAX_DIM; i++) assert_true(c.init_q[i] == 0.0 && c.init_p[i] == 0.0);
  assert_true(c.ground_tol == 1e-10);
  assert_true(c.ground_dtau == c.dt); /* 0 = dt */
  assert_string_equal(c.output, "qrbm.h5");
  assert_int_equal(c.output_interval, 10);
  assert_int_equal(c.progress_interval, 0);
  assert_int_equal(c.quiet, PETSC_FALSE);
  assert_int_equal(c.planner, QRBM_PLAN_MEASURE);
  assert_string_equal(c.wisdom, "");
  assert_int_equal(c.threads, 1);
  assert_true(c.memory_limit_mb == 0.0);
  assert_int_equal(c.method, QRBM_METHOD_EXACT);
  assert_int_equal(c.realizations, 1);
  assert_true(c.rb_dt == c.dt);
  assert_int_equal(c.rb_steps, 1);
}

static void test_valid_values(void **state)
{
  (void)state;
  QrbmConfig c;
  assert_int_equal(parse("-dim 2 -particles 3 -grid 12 -box 10 -hbar 0.5 -t_final 0.3 -dt 0.1 -scheme yoshida4 -potential softcoulomb "
                         "-potential_strength -2 -potential_width 0.5 -trap_omega 0.25 -init symmetrized -init_q 1,2,-3,4,0.5,-4.9 "
                         "-init_p 0.1,0.2,0.3,-0.4,0,1 -output foo.h5 -output_interval 7 -progress_interval 2 -quiet -fftw_planner patient "
                         "-fftw_wisdom /tmp/wis -threads 2 -memory_limit_mb 100 -ground_tol 1e-6 -ground_maxiter 50 -ground_dtau 0.05",
                         &c),
                   0);
  assert_int_equal(c.dim, 2);
  assert_int_equal(c.particles, 3);
  assert_int_equal(c.grid, 12);
  assert_true(c.box == 10.0 && c.hbar == 0.5 && c.t_final == 0.3 && c.dt == 0.1);
  assert_int_equal(c.nsteps, 3); /* 0.3 / 0.1 = 2.9999999999999996 in binary */
  assert_int_equal(c.scheme, QrbmSchemeFind("yoshida4"));
  assert_int_equal(c.potential, QRBM_POT_SOFTCOULOMB);
  assert_true(c.strength == -2.0 && c.width == 0.5 && c.trap_omega == 0.25);
  assert_int_equal(c.init, QRBM_INIT_SYMMETRIZED);
  assert_int_equal(c.ninit, 3);
  const double q[] = {1, 2, -3, 4, 0.5, -4.9}, p[] = {0.1, 0.2, 0.3, -0.4, 0, 1};
  for (int i = 0; i < 6; i++) assert_true(c.init_q[i] == q[i] && c.init_p[i] == p[i]);
  assert_string_equal(c.output, "foo.h5");
  assert_int_equal(c.output_interval, 7);
  assert_int_equal(c.progress_interval, 2);
  assert_int_equal(c.quiet, PETSC_TRUE);
  assert_int_equal(c.planner, QRBM_PLAN_PATIENT);
  assert_string_equal(c.wisdom, "/tmp/wis");
  assert_int_equal(c.threads, 2);
  assert_true(c.memory_limit_mb == 100.0);
  assert_true(c.ground_tol == 1e-6 && c.ground_dtau == 0.05);
  assert_int_equal(c.ground_maxiter, 50);

  /* coherent: d numbers shared by all particles; cosine with L / width integer */
  assert_int_equal(parse("-dim 3 -particles 4 -init_q 1,-2,3 -init_p 0,0.5,-1 -potential cosine -box 10 -potential_width 2.5", &c), 0);
  assert_int_equal(c.ninit, 1);
  assert_true(c.init_q[0] == 1 && c.init_q[1] == -2 && c.init_q[2] == 3 && c.init_p[2] == -1);
  assert_int_equal(c.potential, QRBM_POT_COSINE);

  /* random batches: rb_dt a multiple of dt */
  assert_int_equal(parse("-method rbm -particles 4 -batch_size 2 -dt 0.01 -rb_dt 0.03 -realizations 5 -seed 7", &c), 0);
  assert_int_equal(c.method, QRBM_METHOD_RBM);
  assert_int_equal(c.rb_steps, 3);
  assert_int_equal(c.realizations, 5);
  assert_true(c.seed == 7);

  /* -seed: the full 32-bit range, read without wrapping */
  assert_int_equal(parse("-method rbm -seed 0", &c), 0);
  assert_true(c.seed == 0);
  assert_int_equal(parse("-method rbm -seed 4294967295", &c), 0);
  assert_true(c.seed == 4294967295LL);
  assert_int_equal(parse("-method rbm -seed 2147483648", &c), 0);
  assert_true(c.seed == 2147483648LL);
}

static void test_edges_accepted(void **state)
{
  (void)state;
  const char *ok[] = {
    "-grid 2",     "-grid 65536",          "-particles 1",          "-particles 16",          "-dim 3",        "-threads 256",
    "-dt 1",       "-t_final 0.5 -dt 0.5", "-t_final 3 -dt 0.001",  "-init_q 7.99",           "-init_q -7.99", "-trap_omega 0",
    "-potential_strength 0", "-potential none", "-output_interval 1000", "-progress_interval 0", "-memory_limit_mb 0",
    "-ground_maxiter 10", "-init ground", "-scheme strang", "-fftw_planner estimate",
  };
  int bad = 0;
  for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
    QrbmConfig     c;
    PetscErrorCode ierr = parse(ok[i], &c);
    if (ierr) {
      print_error("valid options '%s' refused (error %d)\n", ok[i], (int)ierr);
      bad++;
    }
  }
  if (bad) fail_msg("%d valid option sets refused", bad);
}

static void test_invalid_refused(void **state)
{
  (void)state;
  const struct {
    const char    *opts;
    PetscErrorCode code; /* expected PETSc error class */
    const char    *msg;  /* expected in the message: the option, its value and the valid range */
  } cases[] = {
    {"-dim 0", PETSC_ERR_ARG_OUTOFRANGE, "-dim 0: valid range is 1..3"},
    {"-dim 4", PETSC_ERR_ARG_OUTOFRANGE, "-dim 4: valid range is 1..3"},
    {"-particles 0", PETSC_ERR_ARG_OUTOFRANGE, "-particles 0: valid range is 1..16"},
    {"-particles 17", PETSC_ERR_ARG_OUTOFRANGE, "-particles 17: valid range is 1..16"},
    {"-grid 1", PETSC_ERR_ARG_OUTOFRANGE, "-grid 1: valid range is 2..65536"},
    {"-grid -4", PETSC_ERR_ARG_OUTOFRANGE, "-grid -4: valid range is 2..65536"},
    {"-grid 65537", PETSC_ERR_ARG_OUTOFRANGE, "-grid 65537: valid range is 2..65536"},
    {"-box 0", PETSC_ERR_ARG_OUTOFRANGE, "-box 0.: must be a finite length > 0"},
    {"-box -1", PETSC_ERR_ARG_OUTOFRANGE, "-box -1.: must be a finite length > 0"},
    {"-box inf", PETSC_ERR_ARG_OUTOFRANGE, "-box inf.: must be a finite length > 0"},
    {"-hbar 0", PETSC_ERR_ARG_OUTOFRANGE, "-hbar 0.: must be finite and > 0"},
    {"-hbar nan", PETSC_ERR_ARG_OUTOFRANGE, "-hbar nan.: must be finite and > 0"},
    {"-t_final 0", PETSC_ERR_ARG_OUTOFRANGE, "-t_final 0.: must be finite and > 0"},
    {"-t_final -1", PETSC_ERR_ARG_OUTOFRANGE, "-t_final -1.: must be finite and > 0"},
    {"-dt 0", PETSC_ERR_ARG_OUTOFRANGE, "-dt 0.: must be finite and > 0"},
    {"-dt -0.01", PETSC_ERR_ARG_OUTOFRANGE, "-dt -0.01: must be finite and > 0"},
    {"-dt nan", PETSC_ERR_ARG_OUTOFRANGE, "-dt nan.: must be finite and > 0"},
    {"-dt inf", PETSC_ERR_ARG_OUTOFRANGE, "-dt inf.: must be finite and > 0"},
    {"-dt 2", PETSC_ERR_ARG_OUTOFRANGE, "-dt 2. exceeds -t_final 1.: need 0 < dt <= t_final"},  /* > t_final */
    {"-dt 0.3", PETSC_ERR_ARG_INCOMP, "-t_final / -dt = 3.33333333333 is not a whole number of steps: use -dt 0.25 or 0.333333333333"},    /* t_final / dt not whole */
    {"-t_final 0.02 -dt 0.003", PETSC_ERR_ARG_INCOMP, "-t_final / -dt = 6.66666666667 is not a whole number of steps"},
    {"-potential_strength inf", PETSC_ERR_ARG_OUTOFRANGE, "-potential_strength: must be finite"},
    {"-potential_width 0", PETSC_ERR_ARG_OUTOFRANGE, "-potential_width 0.: must be finite and > 0"},
    {"-potential_width -1", PETSC_ERR_ARG_OUTOFRANGE, "-potential_width -1.: must be finite and > 0"},
    {"-potential cosine -potential_width 3", PETSC_ERR_ARG_INCOMP, "-potential_width 3.: the cosine wavelength must divide -box 16."},
    {"-trap_omega -1", PETSC_ERR_ARG_OUTOFRANGE, "-trap_omega -1.: must be finite and >= 0"},
    {"-trap_omega nan", PETSC_ERR_ARG_OUTOFRANGE, "-trap_omega nan.: must be finite and >= 0"},
    {"-output_interval 0", PETSC_ERR_ARG_OUTOFRANGE, "-output_interval 0: must be >= 1"},
    {"-progress_interval -1", PETSC_ERR_ARG_OUTOFRANGE, "-progress_interval -1: must be >= 0"},
    {"-threads 0", PETSC_ERR_ARG_OUTOFRANGE, "-threads 0: valid range is 1..256"},
    {"-threads 257", PETSC_ERR_ARG_OUTOFRANGE, "-threads 257: valid range is 1..256"},
    {"-memory_limit_mb -1", PETSC_ERR_ARG_OUTOFRANGE, "-memory_limit_mb -1.: must be >= 0"},
    {"-ground_tol 0", PETSC_ERR_ARG_OUTOFRANGE, "-ground_tol 0.: valid range is (0, 1)"},
    {"-ground_tol 1", PETSC_ERR_ARG_OUTOFRANGE, "-ground_tol 1.: valid range is (0, 1)"},
    {"-ground_maxiter 9", PETSC_ERR_ARG_OUTOFRANGE, "-ground_maxiter 9: must be >= 10"},
    {"-ground_dtau -0.1", PETSC_ERR_ARG_OUTOFRANGE, "-ground_dtau -0.1: must be finite and >= 0"},
    {"-init_q 1,2", PETSC_ERR_ARG_SIZ, "-init_q: coherent needs 1 numbers"},                          /* coherent, d = 1 */
    {"-dim 2 -init_p 1", PETSC_ERR_ARG_SIZ, "-init_p: coherent needs 2 numbers"},
    {"-init symmetrized -particles 2 -init_q 1", PETSC_ERR_ARG_SIZ, "-init_q: symmetrized needs 2 numbers"}, /* needs N*d */
    {"-init_q 8", PETSC_ERR_ARG_OUTOFRANGE, "-init_q entry 0 = 8. lies outside the box (-L/2, L/2) = (-8., 8.)"},                     /* |q| < L/2 */
    {"-init_q -9", PETSC_ERR_ARG_OUTOFRANGE, "-init_q entry 0 = -9. lies outside the box (-L/2, L/2) = (-8., 8.)"},
    {"-init_p inf", PETSC_ERR_ARG_OUTOFRANGE, "-init_p entry 0 is not finite"},
    {"-init_p nan", PETSC_ERR_ARG_OUTOFRANGE, "-init_p entry 0 is not finite"},
    {"-method rbm -particles 1", PETSC_ERR_ARG_INCOMP, "-method rbm needs -particles >= 2"},
    {"-method rbm -particles 4 -batch_size 3", PETSC_ERR_ARG_INCOMP, "-batch_size 3: P must divide -particles 4 with 2 <= P <= N"},
    {"-method rbm -particles 4 -batch_size 1", PETSC_ERR_ARG_INCOMP, "-batch_size 1: P must divide -particles 4 with 2 <= P <= N"},
    {"-method rbm -particles 4 -batch_size 6", PETSC_ERR_ARG_INCOMP, "-batch_size 6: P must divide -particles 4 with 2 <= P <= N"},
    {"-method rbm -rb_dt 0.015", PETSC_ERR_ARG_INCOMP, "-rb_dt 0.015 is not a whole multiple of -dt 0.01: nearest valid values are 0.01 and 0.02"},
    {"-method rbm -rb_dt -1", PETSC_ERR_ARG_OUTOFRANGE, "-rb_dt -1.: must be finite and > 0"},
    {"-realizations 2", PETSC_ERR_ARG_INCOMP, "-realizations 2 with -method exact"}, /* exact dynamics */
    {"-method rbm -realizations 0", PETSC_ERR_ARG_OUTOFRANGE, "-realizations 0: must be >= 1"},
    {"-method rbm -seed -1", PETSC_ERR_ARG_OUTOFRANGE, "-seed -1: valid range is 0..4294967295"},
    {"-method rbm -seed 4294967296", PETSC_ERR_ARG_OUTOFRANGE, "-seed 4294967296: valid range is 0..4294967295"}, /* 2^32: must not wrap to 0 */
    {"-method rbm -seed 18446744073709551617", PETSC_ERR_ARG_OUTOFRANGE, "-seed 18446744073709551617: valid range is 0..4294967295"}, /* 2^64 + 1 */
    {"-method rbm -seed abc", PETSC_ERR_ARG_OUTOFRANGE, "-seed abc: valid range is 0..4294967295"},
    {"-method rbm -seed 12x", PETSC_ERR_ARG_OUTOFRANGE, "-seed 12x: valid range is 0..4294967295"},
    {"-method rbm -seed 1.5", PETSC_ERR_ARG_OUTOFRANGE, "-seed 1.5: valid range is 0..4294967295"},
    {"-t_final 1 -dt 1e-17", PETSC_ERR_ARG_OUTOFRANGE, "-t_final / -dt = 1e+17 steps: at most 9007199254740992 steps"}, /* above 2^53 */
    {"-t_final 1 -dt 1e-13", PETSC_ERR_ARG_OUTOFRANGE, "-output_interval 10: 1000000000001 output times of 10000000000000 steps exceed PETSc's integers"}, /* 1e13 steps are fine, 1e12 rows are not */
    {"-output_interval 99999999999999999999", PETSC_ERR_ARG_WRONG, "option -output_interval 99999999999999999999: the value given cannot be read"}, /* beyond 64 bits */
    {"-ranks_per_realization -1", PETSC_ERR_ARG_OUTOFRANGE, "-ranks_per_realization -1: must be >= 1 (or 0 = automatic)"},
    {"-rb_expectation enumerate", PETSC_ERR_ARG_INCOMP, "-rb_expectation enumerate needs -method rbm"}, /* needs -method rbm */
    {"-method rbm -rb_enumerate_limit 0", PETSC_ERR_ARG_OUTOFRANGE, "-rb_enumerate_limit 0.: must be >= 1"},
    /* values PETSc's parser cannot read: "option -X: the value given cannot be read" */
    {"-grid abc", PETSC_ERR_ARG_WRONG, "option -grid abc: the value given cannot be read"},
    {"-grid 3.5", PETSC_ERR_ARG_WRONG, "option -grid 3.5: the value given cannot be read"},
    {"-dt 1e-2x", PETSC_ERR_ARG_WRONG, "option -dt 1e-2x: the value given cannot be read"},
    {"-box abc", PETSC_ERR_ARG_WRONG, "option -box abc: the value given cannot be read"},
    {"-realizations many", PETSC_ERR_ARG_WRONG, "option -realizations many: the value given cannot be read"},
    /* enumerated options are read as strings: "-X value: valid values are ..." */
    {"-scheme bogus", PETSC_ERR_ARG_OUTOFRANGE, "-scheme bogus: valid values are strang "},
    {"-potential bogus", PETSC_ERR_ARG_OUTOFRANGE, "-potential bogus: valid values are none gaussian softcoulomb cosine"},
    {"-init bogus", PETSC_ERR_ARG_OUTOFRANGE, "-init bogus: valid values are coherent symmetrized ground"},
    {"-fftw_planner bogus", PETSC_ERR_ARG_OUTOFRANGE, "-fftw_planner bogus: valid values are estimate measure patient"},
    {"-method bogus", PETSC_ERR_ARG_OUTOFRANGE, "-method bogus: valid values are exact rbm"},
    {"-method rbm -rb_expectation bogus", PETSC_ERR_ARG_OUTOFRANGE, "-rb_expectation bogus: valid values are sample enumerate"},
    {"-scheme STRANG", PETSC_ERR_ARG_OUTOFRANGE, "-scheme STRANG: valid values are strang "}, /* exact, case-sensitive names */
  };
  int bad = 0;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    QrbmConfig           c;
    const PetscErrorCode ierr = parse(cases[i].opts, &c);
    if (ierr != cases[i].code || !strstr(last_msg, cases[i].msg)) {
      print_error("'%s': error %d '%s', want %d '%s'\n", cases[i].opts, (int)ierr, last_msg, (int)cases[i].code, cases[i].msg);
      bad++;
    }
  }
  if (bad) fail_msg("%d invalid option sets not refused as expected", bad);
}

/* -output "" via PetscOptionsSetValue (an empty string cannot be written in InsertString). */
static void test_empty_output_refused(void **state)
{
  (void)state;
  QrbmConfig     c;
  PetscErrorCode ierr;
  db_push(NULL);
  assert_int_equal(PetscOptionsSetValue(NULL, "-output", ""), 0);
  assert_int_equal(PetscPushErrorHandler(PetscReturnErrorHandler, NULL), 0);
  ierr = QrbmConfigSetFromOptions(PETSC_COMM_SELF, &c);
  assert_int_equal(PetscPopErrorHandler(), 0);
  db_pop();
  assert_int_not_equal(ierr, 0);
}

static void test_check_all_used(void **state)
{
  (void)state;
  QrbmConfig     c;
  PetscErrorCode ierr;
  /* every option read: accepted */
  db_push("-grid 32 -dt 0.1 -quiet");
  assert_int_equal(QrbmConfigSetFromOptions(PETSC_COMM_SELF, &c), 0);
  assert_int_equal(QrbmConfigCheckAllUsed(PETSC_COMM_SELF), 0);
  db_pop();
  /* a typo: must be refused */
  db_push("-grid 32 -gird 16 -quiet");
  assert_int_equal(QrbmConfigSetFromOptions(PETSC_COMM_SELF, &c), 0);
  assert_int_equal(PetscPushErrorHandler(PetscReturnErrorHandler, NULL), 0);
  ierr = QrbmConfigCheckAllUsed(PETSC_COMM_SELF);
  assert_int_equal(PetscPopErrorHandler(), 0);
  db_pop();
  assert_int_equal(ierr, PETSC_ERR_ARG_WRONG);
  /* an option that PETSc knows but qrbm does not read: refused as well */
  db_push("-grid 32 -ksp_rtol 1e-3 -quiet");
  assert_int_equal(QrbmConfigSetFromOptions(PETSC_COMM_SELF, &c), 0);
  assert_int_equal(PetscPushErrorHandler(PetscReturnErrorHandler, NULL), 0);
  ierr = QrbmConfigCheckAllUsed(PETSC_COMM_SELF);
  assert_int_equal(PetscPopErrorHandler(), 0);
  db_pop();
  assert_int_equal(ierr, PETSC_ERR_ARG_WRONG);
}

/* Every row of the options table is well formed: a unique dashed name, help text, a field inside
   QrbmConfig of the size its type reads, a choice list that holds the default. */
static void test_options_table(void **state)
{
  (void)state;
  int rows = 0;
  for (const QrbmOption *o = QrbmOptions; o->name; o++, rows++) {
    static const size_t sizes[] = {0, sizeof(PetscReal), sizeof(PetscBool), 0, sizeof(int), 0};
    assert_true(o->name[0] == '-' && o->name[1] && o->help && o->help[0] && o->def);
    for (const QrbmOption *p = QrbmOptions; p < o; p++) assert_string_not_equal(p->name, o->name);
    assert_true(o->offset + o->size <= sizeof(QrbmConfig));
    if (sizes[o->type]) assert_int_equal(o->size, sizes[o->type]);
    if (o->type == QRBM_OPT_INT) assert_true(o->size == sizeof(PetscInt) || o->size == sizeof(PetscInt64));
    if (o->type == QRBM_OPT_REALS) assert_true(o->count && o->given && o->size % sizeof(PetscReal) == 0);
    if (o->type == QRBM_OPT_CHOICE) assert_true(o->choice && o->choice(0) && QrbmOptionChoiceIndex(o, o->def) >= 0);
  }
  assert_true(rows >= 48);
}

/* The accessors of the table follow a field's size: 64-bit integers (the seed now, step counts
   later) keep every digit, 32-bit ones refuse what does not fit, choices refuse unknown indices. */
static void test_option_accessors(void **state)
{
  (void)state;
  QrbmConfig       c;
  char             text[64];
  const QrbmOption wide = {.name = "-seed", .type = QRBM_OPT_INT, .offset = offsetof(QrbmConfig, seed), .size = sizeof(c.seed)};
  const QrbmOption narrow = {.name = "-grid", .type = QRBM_OPT_INT, .offset = offsetof(QrbmConfig, grid), .size = sizeof(c.grid)};
  memset(&c, 0, sizeof(c));
  assert_true(QrbmOptionSetNumber(&wide, &c, 1099511627776.0)); /* 2^40 */
  assert_int_equal(QrbmOptionText(&wide, &c, text, sizeof(text)), 0);
  assert_string_equal(text, "1099511627776");
  assert_false(QrbmOptionSetNumber(&wide, &c, 2.5));
  assert_false(QrbmOptionSetNumber(&narrow, &c, 4294967296.0));
  assert_false(QrbmOptionSetNumber(&narrow, &c, NAN));
  assert_true(QrbmOptionSetNumber(&narrow, &c, -7) && c.grid == -7);
  for (const QrbmOption *o = QrbmOptions; o->name; o++)
    if (o->type == QRBM_OPT_CHOICE) {
      PetscInt n = 0;
      while (o->choice(n)) n++;
      assert_false(QrbmOptionSetNumber(o, &c, (double)n));
      assert_true(QrbmOptionSetNumber(o, &c, (double)(n - 1)) && QrbmOptionInt(o, &c) == n - 1);
      assert_int_equal(QrbmOptionChoiceIndex(o, o->choice(n - 1)), n - 1);
      assert_int_equal(QrbmOptionChoiceIndex(o, "no-such-value"), -1);
    }
}

/* Changes field o of c to another valid-looking value. */
static void perturb(const QrbmOption *o, QrbmConfig *c)
{
  char *f = (char *)c + o->offset;
  switch (o->type) {
  case QRBM_OPT_STRING: strcat(f, "x"); break;
  case QRBM_OPT_REALS: ((PetscReal *)f)[0] += 1; break;
  case QRBM_OPT_REAL: *(PetscReal *)f = 2 * *(PetscReal *)f + 1; break;
  case QRBM_OPT_CHOICE: assert_true(QrbmOptionSetNumber(o, c, o->choice(QrbmOptionInt(o, c) + 1) ? QrbmOptionInt(o, c) + 1 : 0)); break;
  default: assert_true(QrbmOptionSetNumber(o, c, o->type == QRBM_OPT_BOOL ? !QrbmOptionInt(o, c) : QrbmOptionInt(o, c) + 1));
  }
}

/* The restart's physics check derives from the table: changing any fixed option changes the
   physics hash (and so the checkpoint's /physics group), changing any other option does not. */
static void test_physics_hash_covers_fixed_options(void **state)
{
  (void)state;
  QrbmConfig c0, c;
  char       h0[17], h[17];
  assert_int_equal(parse("-method rbm -particles 4", &c0), 0);
  assert_int_equal(QrbmCheckpointPhysicsHash(&c0, h0), 0);
  for (const QrbmOption *o = QrbmOptions; o->name; o++) {
    c = c0;
    perturb(o, &c);
    assert_int_equal(QrbmCheckpointPhysicsHash(&c, h), 0);
    if ((o->cls == QRBM_OPT_FIXED) != (strcmp(h, h0) != 0)) fail_msg("option %s (class %d): hash %s -> %s", o->name, (int)o->cls, h0, h);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_defaults),
    cmocka_unit_test(test_valid_values),
    cmocka_unit_test(test_edges_accepted),
    cmocka_unit_test(test_invalid_refused),
    cmocka_unit_test(test_empty_output_refused),
    cmocka_unit_test(test_check_all_used),
    cmocka_unit_test(test_options_table),
    cmocka_unit_test(test_option_accessors),
    cmocka_unit_test(test_physics_hash_covers_fixed_options),
  };
  return UNIT_RUN("config", tests, 0);
}
