/* HDF5 output: root attributes record every option, time series grow along an unlimited axis. */
#include <qrbm/output.h>
#include <qrbm/agree.h>
#include <qrbm/checksum.h>
#include <qrbm/events.h>
#include <qrbm/h5io.h>
#include <qrbm/identity.h>
#include <qrbm/paths.h>
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

/* One row of the options table as the root attribute named like the option (without the dash):
   integers and flags as 64-bit integers, reals as doubles, choices by name, lists as arrays. */
static PetscErrorCode WriteOption(hid_t f, const QrbmOption *o, const QrbmConfig *c)
{
  const char *attr = o->name + 1, *v = (const char *)c + o->offset;
  PetscFunctionBeginUser;
  switch (o->type) {
  case QRBM_OPT_REAL: PetscCall(AttrReal(f, attr, *(const PetscReal *)v)); break;
  case QRBM_OPT_STRING: PetscCall(QrbmH5WriteAttrString(f, attr, v)); break;
  case QRBM_OPT_CHOICE: PetscCall(QrbmH5WriteAttrString(f, attr, o->choice(*(const int *)v))); break;
  case QRBM_OPT_REALS:
    if (o->count(c) > 0) PetscCall(AttrNumbers(f, attr, H5T_NATIVE_DOUBLE, (hsize_t)o->count(c), v));
    break;
  default: PetscCall(AttrInt(f, attr, QrbmOptionInt(o, c))); /* INT, BOOL */
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Every option value (the options table), the code version and the parallel layout. */
PetscErrorCode QrbmOutputWriteOptions(hid_t f, const QrbmGrid *g, const QrbmConfig *c)
{
  PetscMPIInt wsize;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &wsize));
  PetscCall(QrbmH5WriteAttrString(f, "qrbm_version", QRBM_VERSION));
  PetscCall(AttrInt(f, "format_version", QRBM_FORMAT_VERSION));
  PetscCall(AttrInt(f, "mpi_ranks", wsize));
  PetscCall(AttrInt(f, "ranks_per_group", g->size));
  PetscCall(AttrInt(f, "nsteps", c->nsteps));
  for (const QrbmOption *o = QrbmOptions; o->name; o++) PetscCall(WriteOption(f, o, c));
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
  QrbmH5Context(NULL, name, "writing");
  QrbmCallH5Collective("writing a fixed output dataset", H5Dwrite(d, H5T_NATIVE_DOUBLE, s, s, out->dxpl, v));
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

/* The group of dataset `path` ("/group/name"), unless it exists: the record's fields name their groups. */
static PetscErrorCode CreateParent(hid_t f, const char *path)
{
  char      group[PETSC_MAX_PATH_LEN];
  char     *slash;
  PetscBool exists;
  PetscFunctionBeginUser;
  PetscCall(PetscStrncpy(group, path, sizeof(group)));
  slash = strrchr(group, '/');
  if (!slash || slash == group) PetscFunctionReturn(PETSC_SUCCESS);
  *slash = '\0';
  PetscCall(QrbmH5Exists(f, group, &exists));
  if (!exists) PetscCall(CreateGroup(f, group));
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

/* The output a restart continues must be the checkpointed run's: same physics (root attributes)
   and every time series at least as long as the checkpoint accounts for. Read-only, rank 0. */
static PetscErrorCode CheckSeries(hid_t f, const char *file, const char *name, hsize_t keep)
{
  hsize_t dims[QRBM_H5_MAX_RANK] = {0};
  hid_t   d, fs;
  PetscFunctionBeginUser;
  d = H5Dopen2(f, name, H5P_DEFAULT);
  PetscCheck(d >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "-restart: the output %s has no dataset %s: it does not belong to this checkpoint", file, name);
  QrbmCallH5Id(fs, H5Dget_space(d));
  QrbmCallH5(H5Sget_simple_extent_dims(fs, dims, NULL));
  QrbmCallH5(H5Sclose(fs));
  QrbmCallH5(H5Dclose(d));
  PetscCheck(dims[0] >= keep, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "-restart: the output %s has %llu rows in %s, the checkpoint accounts for %llu: it does not belong to this checkpoint", file, (unsigned long long)dims[0], name,
             (unsigned long long)keep);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The fixed scalar options of the options table against the output's attributes (the lists are
   covered by the checkpoint's own check and the run id). */
static PetscErrorCode CheckPhysics(hid_t f, const char *file, const QrbmConfig *c)
{
  double v;
  char   str[512], now[512];
  PetscFunctionBeginUser;
  for (const QrbmOption *o = QrbmOptions; o->name; o++) {
    if (o->cls != QRBM_OPT_FIXED || o->type == QRBM_OPT_REALS) continue;
    if (o->type == QRBM_OPT_CHOICE || o->type == QRBM_OPT_STRING) {
      PetscCall(QrbmH5ReadAttrString(f, file, o->name + 1, str, sizeof(str)));
      PetscCall(QrbmOptionText(o, c, now, sizeof(now)));
      PetscCheck(!strcmp(str, now), PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP, "-restart: the output %s was written with %s %s, this run has %s: it is not the output of the checkpointed run", file, o->name, str, now);
      continue;
    }
    PetscCall(QrbmH5ReadAttrReal(f, file, o->name + 1, &v));
    PetscCheck(v == QrbmOptionNumber(o, c), PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP, "-restart: the output %s was written with %s %.17g, this run has %.17g: it is not the output of the checkpointed run", file, o->name, v,
               QrbmOptionNumber(o, c));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Only the output of the checkpointed run itself: same run id (a run of identical physics is
   another run). */
static PetscErrorCode CheckIdentity(hid_t f, const char *file, const QrbmConfig *c)
{
  char id[33], hash[17];
  PetscFunctionBeginUser;
  PetscCall(QrbmIdentityRead(f, file, id, hash));
  PetscCheck(id[0], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "-restart %s: the output %s has no run_id (written by an older qrbm, format_version 1): it cannot be continued by this checkpoint", c->restart, file);
  PetscCheck(!strcmp(id, c->run_id), PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP, "-restart %s: the output %s belongs to run %s, the checkpoint to run %s: give the -output of the checkpointed run", c->restart, file, id, c->run_id);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Adds the checksum of rows [row0, row0 + nrows) of dataset `name` (per = 2: complex elements,
   summed as their two doubles, like the writer's buffers). Element positions as in the writers. */
static PetscErrorCode SumRows(hid_t f, const char *name, hid_t mtype, size_t unit, int per, hsize_t row0, hsize_t nrows, uint64_t *sum)
{
  hsize_t dims[QRBM_H5_MAX_RANK] = {0}, start[QRBM_H5_MAX_RANK] = {0}, rowlen = 1, n;
  hid_t   d, fs, ms;
  int     nd;
  void   *buf;
  PetscFunctionBeginUser;
  if (nrows == 0) PetscFunctionReturn(PETSC_SUCCESS);
  QrbmCallH5Id(d, H5Dopen2(f, name, H5P_DEFAULT));
  QrbmCallH5Id(fs, H5Dget_space(d));
  QrbmCallH5(nd = H5Sget_simple_extent_dims(fs, dims, NULL));
  for (int i = 1; i < nd; i++) rowlen *= dims[i];
  n       = nrows * rowlen;
  dims[0]  = nrows; /* now the count of the selection */
  start[0] = row0;
  QrbmCallH5(H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, dims, NULL));
  QrbmCallH5Id(ms, H5Screate_simple(1, &n, NULL));
  PetscCall(PetscMalloc(n * (size_t)per * unit + 1, &buf));
  QrbmCallH5(H5Dread(d, mtype, ms, fs, H5P_DEFAULT, buf));
  *sum += QrbmChecksumBlock(QrbmChecksumName(name) + row0 * rowlen * (hsize_t)per, unit, n * (size_t)per, buf);
  PetscCall(PetscFree(buf));
  QrbmCallH5(H5Sclose(ms));
  QrbmCallH5(H5Sclose(fs));
  QrbmCallH5(H5Dclose(d));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The checksum of what a restart keeps of the output: the first `keep` rows of every time series
   and the /realizations rows and /pairings of the finished realisations. */
static PetscErrorCode SumKept(hid_t f, const QrbmConfig *cfg, const QrbmRecord *rec, hsize_t keep, hsize_t nrdm, const char *done, uint64_t *sum)
{
  char  name[PETSC_MAX_PATH_LEN];
  hid_t ctype;
  PetscFunctionBeginUser;
  *sum = 0;
  PetscCall(QrbmH5ComplexType(&ctype));
  for (int i = 0; i < rec->nfields; i++) {
    const QrbmField *fl = &rec->f[i];
    for (int e = 0; e < (fl->stats ? 2 : 1); e++) {
      PetscCall(PetscSNPrintf(name, sizeof(name), "%s%s", fl->name, e ? "_stderr" : ""));
      PetscCall(SumRows(f, name, fl->cplx ? ctype : H5T_NATIVE_DOUBLE, sizeof(double), fl->cplx ? 2 : 1, 0, fl->rdm ? nrdm : keep, sum));
    }
  }
  QrbmCallH5(H5Tclose(ctype));
  for (PetscInt r = 0; r < cfg->realizations; r++) {
    if (!done[r]) continue; /* unfinished realisations are rewritten */
    for (int i = 0; cfg->save_realizations && i < rec->nfields && !rec->f[i].rdm; i++) {
      PetscCall(PetscSNPrintf(name, sizeof(name), "/realizations/%s", strrchr(rec->f[i].name, '/') + 1));
      PetscCall(SumRows(f, name, H5T_NATIVE_DOUBLE, sizeof(double), 1, (hsize_t)r, 1, sum));
    }
    if (cfg->record_pairings) {
      hsize_t dims[2];
      hid_t   d, s;
      PetscCall(PetscSNPrintf(name, sizeof(name), "/pairings/%" PetscInt_FMT, r));
      QrbmCallH5Id(d, H5Dopen2(f, name, H5P_DEFAULT));
      QrbmCallH5Id(s, H5Dget_space(d));
      QrbmCallH5(H5Sget_simple_extent_dims(s, dims, NULL));
      QrbmCallH5(H5Sclose(s));
      QrbmCallH5(H5Dclose(d));
      PetscCall(SumRows(f, name, H5T_NATIVE_INT, sizeof(int), 1, 0, dims[0], sum));
    }
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Validate(const QrbmOutput *out, const QrbmConfig *cfg, const QrbmRecord *rec, hsize_t keep, const char *done, uint64_t want)
{
  const char   *src = access(out->part, F_OK) == 0 ? out->part : out->path;
  const hsize_t nrdm = rec->rdm_interval > 0 ? (keep + (hsize_t)rec->rdm_interval - 1) / (hsize_t)rec->rdm_interval : 0;
  char          name[PETSC_MAX_PATH_LEN];
  hid_t         f;
  PetscFunctionBeginUser;
  PetscCheck(access(src, R_OK) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "-restart: output file %s (or %s) of the checkpointed run not found: restart needs the same -output", out->path, out->part);
  QrbmH5Context(src, "", "validating the output");
  f = H5Fopen(src, H5F_ACC_RDONLY, H5P_DEFAULT);
  PetscCheck(f >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "-restart: the output %s cannot be opened as HDF5 (truncated or not an output?)", src);
  PetscErrorCode ierr = CheckIdentity(f, src, cfg);
  if (!ierr) ierr = CheckPhysics(f, src, cfg);
  for (int i = 0; !ierr && i < rec->nfields; i++) {
    const hsize_t k = rec->f[i].rdm ? nrdm : keep;
    ierr = CheckSeries(f, src, rec->f[i].name, k);
    if (ierr || !rec->f[i].stats) continue;
    PetscCall(PetscSNPrintf(name, sizeof(name), "%s_stderr", rec->f[i].name));
    ierr = CheckSeries(f, src, name, k);
  }
  for (int i = 0; !ierr && cfg->save_realizations && i < rec->nfields && !rec->f[i].rdm; i++) {
    PetscCall(PetscSNPrintf(name, sizeof(name), "/realizations/%s", strrchr(rec->f[i].name, '/') + 1));
    ierr = CheckSeries(f, src, name, (hsize_t)cfg->realizations);
  }
  for (PetscInt r = 0; !ierr && cfg->record_pairings && r < cfg->realizations; r++) {
    PetscCall(PetscSNPrintf(name, sizeof(name), "/pairings/%" PetscInt_FMT, r));
    ierr = CheckSeries(f, src, name, 0);
  }
  uint64_t got = 0;
  if (!ierr) ierr = SumKept(f, cfg, rec, keep, nrdm, done, &got);
  H5Fclose(f);
  PetscCall(ierr);
  PetscCheck(got == want, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "-restart %s: the output %s does not match the checksum its checkpoint recorded (of the first %llu rows of every time series and the /realizations rows and /pairings of finished realisations): it was changed after the checkpoint was written", cfg->restart, src, (unsigned long long)keep);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode OpenFile(MPI_Comm comm, const QrbmGrid *g, const QrbmConfig *cfg, const QrbmRecord *rec, hsize_t ntotal, hsize_t nintervals, hsize_t keep, const char *done, uint64_t sum, QrbmOutput *out)
{
  hid_t fapl;
  char  name[PETSC_MAX_PATH_LEN];
  int   ok = 1;
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(QRBM_EVENT_IO, 0, 0, 0, 0));
  PetscCall(PetscMemzero(out, sizeof(*out)));
  out->comm = comm; out->rec = rec; out->ntotal = ntotal; out->nintervals = nintervals; out->ntimes = keep;
  out->checkpointed = PETSC_TRUE; /* a restart: never removed on failure */
  PetscCallMPI(MPI_Comm_rank(comm, &out->rank));
  out->sum = out->rank == 0 ? sum : 0; /* the running checksum continues from the kept rows */
  PetscCall(PetscStrncpy(out->path, cfg->output, sizeof(out->path)));
  PetscCall(PetscSNPrintf(out->part, sizeof(out->part), "%s.part", cfg->output));
  QrbmCallH5(H5Eset_auto2(H5E_DEFAULT, NULL, NULL));
  /* validate before modifying: nothing is renamed or written unless the output fits */
  QrbmCollective("validating the output for the restart", out->rank == 0 ? Validate(out, cfg, rec, keep, done, sum) : PETSC_SUCCESS);
  if (out->rank == 0 && access(out->part, F_OK) != 0) ok = rename(out->path, out->part) == 0;
  PetscCallMPI(MPI_Bcast(&ok, 1, MPI_INT, 0, comm));
  PetscCheck(ok, comm, PETSC_ERR_FILE_OPEN, "-restart: renaming the output %s to %s failed", out->path, out->part);
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
  PetscCall(QrbmIdentityWrite(out->file, cfg));
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

PetscErrorCode QrbmOutputOpen(MPI_Comm comm, const QrbmGrid *g, const QrbmConfig *cfg, const QrbmRecord *rec, hsize_t ntotal, hsize_t nintervals, hsize_t keep, const char *done, uint64_t sum, QrbmOutput *out)
{
  PetscFunctionBeginUser;
  QrbmCollective("reopening the output", OpenFile(comm, g, cfg, rec, ntotal, nintervals, keep, done, sum, out));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Fresh output: FILE.part created exclusively (old files were moved aside), every dataset made. */
static PetscErrorCode CreateFile(const QrbmGrid *g, const QrbmConfig *cfg, const QrbmRecord *rec, QrbmOutput *out)
{
  hid_t fapl;
  char  name[PETSC_MAX_PATH_LEN];
  PetscFunctionBeginUser;
  QrbmCallH5Id(fapl, H5Pcreate(H5P_FILE_ACCESS));
  QrbmCallH5(H5Pset_fapl_mpio(fapl, out->comm, MPI_INFO_NULL));
  QrbmCallH5(H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG)); /* a close after an error closes what the error path left open */
  QrbmH5Context(out->part, "", "creating");
  errno     = 0;
  out->file = H5Fcreate(out->part, H5F_ACC_EXCL, H5P_DEFAULT, fapl);
  QrbmCallH5(H5Pclose(fapl));
  PetscCheck(out->file >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "-output %s: %s", cfg->output, QrbmH5Describe("H5Fcreate", errno));
  out->created = PETSC_TRUE;
  QrbmPathsOwn(out->part); /* removed if the job is ended abnormally, by whichever rank ends it */
  QrbmCallH5Id(out->dxpl, H5Pcreate(H5P_DATASET_XFER));
  QrbmCallH5(H5Pset_dxpl_mpio(out->dxpl, H5FD_MPIO_COLLECTIVE));
  PetscCall(QrbmOutputWriteOptions(out->file, g, cfg));
  PetscCall(QrbmIdentityWrite(out->file, cfg));
  PetscCall(QrbmH5WriteAttrString(out->file, "status", "running"));
  for (int i = 0; i < rec->nfields; i++) {
    PetscCall(CreateParent(out->file, rec->f[i].name));
    PetscCall(CreateSeries(out->file, rec->f[i].name, rec->f[i].rank, rec->f[i].shape, rec->f[i].cplx));
    if (!rec->f[i].stats) continue;
    PetscCall(PetscSNPrintf(name, sizeof(name), "%s_stderr", rec->f[i].name));
    PetscCall(CreateSeries(out->file, name, rec->f[i].rank, rec->f[i].shape, rec->f[i].cplx));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmOutputCreate(MPI_Comm comm, const QrbmGrid *g, const QrbmConfig *cfg, const QrbmRecord *rec, const double *pgrid, hsize_t ntotal, hsize_t nintervals, QrbmOutput *out)
{
  hsize_t M = (hsize_t)g->M;
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(QRBM_EVENT_IO, 0, 0, 0, 0));
  PetscCall(PetscMemzero(out, sizeof(*out)));
  out->comm = comm; out->rec = rec; out->ntotal = ntotal; out->nintervals = nintervals;
  PetscCallMPI(MPI_Comm_rank(comm, &out->rank));
  PetscCall(PetscStrncpy(out->path, cfg->output, sizeof(out->path)));
  PetscCall(PetscSNPrintf(out->part, sizeof(out->part), "%s.part", cfg->output));
  if (!getenv("QRBM_H5_DEBUG")) QrbmCallH5(H5Eset_auto2(H5E_DEFAULT, NULL, NULL)); /* our own messages replace HDF5 stack dumps */
  PetscCall(QrbmPathsMoveAside(comm, cfg));
  QrbmCollective("creating the output", CreateFile(g, cfg, rec, out));
  PetscCall(WriteFixed(out, "/density/x", 1, &M, g->x));
  PetscCall(WriteFixed(out, "/density/p", 1, &M, pgrid));
  QrbmCollective("creating the per-realisation datasets", CreateEnsembleSets(out, g, cfg));
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
  if (out->rank == 0) out->sum += QrbmChecksumBlock(QrbmChecksumName(name) + start[0] * (hsize_t)f->len, sizeof(double), n * (size_t)f->len, buf);
  if (f->cplx) PetscCall(QrbmH5ComplexType(&type));
  QrbmH5Context(NULL, name, "appending to");
  QrbmCallH5Collective("appending to the output", H5Dwrite(d, type, ms, fs, out->dxpl, buf));
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
  QrbmH5Context(NULL, "", "flushing");
  QrbmCallH5Collective("flushing the output", H5Fflush(out->file, H5F_SCOPE_GLOBAL));
  PetscCall(PetscLogEventEnd(QRBM_EVENT_IO, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Independent writes by the root of the group that ran realisation r. */
PetscErrorCode QrbmOutputWriteRealization(QrbmOutput *out, PetscInt r, const double *rows)
{
  char name[PETSC_MAX_PATH_LEN];
  PetscFunctionBeginUser;
  for (int i = 0; i < out->rec->nfields && out->real[i] >= 0; i++) {
    const QrbmField *f = &out->rec->f[i];
    PetscCall(PetscSNPrintf(name, sizeof(name), "/realizations/%s", strrchr(f->name, '/') + 1));
    for (hsize_t t = 0; t < out->ntotal; t++) /* element (r, t, j) of the dataset */
      out->sum += QrbmChecksumBlock(QrbmChecksumName(name) + ((hsize_t)r * out->ntotal + t) * (hsize_t)f->len, sizeof(double), (size_t)f->len, rows + t * out->rec->len + f->offset);
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
  char    name[64];
  hsize_t dims[2];
  hid_t   s;
  PetscFunctionBeginUser;
  if (r >= out->npairings) PetscFunctionReturn(PETSC_SUCCESS);
  QrbmCallH5Id(s, H5Dget_space(out->pairings[r])); /* its intervals: those of the run that created the file */
  QrbmCallH5(H5Sget_simple_extent_dims(s, dims, NULL));
  QrbmCallH5(H5Sclose(s));
  PetscCall(PetscSNPrintf(name, sizeof(name), "/pairings/%" PetscInt_FMT, r));
  out->sum += QrbmChecksumBlock(QrbmChecksumName(name), sizeof(int), dims[0] * dims[1], perms);
  QrbmCallH5(H5Dwrite(out->pairings[r], H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, perms));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Closes every object and the file; the status attribute first unless the run failed without a
   checkpoint (then the status stays "running"). */
static PetscErrorCode CloseFile(QrbmOutput *out, QrbmOutputStatus status)
{
  const char *text = status == QRBM_OUTPUT_COMPLETE ? "complete" : "checkpointed";
  herr_t      closed;
  PetscFunctionBeginUser;
  for (int i = 0; i < QRBM_MAX_FIELDS; i++)
    if (out->real[i] > 0) H5Dclose(out->real[i]);
  for (PetscInt r = 0; r < out->npairings; r++) H5Dclose(out->pairings[r]);
  PetscCall(PetscFree(out->pairings));
  out->npairings = 0;
  QrbmH5Context(out->part, "status", "closing");
  if (status != QRBM_OUTPUT_FAILED || out->checkpointed) {
    H5Adelete(out->file, "status");
    PetscCall(QrbmH5WriteAttrString(out->file, "status", text));
  }
  if (out->dxpl > 0) H5Pclose(out->dxpl);
  QrbmH5WatchBegin();
  errno     = 0;
  closed    = H5Fclose(out->file);
  out->file = 0;
  PetscCall(QrbmH5Guarded(closed, "H5Fclose"));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Rename(const QrbmOutput *out)
{
  PetscFunctionBeginUser;
  PetscCheck(rename(out->part, out->path) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "-output %s: renaming %s to %s failed: %s", out->path, out->part, out->path, strerror(errno));
  PetscFunctionReturn(PETSC_SUCCESS);
}

void QrbmOutputSetCheckpointed(QrbmOutput *out)
{
  out->checkpointed = PETSC_TRUE;
  QrbmPathsOwn(NULL);
}

PetscErrorCode QrbmOutputClose(QrbmOutput *out, QrbmOutputStatus status)
{
  PetscErrorCode ierr;
  PetscBool      ok;
  PetscFunctionBeginUser;
  if (out->file <= 0) PetscFunctionReturn(PETSC_SUCCESS);
  ierr = CloseFile(out, status);
  if (status == QRBM_OUTPUT_FAILED) { /* a failure is already being reported: this one is not */
    PetscCall(QrbmAgreeQuiet(ierr, "closing the output after a failure", &ok, NULL, 0));
    if (out->rank == 0 && out->created && !out->checkpointed) unlink(out->part);
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  QrbmCollective("closing the output", ierr);
  QrbmCollective("renaming the output", out->rank == 0 ? Rename(out) : PETSC_SUCCESS);
  QrbmPathsOwn(NULL);
  PetscFunctionReturn(PETSC_SUCCESS);
}
