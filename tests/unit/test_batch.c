/* Unit tests of the random batch generator (include/qrbm/batch.h): pairing permutations
   (QrbmBatchPermutation), their pair weights (QrbmBatchWeights) and the partition enumeration used
   by -rb_expectation enumerate (QrbmBatchCountPartitions, QrbmBatchEnumeratePartitions).

   Statistical tests use a fixed seed, so they are deterministic; their thresholds are the upper
   0.1% points (p = 0.001) of the chi-square distribution, fixed here (computed with
   scipy.stats.chi2.ppf(0.999, dof)):
     dof   2: 13.815510557964274     dof   9: 27.877164871256568    dof  14: 36.12327368039813
     dof  23: 49.7282324664315       dof 575: 685.5176847325881

   Pair frequencies. Let I_mn = 1 if labels m < n share a batch in one interval. For a uniform
   permutation P(I_mn = 1) = p = (P-1)/(N-1). The indicators are not independent: every label has
   exactly P-1 partners, so sum_n I_mn is constant for each m, and the covariance of the vector
   (I_mn) vanishes on the trivial and "standard" S_N-components of the pair space. It is S_N-
   invariant, so on the remaining irreducible component (dimension N(N-3)/2) it is a multiple
   lambda of the identity; the trace gives lambda = (N-1) p (1-p) / (N-3) (checked against the
   exact covariance for N = 4, 6, 8). Hence, with c_mn the counts over n intervals,
       X = sum_{m<n} (c_mn - n p)^2 / (n lambda)   ~   chi-square with N(N-3)/2 dof
   (asymptotically). For N = 4, P = 2 this is exactly Pearson's statistic over the 3 pairings.

   Run: make unit (mpirun -np 1 build/tests/test_batch). */
#include <qrbm/batch.h>
#include "unit.h"

#define NSAMPLES 100000
#define SEED     20240611u

#define CHI2_999_DOF2   13.815510557964274
#define CHI2_999_DOF9   27.877164871256568
#define CHI2_999_DOF14  36.12327368039813
#define CHI2_999_DOF23  49.7282324664315
#define CHI2_999_DOF575 685.5176847325881

/* perm must be a permutation of 0..N-1 */
static void assert_permutation(PetscInt N, const PetscInt *perm)
{
  int seen[QRBM_MAX_PARTICLES] = {0};
  for (PetscInt i = 0; i < N; i++) {
    assert_true(perm[i] >= 0 && perm[i] < N);
    assert_int_equal(seen[perm[i]], 0);
    seen[perm[i]] = 1;
  }
}

/* Weights of a batched permutation: upper triangle only, value 1/(P-1) inside a batch and 0
   across batches, every label with exactly P-1 partners. */
static void assert_valid_weights(PetscInt N, PetscInt P, const PetscInt *perm, const QrbmPairWeights *W)
{
  int batch[QRBM_MAX_PARTICLES];
  for (PetscInt i = 0; i < N; i++) batch[perm[i]] = (int)(i / P);
  assert_int_equal(W->N, N);
  for (PetscInt l = 0; l < N; l++) {
    int partners = 0;
    for (PetscInt n = 0; n < N; n++) {
      const double w = W->w[l * N + n];
      if (n <= l) {
        assert_true(w == 0.0); /* lower triangle and diagonal unused */
        continue;
      }
      if (batch[l] == batch[n]) assert_true(fabs(w - 1.0 / (double)(P - 1)) < 1e-15);
      else assert_true(w == 0.0);
    }
    for (PetscInt n = 0; n < N; n++)
      if (n != l && W->w[PetscMin(l, n) * N + PetscMax(l, n)] > 0) partners++;
    assert_int_equal(partners, P - 1);
  }
}

/* Canonical code of the partition induced by a permutation: for each label the smallest label of
   its batch, in base 16 (N <= 16). */
static uint64_t partition_code(PetscInt N, PetscInt P, const PetscInt *perm)
{
  int      low[QRBM_MAX_PARTICLES];
  uint64_t code = 0;
  for (PetscInt b = 0; b < N; b += P) {
    PetscInt m = perm[b];
    for (PetscInt i = b; i < b + P; i++) m = PetscMin(m, perm[i]);
    for (PetscInt i = b; i < b + P; i++) low[perm[i]] = (int)m;
  }
  for (PetscInt i = 0; i < N; i++) code = code * 16 + (uint64_t)low[i];
  return code;
}

static int find_code(const uint64_t *codes, PetscInt n, uint64_t c)
{
  for (PetscInt i = 0; i < n; i++)
    if (codes[i] == c) return (int)i;
  return -1;
}

static double pearson(const double *count, int cells, double expected)
{
  double x = 0;
  for (int k = 0; k < cells; k++) x += (count[k] - expected) * (count[k] - expected) / expected;
  return x;
}

/* Pair frequencies and pairing frequencies over NSAMPLES permutations: intervals 0..NSAMPLES-1 of
   one realisation (by_realization = 0) or interval 7 of realisations 0..NSAMPLES-1. */
static void check_frequencies(PetscInt N, PetscInt P, int by_realization, double crit_pairs, double crit_partitions)
{
  const double    p = (double)(P - 1) / (double)(N - 1), lambda = (N - 1) * p * (1 - p) / (N - 3), n = NSAMPLES;
  double          count[QRBM_MAX_PARTICLES * QRBM_MAX_PARTICLES] = {0}, x = 0;
  PetscInt        perm[QRBM_MAX_PARTICLES], npart;
  QrbmPairWeights W;

  /* the pairings themselves: uniform over the distinct partitions */
  npart = (PetscInt)QrbmBatchCountPartitions(N, P);
  PetscInt *parts = malloc(sizeof(PetscInt) * (size_t)(npart * N));
  uint64_t *codes = malloc(sizeof(uint64_t) * (size_t)npart);
  double   *pcount = calloc((size_t)npart, sizeof(double));
  assert_non_null(parts);
  assert_int_equal(QrbmBatchEnumeratePartitions(N, P, parts, &npart), 0);
  for (PetscInt k = 0; k < npart; k++) codes[k] = partition_code(N, P, parts + k * N);

  for (long s = 0; s < NSAMPLES; s++) {
    if (by_realization) QrbmBatchPermutation(SEED, (uint32_t)s, 7, N, perm);
    else QrbmBatchPermutation(SEED, 3, (uint64_t)s, N, perm);
    assert_permutation(N, perm);
    QrbmBatchWeights(N, P, perm, &W);
    if (s < 1000) assert_valid_weights(N, P, perm, &W);
    for (PetscInt l = 0; l < N; l++)
      for (PetscInt m = l + 1; m < N; m++)
        if (W.w[l * N + m] > 0) count[l * N + m] += 1;
    const int k = find_code(codes, npart, partition_code(N, P, perm));
    assert_true(k >= 0);
    pcount[k] += 1;
  }
  for (PetscInt l = 0; l < N; l++)
    for (PetscInt m = l + 1; m < N; m++) {
      const double c = count[l * N + m], z = (c - n * p) / sqrt(n * p * (1 - p));
      /* each pair: frequency (P-1)/(N-1) within 5 binomial standard deviations */
      if (fabs(z) > 5) fail_msg("N=%d P=%d pair (%d,%d): frequency %.5f, expected %.5f (z = %.2f)", (int)N, (int)P, (int)l, (int)m, c / n, p, z);
      x += (c - n * p) * (c - n * p) / (n * lambda);
    }
  print_message("N=%d P=%d (%s): pair chi-square %.3f (%d dof, critical %.3f at p=0.001)\n", (int)N, (int)P, by_realization ? "over realisations" : "over intervals", x,
                (int)(N * (N - 3) / 2), crit_pairs);
  if (!(x < crit_pairs)) fail_msg("N=%d P=%d: pair chi-square %.3f >= %.3f", (int)N, (int)P, x, crit_pairs);
  const double xp = pearson(pcount, (int)npart, n / npart);
  print_message("N=%d P=%d (%s): pairing chi-square %.3f (%d dof, critical %.3f at p=0.001)\n", (int)N, (int)P, by_realization ? "over realisations" : "over intervals", xp,
                (int)npart - 1, crit_partitions);
  if (!(xp < crit_partitions)) fail_msg("N=%d P=%d: pairing chi-square %.3f >= %.3f", (int)N, (int)P, xp, crit_partitions);
  free(parts);
  free(codes);
  free(pcount);
}

static void test_pair_frequency_N4_P2(void **state)
{
  (void)state;
  check_frequencies(4, 2, 0, CHI2_999_DOF2, CHI2_999_DOF2);
}

static void test_pair_frequency_N6_P2(void **state)
{
  (void)state;
  check_frequencies(6, 2, 0, CHI2_999_DOF9, CHI2_999_DOF14);
}

static void test_pair_frequency_N6_P3(void **state)
{
  (void)state;
  check_frequencies(6, 3, 0, CHI2_999_DOF9, CHI2_999_DOF9);
}

/* the realisation index (second key word) must be as good a stream as the interval counter */
static void test_pair_frequency_over_realizations(void **state)
{
  (void)state;
  check_frequencies(4, 2, 1, CHI2_999_DOF2, CHI2_999_DOF2);
}

/* Lehmer code of a permutation of 4 labels: 0..23 */
static int perm_index4(const PetscInt *perm)
{
  int idx = 0;
  for (int i = 0; i < 4; i++) {
    int smaller = 0;
    for (int j = i + 1; j < 4; j++)
      if (perm[j] < perm[i]) smaller++;
    idx = idx * (4 - i) + smaller;
  }
  return idx;
}

/* All 4! = 24 permutations equally likely: Pearson chi-square, 23 dof, fixed critical value
   49.728 (upper 0.1% point). */
static void test_permutations_uniform_N4(void **state)
{
  double   count[24] = {0};
  PetscInt perm[4];
  (void)state;
  for (long s = 0; s < NSAMPLES; s++) {
    QrbmBatchPermutation(SEED, 0, (uint64_t)s, 4, perm);
    assert_permutation(4, perm);
    count[perm_index4(perm)] += 1;
  }
  for (int k = 0; k < 24; k++) assert_true(count[k] > 0);
  const double x = pearson(count, 24, NSAMPLES / 24.0);
  print_message("N=4: permutation chi-square %.3f (23 dof, critical %.3f at p=0.001)\n", x, CHI2_999_DOF23);
  if (!(x < CHI2_999_DOF23)) fail_msg("N=4 permutations: chi-square %.3f >= %.3f", x, CHI2_999_DOF23);
}

/* Independence of consecutive intervals and of neighbouring realisations: joint distribution of
   two permutations over 24 x 24 cells (575 dof, critical 685.518 at p = 0.001). */
static void test_joint_uniform_N4(void **state)
{
  static double count[2][576];
  PetscInt      a[4], b[4];
  (void)state;
  memset(count, 0, sizeof(count));
  for (long s = 0; s < NSAMPLES; s++) {
    QrbmBatchPermutation(SEED, 5, (uint64_t)(2 * s), 4, a); /* intervals 2s and 2s+1 */
    QrbmBatchPermutation(SEED, 5, (uint64_t)(2 * s + 1), 4, b);
    count[0][perm_index4(a) * 24 + perm_index4(b)] += 1;
    QrbmBatchPermutation(SEED, (uint32_t)(2 * s), 11, 4, a); /* realisations 2s and 2s+1 */
    QrbmBatchPermutation(SEED, (uint32_t)(2 * s + 1), 11, 4, b);
    count[1][perm_index4(a) * 24 + perm_index4(b)] += 1;
  }
  for (int t = 0; t < 2; t++) {
    const double x = pearson(count[t], 576, NSAMPLES / 576.0);
    print_message("N=4 consecutive %s: joint chi-square %.3f (575 dof, critical %.3f at p=0.001)\n", t ? "realisations" : "intervals", x, CHI2_999_DOF575);
    if (!(x < CHI2_999_DOF575)) fail_msg("joint chi-square %.3f >= %.3f", x, CHI2_999_DOF575);
  }
}

/* Common random numbers: level 0 is the uncoupled stream, interval 2j of level k is interval j of
   level k - 1, and within one level-3 run (intervals mapped to levels 0..3) the permutations are
   uniform (23 dof) and those of intervals 2s (reused) and 2s+1 (fresh) jointly uniform (575 dof). */
static void test_coupled_levels(void **state)
{
  static double count[576];
  double        single[24] = {0};
  PetscInt      a[6], b[6];
  (void)state;
  for (uint64_t j = 0; j < 1000; j++) {
    QrbmBatchPermutation(SEED, 3, j, 6, a);
    QrbmBatchPermutationCoupled(SEED, 3, j, 0, 6, b);
    assert_memory_equal(a, b, sizeof(a));
    for (PetscInt k = 1; k <= 4; k++) {
      QrbmBatchPermutationCoupled(SEED, 3, 2 * j, k, 6, a);
      QrbmBatchPermutationCoupled(SEED, 3, j, k - 1, 6, b);
      assert_memory_equal(a, b, sizeof(a));
    }
  }
  memset(count, 0, sizeof(count));
  for (long s = 0; s < NSAMPLES; s++) {
    QrbmBatchPermutationCoupled(SEED, 7, (uint64_t)(2 * s), 3, 4, a);
    QrbmBatchPermutationCoupled(SEED, 7, (uint64_t)(2 * s + 1), 3, 4, b);
    assert_permutation(4, a);
    single[perm_index4(b)] += 1;
    count[perm_index4(a) * 24 + perm_index4(b)] += 1;
  }
  const double x1 = pearson(single, 24, NSAMPLES / 24.0), x2 = pearson(count, 576, NSAMPLES / 576.0);
  print_message("level 3: fresh-interval chi-square %.3f (23 dof), joint %.3f (575 dof)\n", x1, x2);
  if (!(x1 < CHI2_999_DOF23)) fail_msg("level-3 fresh permutations: chi-square %.3f >= %.3f", x1, CHI2_999_DOF23);
  if (!(x2 < CHI2_999_DOF575)) fail_msg("level-3 intervals 2s, 2s+1: joint chi-square %.3f >= %.3f", x2, CHI2_999_DOF575);
}

/* The permutations of intervals [first, first+len) of (seed, realization), N = 6, flattened. */
static void sequence(uint32_t seed, uint32_t realization, uint64_t first, int len, PetscInt *out)
{
  for (int i = 0; i < len; i++) {
    QrbmBatchPermutation(seed, realization, first + (uint64_t)i, 6, out + 6 * i);
    assert_permutation(6, out + 6 * i);
  }
}

#define SEQ 32
/* A pure function of (seed, realization, interval); different keys or counters give different
   streams (two independent sequences of 32 permutations of 6 labels coincide with probability
   720^-32). */
static void test_streams_differ(void **state)
{
  struct { uint32_t seed, real; uint64_t first; } keys[] = {
    {1, 0, 0}, {1, 1, 0}, {2, 0, 0}, {0, 0, 0}, {0, 1, 0}, {1, 0, SEQ}, {1, 0, (uint64_t)1 << 32}, {1, 2147483647u, 0}, {2147483647u, 0, 0}, {1, 0, 1},
  };
  const int nk = (int)(sizeof(keys) / sizeof(keys[0]));
  PetscInt  seq[10][6 * SEQ], again[6 * SEQ];
  (void)state;
  for (int k = 0; k < nk; k++) {
    sequence(keys[k].seed, keys[k].real, keys[k].first, SEQ, seq[k]);
    sequence(keys[k].seed, keys[k].real, keys[k].first, SEQ, again);
    assert_memory_equal(seq[k], again, sizeof(again)); /* deterministic */
  }
  for (int k = 0; k < nk; k++)
    for (int l = k + 1; l < nk; l++)
      if (!memcmp(seq[k], seq[l], sizeof(again))) fail_msg("streams %d and %d coincide", k, l);
  /* the interval-shifted stream {1,0,1} is the same counter sequence shifted by one */
  assert_memory_equal(seq[9], seq[0] + 6, sizeof(PetscInt) * 6 * (SEQ - 1));
  /* the random part actually moves: not every interval of a stream gives the same permutation */
  int changes = 0;
  for (int i = 1; i < SEQ; i++) changes += memcmp(seq[0] + 6 * i, seq[0] + 6 * (i - 1), sizeof(PetscInt) * 6) != 0;
  assert_true(changes >= SEQ / 2);
}

static void check_partitions(PetscInt N, PetscInt P, PetscInt expected)
{
  const double count = QrbmBatchCountPartitions(N, P);
  const double p     = (double)(P - 1) / (double)(N - 1);
  PetscInt     n     = -1;
  assert_true(count == (double)expected);
  PetscInt *perms = malloc(sizeof(PetscInt) * (size_t)(expected * N));
  uint64_t *codes = malloc(sizeof(uint64_t) * (size_t)expected);
  int       pairs[QRBM_MAX_PARTICLES * QRBM_MAX_PARTICLES] = {0};
  assert_non_null(perms);
  assert_int_equal(QrbmBatchEnumeratePartitions(N, P, perms, &n), 0);
  assert_int_equal(n, expected);
  for (PetscInt k = 0; k < n; k++) {
    QrbmPairWeights W;
    assert_permutation(N, perms + k * N);
    QrbmBatchWeights(N, P, perms + k * N, &W);
    assert_valid_weights(N, P, perms + k * N, &W);
    for (PetscInt l = 0; l < N * N; l++) pairs[l] += W.w[l] > 0;
    codes[k] = partition_code(N, P, perms + k * N);
    for (PetscInt j = 0; j < k; j++)
      if (codes[j] == codes[k]) fail_msg("N=%d P=%d: partitions %d and %d are the same", (int)N, (int)P, (int)j, (int)k);
  }
  /* uniform over partitions reproduces the pair frequency (P-1)/(N-1) exactly */
  for (PetscInt l = 0; l < N; l++)
    for (PetscInt m = l + 1; m < N; m++) assert_true(fabs(pairs[l * N + m] - p * (double)n) < 1e-9);
  free(perms);
  free(codes);
}

static void test_partitions(void **state)
{
  (void)state;
  check_partitions(4, 2, 3);
  check_partitions(6, 2, 15);
  check_partitions(6, 3, 10);
  check_partitions(2, 2, 1);
  check_partitions(4, 4, 1);
  check_partitions(8, 2, 105);
  check_partitions(8, 4, 35);
  check_partitions(9, 3, 280);
  check_partitions(10, 5, 126);
}

/* N! / ((P!)^(N/P) (N/P)!) = prod over batches of C(n-1, P-1), n = N, N-P, ..., in exact integers */
static uint64_t exact_partitions(PetscInt N, PetscInt P)
{
  uint64_t c = 1;
  for (PetscInt n = N; n > 0; n -= P) {
    uint64_t b = 1;
    for (PetscInt k = 1; k < P; k++) b = b * (uint64_t)(n - k) / (uint64_t)k; /* C(n-1, k) stays integral */
    c *= b;
  }
  return c;
}

/* Every admissible (N, P) up to QRBM_MAX_PARTICLES: QrbmBatchCountPartitions must return the count
   exactly (it is an integer below 2^53, and callers convert it to an integer to size the
   partition table of -rb_expectation enumerate); the enumeration must produce exactly that many
   (tables up to 20000 partitions are enumerated). */
static void test_partition_count_exact(void **state)
{
  int bad = 0;
  (void)state;
  for (PetscInt N = 2; N <= QRBM_MAX_PARTICLES; N++)
    for (PetscInt P = 2; P <= N; P++) {
      if (N % P) continue;
      const uint64_t want = exact_partitions(N, P);
      const double   got  = QrbmBatchCountPartitions(N, P);
      if (got != (double)want) {
        print_error("QrbmBatchCountPartitions(%d, %d) = %.17g, exact %llu (as an integer: %lld)\n", (int)N, (int)P, got, (unsigned long long)want, (long long)(PetscInt)got);
        bad++;
      }
      if (want <= 20000) {
        PetscInt *perms = malloc(sizeof(PetscInt) * (size_t)(want * (uint64_t)N)), n = -1;
        assert_non_null(perms);
        assert_int_equal(QrbmBatchEnumeratePartitions(N, P, perms, &n), 0);
        if ((uint64_t)n != want) {
          print_error("QrbmBatchEnumeratePartitions(%d, %d): %d partitions, exact %llu\n", (int)N, (int)P, (int)n, (unsigned long long)want);
          bad++;
        }
        free(perms);
      }
    }
  if (bad) fail_msg("%d inexact partition counts", bad);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_partitions),
    cmocka_unit_test(test_partition_count_exact),
    cmocka_unit_test(test_pair_frequency_N4_P2),
    cmocka_unit_test(test_pair_frequency_N6_P2),
    cmocka_unit_test(test_pair_frequency_N6_P3),
    cmocka_unit_test(test_pair_frequency_over_realizations),
    cmocka_unit_test(test_permutations_uniform_N4),
    cmocka_unit_test(test_joint_uniform_N4),
    cmocka_unit_test(test_streams_differ),
    cmocka_unit_test(test_coupled_levels),
  };
  return UNIT_RUN("batch", tests, 0);
}
