/* Observables from one-body densities. Every sum is accumulated in long double per rank and
   reduced in long double, so results do not depend on the rank or thread count beyond rounding. */
#include <qrbm/observables.h>
#include <qrbm/events.h>
#include <omp.h>
#include <string.h>

PetscErrorCode QrbmObservablesCreate(const QrbmGrid *g, double hbar, QrbmObservables *obs)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(obs, sizeof(*obs)));
  PetscCall(PetscMalloc3(g->Md, &obs->rho, g->Md, &obs->rho_p, g->M, &obs->pgrid));
  for (PetscInt j = 0; j < g->M; j++) obs->pgrid[j] = hbar * g->k[(j + (g->M + 1) / 2) % g->M];
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmObservablesDestroy(QrbmObservables *obs)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree3(obs->rho, obs->rho_p, obs->pgrid));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Sum over particles of the one-body marginals of |psi|^2 on a layout, in index order of the
   one-particle grid (acc has M^d entries, summed over ranks; total = sum |psi|^2). */
static PetscErrorCode OneBodySum(const QrbmGrid *g, const QrbmLayout *lay, const qcomplex *psi, double *dens, double *total)
{
  const int       last = lay->naxes - 1, a_in = lay->perm[last];
  const ptrdiff_t nin = lay->n[last], rows = nin ? lay->count / nin : 0, Md = g->Md;
  const int       m_in = a_in < g->D ? (int)(a_in / g->d) : -1;
  ptrdiff_t       str_in = 1;
  long double    *acc, sum = 0;
  int             nt = omp_get_max_threads();
  PetscFunctionBeginUser;
  if (m_in >= 0)
    for (PetscInt c = a_in % g->d + 1; c < g->d; c++) str_in *= g->M;
  PetscCall(PetscCalloc1((size_t)nt * Md + Md + 1, &acc));
#pragma omp parallel reduction(+ : sum)
  {
    long double *mine = acc + (size_t)omp_get_thread_num() * Md;
    ptrdiff_t    idx[QRBM_MAX_AXES], flat[QRBM_MAX_PARTICLES];
#pragma omp for schedule(static)
    for (ptrdiff_t r = 0; r < rows; r++) {
      long double     rowsum = 0;
      const qcomplex *row    = psi + r * nin;
      QrbmLayoutIndex(lay, r * nin, idx);
      for (PetscInt m = 0; m < g->N; m++) {
        flat[m] = 0;
        for (PetscInt c = 0; c < g->d; c++) flat[m] = flat[m] * g->M + idx[m * g->d + c];
      }
      for (ptrdiff_t j = 0; j < nin; j++) {
        const double pj = creal(row[j]) * creal(row[j]) + cimag(row[j]) * cimag(row[j]);
        rowsum += pj;
        if (m_in >= 0) mine[flat[m_in] + j * str_in] += pj;
      }
      for (PetscInt m = 0; m < g->N; m++)
        if (m != m_in) mine[flat[m]] += rowsum;
      sum += rowsum;
    }
  }
  long double *tot = acc + (size_t)nt * Md;
  for (int t = 0; t < nt; t++)
    for (ptrdiff_t j = 0; j < Md; j++) tot[j] += acc[(size_t)t * Md + j];
  tot[Md] = sum;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, tot, (PetscMPIInt)(Md + 1), MPI_LONG_DOUBLE, MPI_SUM, g->comm));
  for (ptrdiff_t j = 0; j < Md; j++) dens[j] = (double)tot[j];
  *total = (double)tot[Md];
  PetscCall(PetscFree(acc));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Component c of the one-particle flat index j. */
static inline ptrdiff_t Component(const QrbmGrid *g, ptrdiff_t j, PetscInt c)
{
  for (PetscInt k = g->d - 1; k > c; k--) j /= g->M;
  return j % g->M;
}

PetscErrorCode QrbmObservablesMomentum(QrbmObservables *obs, const QrbmGrid *g, double hbar, const qcomplex *psik)
{
  double *dens, total;
  /* |psi_k|^2 h^D / M^D is the probability of mode k (Parseval); dp = 2 pi hbar / L per axis */
  const double prob = pow(g->h / g->M, (double)g->D), dp = 2 * PETSC_PI * hbar / g->L;
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(QRBM_EVENT_OBSERVABLES, 0, 0, 0, 0));
  PetscCall(PetscMalloc1(g->Md, &dens));
  PetscCall(OneBodySum(g, &g->klay, psik, dens, &total));
  obs->p2 = 0;
  for (PetscInt c = 0; c < g->d; c++) obs->p[c] = obs->p2c[c] = 0;
  for (ptrdiff_t j = 0; j < g->Md; j++) {
    const double w = dens[j] * prob / g->N; /* particle-averaged probability of mode j */
    ptrdiff_t    jshift = 0;
    for (PetscInt c = 0; c < g->d; c++) {
      const ptrdiff_t kc = Component(g, j, c);
      const double    pc = hbar * g->k[kc];
      obs->p[c] += w * pc;
      obs->p2c[c] += w * pc * pc;
      jshift = jshift * g->M + (kc + g->M / 2) % g->M; /* fftshift: ascending momentum */
    }
    obs->rho_p[jshift] = w / pow(dp, (double)g->d);
  }
  for (PetscInt c = 0; c < g->d; c++) obs->p2 += obs->p2c[c];
  obs->e_kin = 0.5 * g->N * obs->p2;
  PetscCall(PetscFree(dens));
  PetscCall(PetscLogEventEnd(QRBM_EVENT_OBSERVABLES, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmObservablesPosition(QrbmObservables *obs, QrbmPotential *pot, const QrbmPairWeights *W, const qcomplex *psi)
{
  const QrbmGrid *g    = pot->g;
  const double    dvol = pow(g->h, (double)g->D), hd = pow(g->h, (double)g->d);
  double          total;
  long double     eint;
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(QRBM_EVENT_OBSERVABLES, 0, 0, 0, 0));
  PetscCall(OneBodySum(g, &g->xlay, psi, obs->rho, &total));
  obs->norm = total * dvol;
  obs->x2 = obs->e_trap = 0;
  for (PetscInt c = 0; c < g->d; c++) obs->x[c] = obs->x2c[c] = 0;
  for (ptrdiff_t j = 0; j < g->Md; j++) {
    const double w = obs->rho[j] * dvol / g->N; /* particle-averaged probability of point j */
    for (PetscInt c = 0; c < g->d; c++) {
      const double xc = g->x[Component(g, j, c)];
      obs->x[c] += w * xc;
      obs->x2c[c] += w * xc * xc;
    }
    obs->e_trap += g->N * w * pot->U[j];
    obs->rho[j] = w / hd;
  }
  for (PetscInt c = 0; c < g->d; c++) obs->x2 += obs->x2c[c];
  PetscCall(QrbmPotentialEnergyLocal(pot, W, psi, &eint));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &eint, 1, MPI_LONG_DOUBLE, MPI_SUM, g->comm));
  obs->e_int  = (double)eint;
  obs->energy = obs->e_kin + obs->e_trap + obs->e_int;
  PetscCall(PetscLogEventEnd(QRBM_EVENT_OBSERVABLES, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmRecordCreate(const QrbmGrid *g, const QrbmConfig *cfg, QrbmRecord *rec)
{
  static const char *scalars[] = {"/observables/time", "/observables/step", "/observables/norm", "/observables/energy", "/observables/energy_kinetic",
                                  "/observables/energy_trap", "/observables/energy_interaction", "/observables/x2", "/observables/p2"};
  static const char *vectors[] = {"/observables/x", "/observables/p", "/observables/x2_axes", "/observables/p2_axes"};
  static const char *fields[]  = {"/density/rho", "/density/rho_p"};
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(rec, sizeof(*rec)));
  for (int i = 0; i < 9; i++) rec->f[rec->nfields++] = (QrbmField){scalars[i], 0, {0}, 0, 1, i >= 2 ? PETSC_TRUE : PETSC_FALSE, PETSC_FALSE, PETSC_FALSE};
  for (int i = 0; i < 4; i++) rec->f[rec->nfields++] = (QrbmField){vectors[i], 1, {(hsize_t)g->d}, 0, g->d, PETSC_TRUE, PETSC_FALSE, PETSC_FALSE};
  for (int i = 0; i < 2; i++) {
    QrbmField f = {fields[i], (int)g->d, {0}, 0, g->Md, PETSC_TRUE, PETSC_FALSE, PETSC_FALSE};
    for (PetscInt c = 0; c < g->d; c++) f.shape[c] = (hsize_t)g->M;
    rec->f[rec->nfields++] = f;
  }
  rec->rdm_interval = cfg->rdm_interval;
  if (cfg->rdm_interval > 0) { /* R_1 in the grid basis: M^d x M^d complex, as 2 M^d M^d doubles */
    rec->f[rec->nfields++] = (QrbmField){"/rdm/time", 0, {0}, 0, 1, PETSC_FALSE, PETSC_TRUE, PETSC_FALSE};
    rec->f[rec->nfields++] = (QrbmField){"/rdm/R1", 2, {(hsize_t)g->Md, (hsize_t)g->Md}, 0, 2 * g->Md * g->Md, PETSC_TRUE, PETSC_TRUE, PETSC_TRUE};
  }
  rec->rdm_offset = -1;
  for (int i = 0; i < rec->nfields; i++) {
    rec->f[i].offset = rec->len;
    rec->len += rec->f[i].len;
    if (rec->f[i].cplx) rec->rdm_offset = rec->f[i].offset;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscBool QrbmRecordHasRdm(const QrbmRecord *rec, PetscInt i) { return rec->rdm_interval > 0 && i % rec->rdm_interval == 0 ? PETSC_TRUE : PETSC_FALSE; }

const QrbmField *QrbmRecordField(const QrbmRecord *rec, const char *name)
{
  for (int i = 0; i < rec->nfields; i++)
    if (!strcmp(rec->f[i].name, name)) return &rec->f[i];
  return NULL;
}

/* Same order as QrbmRecordCreate; /rdm/time and R_1, when present, are the caller's. */
void QrbmObservablesPack(const QrbmObservables *o, const QrbmGrid *g, double *row)
{
  const double s[] = {o->time, (double)o->step, o->norm, o->energy, o->e_kin, o->e_trap, o->e_int, o->x2, o->p2};
  const double *v[] = {o->x, o->p, o->x2c, o->p2c};
  for (int i = 0; i < 9; i++) *row++ = s[i];
  for (int i = 0; i < 4; i++)
    for (PetscInt c = 0; c < g->d; c++) *row++ = v[i][c];
  for (ptrdiff_t j = 0; j < g->Md; j++) *row++ = o->rho[j];
  for (ptrdiff_t j = 0; j < g->Md; j++) *row++ = o->rho_p[j];
}
