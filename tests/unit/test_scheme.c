/* Unit tests of the scheme table (include/qrbm/scheme.h) and of the propagator running its rows
   (include/qrbm/propagator.h).

   * The table: every row passes QrbmSchemeCheck, names are unique and found by QrbmSchemeFind, the
     -help text names every row with its order and FFT pairs; QrbmSchemeCheck refuses rows whose
     fractions do not sum to 1, whose flags disagree with the stages, with a gradient coefficient
     on a kinetic stage, or with one stage. FFT pairs and potential-stage counts (the phase-cache
     size) of the built-ins.
   * The order of EVERY row, so that a new row is tested without changing this file: two particles
     in 1-D, Gaussian pair potential (lambda = 2, sigma = 1), no trap, M = 32, L = 12 (h = 0.375:
     the potential's Fourier content at the Nyquist wave number is exp(-(pi/h)^2/2) ~ 1e-15, so
     the force-gradient term and the RKN order condition [V,[V,[V,T]]] = 0 hold on the grid to far
     below the errors measured), packet at q = 0.5, p = 0.3, t = 0.5. No trap: the Blanes-Moan
     schemes are built for near-harmonic problems and with a trap stay super-convergent down to
     the rounding floor (tests/test_schemes.py measures orders with a trap, on the density).
     Reference: exp(-i H t) psi0 with the grid Hamiltonian built here independently (DFT kinetic
     matrix, V at the minimum image) and diagonalised by LAPACK's zheev. The l2 error of a scheme
     of order p is C dt^p (1 + o(1)); with n = 1, 2, 3, 4, 6, 8, 12, ... steps the local slopes
     log(e1/e2)/log(n2/n1) of the first three step counts with errors in [5e-13, 1e-3] whose two
     slopes agree within tol/2 (asymptotic range; above the rounding floor of ~n x stages FFTs,
     ~1e-14) must equal the stated order within tol = 0.3 (p <= 4) or 0.5 (p = 6; as
     tests/test_schemes.py: the higher-order corrections grow with the number of stages).
   * Rows outside the table with patterns no built-in has (QrbmPropagatorSetScheme): modified
     potentials at both ends (the merged end stage carries a summed gradient coefficient) and in
     no other place, two kinetic stages in a row, asymmetric; and a Lie splitting P K whose ends
     do not merge. Both are at least first order (8 times the steps cut the error at least 8 / 1.5
     times: O(dt) corrections), and, paused after every step and resumed in a fresh propagator
     from (psi, step, pending) as a checkpoint does, give states identical bit for bit to an
     uninterrupted run, for exact dynamics and for random batches of 2 among 4 reshuffled every 2
     steps (a deferred potential stage is applied alone with the old pairing at an interval start,
     redrawn after a resume). After a pause pending is QrbmSchemeMergesEnds of the row.

   Run: make unit (mpirun -np 1 build/tests/test_scheme). */
#include <qrbm/propagator.h>
#include "unit.h"
#include <complex.h>

void zheev_(const char *jobz, const char *uplo, const int *n, double _Complex *a, const int *lda, double *w, double _Complex *work, const int *lwork, double *rwork, int *info);

#define T_END          0.5
#define ORDER_M        32
#define ERR_FLOOR      5e-13
#define ERR_ASYMPTOTIC 1e-3

/* The grid problem of the order test (and, with other N/M, of the pause tests). */
static void problem_config(PetscInt N, PetscInt M, double L, QrbmConfig *c)
{
  make_config(N, 1, M, L, 1.0, c);
  c->potential = QRBM_POT_GAUSSIAN; c->strength = 2.0; c->width = 1.0;
  c->t_final = T_END; c->rb_steps = 1; c->init = QRBM_INIT_COHERENT; c->ninit = 1; c->init_q[0] = 0.5; c->init_p[0] = 0.3;
}

typedef struct {
  QrbmConfig    cfg;
  QrbmGrid      g;
  QrbmState     st;
  QrbmKinetic   kin;
  QrbmPotential pot;
  qcomplex     *psi0;
} Setup;

/* The potential with the phase cache a run of `row` at one dt needs (sized as a run sizes it). */
static void make_potential(Setup *s, const QrbmScheme *row)
{
  assert_int_equal(QrbmPotentialCreate(&s->g, &s->cfg, QrbmPropagatorPhaseTables(&s->cfg, row), &s->pot), 0);
  if (QrbmSchemeNeedsGradient(row)) assert_int_equal(QrbmPotentialSetUpGradient(&s->pot, &s->cfg, PETSC_TRUE), 0);
}

/* Grid, state (the coherent product), FFT plans, potential. */
static void setup(Setup *s, const QrbmScheme *row)
{
  qcomplex *phi;
  assert_int_equal(QrbmGridCreate(PETSC_COMM_SELF, &s->cfg, &s->g), 0);
  assert_int_equal(QrbmStateCreate(&s->g, &s->st), 0);
  assert_int_equal(QrbmKineticCreate(&s->g, &s->cfg, s->st.psi, &s->kin), 0);
  make_potential(s, row);
  phi     = malloc(sizeof(qcomplex) * (size_t)s->g.Md);
  s->psi0 = malloc(sizeof(qcomplex) * (size_t)s->g.xlay.count);
  assert_non_null(phi);
  assert_non_null(s->psi0);
  QrbmCoherentPacket(&s->g, 1.0, s->cfg.init_q, s->cfg.init_p, phi);
  assert_int_equal(QrbmCoherentPacketNormalize(&s->g, 1.0, 0, phi), 0);
  assert_int_equal(QrbmStateSetProduct(&s->st, phi), 0);
  memcpy(s->psi0, s->st.psi, sizeof(qcomplex) * (size_t)s->g.xlay.count);
  free(phi);
}

static void teardown(Setup *s)
{
  free(s->psi0);
  assert_int_equal(QrbmPotentialDestroy(&s->pot), 0);
  assert_int_equal(QrbmKineticDestroy(&s->kin), 0);
  assert_int_equal(QrbmStateDestroy(&s->st), 0);
  assert_int_equal(QrbmGridDestroy(&s->g), 0);
}

/* psi0 advanced by n steps of t/n with row (exact dynamics), into out; a fresh potential, since a
   run has one dt. */
static void evolve(Setup *s, const QrbmScheme *row, PetscInt n, qcomplex *out)
{
  QrbmPropagator pr;
  PetscInt64     done;
  s->cfg.dt = T_END / n; s->cfg.nsteps = n;
  assert_int_equal(QrbmPotentialDestroy(&s->pot), 0);
  make_potential(s, row);
  memcpy(s->st.psi, s->psi0, sizeof(qcomplex) * (size_t)s->g.xlay.count);
  assert_int_equal(QrbmPropagatorCreate(&s->cfg, &s->g, &s->st, &s->kin, &s->pot, &pr), 0);
  assert_int_equal(QrbmPropagatorSetScheme(pr, row), 0);
  assert_int_equal(QrbmPropagatorAdvance(pr, n, NULL, &done), 0);
  assert_int_equal(done, n);
  assert_int_equal(QrbmPropagatorDestroy(&pr), 0);
  memcpy(out, s->st.psi, sizeof(qcomplex) * (size_t)s->g.xlay.count);
}

/* ------------------------------------------------------------ the independent reference -------- */

/* exp(-i H t) psi0 for N = 2 in 1-D: H = T1 + T2 + U(x1) + U(x2) + V(x1 - x2), T the DFT kinetic
   matrix (1/M) sum_k e^{ik(x_a - x_b)} k^2/2 with k = 2 pi/L fftfreq(M), V at the minimum image. */
static void reference(const Setup *s, qcomplex *out)
{
  const int       M = (int)s->g.M, n = M * M, lwork = 4 * n;
  const double    L = s->g.L, h = L / M, om2 = s->cfg.trap_omega * s->cfg.trap_omega;
  double _Complex *H = calloc((size_t)n * n, sizeof(*H)), *work = malloc(sizeof(*work) * lwork), *Tm = calloc((size_t)M * M, sizeof(*Tm));
  double          *w = malloc(sizeof(double) * n), *rwork = malloc(sizeof(double) * 3 * n);
  int              info;
  assert_true(H && work && Tm && w && rwork);
  for (int a = 0; a < M; a++)
    for (int b = 0; b < M; b++)
      for (int m = 0; m < M; m++) {
        const double k = 2 * PETSC_PI / L * (m <= (M - 1) / 2 ? m : m - M);
        Tm[a * M + b] += cexp(I * k * (a - b) * h) * 0.5 * k * k / M;
      }
  for (int i = 0; i < n; i++) {
    const int    a1 = i / M, a2 = i % M;
    const double x1 = -L / 2 + a1 * h, x2 = -L / 2 + a2 * h, r = (a1 - a2) * h - L * round((a1 - a2) * h / L);
    for (int b = 0; b < M; b++) {
      H[(size_t)(b * M + a2) * n + i] += Tm[a1 * M + b]; /* column-major: H[col * n + row] */
      H[(size_t)(a1 * M + b) * n + i] += Tm[a2 * M + b];
    }
    H[(size_t)i * n + i] += 0.5 * om2 * (x1 * x1 + x2 * x2) + s->cfg.strength * exp(-r * r / 2);
  }
  zheev_("V", "U", &n, H, &n, w, work, &lwork, rwork, &info);
  assert_int_equal(info, 0);
  for (int i = 0; i < n; i++) out[i] = 0;
  for (int j = 0; j < n; j++) {
    double _Complex c = 0;
    for (int i = 0; i < n; i++) c += conj(H[(size_t)j * n + i]) * s->psi0[i];
    c *= cexp(-I * w[j] * T_END);
    for (int i = 0; i < n; i++) out[i] += c * H[(size_t)j * n + i];
  }
  free(H); free(work); free(Tm); free(w); free(rwork);
}

static double max_diff(const qcomplex *a, const qcomplex *b, ptrdiff_t n)
{
  double e = 0;
  for (ptrdiff_t i = 0; i < n; i++) e = fmax(e, cabs(a[i] - b[i]));
  return e;
}

/* Discrete l2 distance (sum |a - b|^2)^(1/2): the error of a state normalised to 1 in l2 up to h^D. */
static double l2_diff(const qcomplex *a, const qcomplex *b, ptrdiff_t n)
{
  double e = 0;
  for (ptrdiff_t i = 0; i < n; i++) e += creal((a[i] - b[i]) * conj(a[i] - b[i]));
  return sqrt(e);
}

/* ------------------------------------------------------------ the table ------------------------ */

static void test_table_rows(void **state)
{
  (void)state;
  char *help;
  assert_true(QrbmSchemeCount() >= 1);
  assert_null(QrbmSchemeGet(QrbmSchemeCount()));
  assert_null(QrbmSchemeName(-1));
  assert_int_equal(QrbmSchemeFind("no-such-scheme"), -1);
  assert_int_equal(QrbmSchemeHelp(&help), 0);
  for (PetscInt i = 0; i < QrbmSchemeCount(); i++) {
    const QrbmScheme *s = QrbmSchemeGet(i);
    char              item[96];
    assert_int_equal(QrbmSchemeCheck(s), 0);
    assert_int_equal(QrbmSchemeFind(QrbmSchemeName(i)), i); /* unique: the first row of the name */
    snprintf(item, sizeof(item), " %s %d %d", s->name, s->order, QrbmSchemePairs(s));
    if (!strstr(help, item)) fail_msg("-help text lacks '%s': %s", item, help);
  }
  assert_int_equal(PetscFree(help), 0);
  /* FFT pairs and distinct potential stages (c, f) of the built-ins, merged end stage included */
  const struct { const char *name; int pairs, coefs; } want[] = {{"strang", 1, 1}, {"yoshida4", 3, 2}, {"chin4", 2, 3}, {"bm6", 6, 5}, {"bm11", 11, 7}};
  for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
    const QrbmScheme *s = QrbmSchemeGet(QrbmSchemeFind(want[k].name));
    assert_non_null(s);
    assert_int_equal(QrbmSchemePairs(s), want[k].pairs);
    assert_int_equal(QrbmSchemePotentialCoefficients(s), want[k].coefs);
  }
}

static void test_check_refuses_bad_rows(void **state)
{
  (void)state;
  const QrbmStage sum[]  = {{QRBM_STAGE_KINETIC, 0.5, 0}, {QRBM_STAGE_POTENTIAL, 1, 0}, {QRBM_STAGE_KINETIC, 0.4, 0}};
  const QrbmStage grad[] = {{QRBM_STAGE_KINETIC, 0.5, 0.1}, {QRBM_STAGE_POTENTIAL, 1, 0}, {QRBM_STAGE_KINETIC, 0.5, 0}};
  const QrbmStage ok[]   = {{QRBM_STAGE_POTENTIAL, 0.5, 0}, {QRBM_STAGE_KINETIC, 1, 0}, {QRBM_STAGE_POTENTIAL, 0.5, 0.01}};
  const QrbmScheme bad[] = {{"sum", 2, 0, 3, sum}, {"grad", 2, 0, 3, grad}, {"flags", 2, 0, 3, ok}, {"one", 1, 0, 1, ok}};
  const QrbmScheme good  = {"good", 2, QRBM_SCHEME_GRADIENT | QRBM_SCHEME_POTENTIAL_ENDS, 3, ok};
  assert_int_equal(QrbmSchemeCheck(&good), 0);
  assert_int_equal(PetscPushErrorHandler(PetscReturnErrorHandler, NULL), 0);
  for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
    if (QrbmSchemeCheck(&bad[k]) != PETSC_ERR_PLIB) fail_msg("row %s accepted", bad[k].name);
  assert_int_equal(PetscPopErrorHandler(), 0);
}

/* ------------------------------------------------------------ orders --------------------------- */

static void test_order_of_every_row(void **state)
{
  (void)state;
  Setup     s;
  qcomplex *ref, *psi;
  problem_config(2, ORDER_M, 12.0, &s.cfg);
  setup(&s, QrbmSchemeGet(0));
  ref = malloc(sizeof(qcomplex) * (size_t)s.g.xlay.count);
  psi = malloc(sizeof(qcomplex) * (size_t)s.g.xlay.count);
  assert_true(ref && psi);
  reference(&s, ref);
  for (PetscInt i = 0; i < QrbmSchemeCount(); i++) {
    const QrbmScheme *row = QrbmSchemeGet(i);
    const double      tol = row->order <= 4 ? 0.3 : 0.5;
    double            e[3] = {-1, -1, -1}, n[3] = {0, 0, 0}, measured = -1;
    s.cfg.scheme = (int)i;
    for (int k = 0; k < 20 && measured < 0; k++) { /* 1, 2, 3, 4, 6, 8, 12, ... 1024 steps */
      const PetscInt steps = k == 0 ? 1 : (PetscInt)(k % 2 ? 2 : 3) << ((k - 1) / 2);
      evolve(&s, row, steps, psi);
      e[0] = e[1]; e[1] = e[2]; e[2] = l2_diff(psi, ref, s.g.xlay.count);
      n[0] = n[1]; n[1] = n[2]; n[2] = (double)steps;
      if (e[2] < ERR_FLOOR) break;
      /* asymptotic: errors below ERR_ASYMPTOTIC and two successive slopes agreeing */
      const double s1 = log(e[0] / e[1]) / log(n[1] / n[0]), s2 = log(e[1] / e[2]) / log(n[2] / n[1]);
      if (e[0] > 0 && e[0] <= ERR_ASYMPTOTIC && fabs(s1 - s2) <= tol / 2) measured = s2;
    }
    print_message("scheme %-10s order %d: measured %.3f\n", row->name, row->order, measured);
    if (measured < 0) fail_msg("scheme %s: no three step sizes with errors in [%g, %g] and consistent slopes", row->name, ERR_FLOOR, ERR_ASYMPTOTIC);
    if (fabs(measured - row->order) > tol) fail_msg("scheme %s: measured order %.3f, stated %d (tolerance %.1f)", row->name, measured, row->order, tol);
  }
  free(ref); free(psi);
  teardown(&s);
}

/* ------------------------------------------------------------ rows outside the table ----------- */

/* Modified potentials at both ends (merged: summed f), two kinetic stages in a row, asymmetric. */
static const QrbmStage odd_stages[] = {{QRBM_STAGE_POTENTIAL, 0.25, 0.01}, {QRBM_STAGE_KINETIC, 0.3, 0}, {QRBM_STAGE_KINETIC, 0.2, 0},
                                       {QRBM_STAGE_POTENTIAL, 0.5, 0},     {QRBM_STAGE_KINETIC, 0.5, 0}, {QRBM_STAGE_POTENTIAL, 0.25, 0.02}};
static const QrbmScheme odd = {"odd", 1, QRBM_SCHEME_GRADIENT | QRBM_SCHEME_POTENTIAL_ENDS, 6, odd_stages};
/* Lie splitting: ends of different kinds, never merged, never pending. */
static const QrbmStage  lie_stages[] = {{QRBM_STAGE_POTENTIAL, 1, 0}, {QRBM_STAGE_KINETIC, 1, 0}};
static const QrbmScheme lie          = {"lie", 1, 0, 2, lie_stages};

static PetscErrorCode PauseAlways(void *ctx, PetscBool *pause)
{
  (void)ctx;
  *pause = PETSC_TRUE;
  return PETSC_SUCCESS;
}

/* n steps: uninterrupted, and paused after every step with a fresh propagator resumed from
   (psi, step, pending) each time; the final states must be identical bit for bit. */
static void pause_resume(Setup *s, const QrbmScheme *row, PetscBool sample, PetscInt n)
{
  const size_t   bytes = sizeof(qcomplex) * (size_t)s->g.xlay.count;
  qcomplex      *ref   = malloc(bytes);
  QrbmPropagator pr;
  PetscInt64     done, step = 0;
  PetscBool      pending = PETSC_FALSE;
  assert_non_null(ref);
  memcpy(s->st.psi, s->psi0, bytes);
  assert_int_equal(QrbmPropagatorCreate(&s->cfg, &s->g, &s->st, &s->kin, &s->pot, &pr), 0);
  assert_int_equal(QrbmPropagatorSetScheme(pr, row), 0);
  if (sample) assert_int_equal(QrbmPropagatorSetSampling(pr, 3), 0);
  assert_int_equal(QrbmPropagatorAdvance(pr, n, NULL, &done), 0);
  assert_int_equal(QrbmPropagatorDestroy(&pr), 0);
  memcpy(ref, s->st.psi, bytes);
  memcpy(s->st.psi, s->psi0, bytes);
  while (step < n) {
    assert_int_equal(QrbmPropagatorCreate(&s->cfg, &s->g, &s->st, &s->kin, &s->pot, &pr), 0);
    assert_int_equal(QrbmPropagatorSetScheme(pr, row), 0);
    assert_int_equal(QrbmPropagatorReset(pr, step, pending), 0);
    if (sample) assert_int_equal(QrbmPropagatorSetSampling(pr, 3), 0);
    assert_int_equal(QrbmPropagatorSetCheck(pr, PauseAlways, NULL), 0);
    assert_int_equal(QrbmPropagatorAdvance(pr, n - step, NULL, &done), 0);
    assert_int_equal(done, 1);
    assert_int_equal(QrbmPropagatorGetStep(pr, &step, &pending), 0);
    assert_int_equal(pending, step < n ? QrbmSchemeMergesEnds(row) : PETSC_FALSE);
    assert_int_equal(QrbmPropagatorDestroy(&pr), 0);
  }
  if (memcmp(ref, s->st.psi, bytes)) fail_msg("%s (%s): paused and resumed at every step differs from the uninterrupted run by %g", row->name, sample ? "random batches" : "exact", max_diff(ref, s->st.psi, s->g.xlay.count));
  free(ref);
}

static void test_rows_outside_table(void **state)
{
  (void)state;
  const QrbmScheme *rows[] = {&odd, &lie};
  for (size_t k = 0; k < 2; k++) {
    Setup s;
    /* consistent: converges to the reference */
    problem_config(2, 24, 12.0, &s.cfg);
    setup(&s, rows[k]);
    qcomplex *ref = malloc(sizeof(qcomplex) * (size_t)s.g.xlay.count), *psi = malloc(sizeof(qcomplex) * (size_t)s.g.xlay.count);
    assert_true(ref && psi);
    reference(&s, ref);
    evolve(&s, rows[k], 8, psi);
    const double e8 = max_diff(psi, ref, s.g.xlay.count);
    evolve(&s, rows[k], 64, psi);
    const double e64 = max_diff(psi, ref, s.g.xlay.count);
    print_message("row %s: error %.3g at 8 steps, %.3g at 64\n", rows[k]->name, e8, e64);
    if (!(e64 <= e8 / 8 * 1.5)) fail_msg("row %s does not converge at first order: %g at 8 steps, %g at 64", rows[k]->name, e8, e64); /* 8x the steps: at least 1/8 (+50%: O(dt) corrections) */
    free(ref); free(psi);
    teardown(&s);
    /* pauses: exact dynamics, then random batches of 2 among 4 reshuffled every 2 steps */
    problem_config(4, 8, 8.0, &s.cfg);
    s.cfg.method = QRBM_METHOD_RBM; s.cfg.batch_size = 2; s.cfg.rb_steps = 2; s.cfg.seed = 7; s.cfg.dt = 0.05; s.cfg.nsteps = 7;
    setup(&s, rows[k]);
    pause_resume(&s, rows[k], PETSC_FALSE, 7);
    pause_resume(&s, rows[k], PETSC_TRUE, 7);
    teardown(&s);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_table_rows),
    cmocka_unit_test(test_check_refuses_bad_rows),
    cmocka_unit_test(test_order_of_every_row),
    cmocka_unit_test(test_rows_outside_table),
  };
  return UNIT_RUN("scheme", tests, 0);
}
