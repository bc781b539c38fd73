/* Discrete Wigner function without aliasing or ghost images (derivation and tests: docs/wigner.md).

   With s = hbar y, W(x, xi) = (2 pi hbar)^-1 int r(x + s/2, x - s/2) exp(-i xi s / hbar) ds. The
   kernel is band-limited, so its trigonometric interpolant to the half-spacing grid y_n = -L/2 +
   n h/2 is exact; there x_n +- s/2 with s = m h are grid points again (indices n +- m). Every pair
   of points is taken once, at its minimum-image separation |s| <= L/2 (half weight at |s| = L/2):
   the full period |s| < L would add a ghost copy of the state at x + L/2 with sign (-1)^k. The
   window, zero-padded to length 2L, is transformed by a 2M-point DFT over m, which gives W at
   xi_k = pi hbar k / L, k = -M..M-1. */
#include <qrbm/wigner.h>
#include <qrbm/events.h>
#include <fftw3.h>
#include <string.h>

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

/* Planned once: the M x M forward transform of the first component's R_1, the 2M x 2M backward
   transform of the padded spectrum, and the 2M-point transforms over the window (one per row). */
struct _n_QrbmWigner {
  const QrbmGrid *g;
  double          hbar;
  qcomplex       *R1, *rt, *G;
  fftw_plan       fwd, bwd, win;
};

PetscErrorCode QrbmWignerCreate(const QrbmGrid *g, double hbar, QrbmWigner *w)
{
  const ptrdiff_t M = g->M, M2 = 2 * M;
  const int       len = (int)M2;
  QrbmWigner      t;
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(QRBM_EVENT_PLAN, 0, 0, 0, 0));
  PetscCall(PetscNew(&t));
  t->g = g; t->hbar = hbar;
  PetscCall(PetscMalloc3(M * M, &t->R1, M2 * M2, &t->rt, M2 * M2, &t->G));
  QrbmCallFFTW(t->win, fftw_plan_many_dft(1, &len, len, t->G, NULL, 1, len, t->G, NULL, 1, len, FFTW_FORWARD, FFTW_ESTIMATE));
  QrbmCallFFTW(t->fwd, fftw_plan_dft_2d((int)M, (int)M, t->R1, t->R1, FFTW_FORWARD, FFTW_ESTIMATE));
  QrbmCallFFTW(t->bwd, fftw_plan_dft_2d((int)M2, (int)M2, t->rt, t->rt, FFTW_BACKWARD, FFTW_ESTIMATE));
  PetscCall(PetscLogEventEnd(QRBM_EVENT_PLAN, 0, 0, 0, 0));
  *w = t;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmWignerDestroy(QrbmWigner *w)
{
  PetscFunctionBeginUser;
  if (!*w) PetscFunctionReturn(PETSC_SUCCESS);
  fftw_destroy_plan((*w)->win);
  fftw_destroy_plan((*w)->fwd);
  fftw_destroy_plan((*w)->bwd);
  PetscCall(PetscFree3((*w)->R1, (*w)->rt, (*w)->G));
  PetscCall(PetscFree(*w));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* rt[n][m] = r(y_n, y_m) on the 2M x 2M half-spacing grid from w->R1 (M x M, overwritten). */
static void Interpolate(QrbmWigner w)
{
  const ptrdiff_t M = w->g->M, M2 = 2 * M;
  qcomplex       *R1 = w->R1, *rt = w->rt;
  fftw_execute(w->fwd);
  memset(rt, 0, sizeof(qcomplex) * (size_t)(M2 * M2));
  for (ptrdiff_t k1 = 0; k1 < M; k1++)
    for (ptrdiff_t k2 = 0; k2 < M; k2++) {
      ptrdiff_t  t1[2], t2[2];
      double     w1[2], w2[2];
      const int  n1 = PadIndex(M, k1, t1, w1), n2 = PadIndex(M, k2, t2, w2);
      for (int i = 0; i < n1; i++)
        for (int j = 0; j < n2; j++) rt[t1[i] * M2 + t2[j]] += w1[i] * w2[j] * R1[k1 * M + k2];
    }
  fftw_execute(w->bwd);
  for (ptrdiff_t i = 0; i < M2 * M2; i++) rt[i] /= (double)(M * M) * w->g->h; /* DFT pair; kernel = R / h */
}

PetscErrorCode QrbmWignerApply(QrbmWigner w, const qcomplex *R, double *W)
{
  const QrbmGrid *g = w->g;
  const ptrdiff_t M = g->M, M2 = 2 * M;
  const double    scale = g->h / (2 * PETSC_PI * w->hbar); /* ds / (2 pi hbar) */
  qcomplex       *G = w->G, *rt = w->rt;
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(QRBM_EVENT_WIGNER, 0, 0, 0, 0));
  FirstComponent(g, R, w->R1);
  Interpolate(w);
  for (ptrdiff_t n = 0; n < M2; n++)
    for (ptrdiff_t m = 0; m < M2; m++) {
      const ptrdiff_t s2 = 2 * (m < M ? m : M2 - m); /* 2 |s| / h */
      G[n * M2 + m]      = (s2 < M ? 1.0 : s2 == M ? 0.5 : 0.0) * rt[((n + m) % M2) * M2 + (n - m + M2) % M2];
    }
  fftw_execute(w->win);
  /* G[n][-m] = conj(G[n][m]) for Hermitian R (symmetric window), so the transform is real up to rounding */
  for (ptrdiff_t n = 0; n < M2; n++)
    for (ptrdiff_t k = 0; k < M2; k++) W[n * M2 + k] = scale * creal(G[n * M2 + (k + M) % M2]);
  PetscCall(PetscLogEventEnd(QRBM_EVENT_WIGNER, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}
