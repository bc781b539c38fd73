/* Unit tests of the initial states (include/qrbm/state.h).

   QrbmStateSetSymmetrized evaluates the permanent of phi_k(x_m) by Glynn's formula in Gray-code
   order and normalises the result; here it is compared with the definition, a brute-force sum
   over all N! permutations sigma of prod_m phi_sigma(m)(x_m), normalised with sum |psi|^2 h^D = 1,
   for N = 1..4 on tiny grids (d = 1, 2), with random complex one-particle vectors and with the
   solver's coherent packets. QrbmStateSetProduct is compared with prod_m phi(x_m), and the
   symmetrised state is checked to be invariant under every exchange of two particles.

   Tolerance: Glynn's formula sums 2^(N-1) products of N row sums, each of size <= N max|phi|; the
   cancellation-free bound of the rounding error is about 2^(N-1) N^2 eps (max|phi|)^N, i.e.
   below ~3e-14 of the largest value for N = 4; we require 1e-13 relative to max |psi|.

   Run: make unit (mpirun -np 1 build/tests/test_state). */
#include <qrbm/events.h>
#include <qrbm/kinetic.h>
#include <qrbm/state.h>
#include "unit.h"

#define TOL 1e-13


/* One-particle flat indices j_m of the global flat index (row-major, particle 0 outermost). */
static void particle_indices(PetscInt N, PetscInt d, PetscInt M, ptrdiff_t flat, ptrdiff_t *j)
{
  ptrdiff_t Md = 1;
  for (PetscInt c = 0; c < d; c++) Md *= M;
  for (PetscInt m = N - 1; m >= 0; m--) {
    j[m] = flat % Md;
    flat /= Md;
  }
}

/* Sum over all permutations (Heap's algorithm) of prod_m phi[perm[m]][j[m]]. */
static qcomplex brute_permanent(PetscInt N, const qcomplex *const *phi, const ptrdiff_t *j)
{
  int      perm[QRBM_MAX_PARTICLES], c[QRBM_MAX_PARTICLES] = {0}, i = 1;
  qcomplex sum = 0, prod;
  for (int k = 0; k < N; k++) perm[k] = k;
  prod = 1;
  for (int m = 0; m < N; m++) prod *= phi[perm[m]][j[m]];
  sum += prod;
  while (i < N) {
    if (c[i] < i) {
      const int a = i % 2 ? c[i] : 0, t = perm[a];
      perm[a] = perm[i]; perm[i] = t;
      prod = 1;
      for (int m = 0; m < N; m++) prod *= phi[perm[m]][j[m]];
      sum += prod;
      c[i]++;
      i = 1;
    } else c[i++] = 0;
  }
  return sum;
}

typedef struct {
  PetscInt  N, d, M;
  double    L;
  PetscBool coherent; /* packets from QrbmCoherentPacket instead of random vectors */
} Case;

static int check_symmetrized(const Case *k)
{
  QrbmConfig cfg;
  QrbmGrid   g;
  QrbmState  st;
  qcomplex  *phi[QRBM_MAX_PARTICLES];
  int        bad = 0;
  make_config(k->N, k->d, k->M, k->L, 1.0, &cfg);
  assert_int_equal(QrbmGridCreate(PETSC_COMM_SELF, &cfg, &g), 0);
  assert_int_equal(QrbmStateCreate(&g, &st), 0);
  const ptrdiff_t n = g.xlay.count;
  for (PetscInt m = 0; m < k->N; m++) {
    phi[m] = malloc(sizeof(qcomplex) * (size_t)g.Md);
    assert_non_null(phi[m]);
    if (k->coherent) {
      double q[3], p[3];
      for (PetscInt c = 0; c < k->d; c++) {
        q[c] = -0.3 * k->L + 0.6 * k->L * (m + 0.5 * c) / k->N;
        p[c] = 0.4 * m - 0.5 + 0.2 * c;
      }
      QrbmCoherentPacket(&g, cfg.hbar, q, p, phi[m]);
    } else
      for (ptrdiff_t j = 0; j < g.Md; j++) phi[m][j] = (urand() - 0.5) + I * (urand() - 0.5);
  }
  assert_int_equal(QrbmStateSetSymmetrized(&st, (const qcomplex *const *)phi), 0);

  qcomplex   *ref = malloc(sizeof(qcomplex) * (size_t)n);
  long double norm = 0;
  double      maxref = 0, err = 0, sym = 0, libnorm;
  assert_non_null(ref);
  for (ptrdiff_t i = 0; i < n; i++) {
    ptrdiff_t j[QRBM_MAX_PARTICLES];
    particle_indices(k->N, k->d, k->M, i, j);
    ref[i] = brute_permanent(k->N, (const qcomplex *const *)phi, j);
    norm += (long double)creal(ref[i]) * creal(ref[i]) + (long double)cimag(ref[i]) * cimag(ref[i]);
  }
  norm *= powl((long double)k->L / k->M, (long double)(k->N * k->d));
  for (ptrdiff_t i = 0; i < n; i++) {
    ref[i] /= sqrt((double)norm);
    maxref = fmax(maxref, cabs(ref[i]));
  }
  for (ptrdiff_t i = 0; i < n; i++) err = fmax(err, cabs(st.psi[i] - ref[i]));
  /* exchange symmetry: swap particles a < b in the index */
  ptrdiff_t Md = g.Md;
  for (PetscInt a = 0; a < k->N; a++)
    for (PetscInt b = a + 1; b < k->N; b++)
      for (ptrdiff_t i = 0; i < n; i++) {
        ptrdiff_t j[QRBM_MAX_PARTICLES], t, i2 = 0;
        particle_indices(k->N, k->d, k->M, i, j);
        t = j[a]; j[a] = j[b]; j[b] = t;
        for (PetscInt m = 0; m < k->N; m++) i2 = i2 * Md + j[m];
        sym = fmax(sym, cabs(st.psi[i] - st.psi[i2]));
      }
  assert_int_equal(QrbmStateNorm(&st, &libnorm), 0);
  if (!(err <= TOL * maxref && sym <= TOL * maxref && fabs(libnorm - 1) <= 1e-13)) {
    print_error("symmetrized N=%d d=%d M=%d %s: max |psi - brute force| = %.3g (max |psi| %.3g), exchange asymmetry %.3g, norm - 1 = %.3g\n", (int)k->N,
                (int)k->d, (int)k->M, k->coherent ? "coherent" : "random", err, maxref, sym, libnorm - 1);
    bad++;
  }
  free(ref);
  for (PetscInt m = 0; m < k->N; m++) free(phi[m]);
  assert_int_equal(QrbmStateDestroy(&st), 0);
  assert_int_equal(QrbmGridDestroy(&g), 0);
  return bad;
}

static void test_symmetrized_vs_brute_force(void **state)
{
  (void)state;
  const Case cases[] = {
    {1, 1, 7, 6.0, PETSC_FALSE}, {2, 1, 7, 6.0, PETSC_FALSE}, {3, 1, 5, 6.0, PETSC_FALSE}, {3, 1, 6, 6.0, PETSC_TRUE},
    {4, 1, 5, 6.0, PETSC_FALSE}, {4, 1, 6, 8.0, PETSC_TRUE},  {3, 2, 3, 6.0, PETSC_FALSE}, {3, 2, 4, 6.0, PETSC_TRUE},
    {4, 2, 3, 6.0, PETSC_FALSE}, {2, 3, 3, 6.0, PETSC_FALSE},
  };
  int bad = 0;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) bad += check_symmetrized(&cases[i]);
  if (bad) fail_msg("%d symmetrised states differ from the brute-force permanent", bad);
}

/* A state that vanishes on the grid (here: one packet is zero) cannot be normalised:
   SetSymmetrized must return an error instead of dividing by zero. */
static void test_symmetrized_vanishing(void **state)
{
  (void)state;
  QrbmConfig cfg;
  QrbmGrid   g;
  QrbmState  st;
  qcomplex  *phi[2];
  make_config(2, 1, 6, 6.0, 1.0, &cfg);
  assert_int_equal(QrbmGridCreate(PETSC_COMM_SELF, &cfg, &g), 0);
  assert_int_equal(QrbmStateCreate(&g, &st), 0);
  phi[0] = malloc(sizeof(qcomplex) * 6);
  phi[1] = malloc(sizeof(qcomplex) * 6);
  for (int j = 0; j < 6; j++) {
    phi[0][j] = 1.0 + 0.5 * j;
    phi[1][j] = 0.0;
  }
  assert_int_equal(PetscPushErrorHandler(PetscReturnErrorHandler, NULL), 0);
  const PetscErrorCode ierr = QrbmStateSetSymmetrized(&st, (const qcomplex *const *)phi);
  assert_int_equal(PetscPopErrorHandler(), 0);
  assert_int_not_equal(ierr, 0);
  free(phi[0]);
  free(phi[1]);
  assert_int_equal(QrbmStateDestroy(&st), 0);
  assert_int_equal(QrbmGridDestroy(&g), 0);
}

static void test_product(void **state)
{
  (void)state;
  const PetscInt dims[][3] = {{1, 1, 7}, {3, 1, 5}, {2, 2, 4}, {4, 2, 3}, {2, 3, 3}};
  int            bad = 0;
  for (size_t c = 0; c < sizeof(dims) / sizeof(dims[0]); c++) {
    QrbmConfig cfg;
    QrbmGrid   g;
    QrbmState  st;
    const PetscInt N = dims[c][0], d = dims[c][1], M = dims[c][2];
    make_config(N, d, M, 6.0, 1.0, &cfg);
    assert_int_equal(QrbmGridCreate(PETSC_COMM_SELF, &cfg, &g), 0);
    assert_int_equal(QrbmStateCreate(&g, &st), 0);
    qcomplex *phi = malloc(sizeof(qcomplex) * (size_t)g.Md);
    for (ptrdiff_t j = 0; j < g.Md; j++) phi[j] = (urand() - 0.5) + I * (urand() - 0.5);
    assert_int_equal(QrbmStateSetProduct(&st, phi), 0);
    double err = 0;
    for (ptrdiff_t i = 0; i < g.xlay.count; i++) {
      ptrdiff_t j[QRBM_MAX_PARTICLES];
      qcomplex  want = 1;
      particle_indices(N, d, M, i, j);
      for (PetscInt m = 0; m < N; m++) want *= phi[j[m]];
      err = fmax(err, cabs(st.psi[i] - want));
    }
    if (!(err <= 1e-15)) {
      print_error("product N=%d d=%d M=%d: max error %.3g\n", (int)N, (int)d, (int)M, err);
      bad++;
    }
    free(phi);
    assert_int_equal(QrbmStateDestroy(&st), 0);
    assert_int_equal(QrbmGridDestroy(&g), 0);
  }
  if (bad) fail_msg("%d product states wrong", bad);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_product),
    cmocka_unit_test(test_symmetrized_vs_brute_force),
    cmocka_unit_test(test_symmetrized_vanishing),
  };
  return UNIT_RUN("state", tests, 0x9E3779B97F4A7C15ull);
}
