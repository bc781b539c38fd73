/* Ensemble statistics of flat records: Welford's running update and Chan et al.'s pairwise merge
   of (count, mean, sum of squared deviations M2). */
#pragma once
#include <qrbm/config.h>

/* Adds one sample x (len values) to the accumulator (*n, mean, m2). */
void QrbmStatsAdd(PetscInt len, double *n, double *mean, double *m2, const double *x);
/* Merges accumulator b into a (Chan et al.); the caller adds nb to na afterwards. */
void QrbmStatsMerge(PetscInt len, double na, double *ma, double *m2a, double nb, const double *mb, const double *m2b);
/* Standard error of the mean, sqrt(m2 / (n - 1) / n), 0 for fewer than two samples. */
void QrbmStatsStderr(PetscInt len, double n, const double *m2, double *stderr);
