/* Time stepping. One Strang step is K(1/2) V(1) K(1/2); Yoshida's fourth-order composition is three
   Strang steps of lengths w1, w0, w1 with w1 = 1/(2 - 2^(1/3)), w0 = 1 - 2 w1. The last kinetic
   sub-step of a step and the first of the next are merged, so n steps cost n*nv + 1 FFT pairs. */
#include <qrbm/propagator.h>
#include <qrbm/events.h>
#include <math.h>

PetscErrorCode QrbmPropagatorCreate(const QrbmConfig *cfg, const QrbmGrid *g, QrbmState *st, QrbmKinetic *kin, QrbmPotential *pot, QrbmPropagator *pr)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(pr, sizeof(*pr)));
  pr->cfg = cfg; pr->g = g; pr->st = st; pr->kin = kin; pr->pot = pot;
  QrbmPairWeightsExact(g->N, &pr->Wexact);
  pr->W = pr->Wexact;
  if (cfg->scheme == QRBM_SCHEME_STRANG) {
    pr->nv = 1;
    pr->a[0] = pr->a[1] = 0.5;
    pr->b[0] = 1;
  } else {
    const double w1 = 1 / (2 - cbrt(2.0)), w0 = 1 - 2 * w1;
    pr->nv = 3;
    pr->a[0] = pr->a[3] = 0.5 * w1;
    pr->a[1] = pr->a[2] = 0.5 * (w1 + w0);
    pr->b[0] = pr->b[2] = w1;
    pr->b[1] = w0;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* psi <- F^-1 exp(z T/hbar) F psi; with obs, the momentum observables of F psi are taken first. */
static PetscErrorCode Kinetic(QrbmPropagator *pr, qcomplex z, QrbmObservables *obs)
{
  PetscFunctionBeginUser;
  PetscCall(QrbmKineticForward(pr->kin, pr->st->psi));
  if (obs) PetscCall(QrbmObservablesMomentum(obs, pr->g, pr->cfg->hbar, pr->st->psi));
  PetscCall(QrbmKineticPhase(pr->kin, z, pr->st->psi));
  PetscCall(QrbmKineticBackward(pr->kin, pr->st->psi));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Potential(QrbmPropagator *pr, qcomplex z)
{
  const PetscLogEvent ev = pr->cfg->method == QRBM_METHOD_RBM ? QRBM_EVENT_POTENTIAL_RB : QRBM_EVENT_POTENTIAL;
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(ev, 0, 0, 0, 0));
  PetscCall(QrbmPotentialApply(pr->pot, &pr->W, z, pr->st->psi));
  PetscCall(PetscLogEventEnd(ev, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Start of a reshuffle interval: the group root draws the permutation and broadcasts it. */
static PetscErrorCode Shuffle(QrbmPropagator *pr)
{
  const QrbmConfig *c        = pr->cfg;
  const PetscInt    interval = pr->step / c->rb_steps;
  PetscInt          perm[QRBM_MAX_PARTICLES];
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(QRBM_EVENT_SHUFFLE, 0, 0, 0, 0));
  if (pr->g->rank == 0) QrbmBatchPermutationCoupled((uint32_t)c->seed, (uint32_t)pr->realization, (uint64_t)interval, c->rb_couple_level, c->particles, perm);
  PetscCallMPI(MPI_Bcast(perm, (PetscMPIInt)c->particles, MPIU_INT, 0, pr->g->comm));
  QrbmBatchWeights(c->particles, c->batch_size, perm, &pr->W);
  pr->have_w = PETSC_TRUE;
  PetscCall(PetscLogEventEnd(QRBM_EVENT_SHUFFLE, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmPropagatorMeasure(QrbmPropagator *pr, QrbmObservables *obs)
{
  PetscFunctionBeginUser;
  PetscCall(Kinetic(pr, 0.0, obs));
  PetscCall(QrbmObservablesPosition(obs, pr->pot, &pr->Wexact, pr->st->psi));
  obs->step = pr->step;
  obs->time = pr->step * pr->cfg->dt;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Progress(QrbmPropagator *pr)
{
  const QrbmConfig *c     = pr->cfg;
  const PetscInt    every = c->progress_interval ? c->progress_interval : PetscMax(1, c->nsteps / 10);
  PetscFunctionBeginUser;
  if (c->quiet || pr->step % every || c->realizations > 1 || c->expectation == QRBM_EXPECT_ENUMERATE) PetscFunctionReturn(PETSC_SUCCESS);
  const double wall = MPI_Wtime() - pr->wall0, eta = wall / PetscMax(1, pr->step - pr->step0) * (c->nsteps - pr->step);
  PetscCall(PetscPrintf(pr->g->comm, "step %8" PetscInt_FMT "/%" PetscInt_FMT "  t = %-10.5g wall %9.2f s  ETA %9.2f s\n", pr->step, c->nsteps, pr->step * c->dt, wall, eta));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Steps of length unit (-i dt real time, -dtau imaginary time). A chain paused mid-way (pending)
   resumes with the merged kinetic sub-step it was about to apply, so pausing changes no arithmetic:
   a checkpointed run is bit-identical to an uninterrupted one. */
static PetscErrorCode Steps(QrbmPropagator *pr, PetscInt nsteps, qcomplex unit, QrbmObservables *obs, PetscBool real, PetscInt *done)
{
  const int nv = pr->nv;
  PetscFunctionBeginUser;
  *done = 0;
  PetscCall(Kinetic(pr, unit * (pr->a[0] + (pr->pending ? pr->a[nv] : 0)), NULL));
  pr->pending = PETSC_FALSE;
  for (PetscInt s = 0; s < nsteps; s++) {
    const PetscBool last = s == nsteps - 1;
    PetscBool       pause = PETSC_FALSE;
    if (real && pr->draw && (pr->step % pr->cfg->rb_steps == 0 || !pr->have_w)) PetscCall(Shuffle(pr));
    for (int i = 0; i < nv - 1; i++) {
      PetscCall(Potential(pr, unit * pr->b[i]));
      PetscCall(Kinetic(pr, unit * pr->a[i + 1], NULL));
    }
    PetscCall(Potential(pr, unit * pr->b[nv - 1]));
    (*done)++;
    if (real) {
      pr->step++;
      PetscCall(Progress(pr));
    }
    if (last) PetscCall(Kinetic(pr, unit * pr->a[nv], obs));
    else {
      if (real && pr->check) PetscCall(pr->check(pr->check_ctx, &pause));
      if (pause) {
        pr->pending = PETSC_TRUE;
        PetscFunctionReturn(PETSC_SUCCESS);
      }
      PetscCall(Kinetic(pr, unit * (pr->a[nv] + pr->a[0]), NULL));
    }
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmPropagatorAdvance(QrbmPropagator *pr, PetscInt nsteps, QrbmObservables *obs, PetscInt *done)
{
  PetscFunctionBeginUser;
  PetscCall(Steps(pr, nsteps, -I * pr->cfg->dt, obs, PETSC_TRUE, done));
  if (obs && *done == nsteps) {
    PetscCall(QrbmObservablesPosition(obs, pr->pot, &pr->Wexact, pr->st->psi));
    obs->step = pr->step;
    obs->time = pr->step * pr->cfg->dt;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Criterion: the energy of the normalised state changes by less than ground_tol (relative) over 10
   imaginary-time steps. The fixed point carries the splitting's O(dtau^2) error. */
PetscErrorCode QrbmPropagatorGroundState(QrbmPropagator *pr, QrbmObservables *obs)
{
  const QrbmConfig *c     = pr->cfg;
  double            eprev = PETSC_MAX_REAL, norm;
  PetscInt          it, done;
  PetscFunctionBeginUser;
  for (it = 0; it < c->ground_maxiter; it += 10) {
    PetscCall(Steps(pr, 10, -c->ground_dtau, NULL, PETSC_FALSE, &done));
    PetscCall(QrbmStateNorm(pr->st, &norm));
    PetscCall(QrbmStateScale(pr->st, 1 / sqrt(norm)));
    PetscCall(QrbmPropagatorMeasure(pr, obs));
    if (fabs(obs->energy - eprev) <= c->ground_tol * fabs(obs->energy)) break;
    eprev = obs->energy;
  }
  PetscCheck(it < c->ground_maxiter, pr->g->comm, PETSC_ERR_NOT_CONVERGED, "-init ground: no convergence to -ground_tol %g within -ground_maxiter %" PetscInt_FMT " steps (last energy change %g): raise -ground_maxiter or -ground_dtau",
             (double)c->ground_tol, c->ground_maxiter, fabs(obs->energy - eprev));
  if (!c->quiet) PetscCall(PetscPrintf(pr->g->comm, "ground state: E = %.12g after %" PetscInt_FMT " imaginary-time steps of %g\n", obs->energy, it + 10, (double)c->ground_dtau));
  PetscFunctionReturn(PETSC_SUCCESS);
}
