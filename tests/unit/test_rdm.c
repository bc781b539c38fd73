/* Unit tests of the reduced density matrices (rdm.h), the Wigner transform (wigner.h) and the
   metrics (metrics.h).

   RDM: every label of random states on small grids is compared with the definition evaluated on
   the gathered state (R[a][b] = h^D sum_rest psi(.., a, ..) conj psi(.., b, ..)), so the ring
   exchange of label 0 is checked at whatever rank count the binary runs on: make unit runs it on
   1 rank, tests/test_rdm_metrics.py on 2 and 4 (M = 6 on 4 ranks gives slabs 2, 2, 2, 0). Product
   states give |c><c| for every label, a symmetrised state the same matrix for every label.
   Tolerance 1e-13: sums of <= 6^4 products of O(1) numbers, rounding ~ 1e-15.

   Wigner: a coherent state on M = 64, L = 16, hbar = 1 against the analytic Gaussian
   (pi hbar)^-1 exp(-((x-q)^2 + (xi-p)^2)/hbar); the discretisation error is set by the box tails
   (|psi|^2 ~ e^-49 at the edge) and the momentum cut-off (pi hbar / h = 12.6), both far below the
   required 1e-6 (the window |s| <= L/2 cuts r at |psi(q +- L/4)|^2 ~ e^-16). Marginals of a random
   state: at the coarse points x_2a the position marginal is exactly R[a][a]/h, the momentum
   marginal is exactly rho_p(2 pi hbar j / L) at xi_2j and its Dirichlet interpolation in between
   (docs/wigner.md). Integral 1 to rounding.

   Metrics: identical matrices give zero distances, two pure states the closed forms
   2 (1 - F)^(1/2) and (2 (1 - F))^(1/2); potential constants of the Gaussian against
   Lambda = d |lambda| (2/pi)^(1/2) / sigma (with the leading O(dw^2) error of the sum, derived
   below) and L = d |lambda| / sigma^2, of the cosine exactly 2 pi lambda / w and lambda (2 pi / w)^2. Weak/Sobolev norms and the jackknife are
   checked against NumPy in tests/test_rdm_metrics.py.

   Run: make unit (mpirun -np 1 build/tests/test_rdm). */
#include <qrbm/kinetic.h>
#include <qrbm/metrics.h>
#include <qrbm/rdm.h>
#include <qrbm/state.h>
#include <qrbm/wigner.h>
#include "unit.h"

#define TOL 1e-13

static void make_grid(PetscInt N, PetscInt d, PetscInt M, double L, QrbmGrid *g)
{
  QrbmConfig c;
  memset(&c, 0, sizeof(c));
  c.dim = d; c.particles = N; c.grid = M; c.box = L; c.hbar = 1;
  /* one particle in 1-D (the serial Wigner and metric tests) runs on one rank per grid */
  assert_int_equal(QrbmGridCreate(N * d == 1 ? PETSC_COMM_SELF : PETSC_COMM_WORLD, &c, g), 0);
}

/* Deterministic pseudo-random value of a global index, the same on any rank count. */
static qcomplex hashed(ptrdiff_t i)
{
  uint64_t z = (uint64_t)i * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
  z          = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z          = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return (double)(z >> 11) * 0x1p-53 - 0.5 + I * ((double)((z * 0x2545F4914F6CDD1Dull) >> 11) * 0x1p-53 - 0.5);
}

/* Random state with sum |psi|^2 h^D = 1 on the local slab. */
static void random_state(const QrbmGrid *g, qcomplex *psi)
{
  const ptrdiff_t rowlen = g->xlay.n[0] ? g->xlay.count / g->xlay.n[0] : 0;
  double          norm   = 0;
  for (ptrdiff_t i = 0; i < g->xlay.count; i++) {
    psi[i] = hashed(g->xlay.start * rowlen + i);
    norm += creal(psi[i] * conj(psi[i]));
  }
  assert_int_equal(MPI_Allreduce(MPI_IN_PLACE, &norm, 1, MPI_DOUBLE, MPI_SUM, g->comm), MPI_SUCCESS);
  norm *= pow(g->h, (double)g->D);
  for (ptrdiff_t i = 0; i < g->xlay.count; i++) psi[i] /= sqrt(norm);
}

/* The whole state on every rank (slabs are contiguous in rank order). */
static qcomplex *gather(const QrbmGrid *g, const qcomplex *psi)
{
  int       count = (int)g->xlay.count, *counts = malloc(sizeof(int) * g->size), *displs = malloc(sizeof(int) * g->size);
  qcomplex *all   = malloc(sizeof(qcomplex) * (size_t)g->total);
  assert_int_equal(MPI_Allgather(&count, 1, MPI_INT, counts, 1, MPI_INT, g->comm), MPI_SUCCESS);
  displs[0] = 0;
  for (int r = 1; r < g->size; r++) displs[r] = displs[r - 1] + counts[r - 1];
  assert_int_equal(MPI_Allgatherv(psi, count, MPI_C_DOUBLE_COMPLEX, all, counts, displs, MPI_C_DOUBLE_COMPLEX, g->comm), MPI_SUCCESS);
  free(counts);
  free(displs);
  return all;
}

/* Definition of R^(j) on the gathered state. */
static void naive_label(const QrbmGrid *g, const qcomplex *all, PetscInt j, qcomplex *R)
{
  const ptrdiff_t Md = g->Md, pre = (ptrdiff_t)pow((double)Md, (double)j), post = (ptrdiff_t)(g->total / (double)(pre * Md));
  const double    w = pow(g->h, (double)g->D);
  for (ptrdiff_t a = 0; a < Md; a++)
    for (ptrdiff_t b = 0; b < Md; b++) {
      qcomplex s = 0;
      for (ptrdiff_t p = 0; p < pre; p++)
        for (ptrdiff_t q = 0; q < post; q++) s += all[(p * Md + a) * post + q] * conj(all[(p * Md + b) * post + q]);
      R[a * Md + b] = w * s;
    }
}

static double max_diff(ptrdiff_t n, const qcomplex *A, const qcomplex *B)
{
  double m = 0;
  for (ptrdiff_t i = 0; i < n; i++) m = fmax(m, cabs(A[i] - B[i]));
  return m;
}

/* Hermitian, trace 1, positive semi-definite to rounding. */
static void assert_density_matrix(ptrdiff_t Md, const qcomplex *R)
{
  double   *eig = malloc(sizeof(double) * Md), purity, entropy, sum = 0;
  qcomplex  tr  = 0;
  for (ptrdiff_t a = 0; a < Md; a++) {
    tr += R[a * Md + a];
    for (ptrdiff_t b = 0; b < Md; b++) assert_true(cabs(R[a * Md + b] - conj(R[b * Md + a])) < 1e-15);
  }
  assert_true(cabs(tr - 1) < TOL);
  assert_int_equal(QrbmRdmSpectrum((PetscInt)Md, R, eig, &purity, &entropy), 0);
  for (ptrdiff_t i = 0; i < Md; i++) {
    assert_true(eig[i] > -1e-14);
    if (i) assert_true(eig[i] <= eig[i - 1]);
    sum += eig[i];
  }
  assert_true(fabs(sum - 1) < TOL);
  assert_true(purity > 0 && purity <= 1 + TOL && entropy >= -TOL);
  free(eig);
}

static void check_random_labels(PetscInt N, PetscInt d, PetscInt M)
{
  QrbmGrid  g;
  QrbmState st;
  make_grid(N, d, M, 5.0, &g);
  assert_int_equal(QrbmStateCreate(&g, &st), 0);
  random_state(&g, st.psi);
  const ptrdiff_t n2 = g.Md * g.Md;
  qcomplex       *all = gather(&g, st.psi), *R = malloc(sizeof(qcomplex) * n2), *Rn = malloc(sizeof(qcomplex) * n2);
  for (PetscInt j = 0; j < N; j++) {
    assert_int_equal(QrbmRdmLabel(&g, st.psi, j, R), 0);
    naive_label(&g, all, j, Rn);
    if (max_diff(n2, R, Rn) >= TOL) print_error("N=%d d=%d M=%d label %d: max diff %g\n", (int)N, (int)d, (int)M, (int)j, max_diff(n2, R, Rn));
    assert_true(max_diff(n2, R, Rn) < TOL);
    assert_density_matrix(g.Md, R);
  }
  free(all); free(R); free(Rn);
  QrbmStateDestroy(&st);
  QrbmGridDestroy(&g);
}

static void test_random_state_labels(void **state)
{
  (void)state;
  check_random_labels(3, 1, 6); /* slabs 2,2,2,0 on 4 ranks */
  check_random_labels(4, 1, 4);
  check_random_labels(2, 2, 6);
  check_random_labels(1, 2, 6); /* only the distributed label, nothing after it */
  check_random_labels(2, 3, 4);
}

static void test_product_state(void **state)
{
  (void)state;
  const PetscInt dims[][3] = {{3, 1, 8}, {2, 2, 6}};
  for (int c = 0; c < 2; c++) {
    QrbmGrid  g;
    QrbmState st;
    double    q[3] = {0.3, -0.2, 0.1}, p[3] = {0.7, 0.4, -0.5}, norm = 0;
    make_grid(dims[c][0], dims[c][1], dims[c][2], 6.0, &g);
    const ptrdiff_t Md = g.Md;
    qcomplex       *phi = malloc(sizeof(qcomplex) * Md), *R = malloc(sizeof(qcomplex) * Md * Md);
    QrbmCoherentPacket(&g, 1.0, q, p, phi);
    for (ptrdiff_t a = 0; a < Md; a++) norm += creal(phi[a] * conj(phi[a])) * pow(g.h, (double)g.d);
    for (ptrdiff_t a = 0; a < Md; a++) phi[a] /= sqrt(norm);
    assert_int_equal(QrbmStateCreate(&g, &st), 0);
    assert_int_equal(QrbmStateSetProduct(&st, phi), 0);
    for (PetscInt j = 0; j < g.N; j++) {
      assert_int_equal(QrbmRdmLabel(&g, st.psi, j, R), 0);
      for (ptrdiff_t a = 0; a < Md; a++)
        for (ptrdiff_t b = 0; b < Md; b++) assert_true(cabs(R[a * Md + b] - pow(g.h, (double)g.d) * phi[a] * conj(phi[b])) < TOL);
    }
    free(phi); free(R);
    QrbmStateDestroy(&st);
    QrbmGridDestroy(&g);
  }
}

static void test_symmetrized_label_average(void **state)
{
  (void)state;
  QrbmGrid        g;
  QrbmState       st;
  const double    q[3] = {-1.0, 0.2, 1.1}, p[3] = {0.5, -0.8, 0.0};
  qcomplex       *phi[3];
  make_grid(3, 1, 8, 6.0, &g);
  const ptrdiff_t n2 = g.Md * g.Md;
  qcomplex       *R1 = malloc(sizeof(qcomplex) * n2), *Rj = malloc(sizeof(qcomplex) * n2);
  for (int k = 0; k < 3; k++) {
    phi[k] = malloc(sizeof(qcomplex) * g.Md);
    QrbmCoherentPacket(&g, 1.0, &q[k], &p[k], phi[k]);
  }
  assert_int_equal(QrbmStateCreate(&g, &st), 0);
  assert_int_equal(QrbmStateSetSymmetrized(&st, (const qcomplex *const *)phi), 0);
  assert_int_equal(QrbmRdmLabelAverage(&g, st.psi, R1), 0);
  assert_density_matrix(g.Md, R1);
  for (PetscInt j = 0; j < g.N; j++) {
    assert_int_equal(QrbmRdmLabel(&g, st.psi, j, Rj), 0);
    assert_true(max_diff(n2, R1, Rj) < TOL);
  }
  for (int k = 0; k < 3; k++) free(phi[k]);
  free(R1); free(Rj);
  QrbmStateDestroy(&st);
  QrbmGridDestroy(&g);
}

/* R = U diag(p) U^H with a Householder reflector U = I - 2 v v^H / |v|^2. */
static void test_spectrum(void **state)
{
  (void)state;
  const double p[4] = {0.1, 0.5, 0.0, 0.4}, sorted[4] = {0.5, 0.4, 0.1, 0.0};
  qcomplex     v[4] = {1, 0.5 * I, -0.3, 0.2 + 0.1 * I}, U[16], R[16] = {0};
  double       vv = 0, eig[4], purity, entropy;
  for (int a = 0; a < 4; a++) vv += creal(v[a] * conj(v[a]));
  for (int a = 0; a < 4; a++)
    for (int b = 0; b < 4; b++) U[a * 4 + b] = (a == b) - 2 * v[a] * conj(v[b]) / vv;
  for (int a = 0; a < 4; a++)
    for (int b = 0; b < 4; b++)
      for (int k = 0; k < 4; k++) R[a * 4 + b] += U[a * 4 + k] * p[k] * conj(U[b * 4 + k]);
  assert_int_equal(QrbmRdmSpectrum(4, R, eig, &purity, &entropy), 0);
  for (int i = 0; i < 4; i++) assert_true(fabs(eig[i] - sorted[i]) < 1e-15);
  assert_true(fabs(purity - 0.42) < 1e-15);
  assert_true(fabs(entropy + 0.5 * log(0.5) + 0.4 * log(0.4) + 0.1 * log(0.1)) < 1e-15);
}

/* Density matrix |c><c| of a normalised coherent packet on a one-particle grid. */
static qcomplex *coherent_rdm(const QrbmGrid *g, double hbar, const double *q, const double *p)
{
  const ptrdiff_t Md = g->Md;
  qcomplex       *phi = malloc(sizeof(qcomplex) * Md), *R = malloc(sizeof(qcomplex) * Md * Md);
  double          norm = 0;
  QrbmCoherentPacket(g, hbar, q, p, phi);
  for (ptrdiff_t a = 0; a < Md; a++) norm += creal(phi[a] * conj(phi[a]));
  for (ptrdiff_t a = 0; a < Md; a++)
    for (ptrdiff_t b = 0; b < Md; b++) R[a * Md + b] = phi[a] * conj(phi[b]) / norm;
  free(phi);
  return R;
}

static double *wigner(const QrbmGrid *g, double hbar, const qcomplex *R, double **x, double **xi)
{
  PetscInt nx, nxi;
  assert_int_equal(QrbmWignerSize(g, &nx, &nxi), 0);
  assert_int_equal(nx, 2 * g->M);
  assert_int_equal(nxi, 2 * g->M);
  double *W = malloc(sizeof(double) * nx * nxi);
  *x = malloc(sizeof(double) * nx); *xi = malloc(sizeof(double) * nxi);
  assert_int_equal(QrbmWignerAxes(g, hbar, *x, *xi), 0);
  QrbmWigner w;
  assert_int_equal(QrbmWignerCreate(g, hbar, &w), 0);
  assert_int_equal(QrbmWignerApply(w, R, W), 0);
  assert_int_equal(QrbmWignerDestroy(&w), 0);
  assert_null(w);
  return W;
}

static void check_coherent_wigner(PetscInt d, PetscInt M, double L, double hbar, const double *q, const double *p)
{
  QrbmGrid  g;
  double   *x, *xi, err = 0, total = 0;
  make_grid(1, d, M, L, &g);
  qcomplex *R = coherent_rdm(&g, hbar, q, p);
  double   *W = wigner(&g, hbar, R, &x, &xi);
  const int n = (int)(2 * M);
  for (int i = 0; i < n; i++)
    for (int k = 0; k < n; k++) {
      const double exact = exp(-(PetscSqr(x[i] - q[0]) + PetscSqr(xi[k] - p[0])) / hbar) / (PETSC_PI * hbar);
      err                = fmax(err, fabs(W[i * n + k] - exact));
      total += W[i * n + k] * 0.5 * g.h * PETSC_PI * hbar / L;
    }
  if (err > 1e-6) print_error("d=%d: max |W - Gaussian| = %g\n", (int)d, err);
  assert_true(err <= 1e-6);
  assert_true(fabs(total - 1) < 1e-12);
  free(R); free(W); free(x); free(xi);
  QrbmGridDestroy(&g);
}

static void test_wigner_coherent(void **state)
{
  (void)state;
  const double q1[1] = {1.0}, p1[1] = {0.5}, q2[2] = {-0.7, 1.3}, p2[2] = {1.2, -0.4};
  check_coherent_wigner(1, 64, 16.0, 1.0, q1, p1);
  check_coherent_wigner(1, 64, 16.0, 0.5, q1, p1);
  check_coherent_wigner(2, 32, 14.0, 1.0, q2, p2); /* (x_1, xi_1) marginal */
}

/* A random pure state (not resolved, so nothing is Gaussian): marginals are exact identities. */
static void test_wigner_marginals(void **state)
{
  (void)state;
  QrbmGrid        g;
  const PetscInt  M = 16;
  const double    hbar = 0.7, L = 8.0;
  double         *x, *xi;
  make_grid(1, 1, M, L, &g);
  const int       n = 2 * M;
  const double    dx = 0.5 * g.h, dxi = PETSC_PI * hbar / L;
  qcomplex        c[16], R[256];
  double          norm = 0, scale = 0;
  for (int a = 0; a < M; a++) {
    c[a] = hashed(a) * exp(-PetscSqr(a - 8.0) / 8);
    norm += creal(c[a] * conj(c[a]));
  }
  for (int a = 0; a < M; a++)
    for (int b = 0; b < M; b++) R[a * M + b] = c[a] * conj(c[b]) / norm;
  double *W = wigner(&g, hbar, R, &x, &xi);
  for (int i = 0; i < n * n; i++) scale = fmax(scale, fabs(W[i]));
  for (int a = 0; a < M; a++) { /* position marginal at the coarse points */
    double s = 0;
    for (int k = 0; k < n; k++) s += W[2 * a * n + k] * dxi;
    assert_true(fabs(s - creal(R[a * M + a]) / g.h) < TOL * scale);
  }
  /* momentum marginal: sum_j P_j D_k(j) h^2 M / (2 pi hbar L), P_j the probability of mode j
     (halved for the split Nyquist mode j = -M/2) and D_k(j) = sum_{|m| <= M/2} w_m
     exp(i pi (2 j - k) m / M) (w = 1/2 at |m| = M/2); at xi_2j this is rho_p(2 pi hbar j / L) */
  for (int k = 0; k < n; k++) {
    double s = 0, want = 0;
    for (int i = 0; i < n; i++) s += W[i * n + k] * dx;
    for (int j = -M / 2; j < M / 2; j++) {
      qcomplex ck = 0, D = 0;
      for (int a = 0; a < M; a++) ck += c[a] * cexp(-2 * PETSC_PI * I * j * a / M);
      for (int m = -M / 2; m <= M / 2; m++) D += (abs(m) == M / 2 ? 0.5 : 1.0) * cexp(I * PETSC_PI * (2 * j - (k - M)) * m / M);
      want += (2 * j == -M ? 0.5 : 1.0) * creal(ck * conj(ck)) / (M * norm) * creal(D) * g.h * g.h * M / (2 * PETSC_PI * hbar * L);
      if (2 * j == k - M) assert_true(fabs(creal(D) - M) < 1e-12);
    }
    assert_true(fabs(s - want) < TOL * scale);
    if ((k - M) % 2 == 0) assert_true(want > 0); /* a probability density there */
  }
  free(W); free(x); free(xi);
  QrbmGridDestroy(&g);
}

static void test_distance_identical_and_jackknife(void **state)
{
  (void)state;
  QrbmGrid        g;
  QrbmRdmDistance d, m, e;
  const double    q[1] = {0.5}, p[1] = {-0.3}, q2[1] = {-0.5}, counts[3] = {2, 3, 5};
  make_grid(1, 1, 32, 12.0, &g);
  const ptrdiff_t n2 = g.Md * g.Md;
  qcomplex       *A = coherent_rdm(&g, 1.0, q, p), *B = coherent_rdm(&g, 1.0, q2, p), *batches = malloc(sizeof(qcomplex) * 3 * n2);
  QrbmRdmMetric   metric;
  assert_int_equal(QrbmRdmMetricCreate(&g, 1.0, &metric), 0);
  assert_int_equal(QrbmRdmMetricApply(metric, A, A, &d), 0);
  assert_true(d.trace == 0 && d.hs == 0 && d.weak == 0 && d.sobolev == 0 && d.weak_k == 0 && d.weak_omega == 0);
  assert_int_equal(QrbmRdmMetricApply(metric, A, B, &d), 0);
  /* two pure states: trace distance 2 (1 - |<a|b>|^2)^(1/2), Hilbert-Schmidt (2 (1 - |<a|b>|^2))^(1/2) */
  qcomplex ov = 0;
  for (ptrdiff_t a = 0; a < g.Md; a++) ov += conj(A[a * g.Md + 16]) * B[a * g.Md + 16];
  const double f = creal(ov * conj(ov)) / (creal(A[16 * g.Md + 16]) * creal(B[16 * g.Md + 16]));
  assert_true(fabs(d.trace - 2 * sqrt(1 - f)) < 1e-12);
  assert_true(fabs(d.hs - sqrt(2 * (1 - f))) < 1e-12);
  assert_true(d.weak > 0 && d.sobolev > 0);
  for (int b = 0; b < 3; b++) memcpy(batches + b * n2, A, sizeof(qcomplex) * n2);
  assert_int_equal(QrbmRdmMetricJackknife(metric, 3, batches, counts, B, &m, &e), 0);
  assert_true(fabs(m.trace - d.trace) < 1e-12 && fabs(m.weak - d.weak) < 1e-12 && fabs(m.sobolev - d.sobolev) < 1e-12);
  assert_true(e.trace < 1e-12 && e.hs < 1e-12 && e.weak < 1e-12 && e.sobolev < 1e-12);
  /* one plan serves every call: applying again, after the jackknife reused the buffers, gives the
     same numbers to the bit (the same plan on the same data) */
  QrbmRdmDistance again;
  assert_int_equal(QrbmRdmMetricApply(metric, A, B, &again), 0);
  assert_true(again.trace == d.trace && again.hs == d.hs && again.weak == d.weak && again.sobolev == d.sobolev);
  assert_int_equal(QrbmRdmMetricDestroy(&metric), 0);
  assert_null(metric);
  free(A); free(B); free(batches);
  QrbmGridDestroy(&g);
}

static void check_constants(PetscInt d, PetscInt M, double L, QrbmPotentialKind kind, double lambda, double width, double Lambda, double Lip, double rtol_Lambda, double rtol_Lip)
{
  QrbmConfig c;
  QrbmGrid   g;
  double     La, Li;
  make_grid(1, d, M, L, &g);
  memset(&c, 0, sizeof(c));
  c.dim = d; c.potential = kind; c.strength = lambda; c.width = width;
  assert_int_equal(QrbmPotentialConstants(&c, &g, &La, &Li), 0);
  if (fabs(La / Lambda - 1) > rtol_Lambda || fabs(Li / Lip - 1) > rtol_Lip) print_error("d=%d kind=%d: Lambda %.15g vs %.15g, L %.15g vs %.15g\n", (int)d, (int)kind, La, Lambda, Li, Lip);
  assert_true(fabs(La / Lambda - 1) <= rtol_Lambda);
  assert_true(fabs(Li / Lip - 1) <= rtol_Lip);
  QrbmGridDestroy(&g);
}

/* Gaussian: the Lambda sum is a trapezoid rule of |omega| g(omega) with step dw = 2 pi / (8 L);
   Euler-Maclaurin at the kink gives the relative error -dw^2 sigma^2 / 12 (+ O(dw^4)). */
static void check_gaussian(PetscInt d, PetscInt M, double L, double lambda, double sigma)
{
  const double dw = 2 * PETSC_PI / (8 * L), Lambda = d * fabs(lambda) * sqrt(2 / PETSC_PI) / sigma;
  check_constants(d, M, L, QRBM_POT_GAUSSIAN, lambda, sigma, Lambda * (1 - dw * dw * sigma * sigma / 12), d * fabs(lambda) / (sigma * sigma), 1e-6, 1e-10);
}

static void test_potential_constants(void **state)
{
  (void)state;
  const double k = 2 * PETSC_PI / 4.0;
  check_gaussian(1, 64, 16.0, 1.0, 1.0);
  check_gaussian(1, 64, 16.0, -0.5, 1.5);
  check_gaussian(2, 16, 16.0, 0.7, 1.2);
  check_constants(1, 32, 16.0, QRBM_POT_COSINE, 0.8, 4.0, 0.8 * k, 0.8 * k * k, 1e-12, 1e-12);
  check_constants(2, 16, 16.0, QRBM_POT_COSINE, 0.8, 4.0, 0.8 * k, 0.8 * k * k, 1e-10, 1e-10);
}

static void test_theorem_bound(void **state)
{
  (void)state;
  /* d = 1, t = 0.5, Dt = 0.1, Lambda = 0.8, L = 2: 2 0.1 e^6 0.8 (2 + 1.2 0.8 + 0.4 0.5 ... ) */
  const double want = 2 * 0.1 * exp(6 * 0.5 * 2.0) * 0.8 * (2 + 3 * 0.5 * 0.8 * 1.0 + 4 * 2.0 * 0.5 * 0.1);
  assert_true(fabs(QrbmTheoremBound(0.5, 0.1, 1, 0.8, 2.0) / want - 1) < 1e-15);
  /* d = 3 with L small: max(1, sqrt(3) L) = 1, max(1, Dt) = Dt = 2 */
  const double want3 = 2 * 2.0 * exp(6 * 1.0) * 0.3 * (2 + 3 * 1.0 * 0.3 * 2.0 + 4 * sqrt(3.0) * 0.1 * 1.0 * 2.0);
  assert_true(fabs(QrbmTheoremBound(1.0, 2.0, 3, 0.3, 0.1) / want3 - 1) < 1e-15);
  assert_int_equal(QRBM_WEAK_ORDER(1), 3);
  assert_int_equal(QRBM_WEAK_ORDER(2), 4);
  assert_int_equal(QRBM_WEAK_ORDER(3), 4);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_random_state_labels),
    cmocka_unit_test(test_product_state),
    cmocka_unit_test(test_symmetrized_label_average),
    cmocka_unit_test(test_spectrum),
    cmocka_unit_test(test_wigner_coherent),
    cmocka_unit_test(test_wigner_marginals),
    cmocka_unit_test(test_distance_identical_and_jackknife),
    cmocka_unit_test(test_potential_constants),
    cmocka_unit_test(test_theorem_bound),
  };
  return UNIT_RUN("rdm", tests, 0);
}
