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
#include <limits.h>

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

/* Columns per chunk of the slab path: the largest divisor of S with M x C points near 256 KiB (in L2). */
static ptrdiff_t ChunkColumns(ptrdiff_t S, ptrdiff_t M)
{
  ptrdiff_t c = PetscMax(1, 16384 / M);
  while (S % c) c--;
  return c;
}

/* One rank, D >= 3: serial plans on psi itself for axis 0 over a chunk of C columns (in place,
   stride S) and for axes 1.. over one slab of S points, executed by every thread on its own chunks
   and slabs (offsets of multiples of C or S points: unaligned unless those are multiples of 64 bytes). */
static PetscErrorCode PlanSlab(QrbmKinetic *kin, qcomplex *psi, unsigned effort, int threads)
{
  const QrbmGrid *g = kin->g;
  fftw_complex   *a = (fftw_complex *)psi;
  int             n[QRBM_MAX_AXES], M = (int)g->M;
  PetscFunctionBeginUser;
  kin->S = g->xlay.count / g->M;
  kin->C = ChunkColumns(kin->S, g->M);
  PetscCheck(kin->S <= INT_MAX, PETSC_COMM_SELF, PETSC_ERR_SUP, "-grid %d: %td points per slab exceed FFTW's int strides", M, kin->S);
  const unsigned fc = effort | ((kin->C * 16) % 64 ? FFTW_UNALIGNED : 0), fs = effort | ((kin->S * 16) % 64 ? FFTW_UNALIGNED : 0);
  for (int ax = 1; ax < g->nfft; ax++) n[ax - 1] = (int)g->nglob[ax];
  fftw_plan_with_nthreads(1);
  kin->cfwd = fftw_plan_many_dft(1, &M, (int)kin->C, a, NULL, (int)kin->S, 1, a, NULL, (int)kin->S, 1, FFTW_FORWARD, fc);
  kin->cbwd = fftw_plan_many_dft(1, &M, (int)kin->C, a, NULL, (int)kin->S, 1, a, NULL, (int)kin->S, 1, FFTW_BACKWARD, fc);
  kin->sfwd = fftw_plan_many_dft(g->nfft - 1, n, 1, a, NULL, 1, 0, a, NULL, 1, 0, FFTW_FORWARD, fs);
  kin->sbwd = fftw_plan_many_dft(g->nfft - 1, n, 1, a, NULL, 1, 0, a, NULL, 1, 0, FFTW_BACKWARD, fs);
  fftw_plan_with_nthreads(threads);
  PetscCheck(kin->cfwd && kin->cbwd && kin->sfwd && kin->sbwd, PETSC_COMM_SELF, PETSC_ERR_LIB, "FFTW planning failed: the one-rank kinetic plans (axis 0 on %td columns, axes 1..%d on one slab)", kin->C, g->nfft - 1);
  kin->slab = PETSC_TRUE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmKineticCreate(const QrbmGrid *g, const QrbmConfig *cfg, qcomplex *psi, QrbmKinetic *kin)
{
  static const unsigned effort[] = {FFTW_ESTIMATE, FFTW_MEASURE, FFTW_PATIENT};
  fftw_complex         *a        = (fftw_complex *)psi;
  const unsigned        tout = g->D >= 2 ? FFTW_MPI_TRANSPOSED_OUT : 0, tin = g->D >= 2 ? FFTW_MPI_TRANSPOSED_IN : 0;
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(kin, sizeof(*kin)));
  kin->g = g; kin->hbar = cfg->hbar; kin->threads = (int)cfg->threads;
  kin->T = QrbmGridTrailingPoints(g);
  PetscCall(PetscMalloc2(g->M, &kin->tab, kin->T, &kin->ttab));
  PetscCall(PetscLogEventBegin(QRBM_EVENT_PLAN, 0, 0, 0, 0));
  QrbmCallFFTW(kin->fwd, fftw_mpi_plan_many_dft(2, g->nglob, kin->T, FFTW_MPI_DEFAULT_BLOCK, FFTW_MPI_DEFAULT_BLOCK, a, a, g->comm, FFTW_FORWARD, effort[cfg->planner] | tout));
  QrbmCallFFTW(kin->bwd, fftw_mpi_plan_many_dft(2, g->nglob, kin->T, FFTW_MPI_DEFAULT_BLOCK, FFTW_MPI_DEFAULT_BLOCK, a, a, g->comm, FFTW_BACKWARD, effort[cfg->planner] | tin));
  if (g->nfft > 2) PetscCall(PlanTrailing(kin, effort[cfg->planner], (int)cfg->threads));
  if (g->nfft > 2 && g->size == 1) PetscCall(PlanSlab(kin, psi, effort[cfg->planner], (int)cfg->threads));
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
  if (kin->cfwd) fftw_destroy_plan(kin->cfwd);
  if (kin->cbwd) fftw_destroy_plan(kin->cbwd);
  if (kin->sfwd) fftw_destroy_plan(kin->sfwd);
  if (kin->sbwd) fftw_destroy_plan(kin->sbwd);
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

/* row[j] *= c in real arithmetic (vectorised). */
static inline void ScaleRow(ptrdiff_t n, qcomplex c, qcomplex *restrict row)
{
  const double cr = creal(c), ci = cimag(c);
  double      *p = (double *)row;
#pragma omp simd
  for (ptrdiff_t j = 0; j < n; j++) {
    const double pr = p[2 * j], pi = p[2 * j + 1];
    p[2 * j]     = pr * cr - pi * ci;
    p[2 * j + 1] = pr * ci + pi * cr;
  }
}

/* One rank: axis 0 per chunk of C columns (transform, phase row by row, inverse), then axes 1..
   per slab of fixed x_0 (transform, phase as per-row factor times the trailing table, inverse).
   Both passes stay in cache per chunk or slab and need no transposes. */
static void SlabStep(QrbmKinetic *kin, qcomplex *psi, QrbmKineticSlabFn fn, const void *ctx)
{
  const ptrdiff_t S = kin->S, C = kin->C, T = kin->T, M = kin->g->M;
#pragma omp parallel for schedule(static)
  for (ptrdiff_t c = 0; c < S / C; c++) {
    qcomplex *col = psi + c * C;
    fftw_execute_dft(kin->cfwd, (fftw_complex *)col, (fftw_complex *)col);
    for (ptrdiff_t j = 0; j < M; j++) ScaleRow(C, kin->tab[j], col + j * S);
    fftw_execute_dft(kin->cbwd, (fftw_complex *)col, (fftw_complex *)col);
  }
#pragma omp parallel for schedule(static) num_threads(kin->threads)
  for (ptrdiff_t x0 = 0; x0 < M; x0++) {
    qcomplex *slab = psi + x0 * S;
    fftw_execute_dft(kin->sfwd, (fftw_complex *)slab, (fftw_complex *)slab);
    for (ptrdiff_t j = 0; j < M; j++) ScaleBlock(T, kin->tab[j], kin->ttab, slab + j * T);
    fftw_execute_dft(kin->sbwd, (fftw_complex *)slab, (fftw_complex *)slab);
    if (fn) fn(ctx, x0, slab);
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
  if (kin->slab) {
    PetscCall(PetscLogEventBegin(QRBM_EVENT_KINETIC, 0, 0, 0, 0));
    Tables(kin, z);
    SlabStep(kin, psi, NULL, NULL);
    PetscCall(PetscLogEventEnd(QRBM_EVENT_KINETIC, 0, 0, 0, 0));
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

PetscErrorCode QrbmKineticStepThen(QrbmKinetic *kin, qcomplex z, qcomplex *psi, QrbmKineticSlabFn fn, const void *ctx)
{
  PetscFunctionBeginUser;
  PetscCheck(kin->slab, PETSC_COMM_SELF, PETSC_ERR_PLIB, "QrbmKineticStepThen needs the one-rank slab plans");
  PetscCall(PetscLogEventBegin(QRBM_EVENT_KINETIC_POTENTIAL, 0, 0, 0, 0));
  Tables(kin, z);
  SlabStep(kin, psi, fn, ctx);
  PetscCall(PetscLogEventEnd(QRBM_EVENT_KINETIC_POTENTIAL, 0, 0, 0, 0));
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
