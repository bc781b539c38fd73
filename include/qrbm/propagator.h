/* Splitting schemes (Strang, Yoshida-4, Chin 4A force gradient, Blanes-Moan SRKN) with merged
   sub-steps between steps, and imaginary time. */
#pragma once
#include <qrbm/batch.h>
#include <qrbm/kinetic.h>
#include <qrbm/observables.h>
#include <qrbm/state.h>

#define QRBM_MAX_STAGES 23

/* One step is the stage sequence c[0], ..., c[n-1] (n odd, symmetric), kinds alternating, stage 0
   kinetic or (vfirst) potential: K(c dt) = exp(-i c dt T/hbar), P(c dt) = exp(-i c dt Phi/hbar),
   a potential stage with f != 0 is exp(-i/hbar (c dt Phi - f dt^3 |grad Phi|^2)) (force gradient). */
typedef struct {
  const char *name;
  int         order, n;
  PetscBool   vfirst;
  double      c[QRBM_MAX_STAGES], f[QRBM_MAX_STAGES];
} QrbmSchemeDef;

/* The definition of a -scheme value. */
PetscErrorCode QrbmSchemeGet(QrbmScheme scheme, QrbmSchemeDef *def);
PetscBool      QrbmSchemeNeedsGradient(const QrbmSchemeDef *def);
/* FFT pairs per step in a merged chain: (n - 1) / 2 for either kind of first stage. */
int            QrbmSchemePairs(const QrbmSchemeDef *def);

typedef struct {
  const QrbmConfig *cfg;
  const QrbmGrid   *g;
  QrbmState        *st;
  QrbmKinetic      *kin;
  QrbmPotential    *pot;
  QrbmPairWeights   W;        /* pair weights of the dynamics */
  QrbmPairWeights   Wexact;   /* pair weights of H_N (for the energy) */
  QrbmSchemeDef     sc;       /* the real-time scheme */
  QrbmSchemeDef     strang;   /* imaginary time: always Strang (positive coefficients) */
  PetscBool         draw;     /* random batch sampling: new pairing at every interval start */
  PetscBool         have_w;   /* W holds the pairing of the current interval */
  PetscInt          realization;
  PetscInt          step;     /* steps done */
  PetscBool         pending;  /* mid-chain: psi still lacks the closing stage of `step` (merged with the next opening one) */
  /* Called collectively after every step that does not end an Advance; a true `pause` returns
     from Advance mid-chain (pending) so that the caller can write a checkpoint. */
  PetscErrorCode  (*check)(void *ctx, PetscBool *pause);
  void             *check_ctx;
  double            wall0;    /* wall clock when the current trajectory (re)started at step0 */
  PetscInt          step0;
} QrbmPropagator;

PetscErrorCode QrbmPropagatorCreate(const QrbmConfig *cfg, const QrbmGrid *g, QrbmState *st, QrbmKinetic *kin, QrbmPotential *pot, QrbmPropagator *pr);
/* Observables of the current state (costs one extra FFT pair). */
PetscErrorCode QrbmPropagatorMeasure(QrbmPropagator *pr, QrbmObservables *obs);
/* Up to nsteps real-time steps; adjacent kinetic sub-steps merged. With obs, measures at the end
   for free (momentum observables inside the last kinetic sub-step). Returns early, mid-chain, when
   the check callback asks for a pause; *done is the number of steps taken. */
PetscErrorCode QrbmPropagatorAdvance(QrbmPropagator *pr, PetscInt nsteps, QrbmObservables *obs, PetscInt *done);
/* Replaces the state by the ground state of H_N by normalised imaginary-time propagation. */
PetscErrorCode QrbmPropagatorGroundState(QrbmPropagator *pr, QrbmObservables *obs);
