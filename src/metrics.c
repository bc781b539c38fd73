/* Distances between reduced density matrices, the theorem's constants and bound, jackknife
   standard errors, and the error table (definitions and normalisations: docs/errors.md). */
#include <qrbm/metrics.h>
#include <qrbm/events.h>
#include <qrbm/potential.h>
#include <qrbm/rdm.h>
#include <qrbm/wigner.h>
#include <fftw3.h>
#include <math.h>
#include <stddef.h>

const char *const QrbmErrorObservables[QRBM_ERROR_NOBS] = {"x2", "p2", "energy"};

/* The fields of QrbmRdmDistance by name; `se`: has a standard error. */
typedef struct {
  const char *name;
  size_t      off;
  PetscBool   se;
} DistField;
static const DistField dist_fields[] = {
  {"trace", offsetof(QrbmRdmDistance, trace), PETSC_TRUE},
  {"hs", offsetof(QrbmRdmDistance, hs), PETSC_TRUE},
  {"weak", offsetof(QrbmRdmDistance, weak), PETSC_TRUE},
  {"weak_k", offsetof(QrbmRdmDistance, weak_k), PETSC_FALSE},
  {"weak_omega", offsetof(QrbmRdmDistance, weak_omega), PETSC_FALSE},
  {"sobolev", offsetof(QrbmRdmDistance, sobolev), PETSC_TRUE},
};
#define NDIST ((int)(sizeof(dist_fields) / sizeof(dist_fields[0])))
static double *DistRef(QrbmRdmDistance *d, int f) { return (double *)((char *)d + dist_fields[f].off); }
static double  DistValue(const QrbmRdmDistance *d, int f) { return *(const double *)((const char *)d + dist_fields[f].off); }

/* C(k, omega) = max over 0 < a + b, a, b <= K of |k|^a |omega|^b: the largest derivative bound of
   exp(i (k x + omega xi)) among those the dual norm constrains. */
static double SymbolScale(double k, double w, PetscInt K)
{
  double c = 0, pk = 1;
  for (PetscInt a = 0; a <= K; a++, pk *= k) {
    double pw = 1;
    for (PetscInt b = 0; b <= K; b++, pw *= w)
      if (a + b > 0) c = PetscMax(c, pk * pw);
  }
  return c;
}

/* Planned once per grid: the Wigner transform of a difference and the 2-D transform of the weak
   norms, with their work arrays. */
struct _n_QrbmRdmMetric {
  const QrbmGrid *g;
  double          hbar;
  QrbmWigner      wigner;
  qcomplex       *D, *F, *mean;
  double         *eig, *W;
  fftw_plan       weak;
};

PetscErrorCode QrbmRdmMetricCreate(const QrbmGrid *g, double hbar, QrbmRdmMetric *m)
{
  const ptrdiff_t Md = g->Md, M2 = 2 * g->M;
  QrbmRdmMetric   t;
  PetscFunctionBeginUser;
  PetscCall(PetscNew(&t));
  t->g = g; t->hbar = hbar;
  PetscCall(PetscMalloc3(Md * Md, &t->D, Md, &t->eig, M2 * M2, &t->W));
  PetscCall(PetscMalloc2(M2 * M2, &t->F, Md * Md, &t->mean));
  PetscCall(QrbmWignerCreate(g, hbar, &t->wigner));
  PetscCall(PetscLogEventBegin(QRBM_EVENT_PLAN, 0, 0, 0, 0));
  QrbmCallFFTW(t->weak, fftw_plan_dft_2d((int)M2, (int)M2, t->F, t->F, FFTW_FORWARD, FFTW_ESTIMATE));
  PetscCall(PetscLogEventEnd(QRBM_EVENT_PLAN, 0, 0, 0, 0));
  *m = t;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmRdmMetricDestroy(QrbmRdmMetric *m)
{
  PetscFunctionBeginUser;
  if (!*m) PetscFunctionReturn(PETSC_SUCCESS);
  fftw_destroy_plan((*m)->weak);
  PetscCall(QrbmWignerDestroy(&(*m)->wigner));
  PetscCall(PetscFree3((*m)->D, (*m)->eig, (*m)->W));
  PetscCall(PetscFree2((*m)->F, (*m)->mean));
  PetscCall(PetscFree(*m));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Weak lower bound and H^-K norm of dW = m->W on the Wigner grid (2M x 2M, spacings dx = h/2,
   dxi = pi hbar / L, periods L and Xi = 2M dxi). With F the 2-D DFT of dW,
   |int dW exp(i (k x + omega xi)) dx dxi| = dx dxi |F[j][l]| at k = 2 pi j / L, omega = 2 pi l / Xi,
   j, l in [-M, M). */
static void WeakNorms(QrbmRdmMetric m, QrbmRdmDistance *dist)
{
  const QrbmGrid *g = m->g;
  const ptrdiff_t M = g->M, M2 = 2 * M;
  const PetscInt  K  = QRBM_WEAK_ORDER(g->d);
  const double    dx = 0.5 * g->h, dxi = PETSC_PI * m->hbar / g->L, dk = 2 * PETSC_PI / g->L, dw = 2 * PETSC_PI / (M2 * dxi);
  double          sob = 0;
  qcomplex       *F   = m->F;
  for (ptrdiff_t i = 0; i < M2 * M2; i++) F[i] = m->W[i];
  fftw_execute(m->weak);
  dist->weak = dist->weak_k = dist->weak_omega = 0;
  for (ptrdiff_t j = 0; j < M2; j++)
    for (ptrdiff_t l = 0; l < M2; l++) {
      const double k = (double)(j < M ? j : j - M2) * dk, w = (double)(l < M ? l : l - M2) * dw;
      const double a = dx * dxi * cabs(F[j * M2 + l]);
      sob += a * a * pow(1 + k * k + w * w, -(double)K);
      if (j == 0 && l == 0) continue; /* constants are not constrained by the norm */
      const double r = a / SymbolScale(fabs(k), fabs(w), K);
      if (r > dist->weak) { dist->weak = r; dist->weak_k = k; dist->weak_omega = w; }
    }
  dist->sobolev = sqrt(sob * dk * dw / (4 * PETSC_PI * PETSC_PI));
}

PetscErrorCode QrbmRdmMetricApply(QrbmRdmMetric m, const qcomplex *A, const qcomplex *B, QrbmRdmDistance *dist)
{
  const ptrdiff_t Md = m->g->Md;
  qcomplex       *D  = m->D;
  double          hs2 = 0;
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(QRBM_EVENT_DISTANCE, 0, 0, 0, 0));
  for (ptrdiff_t i = 0; i < Md * Md; i++) {
    D[i] = A[i] - B[i];
    hs2 += creal(D[i]) * creal(D[i]) + cimag(D[i]) * cimag(D[i]);
  }
  dist->hs = sqrt(hs2);
  PetscCall(QrbmRdmSpectrum((PetscInt)Md, D, m->eig, NULL, NULL));
  dist->trace = 0;
  for (ptrdiff_t i = 0; i < Md; i++) dist->trace += fabs(m->eig[i]);
  PetscCall(QrbmWignerApply(m->wigner, D, m->W)); /* W_A - W_B: the transform is linear */
  WeakNorms(m, dist);
  PetscCall(PetscLogEventEnd(QRBM_EVENT_DISTANCE, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* out = sum_{b != skip} counts[b] means[b] / sum_{b != skip} counts[b] (skip = -1: all groups). */
static void PooledMean(PetscInt K, ptrdiff_t n2, const qcomplex *means, const double *counts, PetscInt skip, qcomplex *out)
{
  double total = 0;
  for (ptrdiff_t i = 0; i < n2; i++) out[i] = 0;
  for (PetscInt b = 0; b < K; b++) {
    if (b == skip) continue;
    total += counts[b];
    for (ptrdiff_t i = 0; i < n2; i++) out[i] += counts[b] * means[b * n2 + i];
  }
  for (ptrdiff_t i = 0; i < n2; i++) out[i] /= total;
}

PetscErrorCode QrbmRdmMetricJackknife(QrbmRdmMetric m, PetscInt K, const qcomplex *batch_means, const double *counts, const qcomplex *B, QrbmRdmDistance *mean_dist, QrbmRdmDistance *err)
{
  const ptrdiff_t  n2 = m->g->Md * m->g->Md;
  QrbmRdmDistance *loo, avg = {0};
  PetscFunctionBeginUser;
  PetscCheck(K >= 2, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "jackknife: %" PetscInt_FMT " realisation groups, at least 2 needed", K);
  for (PetscInt b = 0; b < K; b++)
    PetscCheck(counts[b] > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "jackknife: realisation group %" PetscInt_FMT " of %" PetscInt_FMT " is empty (fewer realisations than groups)", b, K);
  PetscCall(PetscMalloc1(K, &loo));
  PooledMean(K, n2, batch_means, counts, -1, m->mean);
  PetscCall(QrbmRdmMetricApply(m, m->mean, B, mean_dist));
  for (PetscInt b = 0; b < K; b++) {
    PooledMean(K, n2, batch_means, counts, b, m->mean);
    PetscCall(QrbmRdmMetricApply(m, m->mean, B, &loo[b]));
    for (int f = 0; f < NDIST; f++) *DistRef(&avg, f) += DistValue(&loo[b], f) / K;
  }
  PetscCall(PetscMemzero(err, sizeof(*err)));
  for (int f = 0; f < NDIST; f++) {
    double ss = 0;
    if (!dist_fields[f].se) continue;
    for (PetscInt b = 0; b < K; b++) ss += PetscSqr(DistValue(&loo[b], f) - DistValue(&avg, f));
    *DistRef(err, f) = sqrt((K - 1.0) / K * ss);
  }
  PetscCall(PetscFree(loo));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Enlargement F of the box (power of two, at most 8) so that the (2 M F)^d samples at spacing h/2
   stay below 2^22 points (at least F = 1). */
static PetscInt BoxFactor(const QrbmGrid *g)
{
  PetscInt F = 8;
  while (F > 1 && pow(2.0 * g->M * F, (double)g->d) > 0x1p22) F /= 2;
  return F;
}

/* Lambda and L as sums over the r2c half spectrum c (d axes of Mf points, the last one halved) of
   the coefficients |c| / Mf^d; c(-omega) = conj c(omega), so the half spectrum counts twice except
   its first and last planes. */
static void SpectralSums(PetscInt d, ptrdiff_t Mf, double dw, ptrdiff_t nout, const qcomplex *c, double *Lambda, double *Lip)
{
  const ptrdiff_t half = Mf / 2 + 1;
  const double    nin  = pow((double)Mf, (double)d);
  *Lambda = *Lip = 0;
  for (ptrdiff_t i = 0; i < nout; i++) {
    const ptrdiff_t jl = i % half;
    const double    wt = (jl == 0 || 2 * jl == Mf ? 1.0 : 2.0) * cabs(c[i]) / nin;
    double          w = (double)jl * dw, s1 = fabs(w), s2 = w * w;
    for (ptrdiff_t a = 0, rest = i / half; a < d - 1; a++, rest /= Mf) {
      const ptrdiff_t j = rest % Mf;
      w = (double)(j < Mf / 2 ? j : j - Mf) * dw;
      s1 += fabs(w);
      s2 += w * w;
    }
    *Lambda += wt * s1;
    *Lip += wt * s2;
  }
}

PetscErrorCode QrbmPotentialConstants(const QrbmConfig *cfg, const QrbmGrid *g, double *Lambda, double *Lip)
{
  const PetscInt  d = g->d, F = BoxFactor(g);
  const ptrdiff_t Mf = 2 * g->M * F;
  const double    hf = 0.5 * g->h;
  const int       n[3] = {(int)Mf, (int)Mf, (int)Mf};
  ptrdiff_t       nin = 1, nout;
  double         *V;
  qcomplex       *c;
  fftw_plan       plan;
  PetscFunctionBeginUser;
  PetscCheck(cfg->dim == d, PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP, "potential constants: -dim %" PetscInt_FMT " but the grid has d = %" PetscInt_FMT, cfg->dim, d);
  for (PetscInt a = 0; a < d; a++) nin *= Mf;
  nout = nin / Mf * (Mf / 2 + 1);
  PetscCall(PetscMalloc2(nin, &V, nout, &c));
  QrbmCallFFTW(plan, fftw_plan_dft_r2c((int)d, n, V, c, FFTW_ESTIMATE));
  for (ptrdiff_t i = 0; i < nin; i++) { /* the R^d formula of V on [-F L/2, F L/2)^d */
    double    z[QRBM_MAX_DIM];
    ptrdiff_t rest = i;
    for (PetscInt a = d - 1; a >= 0; a--, rest /= Mf) z[a] = -0.5 * Mf * hf + (double)(rest % Mf) * hf;
    V[i] = QrbmPotentialPair(cfg, z);
  }
  fftw_execute(plan);
  SpectralSums(d, Mf, 2 * PETSC_PI / (Mf * hf), nout, c, Lambda, Lip);
  fftw_destroy_plan(plan);
  PetscCall(PetscFree2(V, c));
  PetscFunctionReturn(PETSC_SUCCESS);
}

double QrbmTheoremBound(double t, double Dt, PetscInt d, double Lambda, double Lip)
{
  const double sd = sqrt((double)d);
  return 2 * Dt * exp(6 * t * PetscMax(1.0, sd * Lip)) * Lambda * (2 + 3 * t * Lambda * PetscMax(1.0, Dt) + 4 * sd * Lip * t * Dt);
}

/* Index of t in times (equal within 1e-9 relative), -1 when absent. */
static PetscInt FindTime(PetscInt n, const double *times, double t)
{
  for (PetscInt i = 0; i < n; i++)
    if (fabs(times[i] - t) <= 1e-9 * PetscMax(fabs(times[i]), fabs(t))) return i;
  return -1;
}

/* Observable errors RB - REF at time t and the RB run's standard errors (NaN where undefined). */
static void ObservableErrors(const QrbmRunSeries *ref, const QrbmRunSeries *rb, double t, double *err, double *se)
{
  const PetscInt i = FindTime(ref->nobs, ref->obs_time, t), j = FindTime(rb->nobs, rb->obs_time, t);
  for (int o = 0; o < QRBM_ERROR_NOBS; o++) {
    err[o] = se[o] = NAN;
    if (i < 0 || j < 0 || !ref->obs[o] || !rb->obs[o]) continue;
    err[o] = rb->obs[o][j] - ref->obs[o][i];
    if (rb->obs_stderr[o]) se[o] = rb->obs_stderr[o][j];
  }
}

/* Pairs (iref, irb) of RDM output times the two runs share; at least one. */
static PetscErrorCode CommonTimes(const QrbmRunSeries *ref, const QrbmRunSeries *rb, PetscInt *n, PetscInt **iref, PetscInt **irb)
{
  PetscFunctionBeginUser;
  *n = 0;
  PetscCall(PetscMalloc2(PetscMax(ref->nt, 1), iref, PetscMax(ref->nt, 1), irb));
  for (PetscInt i = 0; i < ref->nt; i++) {
    const PetscInt j = FindTime(rb->nt, rb->time, ref->time[i]);
    if (j < 0) continue;
    (*iref)[*n]  = i;
    (*irb)[(*n)++] = j;
  }
  PetscCheck(*n > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP,
             "no common RDM output time (/rdm/time, equal within 1e-9 relative): %s has %" PetscInt_FMT " times (first %g, last %g), %s has %" PetscInt_FMT " times (first %g, last %g)",
             ref->name, ref->nt, ref->nt ? ref->time[0] : NAN, ref->nt ? ref->time[ref->nt - 1] : NAN, rb->name, rb->nt, rb->nt ? rb->time[0] : NAN, rb->nt ? rb->time[rb->nt - 1] : NAN);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmErrorTableCompute(const QrbmGrid *g, const QrbmConfig *cfg, const QrbmRunSeries *ref, const QrbmRunSeries *rb, QrbmErrorTable *tab)
{
  const ptrdiff_t n2 = g->Md * g->Md;
  PetscInt       *iref, *irb, n;
  QrbmRdmMetric   metric;
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(tab, sizeof(*tab)));
  PetscCall(CommonTimes(ref, rb, &n, &iref, &irb));
  tab->n = n; tab->K = QRBM_WEAK_ORDER(g->d); tab->rb_dt = cfg->rb_dt; tab->jackknife = rb->nbatch > 0;
  for (int o = 0; o < QRBM_ERROR_NOBS; o++) tab->obs_has_stderr[o] = rb->obs_stderr[o] ? PETSC_TRUE : PETSC_FALSE;
  PetscCall(QrbmPotentialConstants(cfg, g, &tab->Lambda, &tab->Lip));
  PetscCall(PetscMalloc4(n, &tab->time, n, &tab->dist, n, &tab->dist_stderr, n, &tab->bound));
  PetscCall(PetscMalloc2(n * QRBM_ERROR_NOBS, &tab->obs, n * QRBM_ERROR_NOBS, &tab->obs_stderr));
  PetscCall(QrbmRdmMetricCreate(g, cfg->hbar, &metric));
  for (PetscInt i = 0; i < n; i++) {
    const qcomplex *B = ref->R1 + iref[i] * n2;
    const double    t = ref->time[iref[i]];
    tab->time[i]      = t;
    if (tab->jackknife) PetscCall(QrbmRdmMetricJackknife(metric, rb->nbatch, rb->batches + irb[i] * rb->nbatch * n2, rb->counts, B, &tab->dist[i], &tab->dist_stderr[i]));
    else {
      PetscCall(QrbmRdmMetricApply(metric, rb->R1 + irb[i] * n2, B, &tab->dist[i]));
      for (int f = 0; f < NDIST; f++) *DistRef(&tab->dist_stderr[i], f) = NAN;
    }
    ObservableErrors(ref, rb, t, tab->obs + i * QRBM_ERROR_NOBS, tab->obs_stderr + i * QRBM_ERROR_NOBS);
    tab->bound[i] = QrbmTheoremBound(t, cfg->rb_dt, g->d, tab->Lambda, tab->Lip);
  }
  PetscCall(QrbmRdmMetricDestroy(&metric));
  PetscCall(PetscFree2(iref, irb));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmErrorTableDestroy(QrbmErrorTable *tab)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree4(tab->time, tab->dist, tab->dist_stderr, tab->bound));
  PetscCall(PetscFree2(tab->obs, tab->obs_stderr));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static const char family[] = "plane waves a(x,xi) = exp(i(k x + omega xi)), k = 2 pi j/L, omega = 2 pi l/Xi, j, l = -M..M-1, (j,l) != (0,0), "
                             "Xi = 2 pi hbar/h the period of the Wigner momentum grid, each divided by C = max over 0 < a+b, a,b <= K of |k|^a |omega|^b; "
                             "for d > 1 on the (x_1, xi_1) marginal";

PetscErrorCode QrbmErrorTableView(MPI_Comm comm, const QrbmErrorTable *tab, FILE *fp)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFPrintf(comm, fp, "# qrbm error table: random batch run - reference at %" PetscInt_FMT " common times (docs/errors.md)\n", tab->n));
  PetscCall(PetscFPrintf(comm, fp, "# Lambda(V) = %.10g  L(V) = %.10g  gamma_d = 1  K = %" PetscInt_FMT "  Dt = %g\n", tab->Lambda, tab->Lip, tab->K, tab->rb_dt));
  PetscCall(PetscFPrintf(comm, fp, "# weak: lower bound of |||W_RB - W_REF|||_{-K} over %s\n", family));
  PetscCall(PetscFPrintf(comm, fp, "# _se: %s; observables x2, p2, energy: RB - REF, _se the RB run's standard errors; nan: undefined\n",
                         tab->jackknife ? "delete-one-group jackknife over realisation groups" : "no realisation groups in the RB run, so no standard errors of the distances"));
  PetscCall(PetscFPrintf(comm, fp, "#%13s", "time"));
  for (int f = 0; f < NDIST; f++) {
    PetscCall(PetscFPrintf(comm, fp, " %13s", dist_fields[f].name));
    if (dist_fields[f].se) PetscCall(PetscFPrintf(comm, fp, " %10s_se", dist_fields[f].name));
  }
  for (int o = 0; o < QRBM_ERROR_NOBS; o++) PetscCall(PetscFPrintf(comm, fp, " %13s %10s_se", QrbmErrorObservables[o], QrbmErrorObservables[o]));
  PetscCall(PetscFPrintf(comm, fp, " %13s\n", "bound"));
  for (PetscInt i = 0; i < tab->n; i++) {
    PetscCall(PetscFPrintf(comm, fp, " %13.6e", tab->time[i]));
    for (int f = 0; f < NDIST; f++) {
      PetscCall(PetscFPrintf(comm, fp, " %13.6e", DistValue(&tab->dist[i], f)));
      if (dist_fields[f].se) PetscCall(PetscFPrintf(comm, fp, " %13.6e", DistValue(&tab->dist_stderr[i], f)));
    }
    for (int o = 0; o < QRBM_ERROR_NOBS; o++) PetscCall(PetscFPrintf(comm, fp, " %13.6e %13.6e", tab->obs[i * QRBM_ERROR_NOBS + o], tab->obs_stderr[i * QRBM_ERROR_NOBS + o]));
    PetscCall(PetscFPrintf(comm, fp, " %13.6e\n", tab->bound[i]));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode WriteColumn(hid_t grp, const char *name, const char *suffix, hsize_t n, const double *col, hid_t dxpl, PetscBool holder)
{
  char full[64];
  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(full, sizeof(full), "%s%s", name, suffix));
  PetscCall(QrbmH5WriteReal(grp, full, 1, &n, col, dxpl, holder));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmErrorTableWrite(const QrbmErrorTable *tab, hid_t loc, hid_t dxpl, PetscBool holder)
{
  const hsize_t n = (hsize_t)tab->n;
  hid_t         grp;
  double       *col;
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(PetscMax(tab->n, 1), &col));
  QrbmCallH5Id(grp, H5Gcreate2(loc, "error", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  PetscCall(WriteColumn(grp, "time", "", n, tab->time, dxpl, holder));
  for (int f = 0; f < NDIST; f++) {
    for (PetscInt i = 0; i < tab->n; i++) col[i] = DistValue(&tab->dist[i], f);
    PetscCall(WriteColumn(grp, dist_fields[f].name, "", n, col, dxpl, holder));
    if (!dist_fields[f].se || !tab->jackknife) continue;
    for (PetscInt i = 0; i < tab->n; i++) col[i] = DistValue(&tab->dist_stderr[i], f);
    PetscCall(WriteColumn(grp, dist_fields[f].name, "_stderr", n, col, dxpl, holder));
  }
  for (int o = 0; o < QRBM_ERROR_NOBS; o++) {
    for (PetscInt i = 0; i < tab->n; i++) col[i] = tab->obs[i * QRBM_ERROR_NOBS + o];
    PetscCall(WriteColumn(grp, QrbmErrorObservables[o], "", n, col, dxpl, holder));
    if (!tab->obs_has_stderr[o]) continue;
    for (PetscInt i = 0; i < tab->n; i++) col[i] = tab->obs_stderr[i * QRBM_ERROR_NOBS + o];
    PetscCall(WriteColumn(grp, QrbmErrorObservables[o], "_stderr", n, col, dxpl, holder));
  }
  PetscCall(WriteColumn(grp, "bound", "", n, tab->bound, dxpl, holder));
  PetscCall(QrbmH5WriteAttrReal(grp, "Lambda", tab->Lambda));
  PetscCall(QrbmH5WriteAttrReal(grp, "L", tab->Lip));
  PetscCall(QrbmH5WriteAttrReal(grp, "gamma_d", 1.0));
  PetscCall(QrbmH5WriteAttrReal(grp, "K", (double)tab->K));
  PetscCall(QrbmH5WriteAttrReal(grp, "rb_dt", tab->rb_dt));
  PetscCall(QrbmH5WriteAttrString(grp, "family", family));
  PetscCall(QrbmH5WriteAttrString(grp, "sobolev", "(sum |dW^(k,omega)|^2 (1 + k^2 + omega^2)^-K dk domega / (2 pi)^2)^(1/2), dW^ = int dW exp(-i(k x + omega xi)) dx dxi, dk = 2 pi/L, domega = 2 pi/Xi"));
  PetscCall(QrbmH5WriteAttrString(grp, "stderr", tab->jackknife ? "distances: delete-one-group jackknife; observables: the RB run's standard errors" : "observables: the RB run's standard errors"));
  QrbmCallH5(H5Gclose(grp));
  PetscCall(PetscFree(col));
  PetscFunctionReturn(PETSC_SUCCESS);
}
