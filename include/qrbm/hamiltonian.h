/* H_N applied to a state: the residual that validates an imaginary-time ground state. */
#pragma once
#include <qrbm/kinetic.h>
#include <qrbm/potential.h>

typedef struct {
  double energy;   /* E = <psi|H psi> */
  double residual; /* ||H psi - E psi|| (the square root of the energy variance) */
  double split;    /* ||[T,[T,V]] psi||/24 + ||[V,[V,T]] psi||/12: bounds Strang's leading error operator */
  double scale;    /* max T + max V on the grid: the rounding floor of H psi is eps times this */
} QrbmHamiltonianResidual;

/* For a normalised psi (position layout); W are the pair weights of the exact H_N. Uses four
   temporary states and four FFT pairs; the phase tables of z = -i hbar/max V join the potential's
   cache. */
PetscErrorCode QrbmHamiltonianResidualCompute(QrbmKinetic *kin, QrbmPotential *pot, const QrbmPairWeights *W, const qcomplex *psi, QrbmHamiltonianResidual *res);
