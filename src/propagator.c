/* Time stepping by splitting schemes given as stage sequences (QrbmSchemeDef). The closing stage
   of a step and the opening stage of the next have the same kind and are merged into one (for
   potential-first schemes only within a reshuffle interval), so n steps of a kinetic-first scheme
   cost n (nK - 1) + 1 FFT pairs and of a potential-first one n nK (+1 to measure), nK being the
   kinetic stages of a step. Coefficients: docs/numerics.md. */
#include <qrbm/propagator.h>
#include <qrbm/events.h>
#include <qrbm/hamiltonian.h>
#include <math.h>

/* Symmetric composition from its first half: stages h[0..m-1] mirrored around h[m-1] (odd length
   2m - 1). */
static void Mirror(QrbmSchemeDef *d, int m, const double *h, const double *f)
{
  d->n = 2 * m - 1;
  for (int i = 0; i < m; i++) {
    d->c[i] = d->c[d->n - 1 - i] = h[i];
    d->f[i] = d->f[d->n - 1 - i] = f ? f[i] : 0;
  }
}

PetscErrorCode QrbmSchemeGet(QrbmScheme scheme, QrbmSchemeDef *d)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(d, sizeof(*d)));
  d->name = QrbmSchemeNames[scheme];
  switch (scheme) {
  case QRBM_SCHEME_STRANG: { /* K(1/2) P(1) K(1/2) */
    const double h[] = {0.5, 1};
    d->order = 2;
    Mirror(d, 2, h, NULL);
  } break;
  case QRBM_SCHEME_YOSHIDA4: { /* three Strang steps of lengths w1, w0, w1 */
    const double w1 = 1 / (2 - cbrt(2.0)), w0 = 1 - 2 * w1, h[] = {0.5 * w1, w1, 0.5 * (w1 + w0), w0};
    d->order = 4;
    Mirror(d, 4, h, NULL);
  } break;
  case QRBM_SCHEME_CHIN4: { /* Chin 4A: P(1/6) K(1/2) P~(2/3) K(1/2) P(1/6), P~ with (2/3)(dt^2/48) |grad Phi|^2 */
    const double h[] = {1.0 / 6, 0.5, 2.0 / 3}, f[] = {0, 0, 2.0 / 3 / 48};
    d->order = 4; d->vfirst = PETSC_TRUE;
    Mirror(d, 3, h, f);
  } break;
  case QRBM_SCHEME_BM6: { /* Blanes-Moan SRKN_6^b (2002, Table 3): b1 a1 b2 a2 b3 a3 b4 a3 ... b1 */
    const double b1 = 0.0829844064174052, b2 = 0.396309801498368, b3 = -0.0390563049223486, a1 = 0.245298957184271, a2 = 0.604872665711080;
    const double h[] = {b1, a1, b2, a2, b3, 0.5 - (a1 + a2), 1 - 2 * (b1 + b2 + b3)};
    d->order = 4; d->vfirst = PETSC_TRUE;
    Mirror(d, 7, h, NULL);
  } break;
  case QRBM_SCHEME_BM11: { /* Blanes-Moan SRKN_11^b (2002, Table 3), order 6: b1 a1 ... b6 a6 b6 ... a1 b1 */
    const double b[] = {0.0414649985182624, 0.198128671918067, -0.0400061921041533, 0.0752539843015807, -0.0115113874206879};
    const double a[] = {0.123229775946271, 0.290553797799558, -0.127049212625417, -0.246331761062075, 0.357208872795928};
    double       h[12], sa = 0, sb = 0;
    for (int i = 0; i < 5; i++) {
      h[2 * i] = b[i]; h[2 * i + 1] = a[i];
      sa += a[i]; sb += b[i];
    }
    h[10] = 0.5 - sb; h[11] = 1 - 2 * sa; /* b6, and the middle stage a6 */
    d->order = 6; d->vfirst = PETSC_TRUE;
    Mirror(d, 12, h, NULL);
  } break;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

int QrbmSchemePairs(const QrbmSchemeDef *d) { return (d->n - 1) / 2; }

PetscBool QrbmSchemeNeedsGradient(const QrbmSchemeDef *d)
{
  for (int i = 0; i < d->n; i++)
    if (d->f[i] != 0) return PETSC_TRUE;
  return PETSC_FALSE;
}

PetscErrorCode QrbmPropagatorCreate(const QrbmConfig *cfg, const QrbmGrid *g, QrbmState *st, QrbmKinetic *kin, QrbmPotential *pot, QrbmPropagator *pr)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(pr, sizeof(*pr)));
  pr->cfg = cfg; pr->g = g; pr->st = st; pr->kin = kin; pr->pot = pot;
  QrbmPairWeightsExact(g->N, &pr->Wexact);
  pr->W = pr->Wexact;
  PetscCall(QrbmSchemeGet(cfg->scheme, &pr->sc));
  PetscCall(QrbmSchemeGet(QRBM_SCHEME_STRANG, &pr->strang));
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

/* exp(z/hbar (Phi + gamma |grad Phi|^2)) psi; gamma = 0: a plain potential stage. */
static PetscErrorCode Potential(QrbmPropagator *pr, qcomplex z, double gamma)
{
  const PetscLogEvent ev = pr->cfg->method == QRBM_METHOD_RBM ? QRBM_EVENT_POTENTIAL_RB : QRBM_EVENT_POTENTIAL;
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(ev, 0, 0, 0, 0));
  if (gamma == 0) PetscCall(QrbmPotentialApply(pr->pot, &pr->W, z, pr->st->psi));
  else PetscCall(QrbmPotentialApplyGradient(pr->pot, &pr->W, z, gamma, pr->st->psi));
  PetscCall(PetscLogEventEnd(ev, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Pairing of a reshuffle interval: the group root draws the permutation and broadcasts it. */
static PetscErrorCode Shuffle(QrbmPropagator *pr, PetscInt interval)
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

/* Stage i of a step with time fraction coef (merged stages pass the sum). A force-gradient
   stage exp(c B + f [B,[A,B]]) with A = unit T/hbar, B = unit Phi/hbar is exp(unit c/hbar (Phi +
   gamma |grad Phi|^2)) with gamma = (f/c) unit^2, since [Phi,[T,Phi]] = hbar^2 |grad Phi|^2. */
static PetscErrorCode Stage(QrbmPropagator *pr, const QrbmSchemeDef *sc, int i, double coef, qcomplex unit, QrbmObservables *obs)
{
  PetscFunctionBeginUser;
  if ((i % 2 == 0) != (sc->vfirst == PETSC_TRUE)) PetscCall(Kinetic(pr, unit * coef, obs));
  else PetscCall(Potential(pr, unit * coef, sc->f[i] == 0 ? 0.0 : sc->f[i] / coef * creal(unit * unit)));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Random batches: the pairing for the step about to start. A potential-first scheme merges the
   previous step's closing potential stage (*carry) into the opening one only inside an interval;
   at an interval start it is applied first with the old pairing (redrawn after a restart). */
static PetscErrorCode Reshuffle(QrbmPropagator *pr, const QrbmSchemeDef *sc, qcomplex unit, double *carry)
{
  const PetscInt  rb    = pr->cfg->rb_steps;
  const PetscBool start = pr->step % rb == 0 ? PETSC_TRUE : PETSC_FALSE;
  PetscFunctionBeginUser;
  if (sc->vfirst && *carry != 0 && start) {
    if (!pr->have_w) PetscCall(Shuffle(pr, (pr->step - 1) / rb));
    PetscCall(Stage(pr, sc, 0, *carry, unit, NULL));
    *carry = 0;
  }
  if (start || !pr->have_w) PetscCall(Shuffle(pr, pr->step / rb));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Steps of length unit (-i dt real time, -dtau imaginary time). A chain paused mid-way (pending)
   resumes with the merged stage it was about to apply, so pausing changes no arithmetic: a
   checkpointed run is bit-identical to an uninterrupted one. */
static PetscErrorCode Steps(QrbmPropagator *pr, const QrbmSchemeDef *sc, PetscInt nsteps, qcomplex unit, QrbmObservables *obs, PetscBool real, PetscInt *done)
{
  const int n     = sc->n;
  double    carry = pr->pending ? sc->c[n - 1] : 0;
  PetscFunctionBeginUser;
  *done       = 0;
  pr->pending = PETSC_FALSE;
  if (!sc->vfirst) {
    PetscCall(Stage(pr, sc, 0, sc->c[0] + carry, unit, NULL));
    carry = 0;
  }
  for (PetscInt s = 0; s < nsteps; s++) {
    const PetscBool last = s == nsteps - 1;
    PetscBool       pause = PETSC_FALSE;
    if (real && pr->draw) PetscCall(Reshuffle(pr, sc, unit, &carry));
    if (sc->vfirst) PetscCall(Stage(pr, sc, 0, sc->c[0] + carry, unit, NULL));
    carry = 0;
    for (int i = 1; i < n - 1; i++) PetscCall(Stage(pr, sc, i, sc->c[i], unit, NULL));
    (*done)++;
    if (real) {
      pr->step++;
      PetscCall(Progress(pr));
    }
    if (last) PetscCall(Stage(pr, sc, n - 1, sc->c[n - 1], unit, sc->vfirst ? NULL : obs));
    else {
      if (real && pr->check) PetscCall(pr->check(pr->check_ctx, &pause));
      if (pause) {
        pr->pending = PETSC_TRUE;
        PetscFunctionReturn(PETSC_SUCCESS);
      }
      if (sc->vfirst) carry = sc->c[n - 1];
      else PetscCall(Stage(pr, sc, 0, sc->c[n - 1] + sc->c[0], unit, NULL));
    }
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmPropagatorAdvance(QrbmPropagator *pr, PetscInt nsteps, QrbmObservables *obs, PetscInt *done)
{
  PetscFunctionBeginUser;
  PetscCall(Steps(pr, &pr->sc, nsteps, -I * pr->cfg->dt, obs, PETSC_TRUE, done));
  if (obs && *done == nsteps) {
    if (pr->sc.vfirst) PetscCall(Kinetic(pr, 0.0, obs)); /* momentum observables: one extra FFT pair */
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
  double            eprev = PETSC_MAX_REAL, norm;
  PetscInt          it, done;
  PetscFunctionBeginUser;
  if (!c->quiet) PetscCall(PetscPrintf(pr->g->comm, "ground state: imaginary time with strang (positive coefficients), whatever -scheme (%s) the real-time run uses\n", QrbmSchemeNames[c->scheme]));
  for (it = 0; it < c->ground_maxiter; it += 10) {
    PetscCall(Steps(pr, &pr->strang, 10, -c->ground_dtau, NULL, PETSC_FALSE, &done));
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
