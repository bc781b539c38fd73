/* Checkpoints: everything a run needs to continue, in the natural global layout (never per-rank
   files), written collectively and atomically. A run continued at the same rank count and split
   is bit-identical to an uninterrupted one (the propagator's chain state and the FFTW wisdom are
   saved); at another rank count or split it agrees to rounding. */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <qrbm/checkpoint.h>
#include <qrbm/events.h>
#include <qrbm/agree.h>
#include <qrbm/checksum.h>
#include <qrbm/h5io.h>
#include <qrbm/identity.h>
#include <qrbm/paths.h>
#include <errno.h>
#include <math.h>
#include <qrbm/output.h>
#include <qrbm/stats.h>
#include <fftw3-mpi.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Options that define the computed trajectory (the fixed rows of the options table, config.c): a
   restart must not change them. Values as text cut at 511 characters, as format 2 hashed them. */
#define MAX_PHYSICS 64
static PetscErrorCode PhysicsOptions(const QrbmConfig *c, int *n, char names[][32], char values[][512])
{
  const QrbmOption *o;
  PetscFunctionBeginUser;
  for (*n = 0; (o = QrbmOptionPhysics(*n)); (*n)++) {
    PetscCheck(*n < MAX_PHYSICS, PETSC_COMM_SELF, PETSC_ERR_PLIB, "more than %d physics options: raise MAX_PHYSICS in checkpoint.c", MAX_PHYSICS);
    PetscCall(PetscStrncpy(names[*n], o->name + 1, 32));
    PetscCall(QrbmOptionText(o, c, values[*n], 512));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void PhysicsHash(int n, char names[][32], char values[][512], char *hex)
{
  unsigned long long h = 1469598103934665603ULL; /* FNV-1a over "name=value;" */
  for (int i = 0; i < n; i++) {
    const char *parts[4] = {names[i], "=", values[i], ";"};
    for (int p = 0; p < 4; p++)
      for (const char *s = parts[p]; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  }
  snprintf(hex, 17, "%016llx", h);
}


PetscErrorCode QrbmCheckpointPhysicsHash(const QrbmConfig *c, char hex[17])
{
  char names[MAX_PHYSICS][32], values[MAX_PHYSICS][512];
  int  n;
  PetscFunctionBeginUser;
  PetscCall(PhysicsOptions(c, &n, names, values));
  PhysicsHash(n, names, values, hex);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Checksums of the datasets being written (checksum.h): each rank's share, per open dataset. */
static hid_t    sum_ids[8];
static uint64_t sums[8];

static uint64_t *Sum(hid_t d)
{
  int free_slot = 0;
  for (int i = 7; i >= 0; i--) {
    if (sum_ids[i] == d) return &sums[i];
    if (!sum_ids[i]) free_slot = i;
  }
  sum_ids[free_slot] = d;
  sums[free_slot]    = 0;
  return &sums[free_slot];
}

/* Every rank's share summed into the dataset's "checksum" attribute; closes the dataset. */
static PetscErrorCode Seal(MPI_Comm world, hid_t d)
{
  uint64_t *mine = Sum(d), total;
  PetscFunctionBeginUser;
  PetscCall(QrbmChecksumReduce(world, *mine, &total));
  PetscCall(QrbmChecksumWrite(d, total));
  for (int i = 0; i < 8; i++)
    if (sum_ids[i] == d) sum_ids[i] = 0;
  QrbmCallH5(H5Dclose(d));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* One block of a dataset: rows [start, start + count) of the first axis (and, for rank 2, columns
   from col); ranks with mine == false take part with empty selections. */
static PetscErrorCode Block(hid_t d, hid_t type, hid_t dxpl, PetscBool write, hsize_t row, hsize_t col, hsize_t count, void *buf, PetscBool mine)
{
  hid_t   fs, ms;
  int     rank;
  hsize_t start[2] = {row, col}, cnt[2] = {1, count};
  PetscFunctionBeginUser;
  QrbmCallH5Id(fs, H5Dget_space(d));
  QrbmCallH5(rank = H5Sget_simple_extent_ndims(fs));
  if (rank == 1) cnt[0] = count;
  if (write && mine && count > 0) { /* checksum of what this rank writes, by global element position */
    hsize_t dims[2] = {0, 0};
    QrbmCallH5(H5Sget_simple_extent_dims(fs, dims, NULL));
    *Sum(d) += QrbmChecksumBlock(rank == 1 ? row : row * dims[1] + col, H5Tget_size(type), count, buf);
  }
  QrbmCallH5Id(ms, H5Screate_simple(1, &count, NULL));
  if (mine && count > 0) QrbmCallH5(H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, cnt, NULL));
  else {
    QrbmCallH5(H5Sselect_none(fs));
    QrbmCallH5(H5Sselect_none(ms));
  }
  if (write) QrbmCallH5Collective("writing a checkpoint dataset", H5Dwrite(d, type, ms, fs, dxpl, buf));
  else QrbmCallH5Collective("reading a checkpoint dataset", H5Dread(d, type, ms, fs, dxpl, buf));
  QrbmCallH5(H5Sclose(ms));
  QrbmCallH5(H5Sclose(fs));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Create(hid_t f, const char *name, hid_t type, hsize_t n0, hsize_t n1, hid_t *d)
{
  hsize_t dims[2] = {n0, n1};
  hid_t   s;
  PetscFunctionBeginUser;
  QrbmH5Context(NULL, name, "writing the checkpoint");
  QrbmCallH5Id(s, H5Screate_simple(n1 ? 2 : 1, dims, NULL));
  QrbmCallH5Id(*d, H5Dcreate2(f, name, type, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  QrbmCallH5(H5Sclose(s));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode WriteU64(hid_t loc, const char *name, uint64_t v)
{
  hid_t s, a;
  PetscFunctionBeginUser;
  QrbmCallH5Id(s, H5Screate(H5S_SCALAR));
  QrbmCallH5Id(a, H5Acreate2(loc, name, H5T_NATIVE_UINT64, s, H5P_DEFAULT, H5P_DEFAULT));
  QrbmCallH5(H5Awrite(a, H5T_NATIVE_UINT64, &v));
  QrbmCallH5(H5Aclose(a));
  QrbmCallH5(H5Sclose(s));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The root checksum covers the eight counts (positions 0..7) and output_checksum (position 8). */
static uint64_t HeaderSum(const long long v[8], uint64_t output_sum)
{
  return QrbmChecksumBlock(0, sizeof(long long), 8, v) + QrbmChecksumBlock(8, sizeof(uint64_t), 1, &output_sum);
}

/* Root attributes: identity of the run and of its parallel layout. */
static PetscErrorCode WriteHeader(const QrbmCheckpointState *st, hid_t f)
{
  const QrbmConfig *c = st->cfg;
  char              names[MAX_PHYSICS][32], values[MAX_PHYSICS][512];
  int               n;
  hid_t             grp;
  long long         v[8] = {QRBM_CHECKPOINT_FORMAT, st->wsize, st->ngroups, st->grid->size, c->threads, st->nsteps, st->ntimes, st->rows_written};
  const char       *keys[8] = {"checkpoint_format", "mpi_ranks", "groups", "group_size", "threads", "nsteps", "ntimes", "rows_written"};
  char             *wisdom = NULL;
  int               len = 0;
  uint64_t          output_sum;
  PetscFunctionBeginUser;
  PetscCall(PhysicsOptions(c, &n, names, values));
  PetscCall(QrbmChecksumReduce(st->world, st->output_sum, &output_sum)); /* the output's rows so far, from their writers */
  PetscCall(WriteU64(f, "output_checksum", output_sum));
  PetscCall(QrbmChecksumWrite(f, HeaderSum(v, output_sum))); /* of the counts below and output_checksum */
  for (int i = 0; i < 8; i++) {
    hid_t s, a;
    QrbmCallH5Id(s, H5Screate(H5S_SCALAR));
    QrbmCallH5Id(a, H5Acreate2(f, keys[i], H5T_NATIVE_LLONG, s, H5P_DEFAULT, H5P_DEFAULT));
    QrbmCallH5(H5Awrite(a, H5T_NATIVE_LLONG, &v[i]));
    QrbmCallH5(H5Aclose(a));
    QrbmCallH5(H5Sclose(s));
  }
  PetscCall(QrbmH5WriteAttrString(f, "qrbm_version", QRBM_VERSION));
  PetscCall(QrbmIdentityWrite(f, c)); /* run_id, physics_hash, provenance */
  PetscCall(QrbmH5WriteAttrString(f, "fftw_planner", QrbmPlannerNames[c->planner]));
  QrbmCallH5Id(grp, H5Gcreate2(f, "/physics", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  for (int i = 0; i < n; i++) PetscCall(QrbmH5WriteAttrString(grp, names[i], values[i]));
  QrbmCallH5(H5Gclose(grp));
  QrbmCallH5Id(grp, H5Gcreate2(f, "/options", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  PetscCall(QrbmOutputWriteOptions(grp, st->grid, c));
  QrbmCallH5(H5Gclose(grp));
  /* the FFTW wisdom, so that a restart plans exactly the same transforms */
  fftw_mpi_gather_wisdom(st->grid->comm);
  if (st->wrank == 0) {
    wisdom = fftw_export_wisdom_to_string();
    len    = wisdom ? (int)strlen(wisdom) + 1 : 1;
  }
  PetscCallMPI(MPI_Bcast(&len, 1, MPI_INT, 0, st->world));
  if (st->wrank != 0) PetscCall(PetscCalloc1(len, &wisdom));
  PetscCallMPI(MPI_Bcast(wisdom ? wisdom : (char[]){0}, len, MPI_CHAR, 0, st->world));
  PetscCall(QrbmH5WriteAttrString(f, "fftw_wisdom", wisdom ? wisdom : ""));
  if (st->wrank == 0) free(wisdom);
  else PetscCall(PetscFree(wisdom));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* First element of this rank's slab in the global state. */
static hsize_t SlabOffset(const QrbmGrid *g)
{
  const PetscInt slab = g->xlay.count;
  return (hsize_t)(slab ? g->xlay.start * (slab / g->xlay.n[0]) : 0);
}

static PetscErrorCode WriteItems(const QrbmCheckpointState *st, hid_t f, hid_t dxpl, hid_t ctype)
{
  const PetscInt  n = st->nitems, len = st->ntimes * st->reclen, slab = st->grid->xlay.count;
  const hsize_t   total = (hsize_t)st->grid->total, off = SlabOffset(st->grid);
  const PetscBool groot = st->grid->rank == 0;
  long long      *meta;
  hid_t           dk, dpsi, drows;
  PetscFunctionBeginUser;
  PetscCall(Create(f, "/items_k", H5T_NATIVE_LLONG, (hsize_t)n * 3, 0, &dk));
  PetscCall(PetscMalloc1(3 * n + 1, &meta));
  for (PetscInt j = 0; j < n; j++) { meta[3 * j] = st->items[j].k; meta[3 * j + 1] = st->items[j].step; meta[3 * j + 2] = st->items[j].pending; }
  PetscCall(Block(dk, H5T_NATIVE_LLONG, dxpl, PETSC_TRUE, 0, 0, (hsize_t)(3 * n), meta, st->wrank == 0));
  PetscCall(PetscFree(meta));
  PetscCall(Create(f, "/items_psi", ctype, (hsize_t)PetscMax(n, 1), total, &dpsi));
  PetscCall(Create(f, "/items_rows", H5T_NATIVE_DOUBLE, (hsize_t)PetscMax(n, 1), (hsize_t)len, &drows));
  for (PetscInt j = 0; j < n; j++) {
    const QrbmCheckpointItem *it = &st->items[j];
    PetscCall(Block(dpsi, ctype, dxpl, PETSC_TRUE, (hsize_t)j, off, (hsize_t)slab, it->psi, it->mine));
    PetscCall(Block(drows, H5T_NATIVE_DOUBLE, dxpl, PETSC_TRUE, (hsize_t)j, 0, (hsize_t)len, it->rows, it->mine && groot));
  }
  PetscCall(Seal(st->world, dk));
  PetscCall(Seal(st->world, dpsi));
  PetscCall(Seal(st->world, drows));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Completed realisations, every group's accumulators, the output times. */
static PetscErrorCode WriteEnsemble(const QrbmCheckpointState *st, hid_t f, hid_t dxpl)
{
  const PetscInt  len = st->ntimes * st->reclen, G = st->ngroups, R = st->cfg->realizations, K = st->nbatch;
  const PetscBool groot = st->grid->rank == 0;
  const hsize_t   color = (hsize_t)st->color;
  char            ref_done = (char)st->ref_done;
  long long      *ts;
  hid_t           d;
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(st->ntimes, &ts));
  for (PetscInt i = 0; i < st->ntimes; i++) ts[i] = st->tsteps[i];
  PetscCall(Create(f, "/done", H5T_NATIVE_CHAR, (hsize_t)R, 0, &d));
  PetscCall(Block(d, H5T_NATIVE_CHAR, dxpl, PETSC_TRUE, 0, 0, (hsize_t)R, st->done, st->wrank == 0));
  PetscCall(Seal(st->world, d));
  if (st->ref_rows) { /* the finished exact reference of -reference exact */
    PetscCall(Create(f, "/reference_done", H5T_NATIVE_CHAR, 1, 0, &d));
    PetscCall(Block(d, H5T_NATIVE_CHAR, dxpl, PETSC_TRUE, 0, 0, 1, &ref_done, st->wrank == 0));
    PetscCall(Seal(st->world, d));
    PetscCall(Create(f, "/reference_rows", H5T_NATIVE_DOUBLE, (hsize_t)len, 0, &d));
    PetscMPIInt holder = st->ref_held ? st->wrank : st->wsize; /* one writer (and one checksum share) */
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &holder, 1, MPI_INT, MPI_MIN, st->world));
    if (holder == st->wsize) holder = 0; /* not finished: rank 0 writes its zeros */
    PetscCall(Block(d, H5T_NATIVE_DOUBLE, dxpl, PETSC_TRUE, 0, 0, (hsize_t)len, st->ref_rows, st->wrank == holder));
    PetscCall(Seal(st->world, d));
  }
  if (K) { /* jackknife sums */
    PetscCall(Create(f, "/slots_bcount", H5T_NATIVE_DOUBLE, (hsize_t)G, (hsize_t)K, &d));
    PetscCall(Block(d, H5T_NATIVE_DOUBLE, dxpl, PETSC_TRUE, color, 0, (hsize_t)K, st->bcount, groot));
    PetscCall(Seal(st->world, d));
    PetscCall(Create(f, "/slots_bsum", H5T_NATIVE_DOUBLE, (hsize_t)G, (hsize_t)(K * len), &d));
    PetscCall(Block(d, H5T_NATIVE_DOUBLE, dxpl, PETSC_TRUE, color, 0, (hsize_t)(K * len), st->bsum, groot));
    PetscCall(Seal(st->world, d));
  }
  PetscCall(Create(f, "/tsteps", H5T_NATIVE_LLONG, (hsize_t)st->ntimes, 0, &d));
  PetscCall(Block(d, H5T_NATIVE_LLONG, dxpl, PETSC_TRUE, 0, 0, (hsize_t)st->ntimes, ts, st->wrank == 0));
  PetscCall(Seal(st->world, d));
  PetscCall(PetscFree(ts));
  PetscCall(Create(f, "/slots_n", H5T_NATIVE_DOUBLE, (hsize_t)G, 0, &d));
  PetscCall(Block(d, H5T_NATIVE_DOUBLE, dxpl, PETSC_TRUE, color, 0, 1, (void *)&st->acc_n, groot));
  PetscCall(Seal(st->world, d));
  PetscCall(Create(f, "/slots_mean", H5T_NATIVE_DOUBLE, (hsize_t)G, (hsize_t)len, &d));
  PetscCall(Block(d, H5T_NATIVE_DOUBLE, dxpl, PETSC_TRUE, color, 0, (hsize_t)len, st->acc_mean, groot));
  PetscCall(Seal(st->world, d));
  PetscCall(Create(f, "/slots_m2", H5T_NATIVE_DOUBLE, (hsize_t)G, (hsize_t)len, &d));
  PetscCall(Block(d, H5T_NATIVE_DOUBLE, dxpl, PETSC_TRUE, color, 0, (hsize_t)len, st->acc_m2, groot));
  PetscCall(Seal(st->world, d));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* FILE.tmp is complete and agreed on: shift FILE -> FILE.1 -> ... and move it into place. */
static int Rotate(const char *file, const char *tmp, PetscInt keep)
{
  char from[PETSC_MAX_PATH_LEN + 16], to[PETSC_MAX_PATH_LEN + 16];
  for (PetscInt i = keep - 1; i >= 1; i--) {
    if (i == 1) snprintf(from, sizeof(from), "%s", file);
    else snprintf(from, sizeof(from), "%s.%" PetscInt_FMT, file, i - 1);
    snprintf(to, sizeof(to), "%s.%" PetscInt_FMT, file, i);
    if (access(from, F_OK) == 0 && rename(from, to) != 0) return 0;
  }
  return rename(tmp, file) == 0;
}


/* FILE.tmp written and closed by every rank. */
static PetscErrorCode WriteTmp(const QrbmCheckpointState *st, const char *tmp)
{
  const QrbmConfig *c = st->cfg;
  hid_t             fapl, f, dxpl, ctype;
  herr_t            closed;
  PetscFunctionBeginUser;
  QrbmCallH5Id(fapl, H5Pcreate(H5P_FILE_ACCESS));
  QrbmCallH5(H5Pset_fapl_mpio(fapl, st->world, MPI_INFO_NULL));
  QrbmCallH5(H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG));
  QrbmH5Context(tmp, "", "creating the checkpoint");
  errno = 0;
  f     = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  QrbmCallH5(H5Pclose(fapl));
  PetscCheck(f >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "-checkpoint_file %s: %s", c->checkpoint_file, QrbmH5Describe("H5Fcreate", errno));
  QrbmCallH5Id(dxpl, H5Pcreate(H5P_DATASET_XFER));
  QrbmCallH5(H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE));
  PetscCall(QrbmH5ComplexType(&ctype));
  PetscCall(WriteHeader(st, f));
  PetscCall(WriteItems(st, f, dxpl, ctype));
  if (c->checkpoint_test_delay > 0) { /* test only: a slow write, to kill a run inside it */
    const struct timespec ts = {(time_t)c->checkpoint_test_delay, (long)((c->checkpoint_test_delay - (time_t)c->checkpoint_test_delay) * 1e9)};
    nanosleep(&ts, NULL);
  }
  PetscCall(WriteEnsemble(st, f, dxpl));
  QrbmCallH5(H5Tclose(ctype));
  QrbmCallH5(H5Pclose(dxpl));
  QrbmH5Context(tmp, "", "closing the checkpoint");
  QrbmH5WatchBegin();
  errno  = 0;
  closed = H5Fclose(f);
  PetscCall(QrbmH5Guarded(closed, "H5Fclose"));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Whether an existing file is a checkpoint of this run (same run_id); anything else is not. */
static PetscErrorCode OfThisRun(const char *file, const char *run_id, PetscBool *ours)
{
  char  id[64] = "";
  hid_t f;
  PetscFunctionBeginUser;
  *ours = PETSC_FALSE;
  if ((f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0) PetscFunctionReturn(PETSC_SUCCESS);
  if (H5Aexists(f, "run_id") > 0) PetscCall(QrbmH5ReadAttrString(f, file, "run_id", id, sizeof(id)));
  H5Fclose(f);
  *ours = !strcmp(id, run_id) ? PETSC_TRUE : PETSC_FALSE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* A restart may name a -checkpoint_file whose rotated copies belong to another run (or are no
   checkpoints at all): those are moved aside to numbered backups instead of being rotated over. */
static PetscErrorCode ClaimChain(const QrbmConfig *c)
{
  char      name[PETSC_MAX_PATH_LEN + 16];
  PetscBool ours;
  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < c->checkpoint_keep; i++) {
    if (i == 0) PetscCall(PetscSNPrintf(name, sizeof(name), "%s", c->checkpoint_file));
    else PetscCall(PetscSNPrintf(name, sizeof(name), "%s.%" PetscInt_FMT, c->checkpoint_file, i));
    if (access(name, F_OK) != 0) continue;
    PetscCall(OfThisRun(name, c->run_id, &ours));
    if (!ours) PetscCall(QrbmPathsBackup(name));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Rank 0, after every rank wrote FILE.tmp: on stable storage first, then rotated into place. */
static PetscErrorCode Commit(const QrbmConfig *c, const char *tmp)
{
  PetscFunctionBeginUser;
  PetscCall(ClaimChain(c));
  PetscCall(QrbmPathsSync(tmp));
  PetscCheck(Rotate(c->checkpoint_file, tmp, c->checkpoint_keep), PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "-checkpoint_file %s: rotating the checkpoints failed: %s", c->checkpoint_file, strerror(errno));
  PetscCall(QrbmPathsSync(c->checkpoint_file));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscBool written; /* a complete checkpoint file of this run exists */

PetscBool QrbmCheckpointWritten(void) { return written; }

PetscErrorCode QrbmCheckpointWrite(const QrbmCheckpointState *st)
{
  const QrbmConfig *c = st->cfg;
  char              tmp[PETSC_MAX_PATH_LEN + 8];
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(QRBM_EVENT_CHECKPOINT, 0, 0, 0, 0));
  PetscCall(PetscSNPrintf(tmp, sizeof(tmp), "%s.tmp", c->checkpoint_file));
  QrbmCollective("writing the checkpoint (the previous checkpoint is intact)", WriteTmp(st, tmp));
  written = PETSC_TRUE; /* from here on a failure keeps OUTPUT.part */
  QrbmPathsOwn(NULL);
  QrbmCollective("rotating the checkpoints", st->wrank == 0 ? Commit(c, tmp) : PETSC_SUCCESS);
  if (!c->quiet) PetscCall(PetscPrintf(st->world, "checkpoint: %s at round %" PetscInt_FMT ", step %" PetscInt64_FMT "\n", c->checkpoint_file, st->round, st->step));
  PetscCall(PetscLogEventEnd(QRBM_EVENT_CHECKPOINT, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* A string attribute, empty when absent (an option the checkpoint predates). */
static PetscErrorCode ReadAttrString(hid_t loc, const char *file, const char *name, char *buf, size_t size)
{
  PetscFunctionBeginUser;
  buf[0] = 0;
  if (H5Aexists(loc, name) > 0) PetscCall(QrbmH5ReadAttrString(loc, file, name, buf, size));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode ReadAttrLL(hid_t f, const char *file, const char *name, long long *v)
{
  double x;
  PetscFunctionBeginUser;
  PetscCall(QrbmH5ReadAttrReal(f, file, name, &x));
  *v = (long long)x;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode OpenCheckpoint(const char *file, hid_t *f)
{
  hid_t fapl;
  PetscFunctionBeginUser;
  QrbmCallH5(H5Eset_auto2(H5E_DEFAULT, NULL, NULL));
  PetscCheck(access(file, R_OK) == 0, PETSC_COMM_WORLD, PETSC_ERR_FILE_OPEN, "-restart %s: file not found or not readable", file);
  QrbmCallH5Id(fapl, H5Pcreate(H5P_FILE_ACCESS));
  QrbmCallH5(H5Pset_fapl_mpio(fapl, PETSC_COMM_WORLD, MPI_INFO_NULL));
  *f = H5Fopen(file, H5F_ACC_RDONLY, fapl);
  QrbmCallH5(H5Pclose(fapl));
  PetscCheck(*f >= 0, PETSC_COMM_WORLD, PETSC_ERR_FILE_READ, "-restart %s: cannot open as HDF5 (truncated or corrupt checkpoint?)", file);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Opens checkpoint dataset `name` (QrbmH5OpenDataset) and checks its length (want = 0: any, returned in *got when not NULL). */
static PetscErrorCode OpenChecked(hid_t f, const char *file, const char *name, hsize_t want, hid_t *d, hsize_t *got)
{
  char    label[PETSC_MAX_PATH_LEN + 16];
  int     rank;
  hsize_t dims[QRBM_H5_MAX_RANK] = {0};
  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(label, sizeof(label), "-restart %s", file));
  PetscCall(QrbmH5OpenDataset(PETSC_COMM_WORLD, f, label, name, "incomplete or corrupt checkpoint", d, &rank, dims));
  PetscCheck(want == 0 || dims[0] == want, PETSC_COMM_WORLD, PETSC_ERR_FILE_UNEXPECTED, "-restart %s: dataset %s has %llu entries, expected %llu: corrupt checkpoint", file, name, (unsigned long long)dims[0], (unsigned long long)want);
  if (got) *got = dims[0];
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Refuses physics changes, listing every difference; -t_final may grow for single trajectories. */
static PetscErrorCode CheckOptions(const QrbmConfig *c, hid_t f, long long nsteps_old)
{
  char  names[MAX_PHYSICS][32], values[MAX_PHYSICS][512], old[512], diff[4096] = "";
  int   n;
  hid_t grp;
  PetscFunctionBeginUser;
  PetscCall(PhysicsOptions(c, &n, names, values));
  grp = H5Gopen2(f, "/physics", H5P_DEFAULT);
  PetscCheck(grp >= 0, PETSC_COMM_WORLD, PETSC_ERR_FILE_UNEXPECTED, "-restart %s: group /physics missing: not a qrbm checkpoint", c->restart);
  for (int i = 0; i < n; i++) {
    PetscCall(ReadAttrString(grp, c->restart, names[i], old, sizeof(old)));
    if (!strcmp(old, values[i])) continue;
    const char *parts[] = {"\n  -", names[i], ": checkpoint ", old[0] ? old : "(missing)", ", now ", values[i]};
    for (int p = 0; p < 6; p++) PetscCall(PetscStrlcat(diff, parts[p], sizeof(diff)));
  }
  QrbmCallH5(H5Gclose(grp));
  PetscCheck(!diff[0], PETSC_COMM_WORLD, PETSC_ERR_ARG_INCOMP, "-restart %s: physics options differ from the checkpointed run (only -t_final may be extended):%s", c->restart, diff);
  PetscCheck(c->nsteps == nsteps_old || c->realizations == 1, PETSC_COMM_WORLD, PETSC_ERR_ARG_INCOMP,
             "-restart %s: -t_final changed (%lld -> %" PetscInt64_FMT " steps): only single-trajectory runs (-realizations 1) can be extended", c->restart, nsteps_old, c->nsteps);
  PetscCheck(c->nsteps == nsteps_old || (!c->save_realizations && !c->record_pairings), PETSC_COMM_WORLD, PETSC_ERR_ARG_INCOMP, "-restart %s: -t_final cannot change with -save_realizations or -record_pairings (their datasets have the old length)", c->restart);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* A whole 1-D dataset into new memory (PetscFree it); want = 0 accepts any length, put in *n. */
static PetscErrorCode ReadWhole(hid_t f, const char *file, const char *name, hid_t type, size_t elsize, hsize_t want, void **buf, hsize_t *n)
{
  hid_t d;
  PetscFunctionBeginUser;
  PetscCall(OpenChecked(f, file, name, want, &d, n));
  PetscCall(PetscMalloc(elsize * (*n + 1), buf));
  PetscCall(Block(d, type, H5P_DEFAULT, PETSC_FALSE, 0, 0, *n, *buf, PETSC_TRUE));
  QrbmCallH5(H5Dclose(d));
  PetscFunctionReturn(PETSC_SUCCESS);
}


/* Completed realisations and the saved items: every item is the reference (with -reference exact)
   or a realisation in range, neither completed nor saved twice. */
static PetscErrorCode ReadItems(const QrbmConfig *c, hid_t f, QrbmCheckpointState *st)
{
  const PetscInt R = c->realizations;
  long long     *meta;
  char          *flag = NULL, *seen;
  hsize_t        n3, n;
  PetscFunctionBeginUser;
  PetscCall(ReadWhole(f, c->restart, "/done", H5T_NATIVE_CHAR, 1, (hsize_t)R, (void **)&st->done, &n));
  PetscCall(ReadWhole(f, c->restart, "/items_k", H5T_NATIVE_LLONG, sizeof(long long), 0, (void **)&meta, &n3));
  PetscCheck(n3 % 3 == 0 && n3 / 3 <= (hsize_t)R + 1, PETSC_COMM_WORLD, PETSC_ERR_FILE_UNEXPECTED, "-restart %s: /items_k holds %llu numbers, not 3 per item for at most %" PetscInt_FMT " items: corrupt checkpoint", c->restart, (unsigned long long)n3, R + 1);
  for (PetscInt k = 0; k < R; k++) PetscCheck(st->done[k] == 0 || st->done[k] == 1, PETSC_COMM_WORLD, PETSC_ERR_FILE_UNEXPECTED, "-restart %s: /done[%" PetscInt_FMT "] = %d is not 0 or 1: corrupt checkpoint", c->restart, k, (int)st->done[k]);
  PetscCall(PetscCalloc1(R + 1, &seen));
  PetscCall(PetscCalloc1(n3 / 3 + 1, &st->items));
  for (PetscInt j = 0; j < (PetscInt)(n3 / 3); j++) {
    const long long k = meta[3 * j];
    const PetscBool ref = k == -1 && c->reference == QRBM_REFERENCE_EXACT;
    PetscCheck(((ref && !seen[R]) || (k >= 0 && k < R && !st->done[k] && !seen[k])) && meta[3 * j + 1] >= 0 && meta[3 * j + 1] <= st->nsteps && (meta[3 * j + 2] == 0 || meta[3 * j + 2] == 1), PETSC_COMM_WORLD, PETSC_ERR_FILE_UNEXPECTED, "-restart %s: item %" PetscInt_FMT " is inconsistent: corrupt checkpoint", c->restart, j);
    st->items[st->nitems++] = (QrbmCheckpointItem){(PetscInt)k, (PetscInt64)meta[3 * j + 1], meta[3 * j + 2] ? PETSC_TRUE : PETSC_FALSE, PETSC_FALSE, NULL, NULL};
    seen[ref ? R : k] = 1;
  }
  if (c->reference == QRBM_REFERENCE_EXACT) {
    PetscCall(ReadWhole(f, c->restart, "/reference_done", H5T_NATIVE_CHAR, 1, 1, (void **)&flag, &n));
    st->ref_done = flag[0] ? PETSC_TRUE : PETSC_FALSE;
  }
  PetscCall(PetscFree(seen));
  PetscCall(PetscFree(meta));
  PetscCall(PetscFree(flag));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The same parallel layout plans the same transforms with the saved wisdom: bit-identical. */
static PetscErrorCode ImportWisdom(const QrbmConfig *c, const QrbmGrid *g, PetscMPIInt wsize, hid_t f, PetscBool *restored)
{
  long long ranks = 0, gsize = 0, threads = 0;
  char      planner[32], *wisdom;
  PetscFunctionBeginUser;
  PetscCall(ReadAttrLL(f, c->restart, "mpi_ranks", &ranks));
  PetscCall(ReadAttrLL(f, c->restart, "group_size", &gsize));
  PetscCall(ReadAttrLL(f, c->restart, "threads", &threads));
  PetscCall(ReadAttrString(f, c->restart, "fftw_planner", planner, sizeof(planner)));
  if (ranks != wsize || gsize != g->size || threads != c->threads || strcmp(planner, QrbmPlannerNames[c->planner])) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscMalloc1(1 << 22, &wisdom));
  PetscCall(ReadAttrString(f, c->restart, "fftw_wisdom", wisdom, 1 << 22));
  *restored = wisdom[0] && fftw_import_wisdom_from_string(wisdom) ? PETSC_TRUE : PETSC_FALSE;
  PetscCall(PetscFree(wisdom));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode ReadU64(hid_t loc, const char *file, const char *name, uint64_t *v)
{
  hid_t a;
  PetscFunctionBeginUser;
  PetscCheck(H5Aexists(loc, name) > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "-restart %s: root attribute %s missing: corrupt checkpoint", file, name);
  QrbmCallH5Id(a, H5Aopen(loc, name, H5P_DEFAULT));
  QrbmCallH5(H5Aread(a, H5T_NATIVE_UINT64, v));
  QrbmCallH5(H5Aclose(a));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The counts of the root attributes: against their checksum and their bounds. */
static PetscErrorCode CheckHeader(const char *file, hid_t f)
{
  const char *keys[8] = {"checkpoint_format", "mpi_ranks", "groups", "group_size", "threads", "nsteps", "ntimes", "rows_written"};
  long long   v[8];
  uint64_t    want, output_sum;
  PetscBool   present;
  PetscFunctionBeginUser;
  for (int i = 0; i < 8; i++) PetscCall(ReadAttrLL(f, file, keys[i], &v[i]));
  PetscCall(ReadU64(f, file, "output_checksum", &output_sum));
  PetscCall(QrbmChecksumRead(f, &want, &present));
  PetscCheck(present && want == HeaderSum(v, output_sum), PETSC_COMM_WORLD, PETSC_ERR_FILE_UNEXPECTED, "-restart %s: the root attributes (%s, ...) do not match their checksum: corrupt checkpoint", file, keys[0]);
  PetscCheck(v[5] >= 1 && v[5] <= QRBM_MAX_STEPS && v[6] >= 2 && v[6] <= v[5] + 1 && v[6] <= PETSC_MAX_INT && v[7] >= 0 && v[7] <= v[6], PETSC_COMM_WORLD, PETSC_ERR_FILE_UNEXPECTED, "-restart %s: nsteps %lld, ntimes %lld, rows_written %lld are out of bounds: corrupt checkpoint", file,
             v[5], v[6], v[7]);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* One dataset against its checksum, every rank reading an even share of its elements (so any
   rank count verifies any checkpoint); for /items_psi also the norm of every saved state. */
static PetscErrorCode VerifyDataset(const QrbmConfig *c, const QrbmGrid *g, MPI_Comm world, hid_t f, const char *name, PetscBool required, hid_t mtype, H5T_class_t cls, int want_nd, hsize_t nstates)
{
  const char *file = c->restart;
  const int   psi  = cls == H5T_COMPOUND;
  hid_t       d, fs, ms, ft;
  hsize_t     dims[2] = {0, 1}, n, e, hi, cnt;
  int         nd;
  PetscMPIInt rank, size;
  uint64_t    mine = 0, total, want;
  PetscBool   present, exists;
  double     *norms = NULL, *buf;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(world, &rank));
  PetscCallMPI(MPI_Comm_size(world, &size));
  PetscCall(QrbmH5Exists(f, name, &exists));
  PetscCheck(exists || !required, PETSC_COMM_WORLD, PETSC_ERR_FILE_UNEXPECTED, "-restart %s: dataset %s missing: incomplete or corrupt checkpoint", file, name);
  if (!exists) PetscFunctionReturn(PETSC_SUCCESS);
  QrbmCallH5Id(d, H5Dopen2(f, name, H5P_DEFAULT));
  QrbmCallH5Id(ft, H5Dget_type(d));
  const PetscBool type_ok = H5Tget_class(ft) == cls && H5Tget_size(ft) == H5Tget_size(mtype) ? PETSC_TRUE : PETSC_FALSE;
  QrbmCallH5(H5Tclose(ft));
  PetscCheck(type_ok, PETSC_COMM_WORLD, PETSC_ERR_FILE_UNEXPECTED, "-restart %s: dataset %s has the wrong element type: corrupt checkpoint", file, name);
  QrbmCallH5Id(fs, H5Dget_space(d));
  QrbmCallH5Id(nd, H5Sget_simple_extent_ndims(fs));
  PetscCheck(nd == 1 || nd == 2, PETSC_COMM_WORLD, PETSC_ERR_FILE_UNEXPECTED, "-restart %s: dataset %s has %d dimensions, expected 1 or 2: corrupt checkpoint", file, name, nd);
  QrbmCallH5(H5Sget_simple_extent_dims(fs, dims, NULL));
  if (nd == 1) dims[1] = 1;
  PetscCheck(nd == want_nd && (!psi || dims[1] == (hsize_t)g->total), PETSC_COMM_WORLD, PETSC_ERR_FILE_UNEXPECTED, "-restart %s: dataset %s has shape %llu x %llu, expected %d dimensions%s: corrupt checkpoint", file, name,
             (unsigned long long)dims[0], (unsigned long long)dims[1], want_nd, psi ? " and one state of M^(N d) points per row" : "");
  PetscCall(QrbmChecksumRead(d, &want, &present));
  PetscCheck(present, PETSC_COMM_WORLD, PETSC_ERR_FILE_UNEXPECTED, "-restart %s: dataset %s has no checksum: corrupt checkpoint", file, name);
  n  = dims[0] * dims[1];
  e  = n * (hsize_t)rank / (hsize_t)size;
  hi = n * (hsize_t)(rank + 1) / (hsize_t)size;
  PetscCall(PetscMalloc1(2 * 65536, &buf));
  if (psi) PetscCall(PetscCalloc1(dims[0] + 1, &norms));
  for (; e < hi; e += cnt) {
    const hsize_t row = e / dims[1], col = e % dims[1], start[2] = {nd == 1 ? e : row, col};
    hsize_t       count[2];
    cnt      = PetscMin(PetscMin(hi - e, dims[1] - col), (hsize_t)65536);
    count[0] = nd == 1 ? cnt : 1;
    count[1] = cnt;
    QrbmCallH5(H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL));
    QrbmCallH5Id(ms, H5Screate_simple(1, &cnt, NULL));
    QrbmCallH5(H5Dread(d, mtype, ms, fs, H5P_DEFAULT, buf));
    QrbmCallH5(H5Sclose(ms));
    mine += QrbmChecksumBlock(e, H5Tget_size(mtype), cnt, buf);
    for (hsize_t k = 0; psi && k < 2 * cnt; k++) norms[row] += buf[k] * buf[k];
  }
  QrbmCallH5(H5Sclose(fs));
  QrbmCallH5(H5Dclose(d));
  PetscCall(PetscFree(buf));
  PetscCall(QrbmChecksumReduce(world, mine, &total));
  PetscCheck(total == want, PETSC_COMM_WORLD, PETSC_ERR_FILE_UNEXPECTED, "-restart %s: dataset %s does not match its checksum: corrupt checkpoint", file, name);
  if (psi) {
    const double dv = pow(c->box / c->grid, (double)(c->particles * c->dim));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, norms, (PetscMPIInt)dims[0], MPI_DOUBLE, MPI_SUM, world));
    for (hsize_t j = 0; j < nstates && j < dims[0]; j++)
      PetscCheck(fabs(norms[j] * dv - 1) <= 1e-8, PETSC_COMM_WORLD, PETSC_ERR_FILE_UNEXPECTED, "-restart %s: saved state %llu has norm %.12g instead of 1: corrupt checkpoint", file, (unsigned long long)j, norms[j] * dv);
    PetscCall(PetscFree(norms));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The integrity of cfg->restart (format, header, every dataset a restart relies on), read-only. */
static PetscErrorCode CheckFile(const QrbmConfig *c, const QrbmGrid *g, MPI_Comm world)
{
  static const char *reals[] = {"/items_rows", "/slots_n", "/slots_mean", "/slots_m2"}, *opt_reals[] = {"/reference_rows", "/slots_bcount", "/slots_bsum"};
  long long          fmt = 0;
  hid_t              f, ctype, d, s;
  hsize_t            n3 = 0;
  PetscFunctionBeginUser;
  PetscCall(OpenCheckpoint(c->restart, &f));
  PetscCall(ReadAttrLL(f, c->restart, "checkpoint_format", &fmt));
  PetscCheck(fmt == QRBM_CHECKPOINT_FORMAT, PETSC_COMM_WORLD, PETSC_ERR_FILE_UNEXPECTED, "-restart %s: checkpoint format %lld, this qrbm reads format %d only (%s): continue that run with the qrbm version that wrote it", c->restart, fmt,
             QRBM_CHECKPOINT_FORMAT, fmt < QRBM_CHECKPOINT_FORMAT ? "an older format: 1 has no run identity and checksums, 2 no checksum of the output's rows" : "a newer format");
  PetscCall(CheckHeader(c->restart, f));
  PetscCall(VerifyDataset(c, g, world, f, "/items_k", PETSC_TRUE, H5T_NATIVE_LLONG, H5T_INTEGER, 1, 0));
  QrbmCallH5Id(d, H5Dopen2(f, "/items_k", H5P_DEFAULT));
  QrbmCallH5Id(s, H5Dget_space(d));
  QrbmCallH5(H5Sget_simple_extent_dims(s, &n3, NULL));
  QrbmCallH5(H5Sclose(s));
  QrbmCallH5(H5Dclose(d));
  PetscCall(QrbmH5ComplexType(&ctype));
  PetscCall(VerifyDataset(c, g, world, f, "/items_psi", PETSC_TRUE, ctype, H5T_COMPOUND, 2, n3 / 3));
  QrbmCallH5(H5Tclose(ctype));
  PetscCall(VerifyDataset(c, g, world, f, "/tsteps", PETSC_TRUE, H5T_NATIVE_LLONG, H5T_INTEGER, 1, 0));
  PetscCall(VerifyDataset(c, g, world, f, "/done", PETSC_TRUE, H5T_NATIVE_CHAR, H5T_INTEGER, 1, 0));
  PetscCall(VerifyDataset(c, g, world, f, "/reference_done", PETSC_FALSE, H5T_NATIVE_CHAR, H5T_INTEGER, 1, 0));
  for (int i = 0; i < 4; i++) PetscCall(VerifyDataset(c, g, world, f, reals[i], PETSC_TRUE, H5T_NATIVE_DOUBLE, H5T_FLOAT, i == 1 ? 1 : 2, 0));
  for (int i = 0; i < 3; i++) PetscCall(VerifyDataset(c, g, world, f, opt_reals[i], PETSC_FALSE, H5T_NATIVE_DOUBLE, H5T_FLOAT, i == 0 ? 1 : 2, 0));
  QrbmCallH5(H5Fclose(f));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The physics of cfg->restart against this run's options: a difference is the user's error, not
   corruption, so it is reported as such and there is no fallback. */
static PetscErrorCode CheckPhysics(const QrbmConfig *c)
{
  long long fmt = 0, nsteps = 0;
  hid_t     f;
  hid_t     fapl;
  PetscFunctionBeginUser;
  PetscCheck(access(c->restart, R_OK) == 0, PETSC_COMM_WORLD, PETSC_ERR_FILE_OPEN, "-restart %s: file not found or not readable", c->restart);
  QrbmCallH5(H5Eset_auto2(H5E_DEFAULT, NULL, NULL));
  QrbmCallH5Id(fapl, H5Pcreate(H5P_FILE_ACCESS));
  QrbmCallH5(H5Pset_fapl_mpio(fapl, PETSC_COMM_WORLD, MPI_INFO_NULL));
  f = H5Fopen(c->restart, H5F_ACC_RDONLY, fapl); /* collective: every rank sees the same outcome */
  QrbmCallH5(H5Pclose(fapl));
  if (f < 0) PetscFunctionReturn(PETSC_SUCCESS); /* truncated or no HDF5: the integrity check reports it and falls back to FILE.1 */
  if (H5Aexists(f, "checkpoint_format") > 0) PetscCall(ReadAttrLL(f, c->restart, "checkpoint_format", &fmt));
  if (fmt == QRBM_CHECKPOINT_FORMAT && H5Aexists(f, "nsteps") > 0 && H5Lexists(f, "/physics", H5P_DEFAULT) > 0) { /* else the integrity check reports it */
    PetscCall(ReadAttrLL(f, c->restart, "nsteps", &nsteps));
    PetscCall(CheckOptions(c, f, nsteps));
  }
  QrbmCallH5(H5Fclose(f));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmCheckpointChoose(QrbmConfig *c, const QrbmGrid *g, MPI_Comm world)
{
  char      msg[4096], older[PETSC_MAX_PATH_LEN];
  PetscBool ok;
  PetscFunctionBeginUser;
  QrbmCollective("checking the checkpoint's physics", CheckPhysics(c));
  PetscCall(QrbmAgreeQuiet(QrbmAgreeTestFault("verifying the checkpoint", PETSC_FALSE) ? PETSC_ERR_FILE_UNEXPECTED : CheckFile(c, g, world), "verifying the checkpoint", &ok, msg, sizeof(msg)));
  if (ok) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscSNPrintf(older, sizeof(older), "%s.1", c->restart));
  if (access(older, R_OK) != 0) { /* nothing to fall back to: the failure is the error */
    QrbmAgreeRecord(msg);
    PetscCall(QrbmAgree(PETSC_ERR_FILE_UNEXPECTED, "verifying the checkpoint"));
  }
  PetscCall(PetscPrintf(world, "qrbm: WARNING: the newest checkpoint failed its checks: %s\nqrbm: trying the previous checkpoint %s\n", msg, older));
  PetscCall(PetscStrncpy(c->restart, older, sizeof(c->restart)));
  QrbmCollective("verifying the previous checkpoint", CheckFile(c, g, world));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Read(const QrbmConfig *c, const QrbmGrid *g, PetscMPIInt wsize, QrbmCheckpointState *st)
{
  long long fmt = 0, nsteps = 0, ntimes = 0, rows_written = 0, *ts;
  char      hash[17];
  hid_t     f;
  hsize_t   n;
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(st, sizeof(*st)));
  st->cfg = c;
  PetscCall(OpenCheckpoint(c->restart, &f));
  PetscCall(ReadAttrLL(f, c->restart, "checkpoint_format", &fmt));
  PetscCheck(fmt == QRBM_CHECKPOINT_FORMAT, PETSC_COMM_WORLD, PETSC_ERR_FILE_UNEXPECTED, "-restart %s: checkpoint format %lld, this qrbm reads format %d only", c->restart, fmt, QRBM_CHECKPOINT_FORMAT);
  PetscCall(QrbmIdentityRead(f, c->restart, st->run_id, hash));
  PetscCheck(st->run_id[0], PETSC_COMM_WORLD, PETSC_ERR_FILE_UNEXPECTED, "-restart %s: the checkpoint has no run_id attribute: corrupt checkpoint", c->restart);
  PetscCall(ReadAttrLL(f, c->restart, "nsteps", &nsteps));
  PetscCall(ReadAttrLL(f, c->restart, "ntimes", &ntimes));
  PetscCall(ReadAttrLL(f, c->restart, "rows_written", &rows_written));
  PetscCall(CheckOptions(c, f, nsteps));
  st->nsteps = (PetscInt64)nsteps;
  PetscCall(ReadItems(c, f, st));
  PetscCall(ReadWhole(f, c->restart, "/tsteps", H5T_NATIVE_LLONG, sizeof(long long), (hsize_t)ntimes, (void **)&ts, &n));
  for (long long i = 0; i < ntimes; i++)
    PetscCheck(ts[i] >= 0 && ts[i] <= nsteps && (i == 0 ? ts[i] == 0 : ts[i] > ts[i - 1]) && (i < ntimes - 1 || ts[i] == nsteps), PETSC_COMM_WORLD, PETSC_ERR_FILE_UNEXPECTED,
               "-restart %s: /tsteps is not the increasing list of output steps from 0 to %lld (entry %lld is %lld): corrupt checkpoint", c->restart, nsteps, i, ts[i]);
  PetscCall(PetscMalloc1(ntimes + 1, &st->tsteps));
  for (long long i = 0; i < ntimes; i++) st->tsteps[i] = (PetscInt64)ts[i];
  PetscCall(PetscFree(ts));
  st->ntimes       = (PetscInt)ntimes;
  st->rows_written = (PetscInt)rows_written;
  PetscCall(ReadU64(f, c->restart, "output_checksum", &st->output_sum));
  PetscCall(ImportWisdom(c, g, wsize, f, &st->wisdom_restored));
  QrbmCallH5(H5Fclose(f));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmCheckpointRead(const QrbmConfig *c, const QrbmGrid *g, PetscMPIInt wsize, QrbmCheckpointState *st)
{
  PetscFunctionBeginUser;
  QrbmCollective("reading the checkpoint", Read(c, g, wsize, st));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmCheckpointStateFree(QrbmCheckpointState *st)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree(st->items));
  PetscCall(PetscFree(st->tsteps));
  PetscCall(PetscFree(st->done));
  st->nitems = st->ntimes = 0;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Jackknife sums (slot s adds to group s mod G) and the finished exact reference (group 0 root). */
static PetscErrorCode LoadExtras(QrbmCheckpointState *st, hid_t f, hsize_t nslots)
{
  const char    *file = st->cfg->restart;
  const PetscInt len = st->ntimes * st->reclen, K = st->nbatch;
  hid_t          d, dc;
  double        *cnt, *sum;
  PetscFunctionBeginUser;
  if (st->ref_done) {
    const PetscBool holder = st->color == 0 && st->grid->rank == 0;
    PetscCall(OpenChecked(f, file, "/reference_rows", (hsize_t)len, &d, NULL));
    PetscCall(Block(d, H5T_NATIVE_DOUBLE, H5P_DEFAULT, PETSC_FALSE, 0, 0, (hsize_t)len, st->ref_rows, holder));
    QrbmCallH5(H5Dclose(d));
    st->ref_held = holder;
  }
  if (!K) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscMalloc2(K, &cnt, K * len, &sum));
  PetscCall(OpenChecked(f, file, "/slots_bcount", nslots, &dc, NULL));
  PetscCall(OpenChecked(f, file, "/slots_bsum", nslots, &d, NULL));
  for (hsize_t s = 0; s < nslots; s++) {
    const PetscBool mine = (PetscInt)(s % (hsize_t)st->ngroups) == st->color && st->grid->rank == 0;
    PetscCall(Block(dc, H5T_NATIVE_DOUBLE, H5P_DEFAULT, PETSC_FALSE, s, 0, (hsize_t)K, cnt, mine));
    PetscCall(Block(d, H5T_NATIVE_DOUBLE, H5P_DEFAULT, PETSC_FALSE, s, 0, (hsize_t)(K * len), sum, mine));
    if (!mine) continue;
    for (PetscInt b = 0; b < K; b++) st->bcount[b] += cnt[b];
    for (PetscInt j = 0; j < K * len; j++) st->bsum[j] += sum[j];
  }
  QrbmCallH5(H5Dclose(dc));
  QrbmCallH5(H5Dclose(d));
  PetscCall(PetscFree2(cnt, sum));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The saved states and records of the items. */
static PetscErrorCode LoadItems(QrbmCheckpointState *st, hid_t f, PetscInt oldlen)
{
  const char    *file = st->cfg->restart;
  const PetscInt slab = st->grid->xlay.count, len = st->ntimes * st->reclen;
  hid_t          dpsi, drows, ctype;
  double        *buf;
  PetscFunctionBeginUser;
  PetscCall(QrbmH5ComplexType(&ctype));
  PetscCall(OpenChecked(f, file, "/items_psi", 0, &dpsi, NULL));
  PetscCall(OpenChecked(f, file, "/items_rows", 0, &drows, NULL));
  PetscCall(PetscMalloc1(oldlen + 1, &buf));
  for (PetscInt j = 0; j < st->nitems; j++) {
    QrbmCheckpointItem *item = &st->items[j];
    PetscCall(Block(dpsi, ctype, H5P_DEFAULT, PETSC_FALSE, (hsize_t)j, SlabOffset(st->grid), (hsize_t)slab, item->psi, item->mine));
    PetscCall(Block(drows, H5T_NATIVE_DOUBLE, H5P_DEFAULT, PETSC_FALSE, (hsize_t)j, 0, (hsize_t)oldlen, buf, item->mine));
    if (item->mine) PetscCall(PetscArraycpy(item->rows, buf, PetscMin(len, oldlen)));
  }
  QrbmCallH5(H5Dclose(dpsi));
  QrbmCallH5(H5Dclose(drows));
  QrbmCallH5(H5Tclose(ctype));
  PetscCall(PetscFree(buf));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Load(QrbmCheckpointState *st, PetscInt ntimes_saved)
{
  const char    *file = st->cfg->restart;
  const PetscInt len = st->ntimes * st->reclen, oldlen = ntimes_saved * st->reclen;
  hid_t          f, dn, dmean, dm2;
  hsize_t        nslots = 0;
  double         n, *mean, *m2;
  PetscFunctionBeginUser;
  PetscCall(OpenCheckpoint(file, &f));
  PetscCall(LoadItems(st, f, oldlen));
  /* accumulators of the checkpointed groups: slot s merges into group s mod G, in slot order */
  PetscCall(PetscMalloc2(oldlen + 1, &mean, oldlen + 1, &m2));
  PetscCall(OpenChecked(f, file, "/slots_n", 0, &dn, &nslots));
  PetscCall(OpenChecked(f, file, "/slots_mean", nslots, &dmean, NULL));
  PetscCall(OpenChecked(f, file, "/slots_m2", nslots, &dm2, NULL));
  for (hsize_t s = 0; s < nslots; s++) {
    const PetscBool mine = (PetscInt)(s % (hsize_t)st->ngroups) == st->color && st->grid->rank == 0;
    n = 0;
    PetscCall(Block(dn, H5T_NATIVE_DOUBLE, H5P_DEFAULT, PETSC_FALSE, s, 0, 1, &n, mine));
    PetscCall(Block(dmean, H5T_NATIVE_DOUBLE, H5P_DEFAULT, PETSC_FALSE, s, 0, (hsize_t)oldlen, mean, mine));
    PetscCall(Block(dm2, H5T_NATIVE_DOUBLE, H5P_DEFAULT, PETSC_FALSE, s, 0, (hsize_t)oldlen, m2, mine));
    if (!mine || n == 0) continue;
    PetscCheck(oldlen == len, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "-restart %s: accumulators of %" PetscInt_FMT " values, expected %" PetscInt_FMT, file, oldlen, len);
    QrbmStatsMerge(len, st->acc_n, st->acc_mean, st->acc_m2, n, mean, m2);
    st->acc_n += n;
  }
  QrbmCallH5(H5Dclose(dn));
  QrbmCallH5(H5Dclose(dmean));
  QrbmCallH5(H5Dclose(dm2));
  PetscCall(LoadExtras(st, f, nslots));
  PetscCall(PetscFree2(mean, m2));
  QrbmCallH5(H5Fclose(f));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmCheckpointLoad(QrbmCheckpointState *st, PetscInt ntimes_saved)
{
  PetscFunctionBeginUser;
  QrbmCollective("loading the checkpointed states", Load(st, ntimes_saved));
  PetscFunctionReturn(PETSC_SUCCESS);
}
