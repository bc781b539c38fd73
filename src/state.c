/* Initial states on the position layout. */
#include <qrbm/state.h>
#include <math.h>

PetscErrorCode QrbmStateCreate(const QrbmGrid *g, QrbmState *st)
{
  PetscFunctionBeginUser;
  st->g   = g;
  st->psi = (qcomplex *)fftw_malloc(sizeof(qcomplex) * (size_t)PetscMax(g->alloc_local, 1));
  PetscCheck(st->psi, g->comm, PETSC_ERR_MEM, "cannot allocate the wavefunction (%g MiB): reduce -grid or -particles", 16.0 * g->alloc_local / 1048576.0);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmStateDestroy(QrbmState *st)
{
  PetscFunctionBeginUser;
  if (st->psi) fftw_free(st->psi);
  st->psi = NULL;
  PetscFunctionReturn(PETSC_SUCCESS);
}

void QrbmCoherentPacket(const QrbmGrid *g, double hbar, const double *q, const double *p, qcomplex *phi)
{
  const double amp = pow(PETSC_PI * hbar, -0.25 * g->d);
  for (ptrdiff_t j = 0; j < g->Md; j++) {
    double    r2 = 0, ph = 0;
    ptrdiff_t rest = j;
    for (PetscInt c = g->d - 1; c >= 0; c--, rest /= g->M) {
      double dx = g->x[rest % g->M] - q[c];
      dx -= g->L * floor(dx / g->L + 0.5);
      r2 += dx * dx;
      ph += p[c] * dx;
    }
    phi[j] = amp * cexp(-r2 / (2 * hbar) + I * ph / hbar);
  }
}

/* The discrete norm is summed over phi/max|phi|: a packet much narrower than the mesh has values
   whose squares underflow although the values themselves do not. */
PetscErrorCode QrbmCoherentPacketNormalize(const QrbmGrid *g, double hbar, PetscInt k, qcomplex *phi)
{
  double    big = 0, sum = 0;
  PetscBool finite = PETSC_TRUE;
  PetscFunctionBeginUser;
  for (ptrdiff_t j = 0; j < g->Md; j++) {
    if (!isfinite(creal(phi[j])) || !isfinite(cimag(phi[j]))) finite = PETSC_FALSE;
    else big = PetscMax(big, cabs(phi[j]));
  }
  PetscCheck(finite, g->comm, PETSC_ERR_ARG_OUTOFRANGE, "-init_p/-init_q: coherent packet %" PetscInt_FMT " is not finite on the grid (the phase p.(x-q)/hbar overflows with -hbar %g): use smaller -init_p momenta or a larger -hbar", k, hbar);
  for (ptrdiff_t j = 0; j < g->Md && big > 0; j++) sum += creal(phi[j] / big) * creal(phi[j] / big) + cimag(phi[j] / big) * cimag(phi[j] / big);
  const double rel = sqrt(sum * pow(g->h, (double)g->d)), norm = big * rel; /* rel >= h^(d/2): the maximum counts 1 */
  PetscCheck(PetscIsNormalReal(big) && PetscIsNormalReal(norm), g->comm, PETSC_ERR_ARG_OUTOFRANGE,
             "-hbar/-init_q: coherent packet %" PetscInt_FMT " vanishes on the grid (discrete norm %g): its width sqrt(-hbar) = %g is far below the mesh h = -box/-grid = %g and no grid point lies near its -init_q centre; raise -hbar or -grid",
             k, norm, sqrt(hbar), g->h);
  for (ptrdiff_t j = 0; j < g->Md; j++) phi[j] = phi[j] / big / rel;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* One-particle flat indices of the local point `flat` (position layout). */
static void ParticleIndices(const QrbmGrid *g, ptrdiff_t flat, ptrdiff_t *jm)
{
  ptrdiff_t idx[QRBM_MAX_AXES];
  QrbmLayoutIndex(&g->xlay, flat, idx);
  for (PetscInt m = 0; m < g->N; m++) {
    jm[m] = 0;
    for (PetscInt c = 0; c < g->d; c++) jm[m] = jm[m] * g->M + idx[m * g->d + c];
  }
}

PetscErrorCode QrbmStateSetProduct(QrbmState *st, const qcomplex *phi)
{
  const QrbmGrid *g = st->g;
  PetscFunctionBeginUser;
#pragma omp parallel for schedule(static)
  for (ptrdiff_t i = 0; i < g->xlay.count; i++) {
    ptrdiff_t jm[QRBM_MAX_PARTICLES];
    qcomplex  v = 1.0;
    ParticleIndices(g, i, jm);
    for (PetscInt m = 0; m < g->N; m++) v *= phi[jm[m]];
    st->psi[i] = v;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Glynn: perm(A) = 2^(1-N) sum_{delta, delta_0 = +1} (prod_k delta_k) prod_m sum_k delta_k A[m][k],
   visiting the deltas in Gray-code order so each term updates the row sums in O(N). */
static qcomplex Permanent(PetscInt N, const qcomplex *A)
{
  qcomplex rows[QRBM_MAX_PARTICLES], total = 0;
  int      sign = 1, delta[QRBM_MAX_PARTICLES];
  for (PetscInt m = 0; m < N; m++) {
    rows[m] = 0;
    for (PetscInt k = 0; k < N; k++) rows[m] += A[m * N + k];
  }
  for (PetscInt k = 0; k < N; k++) delta[k] = 1;
  for (unsigned long s = 0;; s++) {
    qcomplex prod = sign;
    for (PetscInt m = 0; m < N; m++) prod *= rows[m];
    total += prod;
    if (s + 1 == 1UL << (N - 1)) break;
    const int k = 1 + __builtin_ctzl(s + 1); /* Gray code: flip delta_k */
    delta[k] = -delta[k];
    sign     = -sign;
    for (PetscInt m = 0; m < N; m++) rows[m] += 2.0 * delta[k] * A[m * N + k];
  }
  return total / (double)(1UL << (N - 1));
}

PetscErrorCode QrbmStateSetSymmetrized(QrbmState *st, const qcomplex *const *phi)
{
  const QrbmGrid *g = st->g;
  double          norm;
  PetscFunctionBeginUser;
#pragma omp parallel for schedule(static)
  for (ptrdiff_t i = 0; i < g->xlay.count; i++) {
    ptrdiff_t jm[QRBM_MAX_PARTICLES];
    qcomplex  A[QRBM_MAX_PARTICLES * QRBM_MAX_PARTICLES];
    ParticleIndices(g, i, jm);
    for (PetscInt m = 0; m < g->N; m++)
      for (PetscInt k = 0; k < g->N; k++) A[m * g->N + k] = phi[k][jm[m]];
    st->psi[i] = Permanent(g->N, A);
  }
  PetscCall(QrbmStateNorm(st, &norm));
  PetscCheck(norm > 0 && PetscIsNormalReal(norm), g->comm, PETSC_ERR_ARG_WRONG, "-init symmetrized: the symmetrised state vanishes on the grid (norm %g); use distinct -init_q/-init_p packets", norm);
  PetscCall(QrbmStateScale(st, 1 / sqrt(norm)));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmStateNorm(const QrbmState *st, double *norm)
{
  const QrbmGrid *g   = st->g;
  long double     sum = 0;
  PetscFunctionBeginUser;
#pragma omp parallel for reduction(+ : sum) schedule(static)
  for (ptrdiff_t i = 0; i < g->xlay.count; i++) sum += creal(st->psi[i]) * creal(st->psi[i]) + cimag(st->psi[i]) * cimag(st->psi[i]);
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &sum, 1, MPI_LONG_DOUBLE, MPI_SUM, g->comm));
  *norm = (double)(sum * powl((long double)g->h, (long double)g->D));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmStateScale(QrbmState *st, double factor)
{
  PetscFunctionBeginUser;
#pragma omp parallel for schedule(static)
  for (ptrdiff_t i = 0; i < st->g->xlay.count; i++) st->psi[i] *= factor;
  PetscFunctionReturn(PETSC_SUCCESS);
}
