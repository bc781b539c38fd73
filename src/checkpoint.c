/* Checkpoints: everything a run needs to continue, in the natural global layout (never per-rank
   files), written collectively and atomically. A run continued at the same rank count and split
   is bit-identical to an uninterrupted one (the propagator's chain state and the FFTW wisdom are
   saved); at another rank count or split it agrees to rounding. */
#define _POSIX_C_SOURCE 200809L /* sigaction, nanosleep */
#include <qrbm/checkpoint.h>
#include <qrbm/events.h>
#include <qrbm/h5io.h>
#include <fftw3-mpi.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t signalled = 0;
static void OnSignal(int sig) { signalled = sig; }

PetscErrorCode QrbmSignalInstall(void)
{
  struct sigaction sa;
  PetscFunctionBeginUser;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  PetscCheck(!sigaction(SIGUSR1, &sa, NULL) && !sigaction(SIGTERM, &sa, NULL), PETSC_COMM_SELF, PETSC_ERR_SYS, "cannot install the SIGUSR1/SIGTERM handlers");
  PetscFunctionReturn(PETSC_SUCCESS);
}

int QrbmSignalReceived(void) { return signalled != 0; }

/* Options that define the computed trajectory: a restart must not change them. */
static int PhysicsOptions(const QrbmConfig *c, char names[][32], char values[][512])
{
  int n = 0;
#define OPT_I(nm, v) (snprintf(names[n], 32, "%s", nm), snprintf(values[n++], 512, "%lld", (long long)(v)))
#define OPT_R(nm, v) (snprintf(names[n], 32, "%s", nm), snprintf(values[n++], 512, "%.17g", (double)(v)))
#define OPT_S(nm, v) (snprintf(names[n], 32, "%s", nm), snprintf(values[n++], 512, "%s", v))
  OPT_I("dim", c->dim); OPT_I("particles", c->particles); OPT_I("grid", c->grid); OPT_R("box", c->box); OPT_R("hbar", c->hbar); OPT_R("dt", c->dt);
  OPT_S("scheme", QrbmSchemeNames[c->scheme]); OPT_S("potential", QrbmPotentialNames[c->potential]); OPT_R("potential_strength", c->strength);
  OPT_R("potential_width", c->width); OPT_R("trap_omega", c->trap_omega); OPT_S("init", QrbmInitNames[c->init]);
  OPT_R("ground_tol", c->ground_tol); OPT_I("ground_maxiter", c->ground_maxiter); OPT_R("ground_dtau", c->ground_dtau);
  OPT_S("method", QrbmMethodNames[c->method]); OPT_I("batch_size", c->batch_size); OPT_R("rb_dt", c->rb_dt); OPT_I("realizations", c->realizations);
  OPT_I("seed", c->seed); OPT_I("rb_couple_level", c->rb_couple_level); OPT_I("output_interval", c->output_interval); OPT_I("save_realizations", c->save_realizations); OPT_I("record_pairings", c->record_pairings);
  OPT_S("rb_expectation", QrbmExpectationNames[c->expectation]); OPT_I("rdm_interval", c->rdm_interval); OPT_I("rdm_batches", c->rdm_batches);
  OPT_S("reference", QrbmReferenceNames[c->reference]);
  for (int which = 0; which < 2; which++) {
    const PetscReal *v = which ? c->init_p : c->init_q;
    snprintf(names[n], 32, "%s", which ? "init_p" : "init_q");
    values[n][0] = 0;
    for (PetscInt i = 0; i < c->ninit * c->dim; i++) snprintf(values[n] + strlen(values[n]), 512 - strlen(values[n]), "%.17g,", (double)v[i]);
    n++;
  }
#undef OPT_I
#undef OPT_R
#undef OPT_S
  return n;
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
  QrbmCallH5Id(ms, H5Screate_simple(1, &count, NULL));
  if (mine && count > 0) QrbmCallH5(H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, cnt, NULL));
  else {
    QrbmCallH5(H5Sselect_none(fs));
    QrbmCallH5(H5Sselect_none(ms));
  }
  if (write) QrbmCallH5(H5Dwrite(d, type, ms, fs, dxpl, buf));
  else QrbmCallH5(H5Dread(d, type, ms, fs, dxpl, buf));
  QrbmCallH5(H5Sclose(ms));
  QrbmCallH5(H5Sclose(fs));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Create(hid_t f, const char *name, hid_t type, hsize_t n0, hsize_t n1, hid_t *d)
{
  hsize_t dims[2] = {n0, n1};
  hid_t   s;
  PetscFunctionBeginUser;
  QrbmCallH5Id(s, H5Screate_simple(n1 ? 2 : 1, dims, NULL));
  QrbmCallH5Id(*d, H5Dcreate2(f, name, type, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  QrbmCallH5(H5Sclose(s));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* What a checkpoint saves: the items of the current round (at cur_step) and the resumed items of
   later rounds, in a global order every rank computes alike. */
typedef struct {
  PetscInt k, step, pending, owner, item;
  PetscBool current;
} Saved;

static PetscErrorCode SavedItems(const QrbmRun *r, Saved **list, PetscInt *n)
{
  const PetscInt G = r->ec.ngroups;
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(r->nitems + 1, list));
  *n = 0;
  for (PetscInt q = r->round; q < r->nrounds; q++)
    for (PetscInt c = 0; c < G; c++) {
      const PetscInt it = r->round_item[q * G + c];
      if (it < 0 || (q > r->round && !r->items[it].resumed)) continue;
      const PetscBool cur = q == r->round;
      (*list)[(*n)++] = (Saved){r->items[it].k, cur ? r->cur_step : r->items[it].step, cur ? r->cur_pending : r->items[it].pending, c, it, cur};
    }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Root attributes: identity of the run and of its parallel layout. */
static PetscErrorCode WriteHeader(QrbmRun *r, hid_t f)
{
  const QrbmConfig *c = &r->cfg;
  char              names[40][32], values[40][512], hash[17];
  const int         n = PhysicsOptions(c, names, values);
  hid_t             grp;
  long long         v[8] = {QRBM_CHECKPOINT_FORMAT, r->ec.wsize, r->ec.ngroups, r->grid.size, c->threads, c->nsteps, r->ntimes, r->rows_written};
  const char       *keys[8] = {"checkpoint_format", "mpi_ranks", "groups", "group_size", "threads", "nsteps", "ntimes", "rows_written"};
  char             *wisdom = NULL;
  int               len = 0;
  PetscFunctionBeginUser;
  for (int i = 0; i < 8; i++) {
    hid_t s, a;
    QrbmCallH5Id(s, H5Screate(H5S_SCALAR));
    QrbmCallH5Id(a, H5Acreate2(f, keys[i], H5T_NATIVE_LLONG, s, H5P_DEFAULT, H5P_DEFAULT));
    QrbmCallH5(H5Awrite(a, H5T_NATIVE_LLONG, &v[i]));
    QrbmCallH5(H5Aclose(a));
    QrbmCallH5(H5Sclose(s));
  }
  PhysicsHash(n, names, values, hash);
  PetscCall(QrbmH5WriteAttrString(f, "qrbm_version", QRBM_VERSION));
  PetscCall(QrbmH5WriteAttrString(f, "physics_hash", hash));
  PetscCall(QrbmH5WriteAttrString(f, "fftw_planner", QrbmPlannerNames[c->planner]));
  QrbmCallH5Id(grp, H5Gcreate2(f, "/physics", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  for (int i = 0; i < n; i++) PetscCall(QrbmH5WriteAttrString(grp, names[i], values[i]));
  QrbmCallH5(H5Gclose(grp));
  QrbmCallH5Id(grp, H5Gcreate2(f, "/options", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  PetscCall(QrbmOutputWriteOptions(grp, &r->grid, c));
  QrbmCallH5(H5Gclose(grp));
  /* the FFTW wisdom, so that a restart plans exactly the same transforms */
  fftw_mpi_gather_wisdom(r->grid.comm);
  if (r->ec.wrank == 0) {
    wisdom = fftw_export_wisdom_to_string();
    len    = wisdom ? (int)strlen(wisdom) + 1 : 1;
  }
  PetscCallMPI(MPI_Bcast(&len, 1, MPI_INT, 0, r->ec.world));
  if (r->ec.wrank != 0) PetscCall(PetscCalloc1(len, &wisdom));
  PetscCallMPI(MPI_Bcast(wisdom ? wisdom : (char[]){0}, len, MPI_CHAR, 0, r->ec.world));
  PetscCall(QrbmH5WriteAttrString(f, "fftw_wisdom", wisdom ? wisdom : ""));
  if (r->ec.wrank == 0) free(wisdom);
  else PetscCall(PetscFree(wisdom));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode WriteItems(QrbmRun *r, hid_t f, hid_t dxpl, hid_t ctype)
{
  const PetscInt  len = r->ntimes * r->rec.len, slab = r->grid.xlay.count;
  const hsize_t   total = (hsize_t)r->grid.total, off = (hsize_t)(slab ? r->grid.xlay.start * (slab / r->grid.xlay.n[0]) : 0);
  const PetscBool groot = r->grid.rank == 0;
  Saved          *s;
  PetscInt        n = 0;
  hid_t           dk, dpsi, drows;
  PetscFunctionBeginUser;
  PetscCall(SavedItems(r, &s, &n));
  PetscCall(Create(f, "/items_k", H5T_NATIVE_LLONG, (hsize_t)n * 3, 0, &dk));
  long long *meta;
  PetscCall(PetscMalloc1(3 * n + 1, &meta));
  for (PetscInt j = 0; j < n; j++) { meta[3 * j] = s[j].k; meta[3 * j + 1] = s[j].step; meta[3 * j + 2] = s[j].pending; }
  PetscCall(Block(dk, H5T_NATIVE_LLONG, dxpl, PETSC_TRUE, 0, 0, (hsize_t)(3 * n), meta, r->ec.wrank == 0));
  PetscCall(PetscFree(meta));
  PetscCall(Create(f, "/items_psi", ctype, (hsize_t)PetscMax(n, 1), total, &dpsi));
  PetscCall(Create(f, "/items_rows", H5T_NATIVE_DOUBLE, (hsize_t)PetscMax(n, 1), (hsize_t)len, &drows));
  for (PetscInt j = 0; j < n; j++) {
    const PetscBool mine = s[j].owner == r->ec.color;
    QrbmItem       *it   = &r->items[s[j].item];
    void           *psi  = s[j].current ? (void *)r->state.psi : (void *)it->psi;
    void           *rows = s[j].current ? (void *)r->rows : (void *)it->rows;
    PetscCall(Block(dpsi, ctype, dxpl, PETSC_TRUE, (hsize_t)j, off, (hsize_t)slab, psi, mine));
    PetscCall(Block(drows, H5T_NATIVE_DOUBLE, dxpl, PETSC_TRUE, (hsize_t)j, 0, (hsize_t)len, rows, mine && groot));
  }
  QrbmCallH5(H5Dclose(dk));
  QrbmCallH5(H5Dclose(dpsi));
  QrbmCallH5(H5Dclose(drows));
  PetscCall(PetscFree(s));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Completed realisations, every group's accumulators, the output times. */
static PetscErrorCode WriteEnsemble(QrbmRun *r, hid_t f, hid_t dxpl)
{
  const PetscInt  len = r->ntimes * r->rec.len, G = r->ec.ngroups, R = r->cfg.realizations;
  const PetscBool groot = r->grid.rank == 0;
  char           *done;
  long long      *ts;
  hid_t           d;
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc2(R, &done, r->ntimes, &ts));
  PetscCall(PetscArraycpy(done, r->done, R));
  char ref_done = (char)r->ref_done;
  for (PetscInt q = 0; q < r->round; q++)
    for (PetscInt c = 0; c < G; c++) {
      const PetscInt it = r->round_item[q * G + c];
      if (it < 0) continue;
      if (r->items[it].k < 0) ref_done = 1;
      else done[r->items[it].k] = 1;
    }
  for (PetscInt i = 0; i < r->ntimes; i++) ts[i] = r->tsteps[i];
  PetscCall(Create(f, "/done", H5T_NATIVE_CHAR, (hsize_t)R, 0, &d));
  PetscCall(Block(d, H5T_NATIVE_CHAR, dxpl, PETSC_TRUE, 0, 0, (hsize_t)R, done, r->ec.wrank == 0));
  QrbmCallH5(H5Dclose(d));
  if (r->ref_rows) { /* the finished exact reference of -reference exact */
    PetscCall(Create(f, "/reference_done", H5T_NATIVE_CHAR, 1, 0, &d));
    PetscCall(Block(d, H5T_NATIVE_CHAR, dxpl, PETSC_TRUE, 0, 0, 1, &ref_done, r->ec.wrank == 0));
    QrbmCallH5(H5Dclose(d));
    PetscCall(Create(f, "/reference_rows", H5T_NATIVE_DOUBLE, (hsize_t)len, 0, &d));
    PetscCall(Block(d, H5T_NATIVE_DOUBLE, dxpl, PETSC_TRUE, 0, 0, (hsize_t)len, r->ref_rows, r->ref_held));
    QrbmCallH5(H5Dclose(d));
  }
  if (r->nbatch) { /* jackknife sums */
    PetscCall(Create(f, "/slots_bcount", H5T_NATIVE_DOUBLE, (hsize_t)G, (hsize_t)r->nbatch, &d));
    PetscCall(Block(d, H5T_NATIVE_DOUBLE, dxpl, PETSC_TRUE, (hsize_t)r->ec.color, 0, (hsize_t)r->nbatch, r->bcount, groot));
    QrbmCallH5(H5Dclose(d));
    PetscCall(Create(f, "/slots_bsum", H5T_NATIVE_DOUBLE, (hsize_t)G, (hsize_t)(r->nbatch * len), &d));
    PetscCall(Block(d, H5T_NATIVE_DOUBLE, dxpl, PETSC_TRUE, (hsize_t)r->ec.color, 0, (hsize_t)(r->nbatch * len), r->bsum, groot));
    QrbmCallH5(H5Dclose(d));
  }
  PetscCall(Create(f, "/tsteps", H5T_NATIVE_LLONG, (hsize_t)r->ntimes, 0, &d));
  PetscCall(Block(d, H5T_NATIVE_LLONG, dxpl, PETSC_TRUE, 0, 0, (hsize_t)r->ntimes, ts, r->ec.wrank == 0));
  QrbmCallH5(H5Dclose(d));
  PetscCall(PetscFree2(done, ts));
  PetscCall(Create(f, "/slots_n", H5T_NATIVE_DOUBLE, (hsize_t)G, 0, &d));
  PetscCall(Block(d, H5T_NATIVE_DOUBLE, dxpl, PETSC_TRUE, (hsize_t)r->ec.color, 0, 1, &r->acc_n, groot));
  QrbmCallH5(H5Dclose(d));
  PetscCall(Create(f, "/slots_mean", H5T_NATIVE_DOUBLE, (hsize_t)G, (hsize_t)len, &d));
  PetscCall(Block(d, H5T_NATIVE_DOUBLE, dxpl, PETSC_TRUE, (hsize_t)r->ec.color, 0, (hsize_t)len, r->acc_mean, groot));
  QrbmCallH5(H5Dclose(d));
  PetscCall(Create(f, "/slots_m2", H5T_NATIVE_DOUBLE, (hsize_t)G, (hsize_t)len, &d));
  PetscCall(Block(d, H5T_NATIVE_DOUBLE, dxpl, PETSC_TRUE, (hsize_t)r->ec.color, 0, (hsize_t)len, r->acc_m2, groot));
  QrbmCallH5(H5Dclose(d));
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

PetscErrorCode QrbmCheckpointWrite(QrbmRun *r)
{
  const QrbmConfig *c = &r->cfg;
  char              tmp[PETSC_MAX_PATH_LEN + 8];
  hid_t             fapl, f, dxpl, ctype;
  int               ok = 1;
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(QRBM_EVENT_CHECKPOINT, 0, 0, 0, 0));
  PetscCall(PetscSNPrintf(tmp, sizeof(tmp), "%s.tmp", c->checkpoint_file));
  QrbmCallH5Id(fapl, H5Pcreate(H5P_FILE_ACCESS));
  QrbmCallH5(H5Pset_fapl_mpio(fapl, r->ec.world, MPI_INFO_NULL));
  f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  QrbmCallH5(H5Pclose(fapl));
  PetscCheck(f >= 0, r->ec.world, PETSC_ERR_FILE_OPEN, "-checkpoint_file %s: cannot create %s (directory missing or not writable?)", c->checkpoint_file, tmp);
  QrbmCallH5Id(dxpl, H5Pcreate(H5P_DATASET_XFER));
  QrbmCallH5(H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE));
  PetscCall(QrbmH5ComplexType(&ctype));
  PetscCall(WriteHeader(r, f));
  PetscCall(WriteItems(r, f, dxpl, ctype));
  if (c->checkpoint_test_delay > 0) { /* test only: a slow write, to kill a run inside it */
    const struct timespec ts = {(time_t)c->checkpoint_test_delay, (long)((c->checkpoint_test_delay - (time_t)c->checkpoint_test_delay) * 1e9)};
    nanosleep(&ts, NULL);
  }
  PetscCall(WriteEnsemble(r, f, dxpl));
  QrbmCallH5(H5Tclose(ctype));
  QrbmCallH5(H5Pclose(dxpl));
  if (H5Fclose(f) < 0) ok = 0;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, r->ec.world));
  if (r->ec.wrank == 0) ok = ok && Rotate(c->checkpoint_file, tmp, c->checkpoint_keep);
  PetscCallMPI(MPI_Bcast(&ok, 1, MPI_INT, 0, r->ec.world));
  PetscCheck(ok, r->ec.world, PETSC_ERR_FILE_WRITE, "-checkpoint_file %s: writing or renaming %s failed; the previous checkpoint is intact", c->checkpoint_file, tmp);
  if (!c->quiet) PetscCall(PetscPrintf(r->ec.world, "checkpoint: %s at round %" PetscInt_FMT ", step %" PetscInt_FMT "\n", c->checkpoint_file, r->round, r->cur_step));
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

/* Opens dataset `name`, checking its length (want = 0: any, returned in *got when not NULL). */
static PetscErrorCode OpenDataset(hid_t f, const char *file, const char *name, hsize_t want, hid_t *d, hsize_t *got)
{
  hid_t   s;
  hsize_t dims[2] = {0, 0};
  PetscFunctionBeginUser;
  *d = H5Dopen2(f, name, H5P_DEFAULT);
  PetscCheck(*d >= 0, PETSC_COMM_WORLD, PETSC_ERR_FILE_UNEXPECTED, "-restart %s: dataset %s missing: incomplete or corrupt checkpoint", file, name);
  QrbmCallH5Id(s, H5Dget_space(*d));
  QrbmCallH5(H5Sget_simple_extent_dims(s, dims, NULL));
  QrbmCallH5(H5Sclose(s));
  PetscCheck(want == 0 || dims[0] == want, PETSC_COMM_WORLD, PETSC_ERR_FILE_UNEXPECTED, "-restart %s: dataset %s has %llu entries, expected %llu: corrupt checkpoint", file, name, (unsigned long long)dims[0], (unsigned long long)want);
  if (got) *got = dims[0];
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Refuses physics changes, listing every difference; -t_final may grow for single trajectories. */
static PetscErrorCode CheckOptions(QrbmRun *r, hid_t f, long long nsteps_old)
{
  const QrbmConfig *c = &r->cfg;
  char              names[40][32], values[40][512], old[512], diff[4096] = "";
  const int         n = PhysicsOptions(c, names, values);
  hid_t             grp;
  PetscFunctionBeginUser;
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
             "-restart %s: -t_final changed (%lld -> %" PetscInt_FMT " steps): only single-trajectory runs (-realizations 1) can be extended", c->restart, nsteps_old, c->nsteps);
  PetscCheck(c->nsteps == nsteps_old || (!c->save_realizations && !c->record_pairings), PETSC_COMM_WORLD, PETSC_ERR_ARG_INCOMP, "-restart %s: -t_final cannot change with -save_realizations or -record_pairings (their datasets have the old length)", c->restart);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Output times after a -t_final extension: those already passed stay, the new ones follow. */
static PetscErrorCode MergeOutputTimes(QrbmRun *r, const long long *old, long long nold, PetscInt upto)
{
  const QrbmConfig *c = &r->cfg;
  PetscInt          n = 0, *ts;
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(nold + r->ntimes, &ts));
  for (long long i = 0; i < nold && old[i] <= upto; i++) ts[n++] = (PetscInt)old[i];
  for (PetscInt i = 0; i < r->ntimes; i++)
    if (r->tsteps[i] > upto) ts[n++] = r->tsteps[i];
  PetscCheck(upto <= c->nsteps, PETSC_COMM_WORLD, PETSC_ERR_ARG_OUTOFRANGE, "-t_final %g: the checkpoint is already at step %" PetscInt_FMT " > %" PetscInt_FMT " steps", (double)c->t_final, upto, c->nsteps);
  PetscCall(PetscFree(r->tsteps));
  r->tsteps = ts;
  r->ntimes = n;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* A whole 1-D dataset into new memory (PetscFree it); want = 0 accepts any length, put in *n. */
static PetscErrorCode ReadWhole(hid_t f, const char *file, const char *name, hid_t type, size_t elsize, hsize_t want, void **buf, hsize_t *n)
{
  hid_t d;
  PetscFunctionBeginUser;
  PetscCall(OpenDataset(f, file, name, want, &d, n));
  PetscCall(PetscMalloc(elsize * (*n + 1), buf));
  PetscCall(Block(d, type, H5P_DEFAULT, PETSC_FALSE, 0, 0, *n, *buf, PETSC_TRUE));
  QrbmCallH5(H5Dclose(d));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The item list: resumed items (file order), the exact reference if it has not started, then every
   realisation neither done nor saved, in index order. */
static PetscErrorCode ReadItems(QrbmRun *r, hid_t f)
{
  const QrbmConfig *c = &r->cfg;
  const PetscInt    R = c->realizations;
  long long        *meta;
  char             *flag = NULL;
  hsize_t           n3, n;
  PetscBool         ref_saved = PETSC_FALSE;
  PetscFunctionBeginUser;
  PetscCall(ReadWhole(f, c->restart, "/done", H5T_NATIVE_CHAR, 1, (hsize_t)R, (void **)&r->done, &n));
  PetscCall(ReadWhole(f, c->restart, "/items_k", H5T_NATIVE_LLONG, sizeof(long long), 0, (void **)&meta, &n3));
  PetscCall(PetscCalloc1(R + 1, &r->items));
  for (PetscInt j = 0; j < (PetscInt)(n3 / 3); j++) {
    const long long k = meta[3 * j];
    const PetscBool ref = k == -1 && c->reference == QRBM_REFERENCE_EXACT;
    PetscCheck(ref || (k >= 0 && k < R && !r->done[k] && meta[3 * j + 1] >= 0), PETSC_COMM_WORLD, PETSC_ERR_FILE_UNEXPECTED, "-restart %s: item %" PetscInt_FMT " is inconsistent: corrupt checkpoint", c->restart, j);
    r->items[r->nitems++] = (QrbmItem){(PetscInt)k, (PetscInt)meta[3 * j + 1], meta[3 * j + 2] ? PETSC_TRUE : PETSC_FALSE, PETSC_TRUE, NULL, NULL};
    if (ref) ref_saved = PETSC_TRUE;
    else r->done[k] = 2; /* in progress: neither done nor fresh */
  }
  if (c->reference == QRBM_REFERENCE_EXACT) {
    PetscCall(ReadWhole(f, c->restart, "/reference_done", H5T_NATIVE_CHAR, 1, 1, (void **)&flag, &n));
    r->ref_done = flag[0] ? PETSC_TRUE : PETSC_FALSE;
    if (!r->ref_done && !ref_saved) r->items[r->nitems++] = (QrbmItem){-1, 0, PETSC_FALSE, PETSC_FALSE, NULL, NULL};
  }
  for (PetscInt k = 0; k < R; k++) {
    if (!r->done[k]) r->items[r->nitems++] = (QrbmItem){k, 0, PETSC_FALSE, PETSC_FALSE, NULL, NULL};
    if (r->done[k] == 2) r->done[k] = 0;
  }
  PetscCall(PetscFree(meta));
  PetscCall(PetscFree(flag));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The same parallel layout plans the same transforms with the saved wisdom: bit-identical. */
static PetscErrorCode ImportWisdom(QrbmRun *r, hid_t f)
{
  const QrbmConfig *c = &r->cfg;
  long long         ranks = 0, gsize = 0, threads = 0;
  char              planner[32], *wisdom;
  PetscFunctionBeginUser;
  PetscCall(ReadAttrLL(f, c->restart, "mpi_ranks", &ranks));
  PetscCall(ReadAttrLL(f, c->restart, "group_size", &gsize));
  PetscCall(ReadAttrLL(f, c->restart, "threads", &threads));
  PetscCall(ReadAttrString(f, c->restart, "fftw_planner", planner, sizeof(planner)));
  if (ranks != r->ec.wsize || gsize != r->grid.size || threads != c->threads || strcmp(planner, QrbmPlannerNames[c->planner])) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscMalloc1(1 << 22, &wisdom));
  PetscCall(ReadAttrString(f, c->restart, "fftw_wisdom", wisdom, 1 << 22));
  r->wisdom_restored = wisdom[0] && fftw_import_wisdom_from_string(wisdom) ? PETSC_TRUE : PETSC_FALSE;
  PetscCall(PetscFree(wisdom));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmCheckpointRead(QrbmRun *r)
{
  const QrbmConfig *c = &r->cfg;
  long long         fmt = 0, nsteps = 0, ntimes = 0, rows_written = 0, *ts;
  hid_t             f;
  hsize_t           n;
  PetscFunctionBeginUser;
  PetscCall(OpenCheckpoint(c->restart, &f));
  PetscCall(ReadAttrLL(f, c->restart, "checkpoint_format", &fmt));
  PetscCheck(fmt == QRBM_CHECKPOINT_FORMAT, PETSC_COMM_WORLD, PETSC_ERR_FILE_UNEXPECTED, "-restart %s: checkpoint format %lld, this qrbm reads format %d", c->restart, fmt, QRBM_CHECKPOINT_FORMAT);
  PetscCall(ReadAttrLL(f, c->restart, "nsteps", &nsteps));
  PetscCall(ReadAttrLL(f, c->restart, "ntimes", &ntimes));
  PetscCall(ReadAttrLL(f, c->restart, "rows_written", &rows_written));
  PetscCall(CheckOptions(r, f, nsteps));
  PetscCall(ReadItems(r, f));
  PetscCall(ReadWhole(f, c->restart, "/tsteps", H5T_NATIVE_LLONG, sizeof(long long), (hsize_t)ntimes, (void **)&ts, &n));
  PetscCall(MergeOutputTimes(r, ts, ntimes, r->nitems && r->items[0].resumed ? r->items[0].step : c->nsteps));
  PetscCall(PetscFree(ts));
  r->rows_written = (PetscInt)rows_written;
  r->ntimes_saved = (PetscInt)ntimes;
  PetscCall(ImportWisdom(r, f));
  QrbmCallH5(H5Fclose(f));
  r->restarted = PETSC_TRUE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Jackknife sums (slot s adds to group s mod G) and the finished exact reference (group 0 root). */
static PetscErrorCode LoadExtras(QrbmRun *r, hid_t f, hsize_t nslots)
{
  const QrbmConfig *c = &r->cfg;
  const PetscInt    len = r->ntimes * r->rec.len, K = r->nbatch;
  hid_t             d, dc;
  double           *cnt, *sum;
  PetscFunctionBeginUser;
  if (r->ref_done) {
    const PetscBool holder = r->ec.color == 0 && r->grid.rank == 0;
    PetscCall(OpenDataset(f, c->restart, "/reference_rows", (hsize_t)len, &d, NULL));
    PetscCall(Block(d, H5T_NATIVE_DOUBLE, H5P_DEFAULT, PETSC_FALSE, 0, 0, (hsize_t)len, r->ref_rows, holder));
    QrbmCallH5(H5Dclose(d));
    r->ref_held = holder;
  }
  if (!K) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscMalloc2(K, &cnt, K * len, &sum));
  PetscCall(OpenDataset(f, c->restart, "/slots_bcount", nslots, &dc, NULL));
  PetscCall(OpenDataset(f, c->restart, "/slots_bsum", nslots, &d, NULL));
  for (hsize_t s = 0; s < nslots; s++) {
    const PetscBool mine = (PetscInt)(s % (hsize_t)r->ec.ngroups) == r->ec.color && r->grid.rank == 0;
    PetscCall(Block(dc, H5T_NATIVE_DOUBLE, H5P_DEFAULT, PETSC_FALSE, s, 0, (hsize_t)K, cnt, mine));
    PetscCall(Block(d, H5T_NATIVE_DOUBLE, H5P_DEFAULT, PETSC_FALSE, s, 0, (hsize_t)(K * len), sum, mine));
    if (!mine) continue;
    for (PetscInt b = 0; b < K; b++) r->bcount[b] += cnt[b];
    for (PetscInt j = 0; j < K * len; j++) r->bsum[j] += sum[j];
  }
  QrbmCallH5(H5Dclose(dc));
  QrbmCallH5(H5Dclose(d));
  PetscCall(PetscFree2(cnt, sum));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmCheckpointLoad(QrbmRun *r)
{
  const QrbmConfig *c = &r->cfg;
  const PetscInt    G = r->ec.ngroups, slab = r->grid.xlay.count, len = r->ntimes * r->rec.len, oldlen = r->ntimes_saved * r->rec.len;
  const hsize_t     off = (hsize_t)(slab ? r->grid.xlay.start * (slab / r->grid.xlay.n[0]) : 0);
  hid_t             f, dpsi, drows, dn, dmean, dm2, ctype;
  hsize_t           nslots = 0;
  double           *buf, n, *mean, *m2;
  PetscFunctionBeginUser;
  PetscCall(OpenCheckpoint(c->restart, &f));
  PetscCall(QrbmH5ComplexType(&ctype));
  PetscCall(OpenDataset(f, c->restart, "/items_psi", 0, &dpsi, NULL));
  PetscCall(OpenDataset(f, c->restart, "/items_rows", 0, &drows, NULL));
  PetscCall(PetscMalloc3(oldlen + 1, &buf, oldlen + 1, &mean, oldlen + 1, &m2));
  for (PetscInt q = 0; q < r->nrounds; q++)
    for (PetscInt cg = 0; cg < G; cg++) {
      const PetscInt it = r->round_item[q * G + cg];
      if (it < 0 || !r->items[it].resumed) continue;
      const PetscBool mine = cg == r->ec.color;
      QrbmItem       *item = &r->items[it];
      if (mine) PetscCall(PetscCalloc2(slab, &item->psi, len, &item->rows));
      PetscCall(Block(dpsi, ctype, H5P_DEFAULT, PETSC_FALSE, (hsize_t)it, off, (hsize_t)slab, item->psi, mine));
      PetscCall(Block(drows, H5T_NATIVE_DOUBLE, H5P_DEFAULT, PETSC_FALSE, (hsize_t)it, 0, (hsize_t)oldlen, buf, mine));
      if (mine) PetscCall(PetscArraycpy(item->rows, buf, PetscMin(len, oldlen)));
    }
  QrbmCallH5(H5Dclose(dpsi));
  QrbmCallH5(H5Dclose(drows));
  /* accumulators of the checkpointed groups: slot s merges into group s mod G, in slot order */
  PetscCall(OpenDataset(f, c->restart, "/slots_n", 0, &dn, &nslots));
  PetscCall(OpenDataset(f, c->restart, "/slots_mean", nslots, &dmean, NULL));
  PetscCall(OpenDataset(f, c->restart, "/slots_m2", nslots, &dm2, NULL));
  for (hsize_t s = 0; s < nslots; s++) {
    const PetscBool mine = (PetscInt)(s % (hsize_t)G) == r->ec.color && r->grid.rank == 0;
    n = 0;
    PetscCall(Block(dn, H5T_NATIVE_DOUBLE, H5P_DEFAULT, PETSC_FALSE, s, 0, 1, &n, mine));
    PetscCall(Block(dmean, H5T_NATIVE_DOUBLE, H5P_DEFAULT, PETSC_FALSE, s, 0, (hsize_t)oldlen, mean, mine));
    PetscCall(Block(dm2, H5T_NATIVE_DOUBLE, H5P_DEFAULT, PETSC_FALSE, s, 0, (hsize_t)oldlen, m2, mine));
    if (!mine || n == 0) continue;
    PetscCheck(oldlen == len, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "-restart %s: accumulators of %" PetscInt_FMT " values, expected %" PetscInt_FMT, c->restart, oldlen, len);
    QrbmWelfordMerge(len, r->acc_n, r->acc_mean, r->acc_m2, n, mean, m2);
    r->acc_n += n;
  }
  QrbmCallH5(H5Dclose(dn));
  QrbmCallH5(H5Dclose(dmean));
  QrbmCallH5(H5Dclose(dm2));
  PetscCall(LoadExtras(r, f, nslots));
  PetscCall(PetscFree3(buf, mean, m2));
  QrbmCallH5(H5Tclose(ctype));
  QrbmCallH5(H5Fclose(f));
  PetscFunctionReturn(PETSC_SUCCESS);
}
