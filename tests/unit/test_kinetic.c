/* Unit tests of the grid layouts (include/qrbm/grid.h) and the kinetic step (include/qrbm/kinetic.h).

   QrbmLayoutIndex:
   * the transposed momentum layout made by QrbmGridCreate (storage axes 0 and 1 swapped) against an
     independent decomposition of the flat index, for D = 2..6;
   * hand-made layouts of simulated ranks (slabs of the first storage axis with start > 0, as
     FFTW-MPI distributes them over 2 and 3 ranks): together they must enumerate every global index
     exactly once;
   * its meaning: after QrbmKineticForward, entry `flat` of the transposed layout must be the DFT
     coefficient at the frequency indices QrbmLayoutIndex(klay, flat) -- checked against a naive
     DFT of a random state, and by the position of the peak of a plane wave.
   QrbmKineticPhase with the forward/backward pair, and the fused QrbmKineticStep:
   * z = 0 is the identity (the 1/M^D factor normalises the pair): 1e-13 relative;
   * on a plane wave exp(i k.x) the step multiplies by exp(z/hbar * hbar^2 |k|^2 / 2) (real and
     imaginary time), with k from fftfreq (the Nyquist index of an even M is -M/2).
   Tolerances: FFT rounding is ~ eps log2(M^D) per entry relative to the l2 scale; 1e-13 of the
   largest entry leaves a margin of ~50 for the sizes used. The naive DFT sums M^D terms: 1e-12.

   N*d = 1 (padded M x 1 transform, no transposed FFTW-MPI plan exists for it): the momentum layout
   equals the position layout, and the same checks apply (M = 2, 9, 16).

   Run: make unit (mpirun -np 1 build/tests/test_kinetic). */
#include <qrbm/events.h>
#include <qrbm/kinetic.h>
#include <qrbm/state.h>
#include "unit.h"


static double kval(PetscInt m, PetscInt M, double L) { return 2 * PETSC_PI / L * (double)(m <= (M - 1) / 2 ? m : m - M); }

typedef struct {
  PetscInt N, d, M;
} Shape;

/* ---------------------------------------------------------------- layouts ---------------- */

static void test_layout_transposed_grid(void **state)
{
  (void)state;
  const Shape shapes[] = {{2, 1, 5}, {1, 2, 6}, {3, 1, 4}, {1, 3, 3}, {2, 2, 3}, {3, 2, 2}};
  for (size_t c = 0; c < sizeof(shapes) / sizeof(shapes[0]); c++) {
    QrbmConfig cfg;
    QrbmGrid   g;
    make_config(shapes[c].N, shapes[c].d, shapes[c].M, 6.0, 1.0, &cfg);
    assert_int_equal(QrbmGridCreate(PETSC_COMM_SELF, &cfg, &g), 0);
    const int D = (int)g.D, M = (int)g.M;
    assert_int_equal(g.nfft, D);
    assert_int_equal(g.klay.naxes, D);
    assert_int_equal(g.klay.perm[0], 1);
    assert_int_equal(g.klay.perm[1], 0);
    for (int s = 2; s < D; s++) assert_int_equal(g.klay.perm[s], s);
    assert_int_equal((long long)g.klay.start, 0);
    assert_int_equal((long long)g.klay.count, (long long)g.total);
    for (ptrdiff_t flat = 0; flat < g.klay.count; flat++) {
      ptrdiff_t idx[QRBM_MAX_AXES], want[QRBM_MAX_AXES], rest = flat;
      /* storage order (axis 1, axis 0, axis 2, ..., axis D-1), row-major */
      for (int s = D - 1; s >= 0; s--) {
        const int a = s == 0 ? 1 : s == 1 ? 0 : s;
        want[a] = rest % M;
        rest /= M;
      }
      QrbmLayoutIndex(&g.klay, flat, idx);
      for (int a = 0; a < D; a++)
        if (idx[a] != want[a]) fail_msg("klay N=%d d=%d M=%d flat %td axis %d: %td, want %td", (int)g.N, (int)g.d, M, flat, a, idx[a], want[a]);
      QrbmLayoutIndex(&g.xlay, flat, idx); /* position layout: plain row-major */
      rest = flat;
      for (int a = D - 1; a >= 0; a--, rest /= M)
        if (idx[a] != rest % M) fail_msg("xlay N=%d d=%d M=%d flat %td axis %d: %td, want %td", (int)g.N, (int)g.d, M, flat, a, idx[a], rest % M);
    }
    assert_int_equal(QrbmGridDestroy(&g), 0);
  }
}

/* Slabs of simulated ranks: FFTW-MPI's default block is ceil(n / P) rows of the first storage axis. */
static void test_layout_simulated_ranks(void **state)
{
  (void)state;
  const ptrdiff_t nglob[4] = {5, 7, 3, 4}; /* original axes */
  for (int naxes = 2; naxes <= 4; naxes++)
    for (int P = 2; P <= 3; P++) {
      ptrdiff_t total = 1;
      for (int a = 0; a < naxes; a++) total *= nglob[a];
      unsigned char *seen = calloc((size_t)total, 1);
      assert_non_null(seen);
      const ptrdiff_t n0 = nglob[1], block = (n0 + P - 1) / P; /* transposed: storage axis 0 is original axis 1 */
      for (int r = 0; r < P; r++) {
        QrbmLayout lay;
        memset(&lay, 0, sizeof(lay));
        lay.naxes = naxes;
        lay.start = PetscMin(n0, r * block);
        lay.count = 1;
        for (int s = 0; s < naxes; s++) {
          lay.perm[s] = s == 0 ? 1 : s == 1 ? 0 : s;
          lay.n[s]    = s == 0 ? PetscMin(n0, (r + 1) * block) - lay.start : nglob[lay.perm[s]];
          lay.count *= lay.n[s];
        }
        for (ptrdiff_t flat = 0; flat < lay.count; flat++) {
          ptrdiff_t idx[QRBM_MAX_AXES], g = 0;
          QrbmLayoutIndex(&lay, flat, idx);
          assert_true(idx[1] >= lay.start && idx[1] < lay.start + lay.n[0]);
          for (int a = 0; a < naxes; a++) {
            assert_true(idx[a] >= 0 && idx[a] < nglob[a]);
            g = g * nglob[a] + idx[a];
          }
          assert_int_equal(seen[g], 0);
          seen[g] = 1;
          /* storage-order digits, most significant first, are the inverse map */
          ptrdiff_t back = 0;
          for (int s = 0; s < naxes; s++) back = back * lay.n[s] + idx[lay.perm[s]] - (s == 0 ? lay.start : 0);
          assert_int_equal((long long)back, (long long)flat);
        }
      }
      for (ptrdiff_t g = 0; g < total; g++) assert_int_equal(seen[g], 1);
      free(seen);
    }
}

/* ---------------------------------------------------------------- kinetic ---------------- */

typedef struct {
  QrbmConfig  cfg;
  QrbmGrid    g;
  QrbmState   st;
  QrbmKinetic kin;
} Kit;

static PetscErrorCode kit_create(const Shape *s, double L, double hbar, Kit *k)
{
  PetscFunctionBeginUser;
  make_config(s->N, s->d, s->M, L, hbar, &k->cfg);
  PetscCall(QrbmGridCreate(PETSC_COMM_SELF, &k->cfg, &k->g));
  PetscCall(QrbmStateCreate(&k->g, &k->st));
  PetscCall(QrbmKineticCreate(&k->g, &k->cfg, k->st.psi, &k->kin));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void kit_destroy(Kit *k)
{
  assert_int_equal(QrbmKineticDestroy(&k->kin), 0);
  assert_int_equal(QrbmStateDestroy(&k->st), 0);
  assert_int_equal(QrbmGridDestroy(&k->g), 0);
}

/* Position indices of flat (row-major over D axes) */
static void xindex(const QrbmGrid *g, ptrdiff_t flat, ptrdiff_t *j)
{
  for (PetscInt a = g->D - 1; a >= 0; a--) {
    j[a] = flat % g->M;
    flat /= g->M;
  }
}

/* Returns the number of failed checks for one shape. */
static int check_kinetic(const Shape *s, double L, double hbar, PetscBool naive_dft)
{
  Kit       k;
  int       bad = 0;
  assert_int_equal(kit_create(s, L, hbar, &k), 0);
  const QrbmGrid *g = &k.g;
  const ptrdiff_t n = g->xlay.count, D = g->D, M = g->M;
  qcomplex       *psi = k.st.psi, *psi0 = malloc(sizeof(qcomplex) * (size_t)n);
  assert_non_null(psi0);

  /* (a) identity with z = 0 */
  double maxabs = 0, err = 0;
  for (ptrdiff_t i = 0; i < n; i++) {
    psi0[i] = (urand() - 0.5) + I * (urand() - 0.5);
    psi[i]  = psi0[i];
    maxabs  = fmax(maxabs, cabs(psi0[i]));
  }
  assert_int_equal(QrbmKineticForward(&k.kin, psi), 0);
  if (naive_dft) { /* (b) every coefficient against the naive DFT, at QrbmLayoutIndex's frequencies */
    double derr = 0, dscale = 0;
    for (ptrdiff_t f = 0; f < g->klay.count; f++) {
      ptrdiff_t  m[QRBM_MAX_AXES], j[QRBM_MAX_AXES];
      qcomplex   want = 0;
      QrbmLayoutIndex(&g->klay, f, m);
      for (ptrdiff_t i = 0; i < n; i++) {
        ptrdiff_t ph = 0;
        xindex(g, i, j);
        for (PetscInt a = 0; a < D; a++) ph += m[a] * j[a];
        want += psi0[i] * cexp(-2 * PETSC_PI * I * (double)(ph % M) / (double)M);
      }
      derr   = fmax(derr, cabs(psi[f] - want));
      dscale = fmax(dscale, cabs(want));
    }
    if (!(derr <= 1e-12 * dscale)) {
      print_error("N=%d d=%d M=%d: forward transform differs from the naive DFT at the klay frequencies by %.3g (scale %.3g)\n", (int)s->N, (int)s->d,
                  (int)s->M, derr, dscale);
      bad++;
    }
  }
  assert_int_equal(QrbmKineticPhase(&k.kin, 0.0, psi), 0);
  assert_int_equal(QrbmKineticBackward(&k.kin, psi), 0);
  for (ptrdiff_t i = 0; i < n; i++) err = fmax(err, cabs(psi[i] - psi0[i]));
  if (!(err <= 1e-13 * maxabs)) {
    print_error("N=%d d=%d M=%d: forward, phase(z=0), backward is not the identity: max error %.3g (max |psi| %.3g)\n", (int)s->N, (int)s->d, (int)s->M, err,
                maxabs);
    bad++;
  }

  /* (c) plane waves: peak position and the phase factor, real and imaginary time */
  const qcomplex zs[] = {-0.7 * I, -0.05};
  for (int w = 0; w < 3; w++) {
    ptrdiff_t mw[QRBM_MAX_AXES];
    double    k2 = 0;
    for (PetscInt a = 0; a < D; a++) {
      mw[a] = w == 0 ? (a + 1) % M : w == 1 ? M / 2 : (M - 1 - a % M + M) % M; /* w = 1: Nyquist for even M */
      const double ka = kval(mw[a], M, L);
      k2 += ka * ka;
    }
    for (size_t iz = 0; iz < 2; iz++) {
      for (ptrdiff_t i = 0; i < n; i++) {
        ptrdiff_t j[QRBM_MAX_AXES];
        double    ph = 0;
        xindex(g, i, j);
        for (PetscInt a = 0; a < D; a++) ph += kval(mw[a], M, L) * (-0.5 * L + (double)j[a] * L / M);
        psi0[i] = cexp(I * ph);
        psi[i]  = psi0[i];
      }
      assert_int_equal(QrbmKineticForward(&k.kin, psi), 0);
      ptrdiff_t peak = 0;
      double    rest = 0;
      for (ptrdiff_t f = 1; f < g->klay.count; f++)
        if (cabs(psi[f]) > cabs(psi[peak])) peak = f;
      for (ptrdiff_t f = 0; f < g->klay.count; f++)
        if (f != peak) rest = fmax(rest, cabs(psi[f]));
      ptrdiff_t m[QRBM_MAX_AXES];
      QrbmLayoutIndex(&g->klay, peak, m);
      for (PetscInt a = 0; a < D; a++)
        if (m[a] != mw[a]) {
          print_error("N=%d d=%d M=%d wave %d: peak at klay flat %td has frequency index %td on axis %d, want %td\n", (int)s->N, (int)s->d, (int)s->M, w, peak,
                      m[a], (int)a, mw[a]);
          bad++;
        }
      if (!(fabs(cabs(psi[peak]) - g->total) <= 1e-12 * g->total && rest <= 1e-12 * g->total)) {
        print_error("N=%d d=%d M=%d wave %d: |peak| = %.17g (want %g), largest other %.3g\n", (int)s->N, (int)s->d, (int)s->M, w, cabs(psi[peak]), g->total, rest);
        bad++;
      }
      const qcomplex z = zs[iz];
      assert_int_equal(QrbmKineticPhase(&k.kin, z, psi), 0);
      assert_int_equal(QrbmKineticBackward(&k.kin, psi), 0);
      const qcomplex factor = cexp(z / hbar * 0.5 * hbar * hbar * k2);
      double         perr = 0;
      for (ptrdiff_t i = 0; i < n; i++) perr = fmax(perr, cabs(psi[i] - factor * psi0[i]));
      if (!(perr <= 1e-13 * cabs(factor))) {
        print_error("N=%d d=%d M=%d wave %d z=(%g,%g): kinetic factor wrong, max error %.3g (factor %.6g%+.6gi)\n", (int)s->N, (int)s->d, (int)s->M, w,
                    creal(z), cimag(z), perr, creal(factor), cimag(factor));
        bad++;
      }
      /* the fused sub-step (trailing transforms and phase per block) gives the same factor */
      for (ptrdiff_t i = 0; i < n; i++) psi[i] = psi0[i];
      assert_int_equal(QrbmKineticStep(&k.kin, z, psi), 0);
      perr = 0;
      for (ptrdiff_t i = 0; i < n; i++) perr = fmax(perr, cabs(psi[i] - factor * psi0[i]));
      if (!(perr <= 1e-13 * cabs(factor))) {
        print_error("N=%d d=%d M=%d wave %d z=(%g,%g): fused kinetic step wrong, max error %.3g\n", (int)s->N, (int)s->d, (int)s->M, w, creal(z), cimag(z), perr);
        bad++;
      }
    }
  }
  free(psi0);
  kit_destroy(&k);
  return bad;
}

static void test_kinetic(void **state)
{
  (void)state;
  const struct {
    Shape     s;
    double    L, hbar;
    PetscBool dft;
  } cases[] = {
    {{2, 1, 5}, 6.0, 1.0, PETSC_TRUE}, {{2, 1, 8}, 6.0, 0.7, PETSC_TRUE}, {{1, 2, 6}, 5.0, 1.3, PETSC_TRUE}, {{3, 1, 4}, 6.0, 1.0, PETSC_TRUE},
    {{1, 3, 5}, 6.0, 0.5, PETSC_TRUE}, {{2, 2, 3}, 6.0, 1.0, PETSC_TRUE}, {{4, 1, 4}, 6.0, 1.0, PETSC_FALSE}, {{3, 2, 3}, 4.0, 1.0, PETSC_FALSE},
    {{2, 2, 8}, 8.0, 1.0, PETSC_FALSE},
  };
  int bad = 0;
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) bad += check_kinetic(&cases[c].s, cases[c].L, cases[c].hbar, cases[c].dft);
  if (bad) fail_msg("%d kinetic checks failed", bad);
}

/* N*d = 1: the solver pads the transform to M x 1 and, as FFTW-MPI has no transposed plans for that
   shape, momentum space keeps the position layout (untransposed plans). */
static void test_kinetic_D1(void **state)
{
  (void)state;
  int bad = 0;
  for (PetscInt M = 2; M <= 16; M += 7) {
    const Shape    s = {1, 1, M};
    Kit            k;
    PetscErrorCode ierr;
    assert_int_equal(PetscPushErrorHandler(PetscReturnErrorHandler, NULL), 0);
    ierr = kit_create(&s, 6.0, 1.0, &k);
    assert_int_equal(PetscPopErrorHandler(), 0);
    if (ierr) fail_msg("N*d = 1, M = %d: grid/kinetic setup failed (error %d)", (int)M, (int)ierr);
    /* the momentum layout is the position layout */
    assert_int_equal(k.g.klay.naxes, k.g.xlay.naxes);
    assert_int_equal(k.g.klay.start, k.g.xlay.start);
    assert_int_equal(k.g.klay.count, k.g.xlay.count);
    for (int a = 0; a < k.g.xlay.naxes; a++) {
      assert_int_equal(k.g.klay.n[a], k.g.xlay.n[a]);
      assert_int_equal(k.g.klay.perm[a], k.g.xlay.perm[a]);
    }
    kit_destroy(&k);
    bad += check_kinetic(&s, 6.0, 1.0, PETSC_TRUE);
  }
  if (bad) fail_msg("%d N*d = 1 kinetic checks failed", bad);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_layout_transposed_grid),
    cmocka_unit_test(test_layout_simulated_ranks),
    cmocka_unit_test(test_kinetic),
    cmocka_unit_test(test_kinetic_D1),
  };
  return UNIT_RUN("grid+kinetic", tests, 0);
}
