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
  PetscInt          realization;
  int              *perms;    /* when not NULL: record of the pairing of every interval (root only) */
  PetscInt          step;     /* steps done */
  double            wall0;    /* wall clock at the start of the time loop */
} QrbmPropagator;

PetscErrorCode QrbmPropagatorCreate(const QrbmConfig *cfg, const QrbmGrid *g, QrbmState *st, QrbmKinetic *kin, QrbmPotential *pot, QrbmPropagator *pr);
/* Observables of the current state (costs one extra FFT pair). */
PetscErrorCode QrbmPropagatorMeasure(QrbmPropagator *pr, QrbmObservables *obs);
/* nsteps real-time steps; adjacent kinetic sub-steps merged. With obs, measures at the end for free
   (momentum observables inside the last kinetic sub-step). */
PetscErrorCode QrbmPropagatorAdvance(QrbmPropagator *pr, PetscInt nsteps, QrbmObservables *obs);
/* Replaces the state by the ground state of H_N by normalised imaginary-time propagation. */
PetscErrorCode QrbmPropagatorGroundState(QrbmPropagator *pr, QrbmObservables *obs);
