/* Pairing permutations. Counter-based random numbers make every permutation reproducible for any
   rank count, group split or restart without saving generator state. */
#include <qrbm/batch.h>
#include <Random123/philox.h>
#include <string.h>

/* Uniform integer in [0, n) from a stream of 32-bit words, by rejection (no modulo bias). */
typedef struct {
  philox4x32_key_t key;
  philox4x32_ctr_t ctr;
  philox4x32_ctr_t out;
  int              used;
} Stream;

static uint32_t Next(Stream *s)
{
  if (s->used == 4) {
    s->out = philox4x32(s->ctr, s->key);
    s->ctr.v[2]++;
    s->used = 0;
  }
  return s->out.v[s->used++];
}

static uint32_t Below(Stream *s, uint32_t n)
{
  const uint32_t reject = (uint32_t)(-n) % n; /* 2^32 mod n */
  uint32_t       r;
  do r = Next(s);
  while (r < reject);
  return r % n;
}

void QrbmBatchPermutation(uint32_t seed, uint32_t realization, uint64_t interval, PetscInt N, PetscInt *perm)
{
  QrbmBatchPermutationCoupled(seed, realization, interval, 0, N, perm);
}

/* Interval i = 2^a o (o odd) of a level-k run draws the fresh permutation of level k - min(a, k) at
   interval i / 2^min(a, k); level l > 0 uses counter word 3 = l, level 0 is the uncoupled stream.
   Distinct intervals of one run map to distinct (level, interval) pairs, so the run's permutations
   stay independent and uniform; interval 2j of level k maps to what interval j of level k - 1 maps
   to (docs/rbm.md). */
void QrbmBatchPermutationCoupled(uint32_t seed, uint32_t realization, uint64_t interval, PetscInt level, PetscInt N, PetscInt *perm)
{
  while (level > 0 && interval % 2 == 0) {
    interval /= 2;
    level--;
  }
  Stream s = {{{seed, realization}}, {{(uint32_t)interval, (uint32_t)(interval >> 32), 0, (uint32_t)level}}, {{0}}, 4};
  for (PetscInt i = 0; i < N; i++) perm[i] = i;
  for (PetscInt i = N - 1; i > 0; i--) { /* Durstenfeld */
    const PetscInt j = (PetscInt)Below(&s, (uint32_t)(i + 1)), t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
}

void QrbmBatchWeights(PetscInt N, PetscInt P, const PetscInt *perm, QrbmPairWeights *W)
{
  memset(W, 0, sizeof(*W));
  W->N = N;
  for (PetscInt b = 0; b < N; b += P)
    for (PetscInt i = b; i < b + P; i++)
      for (PetscInt j = i + 1; j < b + P; j++) {
        const PetscInt l = PetscMin(perm[i], perm[j]), n = PetscMax(perm[i], perm[j]);
        W->w[l * N + n] = 1.0 / (P - 1);
      }
}

double QrbmBatchCountPartitions(PetscInt N, PetscInt P)
{
  double c = 1;
  /* choose the batch of the smallest free label: C(n-1, P-1) ways, for n = N, N-P, ...; the
     binomials are exact in integer arithmetic (N <= 16) */
  for (PetscInt n = N; n > 0; n -= P) {
    unsigned long long b = 1;
    for (PetscInt k = 1; k < P; k++) b = b * (unsigned long long)(n - k) / (unsigned long long)k;
    c *= (double)b;
  }
  return c;
}

/* Builds partitions recursively: the smallest free label opens a batch, P-1 partners are chosen
   among the larger free labels in increasing order. */
static void Partitions(PetscInt N, PetscInt P, PetscInt *cur, PetscInt len, PetscBool *used, PetscInt from, PetscInt *perms, PetscInt *count)
{
  if (len == N) {
    memcpy(perms + *count * N, cur, sizeof(PetscInt) * N);
    (*count)++;
    return;
  }
  if (len % P == 0) { /* open a batch with the smallest free label */
    PetscInt f = 0;
    while (used[f]) f++;
    used[f] = PETSC_TRUE; cur[len] = f;
    Partitions(N, P, cur, len + 1, used, f + 1, perms, count);
    used[f] = PETSC_FALSE;
    return;
  }
  for (PetscInt c = from; c < N; c++) {
    if (used[c]) continue;
    used[c] = PETSC_TRUE; cur[len] = c;
    Partitions(N, P, cur, len + 1, used, c + 1, perms, count);
    used[c] = PETSC_FALSE;
  }
}

PetscErrorCode QrbmBatchEnumeratePartitions(PetscInt N, PetscInt P, PetscInt *perms, PetscInt *count)
{
  PetscInt  cur[QRBM_MAX_PARTICLES];
  PetscBool used[QRBM_MAX_PARTICLES] = {PETSC_FALSE};
  PetscFunctionBeginUser;
  *count = 0;
  Partitions(N, P, cur, 0, used, 0, perms, count);
  PetscFunctionReturn(PETSC_SUCCESS);
}
