/* Observables from one-body densities. Every sum is accumulated in long double per rank and
   reduced in long double, so results do not depend on the rank or thread count beyond rounding. */
#include <qrbm/observables.h>
#include <qrbm/events.h>
#include <omp.h>
#include <stddef.h>
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

/* The record's fields, in layout order. An observable is one row here (plus its computation in
   QrbmObservablesMomentum/Position and a line in docs/output.md). */
#define OBS(m) offsetof(QrbmObservables, m)
const QrbmFieldDef QrbmRecordFields[] = {
  {"/observables/time", QRBM_FIELD_SCALAR, OBS(time), PETSC_FALSE, PETSC_FALSE},
  {"/observables/step", QRBM_FIELD_STEP, OBS(step), PETSC_FALSE, PETSC_FALSE},
  {"/observables/norm", QRBM_FIELD_SCALAR, OBS(norm), PETSC_TRUE, PETSC_FALSE},
  {"/observables/energy", QRBM_FIELD_SCALAR, OBS(energy), PETSC_TRUE, PETSC_FALSE},
  {"/observables/energy_kinetic", QRBM_FIELD_SCALAR, OBS(e_kin), PETSC_TRUE, PETSC_FALSE},
  {"/observables/energy_trap", QRBM_FIELD_SCALAR, OBS(e_trap), PETSC_TRUE, PETSC_FALSE},
  {"/observables/energy_interaction", QRBM_FIELD_SCALAR, OBS(e_int), PETSC_TRUE, PETSC_FALSE},
  {"/observables/x2", QRBM_FIELD_SCALAR, OBS(x2), PETSC_TRUE, PETSC_FALSE},
  {"/observables/p2", QRBM_FIELD_SCALAR, OBS(p2), PETSC_TRUE, PETSC_FALSE},
  {"/observables/x", QRBM_FIELD_AXES, OBS(x), PETSC_TRUE, PETSC_FALSE},
  {"/observables/p", QRBM_FIELD_AXES, OBS(p), PETSC_TRUE, PETSC_FALSE},
  {"/observables/x2_axes", QRBM_FIELD_AXES, OBS(x2c), PETSC_TRUE, PETSC_FALSE},
  {"/observables/p2_axes", QRBM_FIELD_AXES, OBS(p2c), PETSC_TRUE, PETSC_FALSE},
  {"/density/rho", QRBM_FIELD_GRID, OBS(rho), PETSC_TRUE, PETSC_FALSE},
  {"/density/rho_p", QRBM_FIELD_GRID, OBS(rho_p), PETSC_TRUE, PETSC_FALSE},
  {"/rdm/time", QRBM_FIELD_SCALAR, OBS(time), PETSC_FALSE, PETSC_TRUE},
  {"/rdm/R1", QRBM_FIELD_R1, 0, PETSC_TRUE, PETSC_TRUE},
};
#undef OBS
const int QrbmRecordNumFields = (int)(sizeof(QrbmRecordFields) / sizeof(QrbmRecordFields[0]));

/* Shape and length of one field per output time, from its source. */
static void FieldShape(const QrbmGrid *g, QrbmField *f)
{
  switch (f->src) {
  case QRBM_FIELD_SCALAR:
  case QRBM_FIELD_STEP: f->rank = 0; f->len = 1; break;
  case QRBM_FIELD_AXES: f->rank = 1; f->shape[0] = (hsize_t)g->d; f->len = g->d; break;
  case QRBM_FIELD_GRID:
    f->rank = (int)g->d; f->len = g->Md;
    for (PetscInt c = 0; c < g->d; c++) f->shape[c] = (hsize_t)g->M;
    break;
  case QRBM_FIELD_R1: /* grid basis, as 2 M^d M^d doubles */
    f->rank = 2; f->shape[0] = f->shape[1] = (hsize_t)g->Md; f->len = 2 * g->Md * g->Md; f->cplx = PETSC_TRUE;
    break;
  }
}

PetscErrorCode QrbmRecordCreateFrom(const QrbmFieldDef *defs, int n, const QrbmGrid *g, PetscInt rdm_interval, QrbmRecord *rec)
{
  const QrbmField *r1;
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(rec, sizeof(*rec)));
  rec->rdm_interval = rdm_interval;
  for (int i = 0; i < n; i++) {
    if (defs[i].rdm && rdm_interval <= 0) continue;
    PetscCheck(rec->nfields < QRBM_MAX_FIELDS, PETSC_COMM_SELF, PETSC_ERR_PLIB, "record field %s: more than QRBM_MAX_FIELDS = %d fields (raise it in observables.h)", defs[i].name, QRBM_MAX_FIELDS);
    QrbmField *f = &rec->f[rec->nfields++];
    *f = (QrbmField){.name = defs[i].name, .stats = defs[i].stats, .rdm = defs[i].rdm, .src = defs[i].src, .member = defs[i].member};
    FieldShape(g, f);
    f->offset = rec->len;
    rec->len += f->len;
  }
  r1              = QrbmRecordField(rec, "/rdm/R1");
  rec->rdm_offset = r1 ? r1->offset : -1;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmRecordCreate(const QrbmGrid *g, const QrbmConfig *cfg, QrbmRecord *rec)
{
  PetscFunctionBeginUser;
  PetscCall(QrbmRecordCreateFrom(QrbmRecordFields, QrbmRecordNumFields, g, cfg->rdm_interval, rec));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscBool QrbmRecordHasRdm(const QrbmRecord *rec, PetscInt i) { return rec->rdm_interval > 0 && i % rec->rdm_interval == 0 ? PETSC_TRUE : PETSC_FALSE; }

const QrbmField *QrbmRecordField(const QrbmRecord *rec, const char *name)
{
  for (int i = 0; i < rec->nfields; i++)
    if (!strcmp(rec->f[i].name, name)) return &rec->f[i];
  return NULL;
}

PetscErrorCode QrbmRecordOffset(const QrbmRecord *rec, const char *name, ptrdiff_t *offset)
{
  const QrbmField *f = QrbmRecordField(rec, name);
  PetscFunctionBeginUser;
  PetscCheck(f, PETSC_COMM_SELF, PETSC_ERR_PLIB, "the record has no field %s (QrbmRecordFields in src/observables.c)", name);
  *offset = f->offset;
  PetscFunctionReturn(PETSC_SUCCESS);
}

void QrbmRecordPack(const QrbmRecord *rec, const QrbmObservables *obs, PetscBool rdm_time, double *row)
{
  for (int i = 0; i < rec->nfields; i++) {
    const QrbmField *f   = &rec->f[i];
    const char      *src = (const char *)obs + f->member;
    double          *dst = row + f->offset;
    if (f->rdm && !rdm_time) continue;
    switch (f->src) {
    case QRBM_FIELD_SCALAR: *dst = *(const double *)src; break;
    case QRBM_FIELD_STEP: *dst = (double)*(const PetscInt *)src; break;
    case QRBM_FIELD_AXES: memcpy(dst, src, sizeof(double) * (size_t)f->len); break;
    case QRBM_FIELD_GRID: memcpy(dst, *(double *const *)src, sizeof(double) * (size_t)f->len); break;
    case QRBM_FIELD_R1: break; /* the caller's */
    }
  }
}
