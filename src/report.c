/* End-of-run products derived from the ensemble mean (schema in docs/output.md). */
#include <qrbm/report.h>
#include <qrbm/h5io.h>
#include <qrbm/metrics.h>
#include <qrbm/rdm.h>
#include <qrbm/wigner.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The R_1 part of every RDM-time record, packed: nt x Md x Md. */
static PetscErrorCode GatherR1(const QrbmReportInput *in, const double *rows, PetscInt *nt, qcomplex **R1, double **time)
{
  const ptrdiff_t md2 = in->grid->Md * in->grid->Md;
  PetscFunctionBeginUser;
  *nt = 0;
  PetscCall(PetscMalloc2(in->ntimes * md2, R1, in->ntimes, time));
  for (PetscInt i = 0; i < in->ntimes; i++) {
    if (!QrbmRecordHasRdm(in->rec, i)) continue;
    PetscCall(PetscArraycpy(*R1 + *nt * md2, (const qcomplex *)(rows + i * in->rec->len + in->rec->rdm_offset), md2));
    (*time)[(*nt)++] = in->tsteps[i] * in->cfg->dt;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Natural occupations, purity, entropy and the Wigner function of the mean R_1 at every RDM time. */
static PetscErrorCode WriteSpectraWigner(const QrbmReportInput *in, QrbmWigner wig, PetscInt nt, const qcomplex *R1)
{
  const QrbmGrid *g = in->grid;
  const PetscInt  Md = g->Md;
  const PetscBool holder = in->wrank == 0;
  PetscInt        nx, nxi;
  double         *eig, *pur, *ent, *W, *x, *xi;
  hid_t           grp;
  PetscFunctionBeginUser;
  PetscCall(QrbmWignerSize(g, &nx, &nxi));
  PetscCall(PetscCalloc6(nt * Md, &eig, nt, &pur, nt, &ent, nt * nx * nxi, &W, nx, &x, nxi, &xi));
  PetscCall(QrbmWignerAxes(g, in->cfg->hbar, x, xi));
  for (PetscInt t = 0; holder && t < nt; t++) {
    PetscCall(QrbmRdmSpectrum(Md, R1 + t * Md * Md, eig + t * Md, pur + t, ent + t));
    PetscCall(QrbmWignerApply(wig, R1 + t * Md * Md, W + t * nx * nxi));
  }
  const hsize_t de[2] = {(hsize_t)nt, (hsize_t)Md}, dt = (hsize_t)nt, dw[3] = {(hsize_t)nt, (hsize_t)nx, (hsize_t)nxi}, dx = (hsize_t)nx, dxi = (hsize_t)nxi;
  PetscCall(QrbmH5WriteReal(in->file, "/rdm/eigenvalues", 2, de, eig, in->dxpl, holder));
  PetscCall(QrbmH5WriteReal(in->file, "/rdm/purity", 1, &dt, pur, in->dxpl, holder));
  PetscCall(QrbmH5WriteReal(in->file, "/rdm/entropy", 1, &dt, ent, in->dxpl, holder));
  QrbmCallH5Id(grp, H5Gcreate2(in->file, "/wigner", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  QrbmCallH5(H5Gclose(grp));
  PetscCall(QrbmH5WriteReal(in->file, "/wigner/x", 1, &dx, x, in->dxpl, holder));
  PetscCall(QrbmH5WriteReal(in->file, "/wigner/xi", 1, &dxi, xi, in->dxpl, holder));
  PetscCall(QrbmH5WriteReal(in->file, "/wigner/W", 3, dw, W, in->dxpl, holder));
  PetscCall(PetscFree6(eig, pur, ent, W, x, xi));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Means of R_1 over the K realisation groups b = k mod K (for jackknife errors): nt x K x Md x Md. */
static PetscErrorCode BatchMeans(const QrbmReportInput *in, PetscInt nt, qcomplex **batches, double **counts)
{
  const PetscInt  K = in->nbatch, len = in->ntimes * in->rec->len;
  const ptrdiff_t md2 = in->grid->Md * in->grid->Md;
  double         *sum;
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(K * len, &sum));
  PetscCall(PetscMalloc1(K, counts));
  PetscCall(PetscMalloc1(nt * K * md2, batches));
  /* group roots hold the sums; every other rank contributes zeros */
  PetscCall(PetscArraycpy(sum, in->bsum, K * len));
  PetscCall(PetscArraycpy(*counts, in->bcount, K));
  if (in->grid->rank != 0) {
    PetscCall(PetscArrayzero(sum, K * len));
    PetscCall(PetscArrayzero(*counts, K));
  }
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, sum, (PetscMPIInt)(K * len), MPI_DOUBLE, MPI_SUM, in->world));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, *counts, (PetscMPIInt)K, MPI_DOUBLE, MPI_SUM, in->world));
  for (PetscInt b = 0, t; b < K; b++) {
    t = 0;
    for (PetscInt i = 0; i < in->ntimes; i++) {
      if (!QrbmRecordHasRdm(in->rec, i)) continue;
      const qcomplex *s = (const qcomplex *)(sum + b * len + i * in->rec->len + in->rec->rdm_offset);
      qcomplex       *m = *batches + (t++ * K + b) * md2;
      for (ptrdiff_t j = 0; j < md2; j++) m[j] = (*counts)[b] > 0 ? s[j] / (*counts)[b] : 0;
    }
  }
  PetscCall(PetscFree(sum));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Columns x2, p2, energy of a set of records (ntimes each). */
static PetscErrorCode ObservableColumns(const QrbmReportInput *in, const double *rows, double *cols)
{
  static const char *names[QRBM_ERROR_NOBS] = {"/observables/x2", "/observables/p2", "/observables/energy"};
  PetscFunctionBeginUser;
  for (int o = 0; o < QRBM_ERROR_NOBS; o++) {
    ptrdiff_t off;
    PetscCall(QrbmRecordOffset(in->rec, names[o], &off));
    for (PetscInt i = 0; i < in->ntimes; i++) cols[o * in->ntimes + i] = rows[i * in->rec->len + off];
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The Wigner function of the exact R_1, next to that of the random batch mean. */
static PetscErrorCode WriteReferenceWigner(const QrbmReportInput *in, QrbmWigner wig, PetscInt nt, const qcomplex *R1)
{
  const PetscInt Md = in->grid->Md;
  PetscInt       nx, nxi;
  double        *W;
  PetscFunctionBeginUser;
  PetscCall(QrbmWignerSize(in->grid, &nx, &nxi));
  PetscCall(PetscCalloc1(nt * nx * nxi, &W));
  for (PetscInt t = 0; in->wrank == 0 && t < nt; t++) PetscCall(QrbmWignerApply(wig, R1 + t * Md * Md, W + t * nx * nxi));
  const hsize_t dw[3] = {(hsize_t)nt, (hsize_t)nx, (hsize_t)nxi};
  PetscCall(QrbmH5WriteReal(in->file, "/wigner/W_reference", 3, dw, W, in->dxpl, in->wrank == 0 ? PETSC_TRUE : PETSC_FALSE));
  PetscCall(PetscFree(W));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* -reference exact: distances between E[R~_1] and the exact R_1, with the theorem's bound. */
static PetscErrorCode ErrorTable(const QrbmReportInput *in, QrbmWigner wig, PetscInt nt, const double *time, const qcomplex *R1, const double *mean, const double *stderr, const qcomplex *batches, const double *counts)
{
  const PetscInt len = in->ntimes * in->rec->len;
  double        *ref, *obs_time, *cols, *refR1time;
  qcomplex      *refR1;
  PetscInt       nref;
  QrbmErrorTable tab;
  QrbmRunSeries  sref = {0}, srb = {0};
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc3(len, &ref, in->ntimes, &obs_time, 3 * QRBM_ERROR_NOBS * in->ntimes, &cols));
  if (in->ref_held) PetscCall(PetscArraycpy(ref, in->ref_rows, len));
  else PetscCall(PetscArrayzero(ref, len));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, ref, (PetscMPIInt)len, MPI_DOUBLE, MPI_SUM, in->world)); /* one holder */
  for (PetscInt i = 0; i < in->ntimes; i++) obs_time[i] = in->tsteps[i] * in->cfg->dt;
  PetscCall(GatherR1(in, ref, &nref, &refR1, &refR1time));
  PetscCall(ObservableColumns(in, ref, cols));
  PetscCall(ObservableColumns(in, mean, cols + QRBM_ERROR_NOBS * in->ntimes));
  PetscCall(ObservableColumns(in, stderr, cols + 2 * QRBM_ERROR_NOBS * in->ntimes));
  sref = (QrbmRunSeries){"exact reference", nref, refR1time, refR1, 0, NULL, NULL, in->ntimes, obs_time, {0}, {0}};
  srb  = (QrbmRunSeries){"random batch mean", nt, time, R1, in->nbatch, batches, counts, in->ntimes, obs_time, {0}, {0}};
  for (int o = 0; o < QRBM_ERROR_NOBS; o++) {
    sref.obs[o]       = cols + o * in->ntimes;
    srb.obs[o]        = cols + (QRBM_ERROR_NOBS + o) * in->ntimes;
    srb.obs_stderr[o] = cols + (2 * QRBM_ERROR_NOBS + o) * in->ntimes;
  }
  PetscCall(WriteReferenceWigner(in, wig, nref, refR1));
  PetscCall(QrbmErrorTableCompute(in->grid, in->cfg, &sref, &srb, &tab));
  PetscCall(QrbmErrorTableWrite(&tab, in->file, in->dxpl, in->wrank == 0 ? PETSC_TRUE : PETSC_FALSE));
  if (!in->cfg->quiet) PetscCall(QrbmErrorTableView(in->world, &tab, PETSC_STDOUT));
  if (in->wrank == 0) { /* the same table as plain text next to the output */
    char  name[PETSC_MAX_PATH_LEN + 16];
    FILE *fp;
    PetscCall(PetscSNPrintf(name, sizeof(name), "%s.error.txt", in->cfg->output));
    fp = fopen(name, "w");
    PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "-output %s: cannot create the error table %s: %s", in->cfg->output, name, strerror(errno));
    PetscCall(QrbmErrorTableView(PETSC_COMM_SELF, &tab, fp));
    const int bad = ferror(fp) | fclose(fp);
    PetscCheck(!bad, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "-output %s: writing the error table %s failed: %s", in->cfg->output, name, strerror(errno));
  }
  PetscCall(QrbmErrorTableDestroy(&tab));
  PetscCall(PetscFree2(refR1, refR1time));
  PetscCall(PetscFree3(ref, obs_time, cols));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmReportWrite(const QrbmReportInput *in, double *mean, double *stderr)
{
  const PetscInt len = in->ntimes * in->rec->len;
  PetscInt       nt;
  qcomplex      *R1, *batches = NULL;
  double        *time, *counts = NULL;
  QrbmWigner     wig;
  PetscFunctionBeginUser;
  if (in->rec->rdm_offset < 0) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(QrbmWignerCreate(in->grid, in->cfg->hbar, &wig)); /* planned once for every R_1 of the report */
  PetscCallMPI(MPI_Bcast(mean, (PetscMPIInt)len, MPI_DOUBLE, 0, in->world));
  PetscCallMPI(MPI_Bcast(stderr, (PetscMPIInt)len, MPI_DOUBLE, 0, in->world));
  PetscCall(GatherR1(in, mean, &nt, &R1, &time));
  PetscCall(WriteSpectraWigner(in, wig, nt, R1));
  if (in->nbatch) {
    const hsize_t db[4] = {(hsize_t)nt, (hsize_t)in->nbatch, (hsize_t)in->grid->Md, (hsize_t)in->grid->Md}, dk = (hsize_t)in->nbatch;
    PetscCall(BatchMeans(in, nt, &batches, &counts));
    PetscCall(QrbmH5WriteComplex(in->file, "/rdm/R1_batches", 4, db, batches, in->dxpl, in->wrank == 0 ? PETSC_TRUE : PETSC_FALSE));
    PetscCall(QrbmH5WriteReal(in->file, "/rdm/batch_counts", 1, &dk, counts, in->dxpl, in->wrank == 0 ? PETSC_TRUE : PETSC_FALSE));
  }
  if (in->cfg->reference == QRBM_REFERENCE_EXACT) PetscCall(ErrorTable(in, wig, nt, time, R1, mean, stderr, batches, counts));
  PetscCall(QrbmWignerDestroy(&wig));
  PetscCall(PetscFree(batches));
  PetscCall(PetscFree(counts));
  PetscCall(PetscFree2(R1, time));
  PetscFunctionReturn(PETSC_SUCCESS);
}
