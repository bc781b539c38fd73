/* Random batches: counter-based pairing permutations (Random123 Philox) and their pair weights. */
#pragma once
#include <qrbm/potential.h>
#include <stdint.h>

/* The permutation of interval `interval` of realisation `realization`: a pure function of
   (seed, realization, interval) -- Durstenfeld's shuffle driven by Philox4x32 with key
   (seed, realization) and counter (interval, draw). */
void QrbmBatchPermutation(uint32_t seed, uint32_t realization, uint64_t interval, PetscInt N, PetscInt *perm);
/* Common random numbers (-rb_couple_level k): the permutation of interval `interval` of a run at
   coupling level k. Level 0 is QrbmBatchPermutation; at level k > 0 interval 2j equals interval j
   of level k - 1 (the run at twice the reshuffle interval), interval 2j+1 is a fresh draw. */
void QrbmBatchPermutationCoupled(uint32_t seed, uint32_t realization, uint64_t interval, PetscInt level, PetscInt N, PetscInt *perm);
/* Pair weights of a permutation cut into batches of P consecutive labels: weight 1/(P-1) inside a
   batch, 0 across batches. */
void QrbmBatchWeights(PetscInt N, PetscInt P, const PetscInt *perm, QrbmPairWeights *W);
/* Number of distinct partitions of N labels into batches of P: N! / ((P!)^(N/P) (N/P)!). */
double QrbmBatchCountPartitions(PetscInt N, PetscInt P);
/* All distinct partitions, each written as a permutation (batches of P consecutive entries);
   perms has room for count * N entries. */
PetscErrorCode QrbmBatchEnumeratePartitions(PetscInt N, PetscInt P, PetscInt *perms, PetscInt *count);
