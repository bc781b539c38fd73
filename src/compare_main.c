/* qrbm-compare REF.h5 RB.h5 [-output ERR.h5] [-table FILE]: errors of a random batch run against
   a reference run at their common RDM output times (distances between the one-particle reduced
   density matrices, observable errors, the bound of Theorem 2.1). File reading and writing only;
   the computation is QrbmErrorTableCompute. Schemas: docs/errors.md. Serial (one MPI rank).
   Exit code 0 on success, 1 on any error; ERR.h5 is written as ERR.h5.part and renamed, so a
   failed comparison leaves no output file behind. */
#define _DEFAULT_SOURCE /* realpath */
#include <qrbm/agree.h>
#include <qrbm/events.h>
#include <qrbm/identity.h>
#include <qrbm/kinetic.h>
#include <qrbm/metrics.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <unistd.h>

static const char help[] = "qrbm-compare: errors of a random batch run against a reference run.\n"
                           "Usage: bin/qrbm-compare REF.h5 RB.h5 [-output ERR.h5] [-table FILE]\n"
                           "  REF.h5, RB.h5: qrbm output files with /rdm (same -dim, -grid, -box, -hbar)\n"
                           "  -output ERR.h5: error file, group /error (default qrbm-error.h5)\n"
                           "  -table FILE: also write the plain-text table (printed to stdout) to FILE\n\n";

/* What one run file holds: the options both runs share or the metrics need (grid, potential, Dt)
   and the arrays behind its QrbmRunSeries. */
typedef struct {
  const char   *path;
  hid_t         file;
  QrbmConfig    cfg;
  double       *time, *counts, *obs_time, *obs[QRBM_ERROR_NOBS], *obs_stderr[QRBM_ERROR_NOBS];
  qcomplex     *R1, *batches;
  QrbmRunSeries s;
} RunFile;

static PetscErrorCode ReadAttributes(hid_t f, RunFile *r)
{
  const QrbmConfig *c = &r->cfg;
  PetscFunctionBeginUser;
  PetscCall(QrbmIdentityReadOptions(f, r->path, QRBM_USE_COMPARE | QRBM_USE_METRICS, &r->cfg));
  PetscCheck(c->dim >= 1 && c->dim <= QRBM_MAX_DIM && c->grid >= 2 && c->box > 0 && c->hbar > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "%s: attributes dim = %g, grid = %g, box = %g, hbar = %g are not a valid grid", r->path, (double)c->dim, (double)c->grid, (double)c->box, (double)c->hbar);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Complex array of shape (T, Md, Md) (K = 0) or (T, K, Md, Md); the trailing Md x Md may be split
   into more axes. */
static PetscErrorCode ReadMatrices(hid_t f, const RunFile *r, const char *path, PetscInt T, PetscInt K, ptrdiff_t Md, qcomplex **v)
{
  const int     nlead   = K ? 2 : 1;
  const hsize_t lead[2] = {(hsize_t)T, (hsize_t)K};
  hsize_t       dims[QRBM_H5_MAX_RANK], have = 1;
  int           rank;
  char          groups[64] = "";
  PetscFunctionBeginUser;
  PetscCall(QrbmH5ReadComplex(f, r->path, path, &rank, dims, v));
  for (int i = 0; i < rank; i++) have *= dims[i];
  PetscBool ok = rank > nlead && have == (hsize_t)T * (K ? (hsize_t)K : 1) * (hsize_t)(Md * Md) ? PETSC_TRUE : PETSC_FALSE;
  for (int i = 0; ok && i < nlead; i++) ok = dims[i] == lead[i] ? PETSC_TRUE : PETSC_FALSE;
  if (K) PetscCall(PetscSNPrintf(groups, sizeof(groups), " x %" PetscInt_FMT " (/rdm/batch_counts)", K));
  PetscCheck(ok, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s has %d dimensions and %llu elements, expected %" PetscInt_FMT " (/rdm/time)%s x %td x %td (Md = grid^dim)", r->path, path, rank,
             (unsigned long long)have, T, groups, Md, Md);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode ReadVector(hid_t f, const RunFile *r, const char *path, PetscBool required, PetscInt *n, double **v)
{
  hsize_t   dims[QRBM_H5_MAX_RANK];
  int       rank;
  PetscBool exists;
  PetscFunctionBeginUser;
  *v = NULL;
  PetscCall(QrbmH5Exists(f, path, &exists));
  if (!exists && !required) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(QrbmH5ReadReal(f, r->path, path, &rank, dims, v));
  PetscCheck(rank == 1 && (*n < 0 || (PetscInt)dims[0] == *n), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s must be one-dimensional with %" PetscInt_FMT " entries", r->path, path, *n);
  *n = (PetscInt)dims[0];
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* /rdm (time, R1, optional R1_batches with batch_counts) and /observables (time, x2, p2, energy,
   optional *_stderr); fills r->s. */
static PetscErrorCode ReadSeries(hid_t f, RunFile *r, ptrdiff_t Md)
{
  char          name[64];
  PetscInt      nt = -1, nobs = -1, K = -1;
  PetscBool     has_batches;
  QrbmRunSeries *s = &r->s;
  PetscFunctionBeginUser;
  PetscCall(ReadVector(f, r, "/rdm/time", PETSC_TRUE, &nt, &r->time));
  PetscCall(ReadMatrices(f, r, "/rdm/R1", nt, 0, Md, &r->R1));
  PetscCall(QrbmH5Exists(f, "/rdm/R1_batches", &has_batches));
  if (has_batches) {
    PetscCall(ReadVector(f, r, "/rdm/batch_counts", PETSC_TRUE, &K, &r->counts));
    PetscCall(ReadMatrices(f, r, "/rdm/R1_batches", nt, K, Md, &r->batches));
  }
  PetscCall(ReadVector(f, r, "/observables/time", PETSC_TRUE, &nobs, &r->obs_time));
  for (int o = 0; o < QRBM_ERROR_NOBS; o++) {
    PetscCall(PetscSNPrintf(name, sizeof(name), "/observables/%s", QrbmErrorObservables[o]));
    PetscCall(ReadVector(f, r, name, PETSC_TRUE, &nobs, &r->obs[o]));
    PetscCall(PetscSNPrintf(name, sizeof(name), "/observables/%s_stderr", QrbmErrorObservables[o]));
    PetscCall(ReadVector(f, r, name, PETSC_FALSE, &nobs, &r->obs_stderr[o]));
    s->obs[o] = r->obs[o]; s->obs_stderr[o] = r->obs_stderr[o];
  }
  s->name = r->path; s->nt = nt; s->time = r->time; s->R1 = r->R1;
  s->nbatch = has_batches ? K : 0; s->batches = r->batches; s->counts = r->counts;
  s->nobs = nobs; s->obs_time = r->obs_time;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Opens the file and reads its attributes; the arrays follow once the grids are known to agree. */
static PetscErrorCode RunFileOpen(const char *path, RunFile *r)
{
  PetscFunctionBeginUser;
  r->path = path;
  r->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  PetscCheck(r->file >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot open %s (missing, unreadable or not an HDF5 file)", path);
  PetscCall(ReadAttributes(r->file, r));
  if (H5Aexists(r->file, "status") > 0) { /* a checkpointed or running output is not a finished run */
    char status[32];
    PetscCall(QrbmH5ReadAttrString(r->file, path, "status", status, sizeof(status)));
    PetscCheck(!strcmp(status, "complete"), PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "%s: status is '%s', not 'complete': compare finished runs only", path, status);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode RunFileClose(RunFile *r)
{
  PetscFunctionBeginUser;
  if (r->file > 0) QrbmCallH5(H5Fclose(r->file));
  r->file = 0;
  PetscCall(PetscFree(r->time));
  PetscCall(PetscFree(r->R1));
  PetscCall(PetscFree(r->batches));
  PetscCall(PetscFree(r->counts));
  PetscCall(PetscFree(r->obs_time));
  for (int o = 0; o < QRBM_ERROR_NOBS; o++) {
    PetscCall(PetscFree(r->obs[o]));
    PetscCall(PetscFree(r->obs_stderr[o]));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Both runs must live on the same one-particle grid: the options marked QRBM_USE_COMPARE. */
static PetscErrorCode CheckSameGrid(const RunFile *a, const RunFile *b)
{
  char same[256] = "";
  PetscFunctionBeginUser;
  for (const QrbmOption *o = QrbmOptions; o->name; o++) {
    if (!(o->use & QRBM_USE_COMPARE)) continue;
    PetscCall(PetscStrlcat(same, same[0] ? ", " : "", sizeof(same)));
    PetscCall(PetscStrlcat(same, o->name, sizeof(same)));
  }
  for (const QrbmOption *o = QrbmOptions; o->name; o++) {
    if (!(o->use & QRBM_USE_COMPARE)) continue;
    const double va = QrbmOptionNumber(o, &a->cfg), vb = QrbmOptionNumber(o, &b->cfg);
    PetscCheck(fabs(va - vb) <= 1e-12 * fabs(va), PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP, "%s and %s are on different grids: attribute '%s' is %g in %s but %g in %s (compare runs with the same %s)", a->path, b->path, o->name + 1, va,
               a->path, vb, b->path, same);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode WriteErrorFile(const char *out, const char *refpath, const char *rbpath, const QrbmErrorTable *tab)
{
  char           part[PETSC_MAX_PATH_LEN + 8];
  hid_t          f;
  PetscErrorCode ierr;
  herr_t         closed;
  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(part, sizeof(part), "%s.part", out));
  f = H5Fcreate(part, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  PetscCheck(f >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "-output %s: cannot create %s (directory missing or not writable?)", out, part);
  ierr = QrbmH5WriteAttrString(f, "reference", refpath);
  if (!ierr) ierr = QrbmH5WriteAttrString(f, "random_batch", rbpath);
  if (!ierr) ierr = QrbmErrorTableWrite(tab, f, H5P_DEFAULT, PETSC_TRUE);
  closed = H5Fclose(f);
  if (ierr || closed < 0) unlink(part);
  PetscCall(ierr);
  PetscCheck(closed >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "-output %s: could not close %s", out, part);
  PetscCheck(rename(part, out) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "-output %s: could not rename %s to %s", out, part, out);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The files written must not be (or, through links, resolve to) an input or each other. */
static PetscErrorCode CheckOutputs(const char *refpath, const char *rbpath, const char *out, const char *table)
{
  char        names[5][PETSC_MAX_PATH_LEN + 8];
  const char *given[5] = {refpath, rbpath, out, table, NULL}, *what[5] = {"REF.h5", "RB.h5", "-output", "-table", "-output (OUTPUT.part)"};
  char        part[PETSC_MAX_PATH_LEN + 8];
  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(part, sizeof(part), "%s.part", out));
  given[4] = part;
  for (int i = 0; i < 5; i++) {
    char dir[PETSC_MAX_PATH_LEN + 8], *slash, real[PATH_MAX];
    names[i][0] = 0;
    if (!given[i][0]) continue;
    if (realpath(given[i], real)) { PetscCall(PetscStrncpy(names[i], real, sizeof(names[i]))); continue; }
    PetscCall(PetscStrncpy(dir, given[i], sizeof(dir)));
    slash = strrchr(dir, '/');
    if (slash) *slash = 0;
    PetscCheck(realpath(slash ? (dir[0] ? dir : "/") : ".", real), PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "%s %s: directory not found", what[i], given[i]);
    PetscCall(PetscSNPrintf(names[i], sizeof(names[i]), "%s/%s", real, slash ? slash + 1 : given[i]));
  }
  for (int i = 2; i < 5; i++)
    for (int j = 0; j < i; j++) PetscCheck(!names[i][0] || strcmp(names[i], names[j]), PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "%s %s and %s %s are the same file %s: qrbm-compare never overwrites its inputs", what[j], given[j], what[i], given[i], names[i]);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Compare(const char *refpath, const char *rbpath, const char *out, const char *table)
{
  RunFile        ref = {0}, rb = {0};
  QrbmConfig     cfg;
  QrbmGrid       g;
  QrbmErrorTable tab;
  FILE          *fp;
  PetscFunctionBeginUser;
  PetscCall(CheckOutputs(refpath, rbpath, out, table));
  PetscCall(RunFileOpen(refpath, &ref));
  PetscCall(RunFileOpen(rbpath, &rb));
  PetscCall(CheckSameGrid(&ref, &rb));
  PetscCall(ReadSeries(ref.file, &ref, (ptrdiff_t)pow(ref.cfg.grid, ref.cfg.dim)));
  PetscCall(ReadSeries(rb.file, &rb, (ptrdiff_t)pow(rb.cfg.grid, rb.cfg.dim)));
  cfg = rb.cfg; /* the metrics use the random batch run's potential and Dt */
  PetscCall(QrbmFFTInitialize(1));
  PetscCall(QrbmGridCreate(PETSC_COMM_SELF, &cfg, &g));
  PetscCall(QrbmErrorTableCompute(&g, &cfg, &ref.s, &rb.s, &tab));
  PetscCall(WriteErrorFile(out, refpath, rbpath, &tab));
  PetscCall(QrbmErrorTableView(PETSC_COMM_SELF, &tab, PETSC_STDOUT));
  if (table[0]) {
    PetscCall(PetscFOpen(PETSC_COMM_SELF, table, "w", &fp));
    PetscCall(QrbmErrorTableView(PETSC_COMM_SELF, &tab, fp));
    PetscCall(PetscFClose(PETSC_COMM_SELF, fp));
  }
  PetscCall(QrbmErrorTableDestroy(&tab));
  PetscCall(QrbmGridDestroy(&g));
  PetscCall(RunFileClose(&ref));
  PetscCall(RunFileClose(&rb));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Options first (so that -help lists them), then the two positional file names, which must come
   first on the command line (PETSc skips arguments that are not options). */
static PetscErrorCode ParseArgs(int argc, char **argv, char *out, size_t nout, char *table, size_t ntable, PetscBool *help_only)
{
  PetscInt nfiles;
  PetscFunctionBeginUser;
  PetscCall(PetscStrncpy(out, "qrbm-error.h5", nout));
  table[0] = '\0';
  PetscOptionsBegin(PETSC_COMM_WORLD, NULL, "qrbm-compare options", NULL);
  PetscCall(PetscOptionsString("-output", "error file (HDF5, group /error)", "", out, out, nout, NULL));
  PetscCall(PetscOptionsString("-table", "also write the plain-text table to this file", "", table, table, ntable, NULL));
  PetscOptionsEnd();
  PetscCall(QrbmConfigToolArgs("qrbm-compare", "qrbm-compare REF.h5 RB.h5 [-output ERR.h5] [-table FILE] (exactly two run files, first)", argc, argv, 2, 2, &nfiles, help_only));
  PetscFunctionReturn(PETSC_SUCCESS);
}

int main(int argc, char **argv)
{
  char           out[PETSC_MAX_PATH_LEN], table[PETSC_MAX_PATH_LEN];
  PetscBool      help_only = PETSC_FALSE;
  PetscErrorCode ierr;
  PetscCall(PetscInitialize(&argc, &argv, NULL, help));
  PetscCall(QrbmAgreeInitialize()); /* one "qrbm: ERROR:" message instead of PETSc's traceback */
  PetscCall(QrbmEventsRegister()); /* the distances log their phases (-log_view) */
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* our messages replace HDF5's stack dumps */
  ierr = ParseArgs(argc, argv, out, sizeof(out), table, sizeof(table), &help_only);
  if (!ierr && !help_only) ierr = Compare(argv[1], argv[2], out, table);
  ierr = QrbmAgree(ierr, "qrbm-compare");
  PetscCall(QrbmAgreeFinalize());
  PetscCall(PetscFinalize());
  return ierr ? 1 : 0;
}
