/* Time stepping by the splitting schemes of the table (src/scheme.c). When the last stage of a
   step and the first of the next have the same kind they are applied as one stage (for potential
   ends only within a reshuffle interval), so n steps of a kinetic-ended scheme cost n (nK - 1) + 1
   FFT pairs and of a potential-ended one n nK (+1 to measure), nK being the kinetic stages of a
   step. Coefficients: docs/numerics.md. */
#include <qrbm/propagator.h>
#include <qrbm/events.h>
#include <qrbm/hamiltonian.h>
#include <math.h>

struct _p_QrbmPropagator {
  const QrbmConfig *cfg;
  const QrbmGrid   *g;
  QrbmState        *st;
  QrbmKinetic      *kin;
  QrbmPotential    *pot;
  const QrbmScheme *sc;       /* real time */
  const QrbmScheme *strang;   /* imaginary time: always Strang (positive coefficients) */
  QrbmPairWeights   W;        /* pair weights of the dynamics */
  QrbmPairWeights   Wexact;   /* pair weights of H_N (energy, imaginary time) */
  PetscBool         batch;    /* W are random batch weights (drawn or fixed): the potential's log event */
  PetscBool         draw;     /* random batch sampling: new pairing at every interval start */
  PetscBool         have_w;   /* W holds the pairing of the current interval */
  PetscInt          realization;
  PetscInt64        step;     /* steps done */
  PetscBool         pending;  /* psi still owes the deferred last stage of `step` (merged with the next first one) */
  PetscBool         kin_owed; /* one rank: a kinetic stage of kin_z not yet applied (inside Steps only) */
  qcomplex          kin_z;
  PetscErrorCode  (*check)(void *ctx, PetscBool *pause);
  void             *check_ctx;
  PetscInt64        progress; /* steps between progress lines, 0: none */
  double            wall0;    /* wall clock when the current trajectory (re)started at step0 */
  PetscInt64        step0;
};

static const QrbmScheme *Strang(void) { return QrbmSchemeGet(QrbmSchemeFind("strang")); }

int QrbmPropagatorPhaseTables(const QrbmConfig *cfg, const QrbmScheme *s)
{
  const QrbmScheme *sc = s ? s : QrbmSchemeGet(cfg->scheme);
  /* pair weights of real time: 1/(N-1) (exact dynamics, the exact reference), 1/(P-1) (batches, counted with the exact ones) */
  const int weights = cfg->method == QRBM_METHOD_RBM ? 2 : 1;
  int       n       = sc ? QrbmSchemePotentialCoefficients(sc) * (1 + weights) : 0;
  if (cfg->init == QRBM_INIT_GROUND) n += (QrbmSchemePotentialCoefficients(Strang()) + 1) * 2; /* exact weights; +1: the residual check */
  return n;
}

PetscErrorCode QrbmPropagatorCreate(const QrbmConfig *cfg, const QrbmGrid *g, QrbmState *st, QrbmKinetic *kin, QrbmPotential *pot, QrbmPropagator *out)
{
  QrbmPropagator pr;
  PetscFunctionBeginUser;
  PetscCheck(QrbmSchemeGet(cfg->scheme) && Strang(), PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "-scheme: no row %d in the scheme table (or no strang row)", (int)cfg->scheme);
  PetscCall(PetscNew(&pr));
  pr->cfg = cfg; pr->g = g; pr->st = st; pr->kin = kin; pr->pot = pot;
  pr->strang = Strang();
  PetscCall(QrbmSchemeCheck(pr->strang));
  PetscCall(QrbmPropagatorSetScheme(pr, QrbmSchemeGet(cfg->scheme)));
  QrbmPairWeightsExact(g->N, &pr->Wexact);
  PetscCall(QrbmPropagatorReset(pr, 0, PETSC_FALSE));
  *out = pr;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmPropagatorDestroy(QrbmPropagator *pr)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree(*pr));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmPropagatorSetScheme(QrbmPropagator pr, const QrbmScheme *s)
{
  PetscFunctionBeginUser;
  PetscCall(QrbmSchemeCheck(s));
  pr->sc = s;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmPropagatorReset(QrbmPropagator pr, PetscInt64 step, PetscBool pending)
{
  PetscFunctionBeginUser;
  pr->step = pr->step0 = step;
  pr->pending = pending && QrbmSchemeMergesEnds(pr->sc) ? PETSC_TRUE : PETSC_FALSE;
  pr->W = pr->Wexact;
  pr->batch = pr->draw = pr->have_w = PETSC_FALSE;
  pr->wall0 = MPI_Wtime();
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmPropagatorSetWeights(QrbmPropagator pr, const QrbmPairWeights *W)
{
  PetscFunctionBeginUser;
  pr->W     = W ? *W : pr->Wexact;
  pr->batch = W ? PETSC_TRUE : PETSC_FALSE;
  pr->draw  = PETSC_FALSE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmPropagatorSetSampling(QrbmPropagator pr, PetscInt realization)
{
  PetscFunctionBeginUser;
  pr->realization = realization;
  pr->batch = pr->draw = PETSC_TRUE;
  pr->have_w = PETSC_FALSE; /* drawn before the first potential stage */
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmPropagatorSetProgress(QrbmPropagator pr, PetscInt64 every)
{
  PetscFunctionBeginUser;
  pr->progress = every;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmPropagatorSetCheck(QrbmPropagator pr, PetscErrorCode (*check)(void *, PetscBool *), void *ctx)
{
  PetscFunctionBeginUser;
  pr->check = check; pr->check_ctx = ctx;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmPropagatorGetStep(QrbmPropagator pr, PetscInt64 *step, PetscBool *pending)
{
  PetscFunctionBeginUser;
  if (step) *step = pr->step;
  if (pending) *pending = pr->pending;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* One rank: a kinetic stage waits for the next stage, so that a plain potential stage right after
   it is applied in the kinetic sub-step's last pass (QrbmKineticStepThen) instead of its own pass
   over memory. Anything else applies the owed stage first; Steps does before it returns. */
static PetscErrorCode FlushKinetic(QrbmPropagator pr)
{
  PetscFunctionBeginUser;
  if (pr->kin_owed) PetscCall(QrbmKineticStep(pr->kin, pr->kin_z, pr->st->psi));
  pr->kin_owed = PETSC_FALSE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void PotentialSlab(const void *ctx, ptrdiff_t x0, qcomplex *slab) { QrbmPotentialPhaseSlab((const QrbmPotentialPhase *)ctx, x0, slab); }

/* psi <- F^-1 exp(z T/hbar) F psi; with obs, the momentum observables of F psi are taken first. */
static PetscErrorCode Kinetic(QrbmPropagator pr, qcomplex z, QrbmObservables *obs)
{
  PetscFunctionBeginUser;
  PetscCall(FlushKinetic(pr));
  if (!obs && pr->kin->slab) {
    pr->kin_owed = PETSC_TRUE;
    pr->kin_z    = z;
    PetscFunctionReturn(PETSC_SUCCESS);
  }
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

/* exp(z/hbar (Phi + gamma |grad Phi|^2)) psi; gamma = 0: a plain potential stage. Logged by the
   weights it applies (the exact H_N or random batches), a modified potential also as such. */
static PetscErrorCode Potential(QrbmPropagator pr, qcomplex z, double gamma)
{
  const PetscLogEvent ev = pr->batch ? QRBM_EVENT_POTENTIAL_RB : QRBM_EVENT_POTENTIAL;
  PetscFunctionBeginUser;
  if (gamma == 0 && pr->kin_owed) {
    QrbmPotentialPhase ph;
    PetscCall(QrbmPotentialPhaseSetUp(pr->pot, &pr->W, z, &ph));
    pr->kin_owed = PETSC_FALSE;
    PetscCall(QrbmKineticStepThen(pr->kin, pr->kin_z, pr->st->psi, PotentialSlab, &ph));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  PetscCall(FlushKinetic(pr));
  PetscCall(PetscLogEventBegin(ev, 0, 0, 0, 0));
  if (gamma == 0) PetscCall(QrbmPotentialApply(pr->pot, &pr->W, z, pr->st->psi));
  else {
    PetscCall(PetscLogEventBegin(QRBM_EVENT_POTENTIAL_FG, 0, 0, 0, 0));
    PetscCall(QrbmPotentialApplyGradient(pr->pot, &pr->W, z, gamma, pr->st->psi));
    PetscCall(PetscLogEventEnd(QRBM_EVENT_POTENTIAL_FG, 0, 0, 0, 0));
  }
  PetscCall(PetscLogEventEnd(ev, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Pairing of a reshuffle interval: the group root draws the permutation and broadcasts it. */
static PetscErrorCode Shuffle(QrbmPropagator pr, PetscInt64 interval)
{
  const QrbmConfig *c = pr->cfg;
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

PetscErrorCode QrbmPropagatorMeasure(QrbmPropagator pr, QrbmObservables *obs)
{
  PetscFunctionBeginUser;
  PetscCall(Kinetic(pr, 0.0, obs));
  PetscCall(QrbmObservablesPosition(obs, pr->pot, &pr->Wexact, pr->st->psi));
  obs->step = pr->step;
  obs->time = pr->step * pr->cfg->dt;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Progress(QrbmPropagator pr)
{
  const QrbmConfig *c = pr->cfg;
  PetscFunctionBeginUser;
  if (!pr->progress || pr->step % pr->progress) PetscFunctionReturn(PETSC_SUCCESS);
  const double wall = MPI_Wtime() - pr->wall0, eta = wall / PetscMax(1, pr->step - pr->step0) * (c->nsteps - pr->step);
  PetscCall(PetscPrintf(pr->g->comm, "step %8" PetscInt64_FMT "/%" PetscInt64_FMT "  t = %-10.5g wall %9.2f s  ETA %9.2f s\n", pr->step, c->nsteps, pr->step * c->dt, wall, eta));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* A stage of fraction coef and gradient coefficient f (a merged end stage passes the sums): with
   the step's unit z, kinetic exp(z coef T/hbar), potential exp(z coef/hbar (Phi + gamma |grad
   Phi|^2)) with gamma = (f/coef) z^2 (scheme.h). */
static PetscErrorCode Stage(QrbmPropagator pr, QrbmStageKind kind, double coef, double f, qcomplex unit, QrbmObservables *obs)
{
  PetscFunctionBeginUser;
  if (kind == QRBM_STAGE_KINETIC) PetscCall(Kinetic(pr, unit * coef, obs));
  else PetscCall(Potential(pr, unit * coef, f == 0 ? 0.0 : f / coef * creal(unit * unit)));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Random batches: the pairing for the step about to start. A deferred potential stage (*owed) is
   merged into the first one only inside an interval; at an interval start it is applied alone
   with the old pairing (redrawn after a restart), then the new pairing is drawn. */
static PetscErrorCode Reshuffle(QrbmPropagator pr, const QrbmScheme *sc, qcomplex unit, PetscBool *owed)
{
  const PetscInt64 rb    = pr->cfg->rb_steps;
  const PetscBool  start = pr->step % rb == 0 ? PETSC_TRUE : PETSC_FALSE;
  const QrbmStage *last  = &sc->stages[sc->nstages - 1];
  PetscFunctionBeginUser;
  if (*owed && start && last->kind == QRBM_STAGE_POTENTIAL) {
    if (!pr->have_w) PetscCall(Shuffle(pr, (pr->step - 1) / rb));
    PetscCall(Stage(pr, last->kind, last->c, last->f, unit, NULL));
    *owed = PETSC_FALSE;
  }
  if (start || !pr->have_w) PetscCall(Shuffle(pr, pr->step / rb));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Steps of length unit (-i dt real time, -dtau imaginary time). When the scheme merges its ends,
   the last stage of a step is deferred into the first of the next; a chain paused between steps
   (pending) resumes with the merged stage it was about to apply, so pausing changes no arithmetic:
   a checkpointed run is bit-identical to an uninterrupted one. The last step of a call applies its
   last stage (measuring momentum observables inside it when it is kinetic). */
static PetscErrorCode Steps(QrbmPropagator pr, const QrbmScheme *sc, PetscInt64 nsteps, qcomplex unit, QrbmObservables *obs, PetscBool real, PetscInt64 *done)
{
  const QrbmStage *S = sc->stages, *first = &S[0], *last = &S[sc->nstages - 1];
  const PetscBool  merge = QrbmSchemeMergesEnds(sc);
  PetscBool        owed  = real ? pr->pending : PETSC_FALSE; /* imaginary time leaves a real-time chain alone */
  PetscFunctionBeginUser;
  *done = 0;
  if (real) pr->pending = PETSC_FALSE;
  for (PetscInt64 s = 0; s < nsteps; s++) {
    const PetscBool final = s == nsteps - 1 ? PETSC_TRUE : PETSC_FALSE;
    PetscBool       pause = PETSC_FALSE;
    if (real && pr->draw) PetscCall(Reshuffle(pr, sc, unit, &owed));
    if (owed) PetscCall(Stage(pr, first->kind, last->c + first->c, last->f + first->f, unit, NULL));
    else PetscCall(Stage(pr, first->kind, first->c, first->f, unit, NULL));
    owed = PETSC_FALSE;
    for (int i = 1; i < sc->nstages - 1; i++) PetscCall(Stage(pr, S[i].kind, S[i].c, S[i].f, unit, NULL));
    (*done)++;
    if (real) {
      pr->step++;
      PetscCall(Progress(pr));
    }
    if (final || !merge) PetscCall(Stage(pr, last->kind, last->c, last->f, unit, final && last->kind == QRBM_STAGE_KINETIC ? obs : NULL));
    if (final) break;
    if (real && pr->check) {
      PetscCall(FlushKinetic(pr)); /* the check may read psi */
      PetscCall(pr->check(pr->check_ctx, &pause));
    }
    owed = merge;
    if (pause) {
      pr->pending = owed;
      PetscCall(FlushKinetic(pr));
      PetscFunctionReturn(PETSC_SUCCESS);
    }
  }
  PetscCall(FlushKinetic(pr));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmPropagatorAdvance(QrbmPropagator pr, PetscInt64 nsteps, QrbmObservables *obs, PetscInt64 *done)
{
  PetscFunctionBeginUser;
  PetscCall(Steps(pr, pr->sc, nsteps, -I * pr->cfg->dt, obs, PETSC_TRUE, done));
  if (obs && *done == nsteps) {
    if (pr->sc->stages[pr->sc->nstages - 1].kind != QRBM_STAGE_KINETIC) PetscCall(Kinetic(pr, 0.0, obs)); /* momentum observables: one extra FFT pair */
    PetscCall(QrbmObservablesPosition(obs, pr->pot, &pr->Wexact, pr->st->psi));
    obs->step = pr->step;
    obs->time = pr->step * pr->cfg->dt;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Imaginary time always uses Strang, whatever -scheme: a splitting with a negative coefficient
   (Yoshida-4's w0, the Blanes-Moan schemes) or a force-gradient term multiplies high modes by exp(+|w0| dtau T/hbar) and can converge to a spurious
   state. Stop: the energy of the normalised state changes by less than ground_tol (relative) over 10
   steps. With s = dtau/hbar the fixed point is the ground state of Strang's modified Hamiltonian
   H + s^2 C + O(s^4), C = -[T,[T,V]]/24 - [V,[T,V]]/12, so its residual ||H psi - E psi|| is
   s^2 ||(1 - P_0) C psi|| to leading order, and the stop rule leaves an energy variance of at most
   ground_tol |E| / (20 s) (each excited component loses at least 20 s times its variance share per 10
   steps). That estimate holds while s^2 C is a small perturbation of H: s^2 ||C psi|| <= 0.1 S, S the
   sum of |E_kin|, |E_trap|, |E_int| (then the O(s^4) rest is ~1% of it). A spurious state made of
   grid-scale modes fails that first, since C weighs them by T^2 V. */
static PetscErrorCode GroundCheck(QrbmPropagator pr, const QrbmObservables *obs)
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

PetscErrorCode QrbmPropagatorGroundState(QrbmPropagator pr, QrbmObservables *obs)
{
  const QrbmConfig *c     = pr->cfg;
  double            eprev = PETSC_MAX_REAL, norm;
  PetscInt          it;
  PetscInt64        done;
  PetscFunctionBeginUser;
  if (!c->quiet) PetscCall(PetscPrintf(pr->g->comm, "ground state: imaginary time with strang (positive coefficients), whatever -scheme (%s) the real-time run uses\n", pr->sc->name));
  for (it = 0; it < c->ground_maxiter; it += 10) {
    PetscCall(Steps(pr, pr->strang, 10, -c->ground_dtau, NULL, PETSC_FALSE, &done));
    PetscCall(QrbmStateNorm(pr->st, &norm));
    PetscCheck(PetscIsNormalReal(norm), pr->g->comm, PETSC_ERR_NOT_CONVERGED,
               "-init ground: the state left the double range in 10 imaginary-time steps (norm %g): exp(-dtau E/hbar) under- or overflows with -ground_dtau %g and -hbar %g for the energies on this grid; lower -ground_dtau or raise -hbar",
               norm, (double)c->ground_dtau, (double)c->hbar);
    PetscCall(QrbmStateScale(pr->st, 1 / sqrt(norm)));
    PetscCall(QrbmPropagatorMeasure(pr, obs));
    if (fabs(obs->energy - eprev) <= c->ground_tol * fabs(obs->energy)) break;
    eprev = obs->energy;
  }
  PetscCheck(it < c->ground_maxiter, pr->g->comm, PETSC_ERR_NOT_CONVERGED, "-init ground: no convergence to -ground_tol %g within -ground_maxiter %" PetscInt_FMT " steps (last energy change %g): raise -ground_maxiter or -ground_dtau",
             (double)c->ground_tol, c->ground_maxiter, fabs(obs->energy - eprev));
  if (!c->quiet) PetscCall(PetscPrintf(pr->g->comm, "ground state: E = %.12g after %" PetscInt_FMT " imaginary-time steps of %g\n", obs->energy, it + 10, (double)c->ground_dtau));
  PetscCall(GroundCheck(pr, obs));
  PetscFunctionReturn(PETSC_SUCCESS);
}
