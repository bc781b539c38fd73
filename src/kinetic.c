/* FFTW-MPI transforms with transposed-out/in layouts: the kinetic phase is applied in the
   transposed momentum layout, which saves two global transposes per step. */
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

PetscErrorCode QrbmKineticCreate(const QrbmGrid *g, const QrbmConfig *cfg, qcomplex *psi, QrbmKinetic *kin)
{
  static const unsigned effort[] = {FFTW_ESTIMATE, FFTW_MEASURE, FFTW_PATIENT};
  fftw_complex         *a        = (fftw_complex *)psi;
  const unsigned        tout = g->D >= 2 ? FFTW_MPI_TRANSPOSED_OUT : 0, tin = g->D >= 2 ? FFTW_MPI_TRANSPOSED_IN : 0;
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(kin, sizeof(*kin)));
  kin->g = g; kin->hbar = cfg->hbar;
  PetscCall(PetscMalloc1(g->M, &kin->tab));
  PetscCall(PetscLogEventBegin(QRBM_EVENT_PLAN, 0, 0, 0, 0));
  QrbmCallFFTW(kin->fwd, fftw_mpi_plan_many_dft(g->nfft, g->nglob, 1, FFTW_MPI_DEFAULT_BLOCK, FFTW_MPI_DEFAULT_BLOCK, a, a, g->comm, FFTW_FORWARD, effort[cfg->planner] | tout));
  QrbmCallFFTW(kin->bwd, fftw_mpi_plan_many_dft(g->nfft, g->nglob, 1, FFTW_MPI_DEFAULT_BLOCK, FFTW_MPI_DEFAULT_BLOCK, a, a, g->comm, FFTW_BACKWARD, effort[cfg->planner] | tin));
  PetscCall(PetscLogEventEnd(QRBM_EVENT_PLAN, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmKineticDestroy(QrbmKinetic *kin)
{
  PetscFunctionBeginUser;
  if (kin->fwd) fftw_destroy_plan(kin->fwd);
  if (kin->bwd) fftw_destroy_plan(kin->bwd);
  PetscCall(PetscFree(kin->tab));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmKineticForward(QrbmKinetic *kin, qcomplex *psi)
{
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(QRBM_EVENT_FFT, 0, 0, 0, 0));
  fftw_mpi_execute_dft(kin->fwd, (fftw_complex *)psi, (fftw_complex *)psi);
  PetscCall(PetscLogEventEnd(QRBM_EVENT_FFT, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmKineticBackward(QrbmKinetic *kin, qcomplex *psi)
{
  PetscFunctionBeginUser;
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
  for (PetscInt j = 0; j < g->M; j++) kin->tab[j] = cexp(z / kin->hbar * 0.5 * kin->hbar * kin->hbar * g->k[j] * g->k[j]) / (double)g->M;
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
