/* Wigner function W[R](x, xi) = (2 pi)^-1 int r(x + hbar y/2, x - hbar y/2) exp(-i xi y) dy of a
   one-particle density matrix R (Md x Md, grid basis, kernel r(x_a, x_b) = R[a][b] / h^d).
   d = 1: the full W; d = 2, 3: the (x_1, xi_1) marginal (R reduced to its first component by a
   partial trace over the others). Alias-free construction on the half-spacing grid: docs/wigner.md.
   Serial: every function works on the caller's data only. */
#pragma once
#include <qrbm/grid.h>
#include <qrbm/util.h>

/* nx = nxi = 2M. */
PetscErrorCode QrbmWignerSize(const QrbmGrid *g, PetscInt *nx, PetscInt *nxi);
/* x_n = -L/2 + n h/2 (n < 2M) and xi_k = pi hbar (k - M) / L (k < 2M, ascending). */
PetscErrorCode QrbmWignerAxes(const QrbmGrid *g, double hbar, double *x, double *xi);
/* The transform, planned once (FFTW_ESTIMATE, serial) per grid and used for every R_1 of a run:
   QrbmWignerCreate plans (event QrbmFFTPlan), QrbmWignerApply transforms (event QrbmWigner).
   g must outlive the object. */
typedef struct _n_QrbmWigner *QrbmWigner;
PetscErrorCode QrbmWignerCreate(const QrbmGrid *g, double hbar, QrbmWigner *w);
/* W[n * nxi + k] = W(x_n, xi_k); sum W dx dxi = trace R (dx = h/2, dxi = pi hbar / L) when R's
   Nyquist mode is empty. */
PetscErrorCode QrbmWignerApply(QrbmWigner w, const qcomplex *R, double *W);
PetscErrorCode QrbmWignerDestroy(QrbmWigner *w);
