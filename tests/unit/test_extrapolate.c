/* Unit tests of the Richardson helpers (include/qrbm/extrapolate.h): the weights reproduce
   polynomials of degree n - 1 in Dt exactly at Dt = 0 (to rounding, 1e-14), refuse ratios other
   than 2, and the error propagation matches the closed forms (independent: quadrature; paired:
   the standard error of the per-realisation combination). Run: make unit. */
#include <qrbm/extrapolate.h>
#include "unit.h"

static void test_weights(void **state)
{
  const double dt3[3] = {0.5, 0.25, 0.125}, dt2[2] = {0.1, 0.05};
  double       w[3];
  (void)state;
  assert_int_equal(QrbmRichardsonWeights(2, dt2, w), 0);
  assert_true(fabs(w[0] + 1) < 1e-14 && fabs(w[1] - 2) < 1e-14);
  assert_int_equal(QrbmRichardsonWeights(3, dt3, w), 0);
  assert_true(fabs(w[0] - 1.0 / 3) < 1e-14 && fabs(w[1] + 2) < 1e-14 && fabs(w[2] - 8.0 / 3) < 1e-14);
  for (int k = 0; k < 3; k++) { /* sum_i w_i dt_i^k = [k == 0] */
    double s = 0;
    for (int i = 0; i < 3; i++) s += w[i] * pow(dt3[i], k);
    assert_true(fabs(s - (k == 0)) < 1e-14);
  }
}

static void test_weights_refuse_ratio(void **state)
{
  const double bad[2] = {0.3, 0.1}, bad3[3] = {0.4, 0.2, 0.2};
  double       w[3];
  (void)state;
  assert_int_equal(PetscPushErrorHandler(PetscReturnErrorHandler, NULL), 0);
  assert_int_equal(QrbmRichardsonWeights(2, bad, w), PETSC_ERR_ARG_INCOMP);
  assert_int_equal(QrbmRichardsonWeights(3, bad3, w), PETSC_ERR_ARG_INCOMP);
  assert_int_equal(QrbmRichardsonWeights(4, bad3, w), PETSC_ERR_ARG_OUTOFRANGE);
  assert_int_equal(PetscPopErrorHandler(), 0);
}

static void test_error_propagation(void **state)
{
  const double  w[2] = {-1, 2}, se0[2] = {0.3, 0.0}, se1[2] = {0.1, 0.2};
  const double *se[2] = {se0, se1};
  /* paired samples: R = 4 realisations of one number in each of two runs */
  const double  a[4] = {1, 2, 4, 3}, b[4] = {1.5, 2.5, 3.0, 3.5};
  const double *s[2] = {a, b};
  double        out[2], p;
  (void)state;
  QrbmRichardsonStderrIndependent(2, w, 2, se, out);
  assert_true(fabs(out[0] - sqrt(0.09 + 4 * 0.01)) < 1e-15 && fabs(out[1] - 0.4) < 1e-15);
  QrbmRichardsonStderrPaired(2, w, 4, 1, s, &p);
  const double c[4] = {2, 3, 2, 4}; /* 2 b - a */
  double       m = 0, v = 0;
  for (int r = 0; r < 4; r++) m += c[r] / 4;
  for (int r = 0; r < 4; r++) v += (c[r] - m) * (c[r] - m) / 3;
  assert_true(fabs(p - sqrt(v / 4)) < 1e-15);
  s[0] = NULL; /* a deterministic input contributes nothing */
  QrbmRichardsonStderrPaired(2, w, 4, 1, s, &p);
  m = 2 * (1.5 + 2.5 + 3 + 3.5) / 4, v = 0;
  for (int r = 0; r < 4; r++) v += (2 * b[r] - m) * (2 * b[r] - m) / 3;
  assert_true(fabs(p - sqrt(v / 4)) < 1e-15);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_weights),
    cmocka_unit_test(test_weights_refuse_ratio),
    cmocka_unit_test(test_error_propagation),
  };
  return UNIT_RUN("extrapolate", tests, 0);
}
