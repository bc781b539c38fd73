/* Unit tests of the potential sub-step (include/qrbm/potential.h).

   QrbmPotentialApply multiplies psi by exp(z/hbar (sum_m U(x_m) + sum_{l<n} w_ln V(x_l - x_n))) with
   hoisted pair-phase products; QrbmPotentialEnergyLocal sums |psi|^2 sum_{l<n} w_ln V h^D. Both are
   compared with a naive per-point evaluation that shares no code with the library: own grid
   coordinates x_j = -L/2 + j L/M, own row-major decomposition of the flat index (particle 0's axes
   outermost), own minimum image and own formulas for U and V (gaussian, soft Coulomb, cosine).

   Coverage: N = 1..4 for d = 1 and d = 2 (plus d = 3), odd and even M, three potentials with a
   trap, real, imaginary and complex time steps z, and four weight patterns: the exact 1/(N-1), random
   batch pairings (weight 1 inside a batch, 0 across, as produced by QrbmBatchWeights), a single pair,
   and general distinct weights. A fresh QrbmPotential is used per (weights, z), its phase-table
   cache sized for the trap and one table per pair. Every setup runs with 1 OpenMP thread, those with N = 4 also with 2.

   Tolerance: each phase is a product of at most N(N+1)/2 + 1 unit-modulus-ish factors, each with a
   relative rounding error of a few eps times |z/hbar * w V| <= 1: relative error per point below
   ~30 eps ~ 7e-15; we require 1e-14 (relative to |psi z-phase| per point). The energy is a sum of
   M^D terms in long double; its error is measured relative to the same sum with |w V| (the
   cosine potential changes sign, so the sum itself may cancel): 1e-14.

   Run: make unit (mpirun -np 1 build/tests/test_potential). */
#include <qrbm/events.h>
#include <qrbm/kinetic.h>
#include <qrbm/potential.h>
#include "unit.h"
#include <omp.h>

#define TOL_PHASE  1e-14
#define TOL_ENERGY 1e-14

static int nthreads = 1;

typedef struct {
  PetscInt          N, d, M;
  double            L, hbar, omega, lambda, sigma;
  QrbmPotentialKind kind;
} Setup;

/* The shared minimal configuration with this setup's potential, trap and thread count. */
static void potential_config(const Setup *s, QrbmConfig *c)
{
  make_config(s->N, s->d, s->M, s->L, s->hbar, c);
  c->potential = s->kind; c->strength = s->lambda; c->width = s->sigma; c->trap_omega = s->omega; c->threads = nthreads;
}

static double min_image(double r, double L) { return r - L * round(r / L); }

static double naive_V(const Setup *s, const double *r)
{
  double r2 = 0, c = 0;
  for (PetscInt a = 0; a < s->d; a++) {
    r2 += r[a] * r[a];
    c += cos(2 * PETSC_PI * r[a] / s->sigma);
  }
  switch (s->kind) {
  case QRBM_POT_NONE: return 0;
  case QRBM_POT_GAUSSIAN: return s->lambda * exp(-r2 / (2 * s->sigma * s->sigma));
  case QRBM_POT_SOFTCOULOMB: return s->lambda / sqrt(r2 + s->sigma * s->sigma);
  case QRBM_POT_COSINE: return s->lambda * c / s->d;
  }
  return NAN;
}

/* Coordinates of every particle at flat index `flat` (row-major, particle 0 outermost). */
static void coords(const Setup *s, ptrdiff_t flat, double x[QRBM_MAX_PARTICLES][3])
{
  const double h = s->L / s->M;
  for (PetscInt a = s->N * s->d - 1; a >= 0; a--) {
    x[a / s->d][a % s->d] = -0.5 * s->L + (double)(flat % s->M) * h;
    flat /= s->M;
  }
}

/* sum_m U(x_m) and sum_{l<n} w_ln V(x_l - x_n) at one point (and sum |w_ln V| in *vabs). */
static void naive_sums_abs(const Setup *s, const QrbmPairWeights *W, ptrdiff_t flat, long double *u, long double *v, long double *vabs)
{
  double x[QRBM_MAX_PARTICLES][3];
  coords(s, flat, x);
  *u = *v = *vabs = 0;
  for (PetscInt m = 0; m < s->N; m++)
    for (PetscInt a = 0; a < s->d; a++) *u += 0.5L * s->omega * s->omega * x[m][a] * x[m][a];
  for (PetscInt l = 0; l < s->N; l++)
    for (PetscInt n = l + 1; n < s->N; n++) {
      const double w = W->w[l * s->N + n];
      double       r[3];
      if (w == 0) continue;
      for (PetscInt a = 0; a < s->d; a++) r[a] = min_image(x[l][a] - x[n][a], s->L);
      *v += (long double)w * naive_V(s, r);
      *vabs += fabsl((long double)w * naive_V(s, r));
    }
}

static void naive_sums(const Setup *s, const QrbmPairWeights *W, ptrdiff_t flat, long double *u, long double *v)
{
  long double vabs;
  naive_sums_abs(s, W, flat, u, v, &vabs);
}

static ptrdiff_t npoints(const Setup *s)
{
  ptrdiff_t n = 1;
  for (PetscInt a = 0; a < s->N * s->d; a++) n *= s->M;
  return n;
}

static void random_psi(qcomplex *psi, ptrdiff_t n)
{
  for (ptrdiff_t i = 0; i < n; i++) psi[i] = (0.5 + urand()) * cexp(2 * PETSC_PI * I * urand());
}

typedef enum { W_EXACT, W_PAIRING_A, W_PAIRING_B, W_SINGLE, W_GENERAL, W_NONE, W_NPATTERNS } Pattern;
static const char *const pattern_names[] = {"exact", "pairing-a", "pairing-b", "single-pair", "general", "none"};

/* Weight patterns. Pairings mimic random batches with P = 2 (N even) or a batch of 2 plus a
   singleton (N odd): weight 1 inside a batch, 0 elsewhere. */
static void weights(PetscInt N, Pattern p, QrbmPairWeights *W)
{
  memset(W, 0, sizeof(*W));
  W->N = N;
  switch (p) {
  case W_EXACT: QrbmPairWeightsExact(N, W); break;
  case W_PAIRING_A: /* (0, N-1), (1, N-2), ... */
    for (PetscInt l = 0; l < N / 2; l++) W->w[l * N + (N - 1 - l)] = 1.0;
    break;
  case W_PAIRING_B: /* (0, 2), (1, 3) for N = 4; (0, 2) for N = 3; (0, 1) for N = 2 */
    if (N == 2) W->w[0 * N + 1] = 1.0;
    if (N >= 3) W->w[0 * N + 2] = 1.0;
    if (N >= 4) W->w[1 * N + 3] = 1.0;
    break;
  case W_SINGLE:
    if (N >= 2) W->w[(N - 2) * N + (N - 1)] = 0.75;
    break;
  case W_GENERAL:
    for (PetscInt l = 0; l < N; l++)
      for (PetscInt n = l + 1; n < N; n++) W->w[l * N + n] = ((l + n) % 3 == 0) ? 0.0 : 0.1 * (l + 1) + 0.37 * n;
    break;
  default: break;
  }
}

static const qcomplex zs[] = {-0.37 * I, -0.05, -0.02 - 0.3 * I};

/* Apply once and twice, compare with the naive phase; energy with the naive sum. */
static int check_setup(const Setup *s)
{
  QrbmConfig cfg;
  QrbmGrid   g;
  int        bad = 0;
  const ptrdiff_t n = npoints(s);
  potential_config(s, &cfg);
  assert_int_equal(QrbmGridCreate(PETSC_COMM_SELF, &cfg, &g), 0);
  assert_int_equal((long long)g.xlay.count, (long long)n);
  qcomplex *psi = malloc(sizeof(qcomplex) * (size_t)n), *psi0 = malloc(sizeof(qcomplex) * (size_t)n);
  assert_non_null(psi);
  assert_non_null(psi0);
  for (int p = 0; p < W_NPATTERNS; p++) {
    QrbmPairWeights W;
    weights(s->N, (Pattern)p, &W);
    for (size_t iz = 0; iz < sizeof(zs) / sizeof(zs[0]); iz++) {
      QrbmPotential pot;
      const qcomplex z = zs[iz];
      double         err1 = 0, err2 = 0;
      assert_int_equal(QrbmPotentialCreate(&g, &cfg, 1 + (int)(s->N * (s->N - 1) / 2), &pot), 0); /* one z: the trap and at most a table per pair */
      random_psi(psi0, n);
      memcpy(psi, psi0, sizeof(qcomplex) * (size_t)n);
      assert_int_equal(QrbmPotentialApply(&pot, &W, z, psi), 0);
      for (ptrdiff_t i = 0; i < n; i++) {
        long double u, v;
        naive_sums(s, &W, i, &u, &v);
        const qcomplex want = psi0[i] * cexp(z / s->hbar * (double)(u + v));
        err1 = fmax(err1, cabs(psi[i] - want) / cabs(want));
      }
      /* a second application reuses the cached tables: phase squared */
      assert_int_equal(QrbmPotentialApply(&pot, &W, z, psi), 0);
      for (ptrdiff_t i = 0; i < n; i++) {
        long double u, v;
        naive_sums(s, &W, i, &u, &v);
        const qcomplex want = psi0[i] * cexp(2 * z / s->hbar * (double)(u + v));
        err2 = fmax(err2, cabs(psi[i] - want) / cabs(want));
      }
      if (!(err1 <= TOL_PHASE && err2 <= 2 * TOL_PHASE)) {
        print_error("Apply N=%d d=%d M=%d %s weights %s z=(%g,%g) threads %d: max rel err %.3g (once), %.3g (twice)\n", (int)s->N, (int)s->d, (int)s->M,
                    QrbmPairPotentials[s->kind].name, pattern_names[p], creal(z), cimag(z), nthreads, err1, err2);
        bad++;
      }
      if (iz == 0) { /* energy: once per weight pattern */
        long double e_lib = -1, e_ref = 0, e_abs = 0; /* e_abs: the same sum with |w V|, the scale of rounding errors */
        const long double hD = powl((long double)s->L / s->M, (long double)(s->N * s->d));
        assert_int_equal(QrbmPotentialEnergyLocal(&pot, &W, psi0, &e_lib), 0);
        for (ptrdiff_t i = 0; i < n; i++) {
          long double u, v, vabs;
          naive_sums_abs(s, &W, i, &u, &v, &vabs);
          const long double rho = (long double)creal(psi0[i]) * creal(psi0[i]) + (long double)cimag(psi0[i]) * cimag(psi0[i]);
          e_ref += rho * v;
          e_abs += rho * vabs;
        }
        e_ref *= hD;
        e_abs *= hD;
        const double rel = e_abs == 0 ? fabs((double)e_lib) : fabs((double)((e_lib - e_ref) / e_abs));
        if (!(rel <= TOL_ENERGY)) {
          print_error("EnergyLocal N=%d d=%d M=%d %s weights %s: %.17Lg, naive %.17Lg (err / sum|rho w V| h^D = %.3g)\n", (int)s->N, (int)s->d, (int)s->M,
                      QrbmPairPotentials[s->kind].name, pattern_names[p], e_lib, e_ref, rel);
          bad++;
        }
      }
      assert_int_equal(QrbmPotentialDestroy(&pot), 0);
    }
  }
  free(psi);
  free(psi0);
  assert_int_equal(QrbmGridDestroy(&g), 0);
  return bad;
}

/* Every setup with 1 OpenMP thread, N = 4 also with 2 (the hoisted loops split the outer rows between
   threads, each with its own scratch vectors). The library sizes its scratch by -threads and
   relies on omp_set_num_threads(threads), as main does. */
static void run_setups(const Setup *list, size_t n)
{
  int bad = 0;
  for (int t = 1; t <= 2; t++) {
    nthreads = t;
    omp_set_num_threads(t);
    for (size_t i = 0; i < n; i++)
      if (t == 1 || list[i].N == 4) bad += check_setup(&list[i]); /* 2 threads: N = 4 only (time: the threads share one bound core) */
  }
  omp_set_num_threads(1);
  if (bad) fail_msg("%d potential checks failed", bad);
}

static void test_apply_d1(void **state)
{
  (void)state;
  const Setup list[] = {
    {1, 1, 7, 6.0, 1.0, 0.7, 1.3, 1.1, QRBM_POT_GAUSSIAN},
    {2, 1, 7, 6.0, 1.0, 0.7, 1.3, 1.1, QRBM_POT_GAUSSIAN},
    {3, 1, 7, 6.0, 0.8, 0.7, 1.3, 1.1, QRBM_POT_GAUSSIAN},
    {4, 1, 7, 6.0, 1.0, 0.7, 1.3, 1.1, QRBM_POT_GAUSSIAN},
    {4, 1, 8, 6.0, 1.0, 0.0, 1.3, 1.1, QRBM_POT_GAUSSIAN},    /* even M: separations of exactly L/2 */
    {3, 1, 6, 6.0, 1.0, 0.5, -0.9, 0.6, QRBM_POT_SOFTCOULOMB},
    {4, 1, 6, 6.0, 1.2, 0.5, 0.8, 3.0, QRBM_POT_COSINE},      /* L / width = 2 */
    {2, 1, 5, 6.0, 1.0, 0.3, 0.0, 1.0, QRBM_POT_NONE},
  };
  run_setups(list, sizeof(list) / sizeof(list[0]));
}

static void test_apply_d2(void **state)
{
  (void)state;
  const Setup list[] = {
    {1, 2, 5, 6.0, 1.0, 0.7, 1.3, 1.1, QRBM_POT_GAUSSIAN},
    {2, 2, 5, 6.0, 1.0, 0.7, 1.3, 1.1, QRBM_POT_GAUSSIAN},
    {3, 2, 3, 6.0, 0.9, 0.7, 1.3, 1.1, QRBM_POT_GAUSSIAN},
    {3, 2, 4, 6.0, 1.0, 0.4, 0.7, 0.5, QRBM_POT_SOFTCOULOMB},
    {4, 2, 4, 6.0, 1.0, 0.7, 1.3, 1.1, QRBM_POT_GAUSSIAN},
    {4, 2, 3, 6.0, 1.0, 0.2, 0.6, 2.0, QRBM_POT_COSINE},       /* L / width = 3 */
  };
  run_setups(list, sizeof(list) / sizeof(list[0]));
}

static void test_apply_d3(void **state)
{
  (void)state;
  const Setup list[] = {
    {1, 3, 4, 6.0, 1.0, 0.7, 1.3, 1.1, QRBM_POT_GAUSSIAN},
    {2, 3, 3, 6.0, 1.0, 0.7, 1.3, 1.1, QRBM_POT_GAUSSIAN},
    {3, 3, 2, 6.0, 1.0, 0.7, 1.0, 0.8, QRBM_POT_SOFTCOULOMB},
  };
  run_setups(list, sizeof(list) / sizeof(list[0]));
}

/* Own V'(r): the derivative of naive_V, with a component zeroed at exactly half a box (+-L/2 are
   one grid point there, docs/numerics.md). */
static void naive_dV(const Setup *s, const double *r, double *g)
{
  double r2 = 0;
  for (PetscInt a = 0; a < s->d; a++) r2 += r[a] * r[a];
  for (PetscInt a = 0; a < s->d; a++) {
    switch (s->kind) {
    case QRBM_POT_NONE: g[a] = 0; break;
    case QRBM_POT_GAUSSIAN: g[a] = -r[a] / (s->sigma * s->sigma) * s->lambda * exp(-r2 / (2 * s->sigma * s->sigma)); break;
    case QRBM_POT_SOFTCOULOMB: g[a] = -s->lambda * r[a] / pow(r2 + s->sigma * s->sigma, 1.5); break;
    case QRBM_POT_COSINE: g[a] = -s->lambda / s->d * 2 * PETSC_PI / s->sigma * sin(2 * PETSC_PI * r[a] / s->sigma); break;
    }
    if (fabs(fabs(r[a]) - 0.5 * s->L) < 1e-12 * s->L) g[a] = 0;
  }
}

/* Phi + gamma |grad Phi|^2 at one point, gradient over every coordinate (mass 1). */
static long double naive_modified(const Setup *s, const QrbmPairWeights *W, ptrdiff_t flat, double gamma)
{
  double      x[QRBM_MAX_PARTICLES][3], grad[QRBM_MAX_PARTICLES][3] = {{0}};
  long double u, v, G = 0;
  naive_sums(s, W, flat, &u, &v);
  coords(s, flat, x);
  for (PetscInt m = 0; m < s->N; m++)
    for (PetscInt a = 0; a < s->d; a++) grad[m][a] = s->omega * s->omega * x[m][a];
  for (PetscInt l = 0; l < s->N; l++)
    for (PetscInt n = 0; n < s->N; n++) {
      const double w = W->w[PetscMin(l, n) * s->N + PetscMax(l, n)];
      double       r[3], g[3];
      if (n == l || w == 0) continue;
      for (PetscInt a = 0; a < s->d; a++) r[a] = min_image(x[l][a] - x[n][a], s->L);
      naive_dV(s, r, g);
      for (PetscInt a = 0; a < s->d; a++) grad[l][a] += w * g[a];
    }
  for (PetscInt m = 0; m < s->N; m++)
    for (PetscInt a = 0; a < s->d; a++) G += (long double)grad[m][a] * grad[m][a];
  return u + v + gamma * G;
}

/* QrbmPotentialApplyGradient against the naive modified potential: pair-only weights (hoisted
   tables), three-body weights with and without the per-point cache, twice (cache reuse). */
static void test_apply_gradient(void **state)
{
  (void)state;
  const Setup list[] = {
    {2, 1, 8, 6.0, 1.0, 0.7, 1.3, 1.1, QRBM_POT_GAUSSIAN}, /* even M: separations of L/2 */
    {3, 1, 7, 6.0, 0.8, 0.7, 1.3, 1.1, QRBM_POT_GAUSSIAN},
    {4, 1, 6, 6.0, 1.0, 0.5, -0.9, 0.6, QRBM_POT_SOFTCOULOMB},
    {4, 1, 6, 6.0, 1.2, 0.5, 0.8, 3.0, QRBM_POT_COSINE},
    {3, 2, 4, 6.0, 1.0, 0.4, 0.7, 0.5, QRBM_POT_GAUSSIAN},
    {2, 2, 5, 6.0, 1.0, 0.7, 1.3, 1.1, QRBM_POT_SOFTCOULOMB},
  };
  const double   gamma = -0.0123;
  const qcomplex z     = -0.21 * I;
  int            bad   = 0;
  for (size_t k = 0; k < sizeof(list) / sizeof(list[0]); k++) {
    const Setup    *s = &list[k];
    const ptrdiff_t n = npoints(s);
    QrbmConfig      cfg;
    QrbmGrid        g;
    potential_config(s, &cfg);
    assert_int_equal(QrbmGridCreate(PETSC_COMM_SELF, &cfg, &g), 0);
    qcomplex *psi = malloc(sizeof(qcomplex) * (size_t)n), *psi0 = malloc(sizeof(qcomplex) * (size_t)n);
    assert_non_null(psi);
    assert_non_null(psi0);
    for (int p = 0; p < W_NPATTERNS; p++)
      for (int cache = 0; cache < 2; cache++) {
        QrbmPairWeights W;
        QrbmPotential   pot;
        double          err = 0, scale = 0;
        weights(s->N, (Pattern)p, &W);
        assert_int_equal(QrbmPotentialCreate(&g, &cfg, 1 + (int)(s->N * (s->N - 1) / 2), &pot), 0); /* one z: the trap and at most a table per pair */
        assert_int_equal(QrbmPotentialSetUpGradient(&pot, &cfg, cache ? PETSC_TRUE : PETSC_FALSE), 0);
        random_psi(psi0, n);
        memcpy(psi, psi0, sizeof(qcomplex) * (size_t)n);
        assert_int_equal(QrbmPotentialApplyGradient(&pot, &W, z, gamma, psi), 0);
        assert_int_equal(QrbmPotentialApplyGradient(&pot, &W, z, gamma, psi), 0);
        for (ptrdiff_t i = 0; i < n; i++) {
          const long double e    = naive_modified(s, &W, i, gamma);
          const qcomplex    want = psi0[i] * cexp(2 * z / s->hbar * (double)e);
          err   = fmax(err, cabs(psi[i] - want) / cabs(want));
          scale = fmax(scale, fabs((double)e));
        }
        /* phase error ~ eps |2 z/hbar| (|Phi| + |gamma| |grad Phi|^2) summed over O(N^2 d) terms */
        if (!(err <= 1e-14 * fmax(1.0, 2 * cabs(z) / s->hbar * scale) * s->N * s->N)) {
          print_error("ApplyGradient N=%d d=%d M=%d %s weights %s cache %d: max rel err %.3g (exponent scale %.3g)\n", (int)s->N, (int)s->d, (int)s->M,
                      QrbmPairPotentials[s->kind].name, pattern_names[p], cache, err, scale);
          bad++;
        }
        assert_int_equal(QrbmPotentialDestroy(&pot), 0);
      }
    free(psi);
    free(psi0);
    assert_int_equal(QrbmGridDestroy(&g), 0);
  }
  if (bad) fail_msg("%d force-gradient checks failed", bad);
}

/* The potential tables: V on the pair difference grid equals QrbmPotentialPair at the minimum
   image, and QrbmPotentialPair equals the formulas of the documentation. */
static void test_pair_function(void **state)
{
  (void)state;
  const QrbmPotentialKind kinds[] = {QRBM_POT_NONE, QRBM_POT_GAUSSIAN, QRBM_POT_SOFTCOULOMB, QRBM_POT_COSINE};
  int bad = 0;
  for (int d = 1; d <= 3; d++)
    for (size_t k = 0; k < 4; k++) {
      const Setup s = {2, d, 4, 8.0, 1.0, 0.0, 1.7, 2.0, kinds[k]};
      QrbmConfig  cfg;
      potential_config(&s, &cfg);
      for (int t = 0; t < 50; t++) {
        double r[3];
        for (int a = 0; a < d; a++) r[a] = 8.0 * (urand() - 0.5);
        const double got = QrbmPotentialPair(&cfg, r), want = naive_V(&s, r);
        if (!(fabs(got - want) <= 1e-15 * fmax(1.0, fabs(want)))) {
          print_error("QrbmPotentialPair %s d=%d: %.17g vs %.17g\n", QrbmPairPotentials[kinds[k]].name, d, got, want);
          bad++;
        }
      }
    }
  if (bad) fail_msg("%d pair potential values differ", bad);
}

/* Every row of the potentials table: V' is the gradient of V (central differences, error
   O(h^2) times the third derivative plus O(eps V / h), about 1e-10 here), in d = 1, 2, 3. A new
   row is checked as well. */
static void test_table_gradients(void **state)
{
  (void)state;
  int bad = 0;
  for (PetscInt k = 0; QrbmPairPotentials[k].name; k++)
    for (PetscInt d = 1; d <= 3; d++) {
      const QrbmPairParams p = {d, 1.3, 1.1, 6.6}; /* box = 6 widths: every row's checks pass */
      if (QrbmPairPotentials[k].check) assert_int_equal(QrbmPairPotentials[k].check(PETSC_COMM_SELF, &p), 0);
      for (int t = 0; t < 20; t++) {
        double r[3], g[3], rp[3], rm[3];
        const double h = 1e-5;
        for (PetscInt a = 0; a < d; a++) r[a] = 4.0 * (urand() - 0.5);
        QrbmPairPotentialGradient(k, &p, r, g);
        for (PetscInt a = 0; a < d; a++) {
          for (PetscInt b = 0; b < d; b++) rp[b] = rm[b] = r[b];
          rp[a] += h; rm[a] -= h;
          const double fd = (QrbmPairPotentialValue(k, &p, rp) - QrbmPairPotentialValue(k, &p, rm)) / (2 * h);
          if (!(fabs(fd - g[a]) <= 1e-7 * fmax(1.0, fabs(g[a])))) {
            print_error("%s d=%d: dV/dr_%d = %.17g, central difference %.17g\n", QrbmPairPotentials[k].name, (int)d, (int)a, g[a], fd);
            bad++;
          }
        }
      }
    }
  if (bad) fail_msg("%d gradients differ from central differences", bad);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_pair_function),
    cmocka_unit_test(test_table_gradients),
    cmocka_unit_test(test_apply_d1),
    cmocka_unit_test(test_apply_d2),
    cmocka_unit_test(test_apply_d3),
    cmocka_unit_test(test_apply_gradient),
  };
  return UNIT_RUN("potential", tests, 88172645463325252ull);
}
