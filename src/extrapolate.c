/* Richardson weights and the propagation of standard errors through a linear combination of runs
   (docs/study.md). */
#include <qrbm/extrapolate.h>
#include <math.h>

PetscErrorCode QrbmRichardsonWeights(PetscInt n, const double *dt, double *w)
{
  PetscFunctionBeginUser;
  PetscCheck(n >= 2 && n <= QRBM_RICHARDSON_MAX, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "Richardson extrapolation combines 2 or 3 runs, not %" PetscInt_FMT, n);
  for (PetscInt i = 0; i + 1 < n; i++)
    PetscCheck(fabs(dt[i] / dt[i + 1] - 2) <= 2e-9, PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP,
               "rb_dt %.12g and %.12g: Richardson extrapolation needs each reshuffle interval to be half the previous one (ratio %.12g, expected 2)", dt[i], dt[i + 1], dt[i] / dt[i + 1]);
  for (PetscInt i = 0; i < n; i++) {
    w[i] = 1;
    for (PetscInt j = 0; j < n; j++)
      if (j != i) w[i] *= dt[j] / (dt[j] - dt[i]);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

void QrbmRichardsonCombine(PetscInt n, const double *w, size_t len, const double *const *v, double *out)
{
  for (size_t k = 0; k < len; k++) {
    double s = 0;
    for (PetscInt i = 0; i < n; i++) s += w[i] * v[i][k];
    out[k] = s;
  }
}

void QrbmRichardsonStderrIndependent(PetscInt n, const double *w, size_t len, const double *const *se, double *out)
{
  for (size_t k = 0; k < len; k++) {
    double s = 0;
    for (PetscInt i = 0; i < n; i++)
      if (se[i]) s += w[i] * w[i] * se[i][k] * se[i][k];
    out[k] = sqrt(s);
  }
}

/* Welford over the R paired combinations: one pass, no R x len buffer. */
void QrbmRichardsonStderrPaired(PetscInt n, const double *w, PetscInt R, size_t len, const double *const *samples, double *out)
{
  for (size_t k = 0; k < len; k++) {
    double mean = 0, m2 = 0;
    for (PetscInt r = 0; r < R; r++) {
      double c = 0;
      for (PetscInt i = 0; i < n; i++)
        if (samples[i]) c += w[i] * samples[i][(size_t)r * len + k];
      const double delta = c - mean;
      mean += delta / (r + 1);
      m2 += delta * (c - mean);
    }
    out[k] = R > 1 ? sqrt(m2 / ((R - 1.0) * R)) : 0;
  }
}
