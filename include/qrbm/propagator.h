/* Splitting schemes (Strang, Yoshida 4th order) with merged kinetic sub-steps, and imaginary time. */
#pragma once
#include <qrbm/batch.h>
#include <qrbm/kinetic.h>
#include <qrbm/observables.h>
#include <qrbm/state.h>

typedef struct {
  const QrbmConfig *cfg;
  const QrbmGrid   *g;
  QrbmState        *st;
  QrbmKinetic      *kin;
  QrbmPotential    *pot;
  QrbmPairWeights   W;        /* pair weights of the dynamics */
  QrbmPairWeights   Wexact;   /* pair weights of H_N (for the energy) */
  int               nv;       /* potential sub-steps per step */
  double            a[4], b[3]; /* kinetic (nv+1) and potential (nv) coefficients of one step */
  PetscBool         draw;     /* random batch sampling: new pairing at every interval start */
  PetscBool         have_w;   /* W holds the pairing of the current interval */
  PetscInt          realization;
  PetscInt          step;     /* steps done */
  PetscBool         pending;  /* mid-chain: psi still lacks the closing kinetic sub-step of `step` */
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
