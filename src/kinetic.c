/* FFTW-MPI transforms with transposed-out/in layouts: the kinetic phase is applied in the
   transposed momentum layout, which saves two global transposes per step.

   The D-dimensional transform is split into the two leading axes (FFTW-MPI, distributed,
   howmany = the T points of the trailing axes) and the trailing D - 2 axes, which are local and
   contiguous in both layouts (serial plans on blocks of T points). A kinetic sub-step transforms
   each block forward, multiplies the phase and transforms it back while it is in cache
   (QrbmKineticStep), so the trailing transforms and the phase cost one pass over memory. */
#include <qrbm/kinetic.h>
#include <qrbm/events.h>
#include <fftw3.h>

PetscErrorCode QrbmFFTInitialize(PetscInt threads)
{
  PetscFunctionBeginUser;
  PetscCheck(fftw_init_threads(), PETSC_COMM_SELF, PETSC_ERR_LIB, "fftw_init_threads failed");
  fftw_mpi_init();
  fftw_plan_with_nthreads((int)threads);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Trailing axes (storage axes 2.., D >= 3): one serial plan for one contiguous block of T points,
   executed by every thread on its own blocks (fftw_execute_dft on other arrays is thread-safe).
   Blocks start at multiples of T points from psi: when that is not a multiple of 64 bytes they
   may be aligned differently from the planning array, and the plans must not assume alignment. */
static PetscErrorCode PlanTrailing(QrbmKinetic *kin, unsigned effort, int threads)
{
  const QrbmGrid *g = kin->g;
  int             n[QRBM_MAX_AXES];
  fftw_complex   *scratch;
  const unsigned  flags = effort | ((kin->T * 16) % 64 ? FFTW_UNALIGNED : 0);
  PetscFunctionBeginUser;
  for (int a = 2; a < g->nfft; a++) n[a - 2] = (int)g->nglob[a];
  scratch = fftw_alloc_complex((size_t)kin->T);
  PetscCheck(scratch, PETSC_COMM_SELF, PETSC_ERR_MEM, "cannot allocate the FFT planning block of %td points", kin->T);
  fftw_plan_with_nthreads(1);
  kin->tfwd = fftw_plan_many_dft(g->nfft - 2, n, 1, scratch, NULL, 1, 0, scratch, NULL, 1, 0, FFTW_FORWARD, flags);
  kin->tbwd = fftw_plan_many_dft(g->nfft - 2, n, 1, scratch, NULL, 1, 0, scratch, NULL, 1, 0, FFTW_BACKWARD, flags);
  fftw_plan_with_nthreads(threads);
  fftw_free(scratch);
  PetscCheck(kin->tfwd && kin->tbwd, PETSC_COMM_SELF, PETSC_ERR_LIB, "FFTW planning failed: fftw_plan_many_dft of the trailing %d axes", g->nfft - 2);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmKineticCreate(const QrbmGrid *g, const QrbmConfig *cfg, qcomplex *psi, QrbmKinetic *kin)
{
  static const unsigned effort[] = {FFTW_ESTIMATE, FFTW_MEASURE, FFTW_PATIENT};
  fftw_complex         *a        = (fftw_complex *)psi;
  const unsigned        tout = g->D >= 2 ? FFTW_MPI_TRANSPOSED_OUT : 0, tin = g->D >= 2 ? FFTW_MPI_TRANSPOSED_IN : 0;
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(kin, sizeof(*kin)));
  kin->g = g; kin->hbar = cfg->hbar;
  kin->T = QrbmGridTrailingPoints(g);
  PetscCall(PetscMalloc2(g->M, &kin->tab, kin->T, &kin->ttab));
  PetscCall(PetscLogEventBegin(QRBM_EVENT_PLAN, 0, 0, 0, 0));
  QrbmCallFFTW(kin->fwd, fftw_mpi_plan_many_dft(2, g->nglob, kin->T, FFTW_MPI_DEFAULT_BLOCK, FFTW_MPI_DEFAULT_BLOCK, a, a, g->comm, FFTW_FORWARD, effort[cfg->planner] | tout));
  QrbmCallFFTW(kin->bwd, fftw_mpi_plan_many_dft(2, g->nglob, kin->T, FFTW_MPI_DEFAULT_BLOCK, FFTW_MPI_DEFAULT_BLOCK, a, a, g->comm, FFTW_BACKWARD, effort[cfg->planner] | tin));
  if (g->nfft > 2) PetscCall(PlanTrailing(kin, effort[cfg->planner], (int)cfg->threads));
  PetscCall(PetscLogEventEnd(QRBM_EVENT_PLAN, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmKineticDestroy(QrbmKinetic *kin)
{
  PetscFunctionBeginUser;
  if (kin->fwd) fftw_destroy_plan(kin->fwd);
  if (kin->bwd) fftw_destroy_plan(kin->bwd);
  if (kin->tfwd) fftw_destroy_plan(kin->tfwd);
  if (kin->tbwd) fftw_destroy_plan(kin->tbwd);
  PetscCall(PetscFree2(kin->tab, kin->ttab));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The trailing-axes transform of every local block of the momentum layout. */
static void Trailing(QrbmKinetic *kin, fftw_plan p, qcomplex *psi)
{
  const ptrdiff_t blocks = kin->tfwd ? kin->g->klay.count / kin->T : 0;
#pragma omp parallel for schedule(static)
  for (ptrdiff_t b = 0; b < blocks; b++) fftw_execute_dft(p, (fftw_complex *)(psi + b * kin->T), (fftw_complex *)(psi + b * kin->T));
}

PetscErrorCode QrbmKineticForward(QrbmKinetic *kin, qcomplex *psi)
{
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(QRBM_EVENT_FFT, 0, 0, 0, 0));
  fftw_mpi_execute_dft(kin->fwd, (fftw_complex *)psi, (fftw_complex *)psi);
  Trailing(kin, kin->tfwd, psi);
  PetscCall(PetscLogEventEnd(QRBM_EVENT_FFT, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmKineticBackward(QrbmKinetic *kin, qcomplex *psi)
{
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(QRBM_EVENT_FFT, 0, 0, 0, 0));
  Trailing(kin, kin->tbwd, psi);
  fftw_mpi_execute_dft(kin->bwd, (fftw_complex *)psi, (fftw_complex *)psi);
  PetscCall(PetscLogEventEnd(QRBM_EVENT_FFT, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* blk[j] *= c t[j] in real arithmetic, which the compiler vectorises (double complex products it
   does not). */
static inline void ScaleBlock(ptrdiff_t n, qcomplex c, const qcomplex *restrict T, qcomplex *restrict blk)
{
  const double *t = (const double *)T, cr = creal(c), ci = cimag(c);
  double       *p = (double *)blk;
#pragma omp simd
  for (ptrdiff_t j = 0; j < n; j++) {
    const double wr = cr * t[2 * j] - ci * t[2 * j + 1], wi = cr * t[2 * j + 1] + ci * t[2 * j];
    const double pr = p[2 * j], pi = p[2 * j + 1];
    p[2 * j]     = pr * wr - pi * wi;
    p[2 * j + 1] = pr * wi + pi * wr;
  }
}

/* Factor tables for z: kin->tab per axis (with 1/M), kin->ttab the product over the trailing axes
   of one block. */
static void Tables(QrbmKinetic *kin, qcomplex z)
{
  const QrbmGrid *g = kin->g;
  for (PetscInt j = 0; j < g->M; j++) kin->tab[j] = cexp(z / kin->hbar * 0.5 * kin->hbar * kin->hbar * g->k[j] * g->k[j]) / (double)g->M;
  for (ptrdiff_t j = 0; j < kin->T; j++) {
    qcomplex  c    = 1.0;
    ptrdiff_t rest = j;
    for (int a = g->nfft - 1; a >= 2; a--, rest /= g->M) c *= kin->tab[rest % g->M];
    kin->ttab[j] = c;
  }
}

/* Leading transforms, then per block of the trailing axes (in cache): forward transform, phase,
   backward transform. One pass over memory replaces the trailing transforms' passes and the
   phase's. */
PetscErrorCode QrbmKineticStep(QrbmKinetic *kin, qcomplex z, qcomplex *psi)
{
  const QrbmGrid   *g   = kin->g;
  const QrbmLayout *lay = &g->klay;
  PetscFunctionBeginUser;
  if (!kin->tfwd) {
    PetscCall(QrbmKineticForward(kin, psi));
    PetscCall(QrbmKineticPhase(kin, z, psi));
    PetscCall(QrbmKineticBackward(kin, psi));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  PetscCall(PetscLogEventBegin(QRBM_EVENT_FFT, 0, 0, 0, 0));
  fftw_mpi_execute_dft(kin->fwd, (fftw_complex *)psi, (fftw_complex *)psi);
  PetscCall(PetscLogEventEnd(QRBM_EVENT_FFT, 0, 0, 0, 0));
  PetscCall(PetscLogEventBegin(QRBM_EVENT_KINETIC, 0, 0, 0, 0));
  Tables(kin, z);
  const ptrdiff_t n1 = lay->n[1], blocks = lay->count / kin->T;
#pragma omp parallel for schedule(static)
  for (ptrdiff_t b = 0; b < blocks; b++) {
    qcomplex *blk = psi + b * kin->T;
    fftw_execute_dft(kin->tfwd, (fftw_complex *)blk, (fftw_complex *)blk);
    ScaleBlock(kin->T, kin->tab[b / n1 + lay->start] * kin->tab[b % n1], kin->ttab, blk);
    fftw_execute_dft(kin->tbwd, (fftw_complex *)blk, (fftw_complex *)blk);
  }
  PetscCall(PetscLogEventEnd(QRBM_EVENT_KINETIC, 0, 0, 0, 0));
  PetscCall(PetscLogEventBegin(QRBM_EVENT_FFT, 0, 0, 0, 0));
  fftw_mpi_execute_dft(kin->bwd, (fftw_complex *)psi, (fftw_complex *)psi);
  PetscCall(PetscLogEventEnd(QRBM_EVENT_FFT, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The phase is a product of per-axis factors: one scalar per row of the last axis, then a
   contiguous row multiply. */
PetscErrorCode QrbmKineticPhase(QrbmKinetic *kin, qcomplex z, qcomplex *psi)
{
  const QrbmGrid   *g   = kin->g;
  const QrbmLayout *lay = &g->klay;
  const int         last = lay->naxes - 1;
  const ptrdiff_t   nin = lay->n[last], rows = nin ? lay->count / nin : 0;
  const qcomplex    one = 1.0;
  const qcomplex   *tabs[QRBM_MAX_AXES];
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(QRBM_EVENT_KINETIC, 0, 0, 0, 0));
  Tables(kin, z);
  for (int s = 0; s < lay->naxes; s++) tabs[s] = lay->perm[s] < g->D ? kin->tab : &one;
#pragma omp parallel for schedule(static)
  for (ptrdiff_t r = 0; r < rows; r++) {
    qcomplex  c    = 1.0, *row = psi + r * nin;
    ptrdiff_t rest = r;
    for (int s = last - 1; s >= 0; s--) {
      c *= tabs[s][rest % lay->n[s] + (s == 0 ? lay->start : 0)];
      rest /= lay->n[s];
    }
    for (ptrdiff_t j = 0; j < nin; j++) row[j] *= c * tabs[last][j];
  }
  PetscCall(PetscLogEventEnd(QRBM_EVENT_KINETIC, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}
