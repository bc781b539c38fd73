/* H psi on the grid. T(k) and V(x) are read off the propagator's own phase factors,
   exp(-i theta T/hbar) and exp(-i theta V/hbar) applied to a vector of ones, with theta small enough
   that the phases stay in (-1, 1) rad: their argument is then exactly -theta T/hbar (resp. V), so H
   here is the operator the propagator exponentiates, on every layout and rank count. */
#include <qrbm/hamiltonian.h>
#include <math.h>

typedef struct {
  QrbmKinetic *kin;
  const QrbmGrid *g;
  double      *Tk; /* T(k) / M^D on the transposed momentum layout */
  double      *Vx; /* sum_m U(x_m) + sum_{l<n} w_ln V(x_l - x_n) on the position layout */
} Ops;

static PetscErrorCode ApplyT(Ops *o, qcomplex *v)
{
  PetscFunctionBeginUser;
  PetscCall(QrbmKineticForward(o->kin, v));
  for (ptrdiff_t k = 0; k < o->g->klay.count; k++) v[k] *= o->Tk[k];
  PetscCall(QrbmKineticBackward(o->kin, v));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Tables(Ops *o, QrbmPotential *pot, const QrbmPairWeights *W, qcomplex *ones, double *tmax, double *vmax)
{
  const QrbmGrid *g = o->g;
  const double    hbar = o->kin->hbar, kmax = PETSC_PI / g->h;
  double          umax = 0, v2max = 0;
  PetscFunctionBeginUser;
  *tmax = g->D * 0.5 * hbar * hbar * kmax * kmax; /* |k| <= pi/h per axis */
  for (ptrdiff_t j = 0; j < g->Md; j++) umax = PetscMax(umax, fabs(pot->U[j]));
  for (ptrdiff_t u = 0; u < pot->n2; u++) v2max = PetscMax(v2max, fabs(pot->V2[u]));
  *vmax = g->N * umax + (g->N > 1 ? 0.5 * g->N * v2max : 0); /* sum_{l<n} 1/(N-1) = N/2 */
  const double thT = hbar / *tmax, thV = hbar / (*vmax > 0 ? *vmax : 1);
  for (ptrdiff_t k = 0; k < g->klay.count; k++) ones[k] = 1;
  PetscCall(QrbmKineticPhase(o->kin, -I * thT, ones));
  for (ptrdiff_t k = 0; k < g->klay.count; k++) o->Tk[k] = -hbar * carg(ones[k]) / thT / g->total;
  for (ptrdiff_t j = 0; j < g->xlay.count; j++) ones[j] = 1;
  PetscCall(QrbmPotentialApply(pot, W, -I * thV, ones));
  for (ptrdiff_t j = 0; j < g->xlay.count; j++) o->Vx[j] = -hbar * carg(ones[j]) / thV;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static double Norm2(const qcomplex *v, ptrdiff_t n)
{
  long double s = 0;
  for (ptrdiff_t j = 0; j < n; j++) s += creal(v[j]) * creal(v[j]) + cimag(v[j]) * cimag(v[j]);
  return (double)s;
}

PetscErrorCode QrbmHamiltonianResidualCompute(QrbmKinetic *kin, QrbmPotential *pot, const QrbmPairWeights *W, const qcomplex *psi, QrbmHamiltonianResidual *res)
{
  const QrbmGrid *g = kin->g;
  const ptrdiff_t n = g->xlay.count;
  const double    hD = pow(g->h, (double)g->D);
  Ops             o = {kin, g, NULL, NULL};
  qcomplex       *b[4];
  double          tmax, vmax, s[4] = {0, 0, 0, 0};
  PetscFunctionBeginUser;
  for (int i = 0; i < 4; i++) {
    b[i] = (qcomplex *)fftw_malloc(sizeof(qcomplex) * (size_t)PetscMax(g->alloc_local, 1));
    PetscCheck(b[i], g->comm, PETSC_ERR_MEM, "-init ground: cannot allocate the 4 temporary states of the ground-state check");
  }
  PetscCall(PetscMalloc2(PetscMax(g->klay.count, 1), &o.Tk, PetscMax(n, 1), &o.Vx));
  PetscCall(Tables(&o, pot, W, b[0], &tmax, &vmax));
  res->scale = tmax + vmax;
  /* b0 = T psi, b1 = T V psi: E and the residual */
  PetscCall(PetscArraycpy(b[0], psi, n));
  PetscCall(ApplyT(&o, b[0]));
  for (ptrdiff_t j = 0; j < n; j++) b[1][j] = o.Vx[j] * psi[j];
  for (ptrdiff_t j = 0; j < n; j++) s[0] += creal(conj(psi[j]) * (b[0][j] + b[1][j]));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, s, 1, MPI_DOUBLE, MPI_SUM, g->comm));
  res->energy = s[0] * hD;
  for (ptrdiff_t j = 0; j < n; j++) b[2][j] = b[0][j] + b[1][j] - res->energy * psi[j];
  s[1] = Norm2(b[2], n);
  PetscCall(ApplyT(&o, b[1]));
  /* [T,[T,V]] psi = T (T V psi - 2 V T psi) + V T T psi */
  for (ptrdiff_t j = 0; j < n; j++) b[2][j] = b[1][j] - 2 * o.Vx[j] * b[0][j];
  PetscCall(ApplyT(&o, b[2]));
  PetscCall(PetscArraycpy(b[3], b[0], n));
  PetscCall(ApplyT(&o, b[3]));
  for (ptrdiff_t j = 0; j < n; j++) b[2][j] += o.Vx[j] * b[3][j];
  s[2] = Norm2(b[2], n);
  /* [V,[V,T]] psi = V (V T psi - 2 T V psi) + T V V psi */
  for (ptrdiff_t j = 0; j < n; j++) b[3][j] = o.Vx[j] * o.Vx[j] * psi[j];
  PetscCall(ApplyT(&o, b[3]));
  for (ptrdiff_t j = 0; j < n; j++) b[3][j] += o.Vx[j] * (o.Vx[j] * b[0][j] - 2 * b[1][j]);
  s[3] = Norm2(b[3], n);
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, s + 1, 3, MPI_DOUBLE, MPI_SUM, g->comm));
  res->residual = sqrt(s[1] * hD);
  res->split    = sqrt(s[2] * hD) / 24 + sqrt(s[3] * hD) / 12;
  for (int i = 0; i < 4; i++) fftw_free(b[i]);
  PetscCall(PetscFree2(o.Tk, o.Vx));
  PetscFunctionReturn(PETSC_SUCCESS);
}
