/* qrbm: N-body Schroedinger dynamics on a distributed grid. Exit codes: 0 success, 1 error. */
#include <qrbm/events.h>
#include <qrbm/output.h>
#include <qrbm/propagator.h>
#include <omp.h>

static const char help[] = "qrbm: exact and random batch N-body quantum dynamics (Golse, Jin, Paul 2021).\n"
                           "Usage: mpirun -np R bin/qrbm [-options_file FILE] [-option value ...]\n\n";

typedef struct {
  QrbmConfig      cfg;
  QrbmGrid        grid;
  QrbmState       state;
  QrbmKinetic     kin;
  QrbmPotential   pot;
  QrbmPropagator  prop;
  QrbmObservables obs;
  QrbmOutput      out;
} Run;

static PetscErrorCode InitialState(Run *r)
{
  const QrbmConfig *c = &r->cfg;
  const QrbmGrid   *g = &r->grid;
  qcomplex         *phi[QRBM_MAX_PARTICLES] = {NULL};
  double            norm;
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(QRBM_EVENT_INIT, 0, 0, 0, 0));
  for (PetscInt k = 0; k < c->ninit; k++) {
    PetscCall(PetscMalloc1(g->Md, &phi[k]));
    QrbmCoherentPacket(g, c->hbar, c->init_q + k * c->dim, c->init_p + k * c->dim, phi[k]);
  }
  if (c->init == QRBM_INIT_SYMMETRIZED) PetscCall(QrbmStateSetSymmetrized(&r->state, (const qcomplex *const *)phi));
  else {
    PetscCall(QrbmStateSetProduct(&r->state, phi[0]));
    PetscCall(QrbmStateNorm(&r->state, &norm)); /* the discrete norm differs from 1 by the mesh error */
    PetscCall(QrbmStateScale(&r->state, 1 / sqrt(norm)));
  }
  for (PetscInt k = 0; k < c->ninit; k++) PetscCall(PetscFree(phi[k]));
  if (c->init == QRBM_INIT_GROUND) PetscCall(QrbmPropagatorGroundState(&r->prop, &r->obs));
  PetscCall(PetscLogEventEnd(QRBM_EVENT_INIT, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode SetUp(Run *r)
{
  PetscFunctionBeginUser;
  PetscCall(PetscLogStagePush(QRBM_STAGE_SETUP));
  omp_set_num_threads((int)r->cfg.threads);
  PetscCall(QrbmFFTInitialize(r->cfg.threads));
  PetscCall(QrbmGridCreate(PETSC_COMM_WORLD, &r->cfg, &r->grid));
  PetscCall(QrbmGridCheckMemory(&r->grid, &r->cfg));
  PetscCall(QrbmStateCreate(&r->grid, &r->state));
  PetscCall(QrbmKineticCreate(&r->grid, &r->cfg, r->state.psi, &r->kin));
  PetscCall(QrbmPotentialCreate(&r->grid, &r->cfg, &r->pot));
  PetscCall(QrbmObservablesCreate(&r->grid, r->cfg.hbar, &r->obs));
  PetscCall(QrbmPropagatorCreate(&r->cfg, &r->grid, &r->state, &r->kin, &r->pot, &r->prop));
  PetscCall(PetscLogStagePop());
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Summary(Run *r, double norm0, double energy0, double wall)
{
  const QrbmObservables *o = &r->obs;
  PetscFunctionBeginUser;
  if (r->cfg.quiet) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscPrintf(r->grid.comm, "qrbm %s: N=%" PetscInt_FMT " d=%" PetscInt_FMT " M=%" PetscInt_FMT " (%g points) on %d ranks x %" PetscInt_FMT " threads, %s, %" PetscInt_FMT " steps in %.2f s (%.4g s/step)\n",
                        QRBM_VERSION, r->grid.N, r->grid.d, r->grid.M, r->grid.total, r->grid.size, r->cfg.threads, QrbmSchemeNames[r->cfg.scheme], r->cfg.nsteps, wall, wall / r->cfg.nsteps));
  PetscCall(PetscPrintf(r->grid.comm, "t = %g: norm %.15f (drift %.2e), energy %.12g (drift %.2e), <x^2> %.8g, <p^2> %.8g\n", o->time, o->norm, o->norm - norm0, o->energy, o->energy - energy0, o->x2, o->p2));
  PetscCall(PetscPrintf(r->grid.comm, "output: %s (%llu output times)\n", r->cfg.output, (unsigned long long)r->out.ntimes));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Execute(Run *r)
{
  double norm0, energy0, wall;
  PetscFunctionBeginUser;
  PetscCall(SetUp(r));
  PetscCall(PetscLogStagePush(QRBM_STAGE_INIT));
  PetscCall(InitialState(r));
  PetscCall(QrbmPropagatorMeasure(&r->prop, &r->obs));
  PetscCall(PetscLogStagePop());
  norm0 = r->obs.norm; energy0 = r->obs.energy;
  PetscCall(QrbmOutputCreate(&r->grid, &r->cfg, &r->obs, &r->out));
  PetscCall(QrbmOutputAppend(&r->out, &r->obs));
  PetscCall(PetscLogStagePush(QRBM_STAGE_TIMELOOP));
  wall = MPI_Wtime();
  while (r->prop.step < r->cfg.nsteps) {
    PetscCall(QrbmPropagatorAdvance(&r->prop, PetscMin(r->cfg.output_interval, r->cfg.nsteps - r->prop.step), &r->obs));
    PetscCall(QrbmOutputAppend(&r->out, &r->obs));
  }
  wall = MPI_Wtime() - wall;
  PetscCall(PetscLogStagePop());
  PetscCall(QrbmOutputClose(&r->out, PETSC_TRUE));
  PetscCall(Summary(r, norm0, energy0, wall));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Destroy(Run *r)
{
  PetscFunctionBeginUser;
  PetscCall(QrbmObservablesDestroy(&r->obs));
  PetscCall(QrbmPotentialDestroy(&r->pot));
  PetscCall(QrbmKineticDestroy(&r->kin));
  PetscCall(QrbmStateDestroy(&r->state));
  PetscCall(QrbmGridDestroy(&r->grid));
  PetscFunctionReturn(PETSC_SUCCESS);
}

int main(int argc, char **argv)
{
  Run           *r;
  PetscBool      help_only;
  PetscErrorCode ierr;
  PetscCall(PetscInitialize(&argc, &argv, NULL, help));
  PetscCall(QrbmEventsRegister());
  PetscCall(PetscCalloc1(1, &r));
  ierr = QrbmConfigSetFromOptions(PETSC_COMM_WORLD, &r->cfg);
  PetscCall(PetscOptionsHasHelp(NULL, &help_only));
  if (!ierr && !help_only) ierr = QrbmConfigCheckAllUsed(PETSC_COMM_WORLD);
  if (!ierr && !help_only) ierr = Execute(r);
  if (ierr) (void)QrbmOutputClose(&r->out, PETSC_FALSE); /* never leave a half-written output */
  if (!help_only) (void)Destroy(r);
  PetscCall(PetscFree(r));
  PetscCall(PetscFinalize());
  return ierr ? 1 : 0;
}
