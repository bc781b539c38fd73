/* Discrete Wigner function without aliasing or ghost images (derivation and tests: docs/wigner.md).

   With s = hbar y, W(x, xi) = (2 pi hbar)^-1 int r(x + s/2, x - s/2) exp(-i xi s / hbar) ds. The
   kernel is band-limited, so its trigonometric interpolant to the half-spacing grid y_n = -L/2 +
   n h/2 is exact; there x_n +- s/2 with s = m h are grid points again (indices n +- m). Every pair
   of points is taken once, at its minimum-image separation |s| <= L/2 (half weight at |s| = L/2):
   the full period |s| < L would add a ghost copy of the state at x + L/2 with sign (-1)^k. The
   window, zero-padded to length 2L, is transformed by a 2M-point DFT over m, which gives W at
   xi_k = pi hbar k / L, k = -M..M-1. */
#include <qrbm/wigner.h>
#include <fftw3.h>

PetscErrorCode QrbmWignerSize(const QrbmGrid *g, PetscInt *nx, PetscInt *nxi)
{
  PetscFunctionBeginUser;
  *nx = *nxi = 2 * g->M;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmWignerAxes(const QrbmGrid *g, double hbar, double *x, double *xi)
{
  PetscFunctionBeginUser;
  for (PetscInt n = 0; n < 2 * g->M; n++) {
    x[n]  = -0.5 * g->L + 0.5 * n * g->h;
    xi[n] = PETSC_PI * hbar * (double)(n - g->M) / g->L;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* R1[a][b] = sum_rest R[a Mr + rest][b Mr + rest]: the first component's density matrix. */
static void FirstComponent(const QrbmGrid *g, const qcomplex *R, qcomplex *R1)
{
  const ptrdiff_t M = g->M, Mr = g->Md / M;
  for (ptrdiff_t a = 0; a < M; a++)
    for (ptrdiff_t b = 0; b < M; b++) {
      qcomplex sum = 0;
      for (ptrdiff_t r = 0; r < Mr; r++) sum += R[(a * Mr + r) * g->Md + b * Mr + r];
      R1[a * M + b] = sum;
    }
}

/* Where DFT index k of an M-point transform goes on the 2M-point grid: the Nyquist mode of an even
   M is split evenly between +M/2 and -M/2, which keeps the interpolant of real data real and of a
   Hermitian kernel Hermitian. Returns the number of targets. */
static int PadIndex(ptrdiff_t M, ptrdiff_t k, ptrdiff_t *to, double *w)
{
  if (2 * k == M) {
    to[0] = k; to[1] = k + M; w[0] = w[1] = 0.5;
    return 2;
  }
  to[0] = 2 * k < M ? k : k + M; w[0] = 1;
  return 1;
}

/* rt[n][m] = r(y_n, y_m) on the 2M x 2M half-spacing grid from R1 (M x M, overwritten). */
static PetscErrorCode Interpolate(const QrbmGrid *g, qcomplex *R1, qcomplex *rt)
{
  const ptrdiff_t M = g->M, M2 = 2 * M;
  fftw_plan       fwd, bwd;
  PetscFunctionBeginUser;
  QrbmCallFFTW(fwd, fftw_plan_dft_2d((int)M, (int)M, R1, R1, FFTW_FORWARD, FFTW_ESTIMATE));
  QrbmCallFFTW(bwd, fftw_plan_dft_2d((int)M2, (int)M2, rt, rt, FFTW_BACKWARD, FFTW_ESTIMATE));
  fftw_execute(fwd);
  PetscCall(PetscArrayzero(rt, M2 * M2));
  for (ptrdiff_t k1 = 0; k1 < M; k1++)
    for (ptrdiff_t k2 = 0; k2 < M; k2++) {
      ptrdiff_t  t1[2], t2[2];
      double     w1[2], w2[2];
      const int  n1 = PadIndex(M, k1, t1, w1), n2 = PadIndex(M, k2, t2, w2);
      for (int i = 0; i < n1; i++)
        for (int j = 0; j < n2; j++) rt[t1[i] * M2 + t2[j]] += w1[i] * w2[j] * R1[k1 * M + k2];
    }
  fftw_execute(bwd);
  for (ptrdiff_t i = 0; i < M2 * M2; i++) rt[i] /= (double)(M * M) * g->h; /* DFT pair; kernel = R / h */
  fftw_destroy_plan(fwd);
  fftw_destroy_plan(bwd);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmWignerCompute(const QrbmGrid *g, double hbar, const qcomplex *R, double *W)
{
  const ptrdiff_t M = g->M, M2 = 2 * M;
  const double    scale = g->h / (2 * PETSC_PI * hbar); /* ds / (2 pi hbar) */
  const int       len   = (int)M2;
  qcomplex       *R1, *rt, *G;
  fftw_plan       plan;
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc3(M * M, &R1, M2 * M2, &rt, M2 * M2, &G));
  QrbmCallFFTW(plan, fftw_plan_many_dft(1, &len, len, G, NULL, 1, len, G, NULL, 1, len, FFTW_FORWARD, FFTW_ESTIMATE));
  FirstComponent(g, R, R1);
  PetscCall(Interpolate(g, R1, rt));
  for (ptrdiff_t n = 0; n < M2; n++)
    for (ptrdiff_t m = 0; m < M2; m++) {
      const ptrdiff_t s2 = 2 * (m < M ? m : M2 - m); /* 2 |s| / h */
      G[n * M2 + m]      = (s2 < M ? 1.0 : s2 == M ? 0.5 : 0.0) * rt[((n + m) % M2) * M2 + (n - m + M2) % M2];
    }
  fftw_execute(plan);
  /* G[n][-m] = conj(G[n][m]) for Hermitian R (symmetric window), so the transform is real up to rounding */
  for (ptrdiff_t n = 0; n < M2; n++)
    for (ptrdiff_t k = 0; k < M2; k++) W[n * M2 + k] = scale * creal(G[n * M2 + (k + M) % M2]);
  fftw_destroy_plan(plan);
  PetscCall(PetscFree3(R1, rt, G));
  PetscFunctionReturn(PETSC_SUCCESS);
}
