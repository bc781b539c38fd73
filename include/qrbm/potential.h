/* Pair potential V, trap U, their phase tables and the potential sub-step. */
#pragma once
#include <qrbm/grid.h>
#include <qrbm/pairpot.h>
#include <qrbm/util.h>

/* Pair weights: w[l * N + n] for l < n is the coupling of pair (l, n) (0 = no interaction). */
typedef struct {
  PetscInt N;
  double   w[QRBM_MAX_PARTICLES * QRBM_MAX_PARTICLES];
} QrbmPairWeights;

typedef struct {
  const QrbmGrid *g;
  double          hbar;
  ptrdiff_t       e[3];   /* one particle's extents, padded in front with 1 to three axes */
  ptrdiff_t       n2;     /* points of the doubled difference grid prod(2 e) */
  double         *V2;     /* V at the minimum-image separation on the doubled difference grid */
  double         *U;      /* trap on the one-particle grid (M^d) */
  int             ncache, maxcache; /* phase tables exp(z/hbar * w * V) and exp(z/hbar * U), keyed by (z, w, gamma) */
  struct { qcomplex z; double w, gamma; qcomplex *tab; } *cache;
  int             nthreads;
  qcomplex       *scratch; /* per-thread vectors of the hoisted products */
  /* force-gradient stages (QrbmPotentialSetUpGradient): d planes of V' on the doubled grid,
     |V'|^2 and omega^2 D.V' there (D the raw difference), d planes of U' on the one-particle grid */
  double         *dV2, *S2, *C2, *dU, omega2;
  PetscBool       fg_cache;  /* keep the per-point modified phase (three-body terms) between steps */
  PetscBool       fg_valid;
  qcomplex       *fg_phase, fg_z; /* cached phase on the local points, valid for (fg_z, fg_gamma, fg_W) */
  double          fg_gamma;
  QrbmPairWeights fg_W;
} QrbmPotential;

/* A prepared plain potential stage (QrbmPotentialPhaseSetUp) that another pass applies slab by slab
   of the first storage axis while each slab is in cache (QrbmPotentialPhaseSlab; one rank). */
typedef struct {
  const QrbmPotential *pot;
  PetscInt             N;
  ptrdiff_t            Md, stride[QRBM_MAX_PARTICLES]; /* psi elements per index of particle m */
  const qcomplex      *pair[QRBM_MAX_PARTICLES * QRBM_MAX_PARTICLES]; /* NULL: pair does not interact */
  const qcomplex      *trap;
} QrbmPotentialPhase;

/* ntables: the most phase tables (distinct (z, w, gamma), the trap's w = 0 included) the caller uses
   (QrbmPropagatorPhaseTables); one more is a programming error. */
PetscErrorCode QrbmPotentialCreate(const QrbmGrid *g, const QrbmConfig *cfg, int ntables, QrbmPotential *pot);
PetscErrorCode QrbmPotentialDestroy(QrbmPotential *pot);
/* Exact coupling: every pair with weight 1/(N-1). */
void QrbmPairWeightsExact(PetscInt N, QrbmPairWeights *W);
/* psi *= exp(z/hbar * (sum_m U(x_m) + sum_{l<n} w_ln V(x_l - x_n))) on the position layout.
   z = -i dt for real time, -dtau for imaginary time. Costs about one pass over psi. */
PetscErrorCode QrbmPotentialApply(QrbmPotential *pot, const QrbmPairWeights *W, qcomplex z, qcomplex *psi);
/* The stage psi *= exp(z/hbar * (sum_m U + sum_{l<n} w_ln V)) prepared for QrbmPotentialPhaseSlab. */
PetscErrorCode QrbmPotentialPhaseSetUp(QrbmPotential *pot, const QrbmPairWeights *W, qcomplex z, QrbmPotentialPhase *ph);
/* One rank: that stage on the slab of first-axis index x0 (M^(N d - 1) points), from an OpenMP
   thread with number < -threads (it uses that thread's scratch vectors). */
void QrbmPotentialPhaseSlab(const QrbmPotentialPhase *ph, ptrdiff_t x0, qcomplex *slab);
/* Local sums of |psi|^2 sum_{l<n} w_ln V(x_l - x_n) (long double; caller reduces). */
PetscErrorCode QrbmPotentialEnergyLocal(QrbmPotential *pot, const QrbmPairWeights *W, const qcomplex *psi, long double *e_int);
/* Force-gradient stages need V' and U' tables; with cache, the per-point phase of three-body
   cases is kept (one state-sized array, counted in the memory estimate by the caller). */
PetscErrorCode QrbmPotentialSetUpGradient(QrbmPotential *pot, const QrbmConfig *cfg, PetscBool cache);
/* Bytes of those tables (without the cache), for the memory estimate. */
double QrbmPotentialGradientBytes(const QrbmGrid *g);
/* psi *= exp(z/hbar * (Phi + gamma |grad Phi|^2)), Phi = sum_m U(x_m) + sum_{l<n} w_ln V(x_l - x_n),
   gradient over all N d coordinates (mass 1). gamma = 0 is QrbmPotentialApply. */
PetscErrorCode QrbmPotentialApplyGradient(QrbmPotential *pot, const QrbmPairWeights *W, qcomplex z, double gamma, qcomplex *psi);
/* V and V' of the run's row of the potentials table (pairpot.h); also used by tests. */
double QrbmPotentialPair(const QrbmConfig *cfg, const double *r);
void   QrbmPotentialPairGradient(const QrbmConfig *cfg, const double *r, double *grad);
