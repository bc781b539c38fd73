/* Time stepping. One Strang step is K(1/2) V(1) K(1/2); Yoshida's fourth-order composition is three
   Strang steps of lengths w1, w0, w1 with w1 = 1/(2 - 2^(1/3)), w0 = 1 - 2 w1. The last kinetic
   sub-step of a step and the first of the next are merged, so n steps cost n*nv + 1 FFT pairs. */
#include <qrbm/propagator.h>
#include <qrbm/events.h>
#include <qrbm/hamiltonian.h>
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
  if (!obs) {
    PetscCall(QrbmKineticStep(pr->kin, z, pr->st->psi));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  PetscCall(QrbmKineticForward(pr->kin, pr->st->psi));
  PetscCall(QrbmObservablesMomentum(obs, pr->g, pr->cfg->hbar, pr->st->psi));
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

/* Imaginary time always uses Strang, whatever -scheme: a splitting with a negative coefficient
   (Yoshida-4's w0) multiplies high modes by exp(+|w0| dtau T/hbar) and can converge to a spurious
   state. Stop: the energy of the normalised state changes by less than ground_tol (relative) over 10
   steps. With s = dtau/hbar the fixed point is the ground state of Strang's modified Hamiltonian
   H + s^2 C + O(s^4), C = -[T,[T,V]]/24 - [V,[T,V]]/12, so its residual ||H psi - E psi|| is
   s^2 ||(1 - P_0) C psi|| to leading order, and the stop rule leaves an energy variance of at most
   ground_tol |E| / (20 s) (each excited component loses at least 20 s times its variance share per 10
   steps). That estimate holds while s^2 C is a small perturbation of H: s^2 ||C psi|| <= 0.1 S, S the
   sum of |E_kin|, |E_trap|, |E_int| (then the O(s^4) rest is ~1% of it). A spurious state made of
   grid-scale modes fails that first, since C weighs them by T^2 V. */
static PetscErrorCode GroundCheck(QrbmPropagator *pr, const QrbmObservables *obs)
{
  const QrbmConfig       *c = pr->cfg;
  const double            sc = c->ground_dtau / c->hbar, scale = fabs(obs->e_kin) + fabs(obs->e_trap) + fabs(obs->e_int);
  QrbmHamiltonianResidual h;
  PetscFunctionBeginUser;
  PetscCall(QrbmHamiltonianResidualCompute(pr->kin, pr->pot, &pr->Wexact, pr->st->psi, &h));
  const double lead = sc * sc * h.split, tol = 2 * lead + 2 * sqrt(c->ground_tol * scale / (20 * sc)) + 100 * PETSC_MACHINE_EPSILON * h.scale;
  if (!c->quiet)
    PetscCall(PetscPrintf(pr->g->comm, "ground state check: ||H psi - E psi|| = %.3g <= %.3g (2 s^2 ||C psi|| + 2 sqrt(ground_tol S / (20 s)) + rounding, s = dtau/hbar), s^2 ||C psi|| / S = %.3g <= 0.1\n", h.residual, tol, lead / scale));
  PetscCheck(lead <= 0.1 * scale, pr->g->comm, PETSC_ERR_NOT_CONVERGED,
             "-init ground: -ground_dtau %g is outside the range of Strang's error estimate: (dtau/hbar)^2 ||C psi|| = %g exceeds 0.1 (|E_kin| + |E_trap| + |E_int|) = %g (docs/numerics.md): lower -ground_dtau", (double)c->ground_dtau, lead, 0.1 * scale);
  PetscCheck(h.residual <= tol && PetscIsNormalReal(h.energy), pr->g->comm, PETSC_ERR_NOT_CONVERGED,
             "-init ground: the imaginary-time state is no eigenstate of H_N: residual ||H psi - E psi|| = %g exceeds the tolerance %g (Strang's O(dtau^2) error + the -ground_tol convergence bound, docs/numerics.md): lower -ground_dtau %g or -ground_tol %g",
             h.residual, tol, (double)c->ground_dtau, (double)c->ground_tol);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmPropagatorGroundState(QrbmPropagator *pr, QrbmObservables *obs)
{
  const QrbmConfig *c     = pr->cfg;
  const int         nv    = pr->nv;
  double            eprev = PETSC_MAX_REAL, norm, a[4], b[3];
  PetscInt          it, done;
  PetscFunctionBeginUser;
  PetscCall(PetscArraycpy(a, pr->a, 4));
  PetscCall(PetscArraycpy(b, pr->b, 3));
  pr->nv = 1; pr->a[0] = pr->a[1] = 0.5; pr->b[0] = 1; /* Strang */
  if (!c->quiet) PetscCall(PetscPrintf(pr->g->comm, "ground state: imaginary time with strang (positive coefficients), whatever -scheme (%s) the real-time run uses\n", QrbmSchemeNames[c->scheme]));
  for (it = 0; it < c->ground_maxiter; it += 10) {
    PetscCall(Steps(pr, 10, -c->ground_dtau, NULL, PETSC_FALSE, &done));
    PetscCall(QrbmStateNorm(pr->st, &norm));
    PetscCheck(PetscIsNormalReal(norm), pr->g->comm, PETSC_ERR_NOT_CONVERGED,
               "-init ground: the state left the double range in 10 imaginary-time steps (norm %g): exp(-dtau E/hbar) under- or overflows with -ground_dtau %g and -hbar %g for the energies on this grid; lower -ground_dtau or raise -hbar",
               norm, (double)c->ground_dtau, (double)c->hbar);
    PetscCall(QrbmStateScale(pr->st, 1 / sqrt(norm)));
    PetscCall(QrbmPropagatorMeasure(pr, obs));
    if (fabs(obs->energy - eprev) <= c->ground_tol * fabs(obs->energy)) break;
    eprev = obs->energy;
  }
  pr->nv = nv;
  PetscCall(PetscArraycpy(pr->a, a, 4));
  PetscCall(PetscArraycpy(pr->b, b, 3));
  PetscCheck(it < c->ground_maxiter, pr->g->comm, PETSC_ERR_NOT_CONVERGED, "-init ground: no convergence to -ground_tol %g within -ground_maxiter %" PetscInt_FMT " steps (last energy change %g): raise -ground_maxiter or -ground_dtau",
             (double)c->ground_tol, c->ground_maxiter, fabs(obs->energy - eprev));
  if (!c->quiet) PetscCall(PetscPrintf(pr->g->comm, "ground state: E = %.12g after %" PetscInt_FMT " imaginary-time steps of %g\n", obs->energy, it + 10, (double)c->ground_dtau));
  PetscCall(GroundCheck(pr, obs));
  PetscFunctionReturn(PETSC_SUCCESS);
}
