/* Welford/Chan statistics: numerically stable one-pass means and variances (no cancellation of
   large sums of squares), mergeable across rank groups and checkpoints. */
#include <qrbm/stats.h>
#include <math.h>

void QrbmStatsAdd(PetscInt len, double *n, double *mean, double *m2, const double *x)
{
  *n += 1;
  for (PetscInt j = 0; j < len; j++) {
    const double delta = x[j] - mean[j];
    mean[j] += delta / *n;
    m2[j] += delta * (x[j] - mean[j]);
  }
}

void QrbmStatsMerge(PetscInt len, double na, double *ma, double *m2a, double nb, const double *mb, const double *m2b)
{
  const double n = na + nb;
  if (nb == 0) return;
  for (PetscInt j = 0; j < len; j++) {
    const double delta = mb[j] - ma[j];
    ma[j]  = na == 0 ? mb[j] : ma[j] + delta * nb / n;
    m2a[j] = na == 0 ? m2b[j] : m2a[j] + m2b[j] + delta * delta * na * nb / n;
  }
}

void QrbmStatsStderr(PetscInt len, double n, const double *m2, double *stderr)
{
  for (PetscInt j = 0; j < len; j++) stderr[j] = n > 1 ? sqrt(m2[j] / (n - 1) / n) : 0;
}
