/* Random batches: counter-based pairing permutations (Random123 Philox) and their pair weights. */
#pragma once
#include <qrbm/potential.h>
#include <stdint.h>

/* The permutation of interval `interval` of realisation `realization`: a pure function of
   (seed, realization, interval) -- Durstenfeld's shuffle driven by Philox4x32 with key
   (seed, realization) and counter (interval, draw). */
void QrbmBatchPermutation(uint32_t seed, uint32_t realization, uint64_t interval, PetscInt N, PetscInt *perm);
/* Pair weights of a permutation cut into batches of P consecutive labels: weight 1/(P-1) inside a
   batch, 0 across batches. */
void QrbmBatchWeights(PetscInt N, PetscInt P, const PetscInt *perm, QrbmPairWeights *W);
/* Number of distinct partitions of N labels into batches of P: N! / ((P!)^(N/P) (N/P)!). */
double QrbmBatchCountPartitions(PetscInt N, PetscInt P);
/* All distinct partitions, each written as a permutation (batches of P consecutive entries);
   perms has room for count * N entries. */
PetscErrorCode QrbmBatchEnumeratePartitions(PetscInt N, PetscInt P, PetscInt *perms, PetscInt *count);
