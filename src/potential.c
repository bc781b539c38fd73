/* Potential sub-step with hoisted pair-phase products.

   Psi is stored row-major with particle 0's axes outermost. Looping over particles in that order,
   the phase factor of a point is a product over pairs; the factors of pairs whose particles are
   both fixed by outer loops are a scalar, and the factors coupling a fixed particle l to a later
   particle n are collected in a vector A[n] over n's one-particle grid. Updating those vectors
   costs O(M^d) per outer index, so the whole step costs about one pass over Psi for any N.
   V depends only on the index difference (periodic grid, minimum image), so one table on the
   doubled difference grid serves every pair: row j of the pair matrix is a shifted view. */
#include <qrbm/potential.h>
#include <math.h>
#include <omp.h>
#include <string.h>

static double MinImage(double r, double L) { return r - L * floor(r / L + 0.5); }

double QrbmPotentialPair(const QrbmConfig *cfg, const double *r)
{
  const QrbmPairParams p = QrbmConfigPairParams(cfg);
  return QrbmPairPotentialValue(cfg->potential, &p, r);
}

void QrbmPotentialPairGradient(const QrbmConfig *cfg, const double *r, double *grad)
{
  const QrbmPairParams p = QrbmConfigPairParams(cfg);
  QrbmPairPotentialGradient(cfg->potential, &p, r, grad);
}

void QrbmPairWeightsExact(PetscInt N, QrbmPairWeights *W)
{
  memset(W, 0, sizeof(*W));
  W->N = N;
  for (PetscInt l = 0; l < N; l++)
    for (PetscInt n = l + 1; n < N; n++) W->w[l * N + n] = 1.0 / (N - 1);
}

PetscErrorCode QrbmPotentialCreate(const QrbmGrid *g, const QrbmConfig *cfg, int ntables, QrbmPotential *pot)
{
  PetscFunctionBeginUser;
  memset(pot, 0, sizeof(*pot));
  pot->maxcache = ntables;
  PetscCall(PetscCalloc1(PetscMax(ntables, 1), &pot->cache));
  pot->g = g; pot->hbar = cfg->hbar; pot->nthreads = (int)cfg->threads;
  pot->n2 = 1;
  for (int c = 0; c < 3; c++) {
    pot->e[c] = c >= 3 - g->d ? g->M : 1; /* padding first: the innermost loop runs over M points */
    pot->n2 *= 2 * pot->e[c];
  }
  PetscCall(PetscMalloc2(pot->n2, &pot->V2, g->Md, &pot->U));
  for (ptrdiff_t u = 0; u < pot->n2; u++) {
    double    r[3] = {0, 0, 0};
    ptrdiff_t rest = u;
    for (int c = 2; c >= 0; c--) {
      const ptrdiff_t uc = rest % (2 * pot->e[c]);
      rest /= 2 * pot->e[c];
      if (c >= 3 - g->d) r[c - (3 - g->d)] = MinImage((double)(uc - pot->e[c]) * g->h, g->L);
    }
    pot->V2[u] = QrbmPotentialPair(cfg, r);
  }
  for (ptrdiff_t j = 0; j < g->Md; j++) {
    double    x2 = 0;
    ptrdiff_t rest = j;
    for (PetscInt c = 0; c < g->d; c++, rest /= g->M) x2 += g->x[rest % g->M] * g->x[rest % g->M];
    pot->U[j] = 0.5 * cfg->trap_omega * cfg->trap_omega * x2;
  }
  PetscCall(PetscMalloc1((size_t)pot->nthreads * g->N * g->N * g->Md, &pot->scratch));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmPotentialDestroy(QrbmPotential *pot)
{
  PetscFunctionBeginUser;
  for (int i = 0; i < pot->ncache; i++) PetscCall(PetscFree(pot->cache[i].tab));
  PetscCall(PetscFree(pot->cache));
  PetscCall(PetscFree2(pot->V2, pot->U));
  PetscCall(PetscFree(pot->scratch));
  if (pot->dV2) PetscCall(PetscFree4(pot->dV2, pot->S2, pot->C2, pot->dU));
  PetscCall(PetscFree(pot->fg_phase));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Phase tables for (z, w, gamma): the pair table on the doubled grid followed by the trap table.
   gamma != 0 (force-gradient stage, docs/numerics.md): exponent z/hbar (w V + gamma (2 w^2 |V'|^2
   + 2 w omega^2 D.V')) for a pair at raw difference D, z/hbar (U + gamma |U'|^2) for the trap:
   the whole modified potential when every particle has at most one partner. */
static PetscErrorCode GetTable(QrbmPotential *pot, qcomplex z, double w, double gamma, const qcomplex **tab)
{
  const qcomplex zh = z / pot->hbar;
  PetscFunctionBeginUser;
  for (int i = 0; i < pot->ncache; i++)
    if (pot->cache[i].z == z && pot->cache[i].w == w && pot->cache[i].gamma == gamma) { *tab = pot->cache[i].tab; PetscFunctionReturn(PETSC_SUCCESS); }
  PetscCheck(pot->ncache < pot->maxcache, PETSC_COMM_SELF, PETSC_ERR_PLIB, "phase table cache full (%d tables): QrbmPropagatorPhaseTables undercounts the tables this run uses", pot->maxcache);
  PetscCheck(gamma == 0 || pot->dV2, PETSC_COMM_SELF, PETSC_ERR_PLIB, "force-gradient stage without QrbmPotentialSetUpGradient");
  qcomplex *t;
  PetscCall(PetscMalloc1(pot->n2 + pot->g->Md, &t));
  if (gamma == 0) {
    for (ptrdiff_t u = 0; u < pot->n2; u++) t[u] = cexp(z / pot->hbar * w * pot->V2[u]);
    for (ptrdiff_t j = 0; j < pot->g->Md; j++) t[pot->n2 + j] = cexp(z / pot->hbar * pot->U[j]);
  } else {
    for (ptrdiff_t u = 0; u < pot->n2; u++) t[u] = cexp(zh * (w * pot->V2[u] + gamma * 2 * w * (w * pot->S2[u] + pot->C2[u])));
    for (ptrdiff_t j = 0; j < pot->g->Md; j++) t[pot->n2 + j] = cexp(zh * (pot->U[j] + gamma * 2 * pot->omega2 * pot->U[j]));
  }
  pot->cache[pot->ncache].z = z; pot->cache[pot->ncache].w = w; pot->cache[pot->ncache].gamma = gamma; pot->cache[pot->ncache].tab = t;
  *tab = pot->cache[pot->ncache++].tab;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Offset into a doubled-grid table such that off[a' * 2e1 * 2e2 + b' * 2e2 + c'] is the entry of
   the separation between one-particle points jg and (a', b', c'). */
static ptrdiff_t ShiftOffset(const ptrdiff_t *e, ptrdiff_t jg)
{
  const ptrdiff_t a = jg / (e[1] * e[2]), b = (jg / e[2]) % e[1], c = jg % e[2];
  return ((e[0] - a) * 2 * e[1] + (e[1] - b)) * 2 * e[2] + (e[2] - c);
}

#define FOR_SHIFTED(e, j, t_row, BODY) \
  for (ptrdiff_t ap = 0, j = 0; ap < e[0]; ap++) \
    for (ptrdiff_t bp = 0; bp < e[1]; bp++) { \
      const ptrdiff_t t_row = (ap * 2 * e[1] + bp) * 2 * e[2]; \
      for (ptrdiff_t cp = 0; cp < e[2]; cp++, j++) BODY \
    }

typedef QrbmPotentialPhase PhaseCtx;

/* Last particle: one fused pass multiplying by the scalar, the collected vector and the pair
   factor with particle N-2 (fixed at jprev). */
/* psi[j] *= s A[j] T[j] over one contiguous row, in real arithmetic so that the compiler
   vectorises it (it does not vectorise double complex products): this loop is the whole cost of the
   potential step. */
static inline void MulRow(ptrdiff_t n, qcomplex s, const qcomplex *restrict A, const qcomplex *restrict T, qcomplex *restrict psi)
{
  const double *a = (const double *)A, *t = (const double *)T, sr = creal(s), si = cimag(s);
  double       *p = (double *)psi;
#pragma omp simd
  for (ptrdiff_t j = 0; j < n; j++) {
    const double ar = sr * a[2 * j] - si * a[2 * j + 1], ai = sr * a[2 * j + 1] + si * a[2 * j];
    const double wr = ar * t[2 * j] - ai * t[2 * j + 1], wi = ar * t[2 * j + 1] + ai * t[2 * j];
    const double pr = p[2 * j], pi = p[2 * j + 1];
    p[2 * j]     = pr * wr - pi * wi;
    p[2 * j + 1] = pr * wi + pi * wr;
  }
}

static void PhaseInner(const PhaseCtx *c, ptrdiff_t jprev, qcomplex s, const qcomplex *A, qcomplex *psi)
{
  const ptrdiff_t *e = c->pot->e;
  const qcomplex  *t = c->pair[(c->N - 2) * c->N + c->N - 1];
  if (t) {
    const qcomplex *tt = t + ShiftOffset(e, jprev);
    for (ptrdiff_t ap = 0, j = 0; ap < e[0]; ap++)
      for (ptrdiff_t bp = 0; bp < e[1]; bp++, j += e[2]) MulRow(e[2], s, A + j, tt + (ap * 2 * e[1] + bp) * 2 * e[2], psi + j);
  } else
    for (ptrdiff_t j = 0; j < c->Md; j++) psi[j] *= s * A[j];
}

/* Particle m fixed at jg; vec[n] (n >= m) holds the factors of particle n collected so far. */
static void PhaseRecurse(const PhaseCtx *c, int m, ptrdiff_t jg, qcomplex s, const qcomplex *const *vec, qcomplex *scratch, qcomplex *psi)
{
  const PetscInt   N = c->N;
  const ptrdiff_t *e = c->pot->e;
  const qcomplex  *next[QRBM_MAX_PARTICLES];
  s *= vec[m][jg];
  if (m == N - 2) {
    PhaseInner(c, jg, s, vec[N - 1], psi);
    return;
  }
  for (PetscInt n = m + 1; n < N; n++) {
    const qcomplex *t = c->pair[m * N + n];
    next[n]           = vec[n];
    if (!t) continue;
    qcomplex       *out = scratch + n * c->Md;
    const qcomplex *tt = t + ShiftOffset(e, jg), *in = vec[n];
    FOR_SHIFTED(e, j, row, { out[j] = in[j] * tt[row + cp]; })
    next[n] = out;
  }
  for (ptrdiff_t j = 0; j < c->Md; j++) PhaseRecurse(c, m + 1, j, s, next, scratch + N * c->Md, psi + j * c->stride[m + 1]);
}

static PetscErrorCode PhaseCtxSetUp(QrbmPotential *pot, const QrbmPairWeights *W, qcomplex z, double gamma, PhaseCtx *c)
{
  const QrbmGrid *g = pot->g;
  const qcomplex *tab;
  PetscFunctionBeginUser;
  memset(c, 0, sizeof(*c));
  c->pot = pot; c->N = g->N; c->Md = g->Md;
  c->stride[g->N - 1] = 1;
  for (PetscInt m = g->N - 2; m >= 0; m--) c->stride[m] = c->stride[m + 1] * g->Md;
  PetscCall(GetTable(pot, z, 0.0, gamma, &c->trap));
  c->trap += pot->n2;
  for (PetscInt l = 0; l < g->N; l++)
    for (PetscInt n = l + 1; n < g->N; n++) {
      if (W->w[l * g->N + n] == 0 || pot->g->N < 2) continue;
      PetscCall(GetTable(pot, z, W->w[l * g->N + n], gamma, &tab));
      c->pair[l * g->N + n] = tab;
    }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode ApplyHoisted(QrbmPotential *pot, const QrbmPairWeights *W, qcomplex z, double gamma, qcomplex *psi)
{
  const QrbmGrid *g = pot->g;
  const ptrdiff_t rows = g->xlay.n[0] * (g->Md / g->M), first = g->xlay.start * (g->Md / g->M);
  PhaseCtx        c;
  const qcomplex *trap;
  PetscFunctionBeginUser;
  PetscCall(PhaseCtxSetUp(pot, W, z, gamma, &c));
  trap = c.trap;
  if (g->N == 1) {
#pragma omp parallel for schedule(static) num_threads(pot->nthreads)
    for (ptrdiff_t j = 0; j < rows; j++) psi[j] *= trap[first + j];
    PetscFunctionReturn(PETSC_SUCCESS);
  }
#pragma omp parallel num_threads(pot->nthreads)
  {
    const qcomplex *vec[QRBM_MAX_PARTICLES];
    qcomplex       *scratch = pot->scratch + (size_t)omp_get_thread_num() * g->N * g->N * g->Md;
    for (PetscInt n = 0; n < g->N; n++) vec[n] = trap;
#pragma omp for schedule(static)
    for (ptrdiff_t j = 0; j < rows; j++) PhaseRecurse(&c, 0, first + j, 1.0, vec, scratch, psi + j * c.stride[0]);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmPotentialPhaseSetUp(QrbmPotential *pot, const QrbmPairWeights *W, qcomplex z, QrbmPotentialPhase *ph)
{
  PetscFunctionBeginUser;
  PetscCall(PhaseCtxSetUp(pot, W, z, 0.0, ph));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The rows of particle 0 whose first coordinate is x0 (one rank: global = local index). */
void QrbmPotentialPhaseSlab(const QrbmPotentialPhase *c, ptrdiff_t x0, qcomplex *slab)
{
  const QrbmGrid  *g   = c->pot->g;
  const ptrdiff_t  per = g->Md / g->M, first = x0 * per;
  const qcomplex  *vec[QRBM_MAX_PARTICLES];
  qcomplex        *scratch = c->pot->scratch + (size_t)omp_get_thread_num() * g->N * g->N * g->Md;
  if (g->N == 1) {
    for (ptrdiff_t j = 0; j < per; j++) slab[j] *= c->trap[first + j];
    return;
  }
  for (PetscInt n = 0; n < g->N; n++) vec[n] = c->trap;
  for (ptrdiff_t j = 0; j < per; j++) PhaseRecurse(c, 0, first + j, 1.0, vec, scratch, slab + j * c->stride[0]);
}

PetscErrorCode QrbmPotentialApply(QrbmPotential *pot, const QrbmPairWeights *W, qcomplex z, qcomplex *psi)
{
  PetscFunctionBeginUser;
  PetscCall(ApplyHoisted(pot, W, z, 0.0, psi));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Interaction energy: the same loop structure as the phase step, with sums of w V in place of
   products of phases, accumulating |psi|^2 times the pair sum. */
typedef struct {
  const QrbmPotential   *pot;
  const QrbmPairWeights *W;
  PetscInt               N;
  ptrdiff_t              Md, stride[QRBM_MAX_PARTICLES];
} EnergyCtx;

static long double EnergyRecurse(const EnergyCtx *c, int m, ptrdiff_t jg, double s, const double *const *vec, double *scratch, const qcomplex *psi)
{
  const PetscInt   N = c->N;
  const ptrdiff_t *e = c->pot->e;
  const double    *next[QRBM_MAX_PARTICLES];
  long double      acc = 0;
  s += vec[m][jg];
  for (PetscInt n = m + 1; n < N; n++) {
    const double w = c->W->w[m * N + n];
    next[n]        = vec[n];
    if (w == 0) continue;
    double       *out = scratch + n * c->Md;
    const double *tt = c->pot->V2 + ShiftOffset(e, jg), *in = vec[n];
    FOR_SHIFTED(e, j, row, { out[j] = in[j] + w * tt[row + cp]; })
    next[n] = out;
  }
  if (m == N - 2) {
    const double *A = next[N - 1];
    for (ptrdiff_t j = 0; j < c->Md; j++) acc += (long double)(creal(psi[j]) * creal(psi[j]) + cimag(psi[j]) * cimag(psi[j])) * (s + A[j]);
    return acc;
  }
  for (ptrdiff_t j = 0; j < c->Md; j++) acc += EnergyRecurse(c, m + 1, j, s, next, scratch + N * c->Md, psi + j * c->stride[m + 1]);
  return acc;
}

PetscErrorCode QrbmPotentialEnergyLocal(QrbmPotential *pot, const QrbmPairWeights *W, const qcomplex *psi, long double *e_int)
{
  const QrbmGrid *g = pot->g;
  const ptrdiff_t rows = g->xlay.n[0] * (g->Md / g->M), first = g->xlay.start * (g->Md / g->M);
  EnergyCtx       c = {pot, W, g->N, g->Md, {0}};
  double         *zero;
  long double     acc = 0;
  PetscFunctionBeginUser;
  *e_int = 0;
  if (g->N < 2) PetscFunctionReturn(PETSC_SUCCESS);
  c.stride[g->N - 1] = 1;
  for (PetscInt m = g->N - 2; m >= 0; m--) c.stride[m] = c.stride[m + 1] * g->Md;
  PetscCall(PetscCalloc1(g->Md, &zero));
  double *scratch;
  PetscCall(PetscMalloc1((size_t)pot->nthreads * g->N * g->N * g->Md, &scratch));
#pragma omp parallel reduction(+ : acc) num_threads(pot->nthreads)
  {
    const double *vec[QRBM_MAX_PARTICLES];
    double       *mine = scratch + (size_t)omp_get_thread_num() * g->N * g->N * g->Md;
    for (PetscInt n = 0; n < g->N; n++) vec[n] = zero;
#pragma omp for schedule(static)
    for (ptrdiff_t j = 0; j < rows; j++) acc += EnergyRecurse(&c, 0, first + j, 0.0, vec, mine, psi + j * c.stride[0]);
  }
  *e_int = acc * powl((long double)g->h, (long double)g->D);
  PetscCall(PetscFree(zero));
  PetscCall(PetscFree(scratch));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* ---- Force-gradient stages: psi *= exp(z/hbar (Phi + gamma |grad Phi|^2)) ----
   grad_m Phi = U'(x_m) + sum_n w_mn V'(x_m - x_n). Expanding |grad Phi|^2 = sum_m |grad_m Phi|^2
   gives one-body terms |U'|^2, pair terms 2 w^2 |V'|^2 + 2 w (U'(x_n) - U'(x_l)).V'(x_n - x_l)
   (with U' = omega^2 x the difference is omega^2 times the raw coordinate difference, a function
   of the doubled-grid index like V), and, when a particle has two or more partners, three-body
   terms 2 w_ml w_mn V'(x_m - x_l).V'(x_m - x_n). Without three-body terms the hoisted phase step
   runs on modified tables (one pass); with them the exponent is evaluated per point. */

/* Table position of one-particle point j in a shifted doubled-grid view (see ShiftOffset). */
static ptrdiff_t TablePos(const ptrdiff_t *e, ptrdiff_t j)
{
  const ptrdiff_t a = j / (e[1] * e[2]), b = (j / e[2]) % e[1], c = j % e[2];
  return (a * 2 * e[1] + b) * 2 * e[2] + c;
}

double QrbmPotentialGradientBytes(const QrbmGrid *g)
{
  return 8.0 * ((g->d + 2) * pow(2.0 * g->M, (double)g->d) + g->d * (double)g->Md);
}

PetscErrorCode QrbmPotentialSetUpGradient(QrbmPotential *pot, const QrbmConfig *cfg, PetscBool cache)
{
  const QrbmGrid *g = pot->g;
  const int       d = (int)g->d, off = 3 - d;
  PetscFunctionBeginUser;
  if (pot->dV2) PetscFunctionReturn(PETSC_SUCCESS);
  pot->omega2   = cfg->trap_omega * cfg->trap_omega;
  pot->fg_cache = cache;
  PetscCall(PetscMalloc4(d * pot->n2, &pot->dV2, pot->n2, &pot->S2, pot->n2, &pot->C2, d * g->Md, &pot->dU));
  for (ptrdiff_t u = 0; u < pot->n2; u++) {
    double    r[3] = {0, 0, 0}, D[3] = {0, 0, 0}, grad[3] = {0, 0, 0};
    PetscBool half[3] = {PETSC_FALSE, PETSC_FALSE, PETSC_FALSE};
    ptrdiff_t rest = u;
    for (int c = 2; c >= 0; c--) {
      const ptrdiff_t k = rest % (2 * pot->e[c]) - pot->e[c];
      rest /= 2 * pot->e[c];
      if (c < off) continue;
      D[c - off]    = (double)k * g->h;
      r[c - off]    = MinImage(D[c - off], g->L);
      half[c - off] = 2 * PetscAbsInt((PetscInt)k) == g->M ? PETSC_TRUE : PETSC_FALSE;
    }
    QrbmPotentialPairGradient(cfg, r, grad);
    pot->S2[u] = pot->C2[u] = 0;
    for (int a = 0; a < d; a++) {
      if (half[a]) grad[a] = 0; /* half a box apart: +-L/2 are one point, V' must stay odd */
      pot->dV2[a * pot->n2 + u] = grad[a];
      pot->S2[u] += grad[a] * grad[a];
      pot->C2[u] += pot->omega2 * D[a] * grad[a];
    }
  }
  for (ptrdiff_t j = 0; j < g->Md; j++) {
    ptrdiff_t rest = j;
    for (int a = d - 1; a >= 0; a--, rest /= g->M) pot->dU[a * g->Md + j] = pot->omega2 * g->x[rest % g->M];
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

typedef struct {
  const QrbmPotential   *pot;
  const QrbmPairWeights *W;
  double                 gamma;
} GradCtx;

/* Exponent Phi + gamma |grad Phi|^2 over the last particle's grid, the other particles fixed at
   jf[0..N-2]. ex and G have Md entries, gl d Md. */
static void GradRow(const GradCtx *c, const ptrdiff_t *jf, double *ex, double *G, double *gl)
{
  const QrbmPotential *pot = c->pot;
  const PetscInt       N = pot->g->N, last = N - 1, d = pot->g->d;
  const ptrdiff_t     *e = pot->e, Md = pot->g->Md, n2 = pot->n2;
  const double        *w = c->W->w;
  double               gf[QRBM_MAX_PARTICLES][QRBM_MAX_DIM], phi = 0, gconst = 0;
  for (PetscInt m = 0; m < last; m++) {
    phi += pot->U[jf[m]];
    for (PetscInt a = 0; a < d; a++) gf[m][a] = pot->dU[a * Md + jf[m]];
  }
  for (PetscInt l = 0; l < last; l++)
    for (PetscInt n = l + 1; n < last; n++) {
      const ptrdiff_t u = ShiftOffset(e, jf[l]) + TablePos(e, jf[n]);
      if (w[l * N + n] == 0) continue;
      phi += w[l * N + n] * pot->V2[u];
      for (PetscInt a = 0; a < d; a++) {
        gf[n][a] += w[l * N + n] * pot->dV2[a * n2 + u];
        gf[l][a] -= w[l * N + n] * pot->dV2[a * n2 + u];
      }
    }
  for (ptrdiff_t j = 0; j < Md; j++) {
    ex[j] = phi + pot->U[j];
    G[j]  = 0;
  }
  for (PetscInt a = 0; a < d; a++)
    for (ptrdiff_t j = 0; j < Md; j++) gl[a * Md + j] = pot->dU[a * Md + j];
  for (PetscInt m = 0; m < last; m++) {
    const double wm = w[m * N + last];
    if (wm == 0) {
      for (PetscInt a = 0; a < d; a++) gconst += gf[m][a] * gf[m][a];
      continue;
    }
    const ptrdiff_t o = ShiftOffset(e, jf[m]);
    FOR_SHIFTED(e, j, row, { ex[j] += wm * pot->V2[o + row + cp]; })
    for (PetscInt a = 0; a < d; a++) {
      const double *dv = pot->dV2 + a * n2 + o, gm = gf[m][a];
      double       *gla = gl + a * Md;
      FOR_SHIFTED(e, j, row, {
        const double v = wm * dv[row + cp];
        const double t = gm - v;
        gla[j] += v;
        G[j] += t * t;
      })
    }
  }
  for (PetscInt a = 0; a < d; a++)
    for (ptrdiff_t j = 0; j < Md; j++) G[j] += gl[a * Md + j] * gl[a * Md + j];
  for (ptrdiff_t j = 0; j < Md; j++) ex[j] += c->gamma * (G[j] + gconst);
}

/* Per-point path: out[j] = exp(z/hbar ex[j]) (store) or psi[j] *= that (out == psi, mul). */
static PetscErrorCode ApplyPointwise(QrbmPotential *pot, const QrbmPairWeights *W, qcomplex z, double gamma, qcomplex *out, PetscBool mul)
{
  const QrbmGrid *g = pot->g;
  const PetscInt  N = g->N;
  const ptrdiff_t Md = g->Md, rows = g->xlay.n[0] * (Md / g->M), first = g->xlay.start * (Md / g->M);
  ptrdiff_t       inner = 1; /* outer index combinations per local row of particle 0 */
  const GradCtx   c  = {pot, W, gamma};
  const qcomplex  zh = z / pot->hbar;
  double         *buf;
  PetscFunctionBeginUser;
  for (PetscInt m = 1; m < N - 1; m++) inner *= Md;
  PetscCall(PetscMalloc1((size_t)pot->nthreads * (2 + g->d) * Md, &buf));
#pragma omp parallel num_threads(pot->nthreads)
  {
    double *ex = buf + (size_t)omp_get_thread_num() * (2 + g->d) * Md, *G = ex + Md, *gl = G + Md;
#pragma omp for schedule(static)
    for (ptrdiff_t q = 0; q < rows * inner; q++) {
      ptrdiff_t jf[QRBM_MAX_PARTICLES], rest = q;
      qcomplex *o = out + q * Md;
      for (PetscInt m = N - 2; m >= 1; m--, rest /= Md) jf[m] = rest % Md;
      jf[0] = first + rest;
      GradRow(&c, jf, ex, G, gl);
      if (mul)
        for (ptrdiff_t j = 0; j < Md; j++) o[j] *= cexp(zh * ex[j]);
      else
        for (ptrdiff_t j = 0; j < Md; j++) o[j] = cexp(zh * ex[j]);
    }
  }
  PetscCall(PetscFree(buf));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscBool HasThreeBody(const QrbmPairWeights *W)
{
  for (PetscInt m = 0; m < W->N; m++) {
    PetscInt partners = 0;
    for (PetscInt n = 0; n < W->N; n++)
      if (n != m && W->w[PetscMin(m, n) * W->N + PetscMax(m, n)] != 0) partners++;
    if (partners > 1) return PETSC_TRUE;
  }
  return PETSC_FALSE;
}

PetscErrorCode QrbmPotentialApplyGradient(QrbmPotential *pot, const QrbmPairWeights *W, qcomplex z, double gamma, qcomplex *psi)
{
  const QrbmGrid *g = pot->g;
  ptrdiff_t       n = g->xlay.n[0] * (g->Md / g->M); /* local points */
  PetscFunctionBeginUser;
  for (PetscInt m = 1; m < g->N; m++) n *= g->Md;
  if (gamma == 0 || g->N < 3 || !HasThreeBody(W)) {
    PetscCall(ApplyHoisted(pot, W, z, gamma, psi));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  if (!pot->fg_cache) {
    PetscCall(ApplyPointwise(pot, W, z, gamma, psi, PETSC_TRUE));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  if (!pot->fg_phase) PetscCall(PetscMalloc1(PetscMax(n, 1), &pot->fg_phase));
  if (!pot->fg_valid || pot->fg_z != z || pot->fg_gamma != gamma || memcmp(pot->fg_W.w, W->w, sizeof(W->w))) {
    PetscCall(ApplyPointwise(pot, W, z, gamma, pot->fg_phase, PETSC_FALSE));
    pot->fg_valid = PETSC_TRUE; pot->fg_z = z; pot->fg_gamma = gamma; pot->fg_W = *W;
  }
#pragma omp parallel for schedule(static) num_threads(pot->nthreads)
  for (ptrdiff_t j = 0; j < n; j++) psi[j] *= pot->fg_phase[j];
  PetscFunctionReturn(PETSC_SUCCESS);
}
