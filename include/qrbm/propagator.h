/* Real- and imaginary-time steps of the splitting schemes of the table (scheme.h), with merged end
   stages, random batch reshuffles and a pausable chain. The state of a propagator is private. */
#pragma once
#include <qrbm/batch.h>
#include <qrbm/kinetic.h>
#include <qrbm/observables.h>
#include <qrbm/scheme.h>
#include <qrbm/state.h>

typedef struct _p_QrbmPropagator *QrbmPropagator;

/* Phase tables (QrbmPotentialCreate) a run of cfg can need with scheme s (NULL: cfg's -scheme):
   the distinct potential stages of s times the trap and the pair weights of the dynamics (exact,
   random batches, the exact reference), plus imaginary time (Strang) and its residual check for
   -init ground. */
int            QrbmPropagatorPhaseTables(const QrbmConfig *cfg, const QrbmScheme *s);
/* Real time uses cfg's -scheme, imaginary time Strang. Starts at step 0 with the exact weights. */
PetscErrorCode QrbmPropagatorCreate(const QrbmConfig *cfg, const QrbmGrid *g, QrbmState *st, QrbmKinetic *kin, QrbmPotential *pot, QrbmPropagator *pr);
PetscErrorCode QrbmPropagatorDestroy(QrbmPropagator *pr);
/* Real time with another scheme (a row outside the table: tests; benchmarks). */
PetscErrorCode QrbmPropagatorSetScheme(QrbmPropagator pr, const QrbmScheme *s);
/* Continue from a state at `step`; pending: psi still owes the deferred last stage of that step
   (a checkpoint mid-chain). Exact weights, no sampling; restarts the progress clock. */
PetscErrorCode QrbmPropagatorReset(QrbmPropagator pr, PetscInt64 step, PetscBool pending);
/* Fixed pair weights from now on (a pairing of the enumeration); NULL: the exact H_N. */
PetscErrorCode QrbmPropagatorSetWeights(QrbmPropagator pr, const QrbmPairWeights *W);
/* Random batch sampling: realisation k's pairing is drawn at every reshuffle interval start. */
PetscErrorCode QrbmPropagatorSetSampling(QrbmPropagator pr, PetscInt realization);
/* A progress line every `every` real-time steps (0: none). */
PetscErrorCode QrbmPropagatorSetProgress(QrbmPropagator pr, PetscInt64 every);
/* Called collectively after every step that does not end an Advance; a true `pause` returns from
   Advance between two steps so that the caller can write a checkpoint (mid-chain when the scheme
   merges its ends: QrbmSchemeMergesEnds). */
PetscErrorCode QrbmPropagatorSetCheck(QrbmPropagator pr, PetscErrorCode (*check)(void *ctx, PetscBool *pause), void *ctx);
/* Steps done and whether psi owes the deferred last stage of the last one. */
PetscErrorCode QrbmPropagatorGetStep(QrbmPropagator pr, PetscInt64 *step, PetscBool *pending);
/* Observables of the current state (costs one extra FFT pair). */
PetscErrorCode QrbmPropagatorMeasure(QrbmPropagator pr, QrbmObservables *obs);
/* Up to nsteps real-time steps; adjacent end stages merged. With obs, measures at the end (momentum
   observables inside a closing kinetic stage, else one extra FFT pair). Returns early, between two
   steps, when the check callback asks for a pause; *done is the number of steps taken. */
PetscErrorCode QrbmPropagatorAdvance(QrbmPropagator pr, PetscInt64 nsteps, QrbmObservables *obs, PetscInt64 *done);
/* Replaces the state by the ground state of H_N by normalised imaginary-time propagation. */
PetscErrorCode QrbmPropagatorGroundState(QrbmPropagator pr, QrbmObservables *obs);
