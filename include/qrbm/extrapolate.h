/* Richardson extrapolation of random batch means to Dt = 0 and the propagation of their standard
   errors (docs/study.md). Serial helpers on the caller's arrays; bin/qrbm-extrapolate does the
   file I/O. */
#pragma once
#include <qrbm/util.h>

#define QRBM_RICHARDSON_MAX 3

/* Weights w of the extrapolation to Dt = 0 of n = 2 or 3 means at reshuffle intervals dt[0] >
   dt[1] (> dt[2]), each half the previous (relative tolerance 1e-9): the value at 0 of the
   polynomial of degree n - 1 through (dt_i, E_i), w_i = prod_{j != i} dt_j / (dt_j - dt_i), i.e.
   (-1, 2) and (1/3, -2, 8/3). An error names the offending pair. */
PetscErrorCode QrbmRichardsonWeights(PetscInt n, const double *dt, double *w);
/* out[k] = sum_i w[i] v[i][k], k < len. */
void QrbmRichardsonCombine(PetscInt n, const double *w, size_t len, const double *const *v, double *out);
/* Independent inputs: se[k] = (sum_i w_i^2 se_i[k]^2)^(1/2); a NULL se_i counts as 0. */
void QrbmRichardsonStderrIndependent(PetscInt n, const double *w, size_t len, const double *const *se, double *out);
/* Paired inputs: samples[i] holds R rows of len numbers (row r of every input belongs to the same
   coupled realisation r; NULL: a deterministic input, no contribution); out[k] is the standard error
   of the mean over r of sum_i w_i samples[i][r][k], i.e. (var_r / R)^(1/2) with the unbiased
   variance (0 when R = 1). */
void QrbmRichardsonStderrPaired(PetscInt n, const double *w, PetscInt R, size_t len, const double *const *samples, double *out);
