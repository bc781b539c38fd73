/* What is measured from a state at an output time. */
#pragma once
#include <qrbm/potential.h>

typedef struct {
  PetscInt step;
  double   time;
  double   norm, e_kin, e_trap, e_int, energy; /* <H_N> and its parts (all particles) */
  double   x[QRBM_MAX_DIM], p[QRBM_MAX_DIM];   /* particle-averaged <x>, <p> per component */
  double   x2c[QRBM_MAX_DIM], p2c[QRBM_MAX_DIM], x2, p2; /* <x_c^2>, <p_c^2>, <|x|^2>, <|p|^2> */
  double  *rho, *rho_p; /* one-body position density (per volume) and momentum density, M^d each,
                           rho_p ordered by ascending momentum */
  double  *pgrid;       /* momenta hbar*k in ascending order (M) */
} QrbmObservables;

PetscErrorCode QrbmObservablesCreate(const QrbmGrid *g, double hbar, QrbmObservables *obs);
PetscErrorCode QrbmObservablesDestroy(QrbmObservables *obs);
/* From the unnormalised forward transform psi_k (transposed momentum layout). */
PetscErrorCode QrbmObservablesMomentum(QrbmObservables *obs, const QrbmGrid *g, double hbar, const qcomplex *psik);
/* From psi in position layout; W are the pair weights of the exact H_N. Completes the energy. */
PetscErrorCode QrbmObservablesPosition(QrbmObservables *obs, QrbmPotential *pot, const QrbmPairWeights *W, const qcomplex *psi);
