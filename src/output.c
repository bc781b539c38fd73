/* HDF5 output: root attributes record every option, time series grow along an unlimited axis. */
#include <qrbm/output.h>
#include <qrbm/events.h>
#include <qrbm/h5io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static PetscErrorCode AttrNumbers(hid_t loc, const char *name, hid_t type, hsize_t n, const void *v)
{
  hid_t s, a;
  PetscFunctionBeginUser;
  QrbmCallH5Id(s, n == 1 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, NULL));
  QrbmCallH5Id(a, H5Acreate2(loc, name, type, s, H5P_DEFAULT, H5P_DEFAULT));
  QrbmCallH5(H5Awrite(a, type, v));
  QrbmCallH5(H5Aclose(a));
  QrbmCallH5(H5Sclose(s));
  PetscFunctionReturn(PETSC_SUCCESS);
}
#define AttrReal(loc, name, v) AttrNumbers(loc, name, H5T_NATIVE_DOUBLE, 1, &(double){(double)(v)})
#define AttrInt(loc, name, v)  AttrNumbers(loc, name, H5T_NATIVE_LLONG, 1, &(long long){(long long)(v)})

/* Every option value, the code version and the parallel layout, as root attributes. */
PetscErrorCode QrbmOutputWriteOptions(hid_t f, const QrbmGrid *g, const QrbmConfig *c)
{
  const hsize_t npk = (hsize_t)(c->ninit * c->dim);
  PetscFunctionBeginUser;
  PetscCall(QrbmH5WriteAttrString(f, "qrbm_version", QRBM_VERSION));
  PetscCall(AttrInt(f, "format_version", QRBM_FORMAT_VERSION));
  PetscMPIInt wsize;
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &wsize));
  PetscCall(AttrInt(f, "mpi_ranks", wsize));
  PetscCall(AttrInt(f, "ranks_per_group", g->size));
  PetscCall(AttrInt(f, "dim", c->dim));
  PetscCall(AttrInt(f, "particles", c->particles));
  PetscCall(AttrInt(f, "grid", c->grid));
  PetscCall(AttrReal(f, "box", c->box));
  PetscCall(AttrReal(f, "hbar", c->hbar));
  PetscCall(AttrReal(f, "t_final", c->t_final));
  PetscCall(AttrReal(f, "dt", c->dt));
  PetscCall(AttrInt(f, "nsteps", c->nsteps));
  PetscCall(QrbmH5WriteAttrString(f, "scheme", QrbmSchemeNames[c->scheme]));
  PetscCall(QrbmH5WriteAttrString(f, "potential", QrbmPotentialNames[c->potential]));
  PetscCall(AttrReal(f, "potential_strength", c->strength));
  PetscCall(AttrReal(f, "potential_width", c->width));
  PetscCall(AttrReal(f, "trap_omega", c->trap_omega));
  PetscCall(QrbmH5WriteAttrString(f, "init", QrbmInitNames[c->init]));
  if (npk) PetscCall(AttrNumbers(f, "init_q", H5T_NATIVE_DOUBLE, npk, c->init_q));
  if (npk) PetscCall(AttrNumbers(f, "init_p", H5T_NATIVE_DOUBLE, npk, c->init_p));
  PetscCall(AttrReal(f, "ground_tol", c->ground_tol));
  PetscCall(AttrInt(f, "ground_maxiter", c->ground_maxiter));
  PetscCall(AttrReal(f, "ground_dtau", c->ground_dtau));
  PetscCall(QrbmH5WriteAttrString(f, "output", c->output));
  PetscCall(AttrInt(f, "output_interval", c->output_interval));
  PetscCall(QrbmH5WriteAttrString(f, "fftw_planner", QrbmPlannerNames[c->planner]));
  PetscCall(QrbmH5WriteAttrString(f, "fftw_wisdom", c->wisdom));
  PetscCall(AttrInt(f, "threads", c->threads));
  PetscCall(QrbmH5WriteAttrString(f, "method", QrbmMethodNames[c->method]));
  PetscCall(AttrInt(f, "batch_size", c->batch_size));
  PetscCall(AttrReal(f, "rb_dt", c->rb_dt));
  PetscCall(AttrInt(f, "realizations", c->realizations));
  PetscCall(AttrInt(f, "seed", c->seed));
  PetscCall(AttrInt(f, "rb_couple_level", c->rb_couple_level));
  PetscCall(QrbmH5WriteAttrString(f, "checkpoint_file", c->checkpoint_file));
  PetscCall(QrbmH5WriteAttrString(f, "checkpoint_interval", c->checkpoint_interval));
  PetscCall(AttrInt(f, "checkpoint_keep", c->checkpoint_keep));
  PetscCall(QrbmH5WriteAttrString(f, "restart", c->restart));
  PetscCall(AttrReal(f, "max_walltime", c->max_walltime));
  PetscCall(AttrReal(f, "memory_limit_mb", c->memory_limit_mb));
  PetscCall(AttrReal(f, "rdm_max_mb", c->rdm_max_mb));
  PetscCall(AttrReal(f, "checkpoint_test_delay", c->checkpoint_test_delay));
  PetscCall(AttrInt(f, "progress_interval", c->progress_interval));
  PetscCall(AttrInt(f, "quiet", c->quiet));
  PetscCall(AttrInt(f, "ranks_per_realization", c->ranks_per_realization));
  PetscCall(AttrInt(f, "record_pairings", c->record_pairings));
  PetscCall(AttrInt(f, "save_realizations", c->save_realizations));
  PetscCall(QrbmH5WriteAttrString(f, "rb_expectation", QrbmExpectationNames[c->expectation]));
  PetscCall(AttrReal(f, "rb_enumerate_limit", c->enumerate_limit));
  PetscCall(AttrInt(f, "rdm_interval", c->rdm_interval));
  PetscCall(AttrInt(f, "rdm_batches", c->rdm_batches));
  PetscCall(QrbmH5WriteAttrString(f, "reference", QrbmReferenceNames[c->reference]));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* A dataset of shape (0, shape...) growing along its first axis. */
static PetscErrorCode CreateSeries(hid_t f, const char *name, int rank, const hsize_t *shape, PetscBool cplx)
{
  hsize_t dims[4] = {0}, maxd[4] = {H5S_UNLIMITED}, chunk[4] = {1};
  hid_t   s, p, d, type = H5T_NATIVE_DOUBLE;
  PetscFunctionBeginUser;
  for (int r = 0; r < rank; r++) dims[r + 1] = maxd[r + 1] = chunk[r + 1] = shape[r];
  if (rank == 0) chunk[0] = 256;
  QrbmCallH5Id(s, H5Screate_simple(rank + 1, dims, maxd));
  QrbmCallH5Id(p, H5Pcreate(H5P_DATASET_CREATE));
  QrbmCallH5(H5Pset_chunk(p, rank + 1, chunk));
  if (cplx) PetscCall(QrbmH5ComplexType(&type));
  QrbmCallH5Id(d, H5Dcreate2(f, name, type, s, H5P_DEFAULT, p, H5P_DEFAULT));
  if (cplx) QrbmCallH5(H5Tclose(type));
  QrbmCallH5(H5Dclose(d));
  QrbmCallH5(H5Pclose(p));
  QrbmCallH5(H5Sclose(s));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Writes a fixed array collectively; rank 0 holds the data, the other ranks select nothing. */
static PetscErrorCode WriteFixed(QrbmOutput *out, const char *name, int rank, const hsize_t *shape, const double *v)
{
  hid_t s, d;
  PetscFunctionBeginUser;
  QrbmCallH5Id(s, H5Screate_simple(rank, shape, NULL));
  QrbmCallH5Id(d, H5Dcreate2(out->file, name, H5T_NATIVE_DOUBLE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  if (out->rank != 0) QrbmCallH5(H5Sselect_none(s));
  QrbmCallH5(H5Dwrite(d, H5T_NATIVE_DOUBLE, s, s, out->dxpl, v));
  QrbmCallH5(H5Dclose(d));
  QrbmCallH5(H5Sclose(s));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode CreateGroup(hid_t f, const char *name)
{
  hid_t grp;
  PetscFunctionBeginUser;
  QrbmCallH5Id(grp, H5Gcreate2(f, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  QrbmCallH5(H5Gclose(grp));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Fixed-size dataset, kept open so that group roots can write their rows independently. */
static PetscErrorCode CreateFixed(hid_t f, const char *name, hid_t type, int rank, const hsize_t *dims, hid_t *d)
{
  hid_t s;
  PetscFunctionBeginUser;
  QrbmCallH5Id(s, H5Screate_simple(rank, dims, NULL));
  QrbmCallH5Id(*d, H5Dcreate2(f, name, type, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  QrbmCallH5(H5Sclose(s));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Per-realisation series (R, T, shape...) and pairing records (intervals, N), one per realisation. */
static PetscErrorCode CreateEnsembleSets(QrbmOutput *out, const QrbmGrid *g, const QrbmConfig *cfg)
{
  char name[PETSC_MAX_PATH_LEN];
  PetscFunctionBeginUser;
  for (int i = 0; i < QRBM_MAX_FIELDS; i++) out->real[i] = -1;
  if (cfg->save_realizations) {
    PetscCall(CreateGroup(out->file, "/realizations"));
    for (int i = 0; i < out->rec->nfields && !out->rec->f[i].rdm; i++) { /* R_1 per realisation: not kept */
      const QrbmField *f       = &out->rec->f[i];
      hsize_t          dims[5] = {(hsize_t)cfg->realizations, out->ntotal};
      for (int r = 0; r < f->rank; r++) dims[2 + r] = f->shape[r];
      PetscCall(PetscSNPrintf(name, sizeof(name), "/realizations/%s", strrchr(f->name, '/') + 1));
      PetscCall(CreateFixed(out->file, name, H5T_NATIVE_DOUBLE, f->rank + 2, dims, &out->real[i]));
    }
  }
  if (cfg->record_pairings) {
    hsize_t dims[2] = {(hsize_t)out->nintervals, (hsize_t)g->N};
    PetscCall(CreateGroup(out->file, "/pairings"));
    PetscCall(PetscMalloc1(cfg->realizations, &out->pairings));
    out->npairings = cfg->realizations;
    for (PetscInt r = 0; r < cfg->realizations; r++) {
      PetscCall(PetscSNPrintf(name, sizeof(name), "/pairings/%" PetscInt_FMT, r));
      PetscCall(CreateFixed(out->file, name, H5T_NATIVE_INT, 2, dims, &out->pairings[r]));
    }
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode OpenEnsembleSets(QrbmOutput *out, const QrbmConfig *cfg)
{
  char name[PETSC_MAX_PATH_LEN];
  PetscFunctionBeginUser;
  for (int i = 0; i < QRBM_MAX_FIELDS; i++) out->real[i] = -1;
  for (int i = 0; cfg->save_realizations && i < out->rec->nfields && !out->rec->f[i].rdm; i++) {
    PetscCall(PetscSNPrintf(name, sizeof(name), "/realizations/%s", strrchr(out->rec->f[i].name, '/') + 1));
    out->real[i] = H5Dopen2(out->file, name, H5P_DEFAULT);
    PetscCheck(out->real[i] >= 0, out->comm, PETSC_ERR_FILE_UNEXPECTED, "-output %s: dataset %s missing: the output does not belong to this checkpoint", out->path, name);
  }
  if (!cfg->record_pairings) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscMalloc1(cfg->realizations, &out->pairings));
  out->npairings = cfg->realizations;
  for (PetscInt r = 0; r < cfg->realizations; r++) {
    PetscCall(PetscSNPrintf(name, sizeof(name), "/pairings/%" PetscInt_FMT, r));
    out->pairings[r] = H5Dopen2(out->file, name, H5P_DEFAULT);
    PetscCheck(out->pairings[r] >= 0, out->comm, PETSC_ERR_FILE_UNEXPECTED, "-output %s: dataset %s missing: the output does not belong to this checkpoint", out->path, name);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode CutSeries(QrbmOutput *out, const char *name, hsize_t keep)
{
  hsize_t dims[4];
  hid_t   d, fs;
  PetscFunctionBeginUser;
  d = H5Dopen2(out->file, name, H5P_DEFAULT);
  PetscCheck(d >= 0, out->comm, PETSC_ERR_FILE_UNEXPECTED, "-output %s: dataset %s missing: the output does not belong to this checkpoint", out->path, name);
  QrbmCallH5Id(fs, H5Dget_space(d));
  QrbmCallH5(H5Sget_simple_extent_dims(fs, dims, NULL));
  QrbmCallH5(H5Sclose(fs));
  PetscCheck(dims[0] >= keep, out->comm, PETSC_ERR_FILE_UNEXPECTED, "-output %s: %s has %llu output times, the checkpoint expects %llu: the output does not belong to this checkpoint", out->path, name, (unsigned long long)dims[0], (unsigned long long)keep);
  dims[0] = keep;
  QrbmCallH5(H5Dset_extent(d, dims));
  QrbmCallH5(H5Dclose(d));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmOutputOpen(MPI_Comm comm, const QrbmGrid *g, const QrbmConfig *cfg, const QrbmRecord *rec, hsize_t ntotal, hsize_t nintervals, hsize_t keep, QrbmOutput *out)
{
  hid_t fapl;
  char  name[PETSC_MAX_PATH_LEN];
  int   ok = 1;
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(QRBM_EVENT_IO, 0, 0, 0, 0));
  PetscCall(PetscMemzero(out, sizeof(*out)));
  out->comm = comm; out->rec = rec; out->ntotal = ntotal; out->nintervals = nintervals; out->ntimes = keep;
  out->reopened = PETSC_TRUE;
  PetscCallMPI(MPI_Comm_rank(comm, &out->rank));
  PetscCall(PetscStrncpy(out->path, cfg->output, sizeof(out->path)));
  PetscCall(PetscSNPrintf(out->part, sizeof(out->part), "%s.part", cfg->output));
  if (out->rank == 0 && access(out->part, F_OK) != 0) ok = rename(out->path, out->part) == 0;
  PetscCallMPI(MPI_Bcast(&ok, 1, MPI_INT, 0, comm));
  PetscCheck(ok, comm, PETSC_ERR_FILE_OPEN, "-restart: output file %s (or %s) of the checkpointed run not found: restart needs the same -output", out->path, out->part);
  QrbmCallH5(H5Eset_auto2(H5E_DEFAULT, NULL, NULL));
  QrbmCallH5Id(fapl, H5Pcreate(H5P_FILE_ACCESS));
  QrbmCallH5(H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL));
  out->file = H5Fopen(out->part, H5F_ACC_RDWR, fapl);
  QrbmCallH5(H5Pclose(fapl));
  PetscCheck(out->file >= 0, comm, PETSC_ERR_FILE_OPEN, "-restart: cannot open the output %s for appending (not an HDF5 file?)", out->part);
  QrbmCallH5Id(out->dxpl, H5Pcreate(H5P_DATASET_XFER));
  QrbmCallH5(H5Pset_dxpl_mpio(out->dxpl, H5FD_MPIO_COLLECTIVE));
  /* the root attributes describe the latest segment (-t_final may have grown, ranks changed) */
  while (H5Adelete_by_idx(out->file, ".", H5_INDEX_NAME, H5_ITER_INC, 0, H5P_DEFAULT) >= 0) {}
  /* products of a completed segment's end are recomputed at the end of this one */
  static const char *derived[] = {"/rdm/eigenvalues", "/rdm/purity", "/rdm/entropy", "/rdm/R1_batches", "/rdm/batch_counts", "/wigner", "/error"};
  for (size_t i = 0; i < sizeof(derived) / sizeof(derived[0]); i++)
    if (H5Lexists(out->file, derived[i], H5P_DEFAULT) > 0) QrbmCallH5(H5Ldelete(out->file, derived[i], H5P_DEFAULT));
  PetscCall(QrbmOutputWriteOptions(out->file, g, cfg));
  PetscCall(QrbmH5WriteAttrString(out->file, "status", "running"));
  out->nrdm = rec->rdm_interval > 0 ? (keep + (hsize_t)rec->rdm_interval - 1) / (hsize_t)rec->rdm_interval : 0;
  for (int i = 0; i < rec->nfields; i++) {
    const hsize_t k = rec->f[i].rdm ? out->nrdm : keep;
    PetscCall(CutSeries(out, rec->f[i].name, k));
    if (!rec->f[i].stats) continue;
    PetscCall(PetscSNPrintf(name, sizeof(name), "%s_stderr", rec->f[i].name));
    PetscCall(CutSeries(out, name, k));
  }
  PetscCall(OpenEnsembleSets(out, cfg));
  PetscCall(PetscLogEventEnd(QRBM_EVENT_IO, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmOutputCreate(MPI_Comm comm, const QrbmGrid *g, const QrbmConfig *cfg, const QrbmRecord *rec, const double *pgrid, hsize_t ntotal, hsize_t nintervals, QrbmOutput *out)
{
  hid_t   fapl;
  hsize_t M = (hsize_t)g->M;
  char    name[PETSC_MAX_PATH_LEN];
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(QRBM_EVENT_IO, 0, 0, 0, 0));
  PetscCall(PetscMemzero(out, sizeof(*out)));
  out->comm = comm; out->rec = rec; out->ntotal = ntotal; out->nintervals = nintervals;
  PetscCallMPI(MPI_Comm_rank(comm, &out->rank));
  PetscCall(PetscStrncpy(out->path, cfg->output, sizeof(out->path)));
  PetscCall(PetscSNPrintf(out->part, sizeof(out->part), "%s.part", cfg->output));
  if (!getenv("QRBM_H5_DEBUG")) QrbmCallH5(H5Eset_auto2(H5E_DEFAULT, NULL, NULL)); /* our own messages replace HDF5 stack dumps */
  QrbmCallH5Id(fapl, H5Pcreate(H5P_FILE_ACCESS));
  QrbmCallH5(H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL));
  out->file = H5Fcreate(out->part, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  QrbmCallH5(H5Pclose(fapl));
  PetscCheck(out->file >= 0, comm, PETSC_ERR_FILE_OPEN, "-output %s: cannot create %s (directory missing or not writable?)", cfg->output, out->part);
  QrbmCallH5Id(out->dxpl, H5Pcreate(H5P_DATASET_XFER));
  QrbmCallH5(H5Pset_dxpl_mpio(out->dxpl, H5FD_MPIO_COLLECTIVE));
  PetscCall(QrbmOutputWriteOptions(out->file, g, cfg));
  PetscCall(QrbmH5WriteAttrString(out->file, "status", "running"));
  PetscCall(CreateGroup(out->file, "/observables"));
  PetscCall(CreateGroup(out->file, "/density"));
  if (rec->rdm_offset >= 0) PetscCall(CreateGroup(out->file, "/rdm"));
  for (int i = 0; i < rec->nfields; i++) {
    PetscCall(CreateSeries(out->file, rec->f[i].name, rec->f[i].rank, rec->f[i].shape, rec->f[i].cplx));
    if (!rec->f[i].stats) continue;
    PetscCall(PetscSNPrintf(name, sizeof(name), "%s_stderr", rec->f[i].name));
    PetscCall(CreateSeries(out->file, name, rec->f[i].rank, rec->f[i].shape, rec->f[i].cplx));
  }
  PetscCall(WriteFixed(out, "/density/x", 1, &M, g->x));
  PetscCall(WriteFixed(out, "/density/p", 1, &M, pgrid));
  PetscCall(CreateEnsembleSets(out, g, cfg));
  PetscCall(PetscLogEventEnd(QRBM_EVENT_IO, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Appends field f of the nrows records in rows (row-major, rec->len values each) to dataset
   `name`: every row, or for RDM fields only the rows of RDM times. Rank 0's data are written, the
   other ranks take part in the collective calls with empty selections. */
static PetscErrorCode AppendField(QrbmOutput *out, const char *name, const QrbmField *f, hsize_t nrows, const double *rows)
{
  hsize_t dims[4], start[4] = {f->rdm ? out->nrdm : out->ntimes}, count[4] = {0}, n = 0, mdims[4];
  hid_t   d, fs, ms, type = H5T_NATIVE_DOUBLE;
  double *buf;
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(nrows * (hsize_t)f->len + 1, &buf));
  for (hsize_t j = 0; j < nrows; j++) /* the selected rows of this field, packed */
    if (!f->rdm || QrbmRecordHasRdm(out->rec, (PetscInt)(out->ntimes + j))) PetscCall(PetscArraycpy(buf + n++ * f->len, rows + j * out->rec->len + f->offset, f->len));
  QrbmCallH5Id(d, H5Dopen2(out->file, name, H5P_DEFAULT));
  QrbmCallH5Id(fs, H5Dget_space(d));
  QrbmCallH5(H5Sget_simple_extent_dims(fs, dims, NULL));
  QrbmCallH5(H5Sclose(fs));
  dims[0] = start[0] + n;
  QrbmCallH5(H5Dset_extent(d, dims));
  QrbmCallH5Id(fs, H5Dget_space(d));
  count[0] = n;
  mdims[0] = PetscMax(n, 1); /* empty selections below when n = 0 */
  for (int r = 1; r <= f->rank; r++) count[r] = mdims[r] = dims[r];
  QrbmCallH5Id(ms, H5Screate_simple(f->rank + 1, mdims, NULL));
  if (n > 0) QrbmCallH5(H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL));
  if (out->rank != 0 || n == 0) {
    QrbmCallH5(H5Sselect_none(fs));
    QrbmCallH5(H5Sselect_none(ms));
  }
  if (f->cplx) PetscCall(QrbmH5ComplexType(&type));
  QrbmCallH5(H5Dwrite(d, type, ms, fs, out->dxpl, buf));
  if (f->cplx) QrbmCallH5(H5Tclose(type));
  QrbmCallH5(H5Sclose(ms));
  QrbmCallH5(H5Sclose(fs));
  QrbmCallH5(H5Dclose(d));
  PetscCall(PetscFree(buf));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmOutputAppend(QrbmOutput *out, PetscInt nrows, const double *mean, const double *stderr)
{
  char name[PETSC_MAX_PATH_LEN];
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(QRBM_EVENT_IO, 0, 0, 0, 0));
  for (int i = 0; i < out->rec->nfields; i++) {
    const QrbmField *f = &out->rec->f[i];
    PetscCall(AppendField(out, f->name, f, (hsize_t)nrows, mean));
    if (!f->stats) continue;
    PetscCall(PetscSNPrintf(name, sizeof(name), "%s_stderr", f->name));
    PetscCall(AppendField(out, name, f, (hsize_t)nrows, stderr));
  }
  for (PetscInt j = 0; j < nrows; j++) out->nrdm += QrbmRecordHasRdm(out->rec, (PetscInt)out->ntimes + j) ? 1 : 0;
  out->ntimes += (hsize_t)nrows;
  QrbmCallH5(H5Fflush(out->file, H5F_SCOPE_GLOBAL));
  PetscCall(PetscLogEventEnd(QRBM_EVENT_IO, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Independent writes by the root of the group that ran realisation r. */
PetscErrorCode QrbmOutputWriteRealization(QrbmOutput *out, PetscInt r, const double *rows)
{
  PetscFunctionBeginUser;
  for (int i = 0; i < out->rec->nfields && out->real[i] >= 0; i++) {
    const QrbmField *f = &out->rec->f[i];
    hsize_t start[5] = {(hsize_t)r}, count[5] = {1, out->ntotal}, mdims[2] = {out->ntotal, (hsize_t)out->rec->len};
    hsize_t mstart[2] = {0, (hsize_t)f->offset}, mcount[2] = {out->ntotal, (hsize_t)f->len};
    hid_t   fs, ms;
    for (int k = 0; k < f->rank; k++) count[2 + k] = f->shape[k];
    QrbmCallH5Id(fs, H5Dget_space(out->real[i]));
    QrbmCallH5(H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL));
    QrbmCallH5Id(ms, H5Screate_simple(2, mdims, NULL));
    QrbmCallH5(H5Sselect_hyperslab(ms, H5S_SELECT_SET, mstart, NULL, mcount, NULL));
    QrbmCallH5(H5Dwrite(out->real[i], H5T_NATIVE_DOUBLE, ms, fs, H5P_DEFAULT, rows));
    QrbmCallH5(H5Sclose(ms));
    QrbmCallH5(H5Sclose(fs));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmOutputWritePairings(QrbmOutput *out, PetscInt r, const int *perms)
{
  PetscFunctionBeginUser;
  if (r < out->npairings) QrbmCallH5(H5Dwrite(out->pairings[r], H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, perms));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmOutputClose(QrbmOutput *out, QrbmOutputStatus status)
{
  int ok = 1;
  PetscFunctionBeginUser;
  if (out->file <= 0) PetscFunctionReturn(PETSC_SUCCESS);
  for (int i = 0; i < QRBM_MAX_FIELDS; i++)
    if (out->real[i] > 0) H5Dclose(out->real[i]);
  for (PetscInt r = 0; r < out->npairings; r++) H5Dclose(out->pairings[r]);
  PetscCall(PetscFree(out->pairings));
  if (status != QRBM_OUTPUT_FAILED) {
    H5Adelete(out->file, "status");
    PetscCall(QrbmH5WriteAttrString(out->file, "status", status == QRBM_OUTPUT_COMPLETE ? "complete" : "checkpointed"));
  }
  H5Pclose(out->dxpl);
  if (H5Fclose(out->file) < 0) ok = 0;
  out->file = 0;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, out->comm));
  if (out->rank == 0) {
    /* a failed continuation keeps the data of the checkpointed run; its extra rows are cut on restart */
    if ((status != QRBM_OUTPUT_FAILED || out->reopened) && ok) ok = rename(out->part, out->path) == 0;
    else unlink(out->part);
  }
  PetscCallMPI(MPI_Bcast(&ok, 1, MPI_INT, 0, out->comm));
  PetscCheck(status == QRBM_OUTPUT_FAILED || ok, out->comm, PETSC_ERR_FILE_WRITE, "-output %s: could not close or rename %s", out->path, out->part);
  PetscFunctionReturn(PETSC_SUCCESS);
}
