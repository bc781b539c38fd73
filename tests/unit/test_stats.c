/* Unit tests of the ensemble statistics (include/qrbm/stats.h): Welford's running update, Chan's
   pairwise merge and the standard error of the mean.

   Data x_i = 1e9 + i, i = 0..n-1: mean 1e9 + (n-1)/2 and M2 = n (n^2 - 1)/12 exactly. The
   condition number of the variance, kappa = sqrt(1 + mean^2 n / M2), is about 3.5e6 for n = 1000.
   Welford's and Chan's updates have relative error O(n u kappa) in M2 in the worst case
   (Chan, Golub, LeVeque 1983), here at most 1000 * 1.1e-16 * 3.5e6 = 4e-7; the textbook formula
   sum x^2 - n mean^2 would lose u kappa^2 ~ 1e-3. Tolerance: 1e-6 relative for M2, 1e-15 for the
   mean. Run: make unit (mpirun -np 1 build/tests/test_stats). */
#include <qrbm/stats.h>
#include "unit.h"

#define NS 1000
#define X0 1e9

static void Sample(PetscInt i, double x[2]) { x[0] = X0 + i; x[1] = -2.0 * i; }

static void test_welford_exact_moments(void **unused)
{
  double n = 0, mean[2] = {0, 0}, m2[2] = {0, 0}, x[2];
  const double M2 = NS * ((double)NS * NS - 1) / 12;
  (void)unused;
  for (PetscInt i = 0; i < NS; i++) {
    Sample(i, x);
    QrbmStatsAdd(2, &n, mean, m2, x);
  }
  assert_true(n == NS);
  assert_true(fabs(mean[0] - (X0 + (NS - 1) / 2.0)) <= 1e-15 * X0);
  assert_true(fabs(mean[1] + (NS - 1.0)) <= 1e-12);
  assert_true(fabs(m2[0] - M2) <= 1e-6 * M2);
  assert_true(fabs(m2[1] - 4 * M2) <= 1e-12 * 4 * M2); /* well conditioned: to rounding */
}

/* Chunks accumulated separately and merged agree with one accumulator over all samples; an empty
   accumulator merges as a copy and merging an empty one changes nothing. */
static void test_merge_chunks(void **unused)
{
  const PetscInt cut[4] = {0, 0, 300, NS};
  double         n = 0, mean[2] = {0, 0}, m2[2] = {0, 0}, x[2], all_n = 0, all_mean[2] = {0, 0}, all_m2[2] = {0, 0};
  (void)unused;
  for (PetscInt i = 0; i < NS; i++) {
    Sample(i, x);
    QrbmStatsAdd(2, &all_n, all_mean, all_m2, x);
  }
  for (int c = 0; c < 3; c++) {
    double cn = 0, cmean[2] = {0, 0}, cm2[2] = {0, 0};
    for (PetscInt i = cut[c]; i < cut[c + 1]; i++) {
      Sample(i, x);
      QrbmStatsAdd(2, &cn, cmean, cm2, x);
    }
    const double before = mean[0];
    QrbmStatsMerge(2, n, mean, m2, cn, cmean, cm2);
    if (cn == 0) assert_true(mean[0] == before);
    if (n == 0 && cn > 0) assert_true(mean[0] == cmean[0] && m2[0] == cm2[0]);
    n += cn;
  }
  assert_true(n == all_n);
  for (int j = 0; j < 2; j++) {
    assert_true(fabs(mean[j] - all_mean[j]) <= 1e-15 * fabs(all_mean[j]) + 1e-12);
    assert_true(fabs(m2[j] - all_m2[j]) <= 1e-6 * all_m2[j]);
  }
}

static void test_stderr(void **unused)
{
  const double m2[2] = {8.0, 0.0};
  double       se[2];
  (void)unused;
  QrbmStatsStderr(2, 1, m2, se);
  assert_true(se[0] == 0 && se[1] == 0); /* one sample: no error estimate */
  QrbmStatsStderr(2, 3, m2, se);
  assert_true(fabs(se[0] - sqrt(8.0 / 2 / 3)) <= 1e-15 && se[1] == 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_welford_exact_moments),
    cmocka_unit_test(test_merge_chunks),
    cmocka_unit_test(test_stderr),
  };
  return UNIT_RUN("stats", tests, 0);
}
