/* qrbm-extrapolate A.h5 B.h5 [C.h5] [-output OUT.h5]: Richardson extrapolation of random batch
   runs at Dt, Dt/2 (and Dt/4) to Dt = 0, written as a run file that qrbm-compare reads like any
   other: the combined /observables, /density, /rdm/R1 with standard errors, jackknife groups when
   the inputs allow them, and /wigner/W. Spectra, purity and entropy are omitted (the combination
   need not be positive semidefinite). Serial. Schema and error propagation: docs/study.md.
   Exit code 0 on success, 1 on any error (OUT.h5.part is removed, OUT.h5 untouched). */
#include <qrbm/extrapolate.h>
#include <qrbm/h5io.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char help[] = "qrbm-extrapolate: Richardson extrapolation of random batch runs to Dt = 0.\n"
                           "Usage: bin/qrbm-extrapolate A.h5 B.h5 [C.h5] [-output OUT.h5]\n"
                           "  A, B[, C]: complete -method rbm runs of the same physics at -rb_dt Dt, Dt/2[, Dt/4] (any order)\n"
                           "  -output OUT.h5: the extrapolated run (default qrbm-richardson.h5)\n\n";

/* Axes copied from the finest input after checking that all inputs have the same values. */
static const char *const axes[] = {"/observables/time", "/observables/step", "/density/x", "/density/p", "/rdm/time", "/wigner/x", "/wigner/xi"};

typedef struct {
  const char *path;
  hid_t       file;
  double      rb_dt, seed, level, realizations;
  PetscBool   sampled; /* -rb_expectation sample (else an exact expectation: no sampling error) */
} Input;

typedef struct {
  PetscInt  n;
  Input     in[QRBM_RICHARDSON_MAX];
  double    w[QRBM_RICHARDSON_MAX];
  PetscBool coupled; /* sampled inputs paired realisation by realisation (-rb_couple_level chain) */
  hid_t     out;
} Job;

/* Any attribute as text: strings as stored, numbers as %.17g separated by commas. */
static PetscErrorCode AttrText(const Input *in, const char *name, char *buf, size_t len)
{
  hid_t    a, t, s;
  hssize_t n;
  double   v[64];
  htri_t   e;
  PetscFunctionBeginUser;
  QrbmCallH5Id(e, H5Aexists(in->file, name));
  PetscCheck(e > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: root attribute '%s' is missing (not a qrbm run file?)", in->path, name);
  QrbmCallH5Id(a, H5Aopen(in->file, name, H5P_DEFAULT));
  QrbmCallH5Id(t, H5Aget_type(a));
  const H5T_class_t cls = H5Tget_class(t);
  QrbmCallH5(H5Tclose(t));
  QrbmCallH5Id(s, H5Aget_space(a));
  QrbmCallH5Id(n, H5Sget_simple_extent_npoints(s));
  QrbmCallH5(H5Sclose(s));
  if (cls == H5T_STRING) {
    QrbmCallH5(H5Aclose(a));
    PetscCall(QrbmH5ReadAttrString(in->file, in->path, name, buf, len));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  PetscCheck((cls == H5T_FLOAT || cls == H5T_INTEGER) && n >= 1 && n <= 64, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute '%s' is neither a string nor up to 64 numbers", in->path, name);
  QrbmCallH5(H5Aread(a, H5T_NATIVE_DOUBLE, v));
  QrbmCallH5(H5Aclose(a));
  buf[0] = '\0';
  for (hssize_t i = 0; i < n; i++) PetscCall(PetscSNPrintf(buf + strlen(buf), len - strlen(buf), "%s%.17g", i ? "," : "", v[i]));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode InputOpen(const char *path, Input *in)
{
  char status[64], method[64], expect[64];
  PetscFunctionBeginUser;
  in->path = path;
  in->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  PetscCheck(in->file >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot open %s (missing, unreadable or not an HDF5 file)", path);
  PetscCall(QrbmH5ReadAttrString(in->file, path, "status", status, sizeof(status)));
  PetscCheck(!strcmp(status, "complete"), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: status is '%s', only complete runs can be extrapolated", path, status);
  PetscCall(QrbmH5ReadAttrString(in->file, path, "method", method, sizeof(method)));
  PetscCheck(!strcmp(method, "rbm"), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: method is '%s', Richardson extrapolation combines -method rbm runs", path, method);
  PetscCall(QrbmH5ReadAttrString(in->file, path, "rb_expectation", expect, sizeof(expect)));
  in->sampled = strcmp(expect, "enumerate") ? PETSC_TRUE : PETSC_FALSE;
  PetscCall(QrbmH5ReadAttrReal(in->file, path, "rb_dt", &in->rb_dt));
  PetscCall(QrbmH5ReadAttrReal(in->file, path, "seed", &in->seed));
  PetscCall(QrbmH5ReadAttrReal(in->file, path, "realizations", &in->realizations));
  in->level = 0; /* files written before -rb_couple_level existed are uncoupled */
  if (H5Aexists(in->file, "rb_couple_level") > 0) PetscCall(QrbmH5ReadAttrReal(in->file, path, "rb_couple_level", &in->level));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode CheckSame(const Job *job, const char *name)
{
  char a[2048], b[2048];
  PetscFunctionBeginUser;
  PetscCall(AttrText(&job->in[0], name, a, sizeof(a)));
  for (PetscInt i = 1; i < job->n; i++) {
    PetscCall(AttrText(&job->in[i], name, b, sizeof(b)));
    PetscCheck(!strcmp(a, b), PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP, "%s and %s differ in '%s': %s vs %s (Richardson extrapolation needs runs that differ only in -rb_dt and sampling)", job->in[0].path,
               job->in[i].path, name, a, b);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The inputs must agree on the file format and on every option marked QRBM_USE_COMBINE in the
   options table (they define the computed quantity). */
static PetscErrorCode CheckPhysics(const Job *job)
{
  PetscFunctionBeginUser;
  PetscCall(CheckSame(job, "format_version"));
  for (const QrbmOption *o = QrbmOptions; o->name; o++)
    if (o->use & QRBM_USE_COMBINE) PetscCall(CheckSame(job, o->name + 1));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Sampled inputs with distinct seeds are independent. A shared seed correlates the runs; that is
   only accepted as the designed coupling: one seed, one R, levels rising by one per halving. */
static PetscErrorCode CheckCoupling(Job *job)
{
  const Input *first = NULL;
  PetscInt     nshared = 0;
  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < job->n; i++)
    for (PetscInt j = i + 1; j < job->n; j++)
      if (job->in[i].sampled && job->in[j].sampled && job->in[i].seed == job->in[j].seed) nshared++;
  job->coupled = nshared > 0 ? PETSC_TRUE : PETSC_FALSE;
  for (PetscInt i = 0; job->coupled && i < job->n; i++) {
    const Input *in = &job->in[i];
    if (!in->sampled) continue;
    if (!first) {
      first = in;
      continue;
    }
    const PetscInt  steps = (PetscInt)round(log2(first->rb_dt / in->rb_dt));
    const PetscBool ok    = in->seed == first->seed && in->realizations == first->realizations && in->level - first->level == steps;
    PetscCheck(ok, PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP,
               "%s (seed %.0f, %.0f realisations, rb_couple_level %.0f) and %s (seed %.0f, %.0f realisations, rb_couple_level %.0f) share a seed but are not a common-random-number chain: "
               "use different -seed values for independent runs, or one -seed and -realizations with -rb_couple_level rising by 1 per halving of -rb_dt",
               first->path, first->seed, first->realizations, first->level, in->path, in->seed, in->realizations, in->level);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The output (or its .part) must not be one of the inputs, under any name. */
static PetscErrorCode CheckOutputPath(const Job *job, const char *out, const char *part)
{
  struct stat so, si;
  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < job->n; i++) {
    PetscCheck(!stat(job->in[i].path, &si), PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot stat %s", job->in[i].path);
    const char *names[2] = {out, part};
    for (int k = 0; k < 2; k++)
      PetscCheck(stat(names[k], &so) || so.st_dev != si.st_dev || so.st_ino != si.st_ino, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "-output %s: %s is the input %s: choose another output file", out, names[k], job->in[i].path);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Copies every root attribute of src to dst: numbers and fixed-length strings as stored, variable
   length strings (h5py's default) as fixed-length ones. */
static herr_t CopyAttr(hid_t src, const char *name, const H5A_info_t *info, void *dst)
{
  hid_t  a = H5Aopen(src, name, H5P_DEFAULT), t = H5Aget_type(a), s = H5Aget_space(a), b = -1, ft = -1;
  void  *buf = malloc(info->data_size ? info->data_size : 1);
  char  *vs  = NULL;
  herr_t ok  = a < 0 || t < 0 || s < 0 || !buf ? -1 : 0;
  if (ok >= 0 && H5Tis_variable_str(t) > 0) { /* scalar variable-length string */
    ok = H5Sget_simple_extent_npoints(s) == 1 ? H5Aread(a, t, &vs) : -1;
    ft = ok < 0 ? -1 : H5Tcopy(H5T_C_S1);
    ok = ft < 0 || H5Tset_size(ft, strlen(vs ? vs : "") + 1) < 0 ? -1 : 0;
    if (ok >= 0) b = H5Acreate2(*(hid_t *)dst, name, ft, s, H5P_DEFAULT, H5P_DEFAULT);
    ok = b < 0 ? -1 : H5Awrite(b, ft, vs ? vs : "");
    if (vs) H5free_memory(vs);
    if (ft >= 0) H5Tclose(ft);
  } else if (ok >= 0 && (ok = H5Aread(a, t, buf)) >= 0) {
    b  = H5Acreate2(*(hid_t *)dst, name, t, s, H5P_DEFAULT, H5P_DEFAULT);
    ok = b < 0 ? -1 : H5Awrite(b, t, buf);
  }
  if (b >= 0) H5Aclose(b);
  free(buf);
  if (s >= 0) H5Sclose(s);
  if (t >= 0) H5Tclose(t);
  if (a >= 0) H5Aclose(a);
  return ok < 0 ? -1 : 0;
}

static PetscErrorCode SetAttrString(hid_t f, const char *name, const char *v)
{
  PetscFunctionBeginUser;
  if (H5Aexists(f, name) > 0) QrbmCallH5(H5Adelete(f, name));
  PetscCall(QrbmH5WriteAttrString(f, name, v));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode SetAttrArray(hid_t f, const char *name, PetscInt n, const double *v)
{
  const hsize_t dim = (hsize_t)n;
  hid_t         s, a;
  PetscFunctionBeginUser;
  QrbmCallH5Id(s, H5Screate_simple(1, &dim, NULL));
  QrbmCallH5Id(a, H5Acreate2(f, name, H5T_NATIVE_DOUBLE, s, H5P_DEFAULT, H5P_DEFAULT));
  QrbmCallH5(H5Awrite(a, H5T_NATIVE_DOUBLE, v));
  QrbmCallH5(H5Aclose(a));
  QrbmCallH5(H5Sclose(s));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Root attributes: those of the finest input (so that the file reads as a run at its Dt), then the
   provenance of the extrapolation. */
static PetscErrorCode WriteRoot(const Job *job, const char *out)
{
  const Input *fine = &job->in[job->n - 1];
  char         list[3 * PETSC_MAX_PATH_LEN + 8] = "";
  double       dts[QRBM_RICHARDSON_MAX];
  PetscFunctionBeginUser;
  PetscCheck(H5Aiterate2(fine->file, H5_INDEX_NAME, H5_ITER_INC, NULL, CopyAttr, (void *)&job->out) >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s: cannot copy its root attributes to %s", fine->path, out);
  PetscCall(SetAttrString(job->out, "status", "complete"));
  PetscCall(SetAttrString(job->out, "output", out));
  for (PetscInt i = 0; i < job->n; i++) {
    PetscCall(PetscStrlcat(list, i ? ";" : "", sizeof(list)));
    PetscCall(PetscStrlcat(list, job->in[i].path, sizeof(list)));
    dts[i] = job->in[i].rb_dt;
  }
  PetscCall(QrbmH5WriteAttrString(job->out, "richardson_inputs", list));
  PetscCall(SetAttrArray(job->out, "richardson_rb_dt", job->n, dts));
  PetscCall(SetAttrArray(job->out, "richardson_weights", job->n, job->w));
  PetscCall(QrbmH5WriteAttrReal(job->out, "richardson_order", (double)job->n));
  PetscCall(QrbmH5WriteAttrReal(job->out, "richardson_coupled", job->coupled ? 1.0 : 0.0));
  PetscCall(QrbmH5WriteAttrString(job->out, "richardson_stderr", job->coupled ? "paired: per-realisation combinations (/realizations), R_1 from the paired jackknife groups" : "independent runs: in quadrature"));
  PetscCall(QrbmH5WriteAttrString(job->out, "richardson_psd", "not guaranteed: /rdm/eigenvalues, purity and entropy are omitted"));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* A real or complex (as pairs of doubles) dataset of every input, required to have one shape. */
static PetscErrorCode ReadAll(const Job *job, const char *path, PetscBool cplx, PetscBool required, int *rank, hsize_t *dims, size_t *len, double **v)
{
  hsize_t   d[QRBM_H5_MAX_RANK];
  int       r;
  PetscBool exists;
  PetscFunctionBeginUser;
  *len = 0;
  for (PetscInt i = 0; i < job->n; i++) {
    v[i] = NULL;
    PetscCall(QrbmH5Exists(job->in[i].file, path, &exists));
    if (!exists && !required) continue;
    if (cplx) PetscCall(QrbmH5ReadComplex(job->in[i].file, job->in[i].path, path, &r, d, (qcomplex **)&v[i]));
    else PetscCall(QrbmH5ReadReal(job->in[i].file, job->in[i].path, path, &r, d, &v[i]));
    size_t n = cplx ? 2 : 1;
    for (int k = 0; k < r; k++) n *= d[k];
    if (*len == 0) {
      *rank = r;
      PetscCall(PetscArraycpy(dims, d, r));
      *len = n;
    }
    PetscBool same = r == *rank && n == *len ? PETSC_TRUE : PETSC_FALSE;
    for (int k = 0; same && k < r; k++) same = d[k] == dims[k] ? PETSC_TRUE : PETSC_FALSE;
    PetscCheck(same, PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP, "%s has another shape in %s than in %s (different output times or grid)", path, job->in[i].path, job->in[0].path);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode FreeAll(const Job *job, double **v)
{
  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < job->n; i++) PetscCall(PetscFree(v[i]));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Write(const Job *job, const char *path, PetscBool cplx, int rank, const hsize_t *dims, const double *v)
{
  PetscFunctionBeginUser;
  if (cplx) PetscCall(QrbmH5WriteComplex(job->out, path, rank, dims, (const qcomplex *)v, H5P_DEFAULT, PETSC_TRUE));
  else PetscCall(QrbmH5WriteReal(job->out, path, rank, dims, v, H5P_DEFAULT, PETSC_TRUE));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Time and grid axes: equal in every input (1e-9 relative), copied. */
static PetscErrorCode CopyAxis(const Job *job, const char *path)
{
  double *v[QRBM_RICHARDSON_MAX];
  hsize_t dims[QRBM_H5_MAX_RANK];
  int     rank;
  size_t  len;
  PetscFunctionBeginUser;
  PetscCall(ReadAll(job, path, PETSC_FALSE, PETSC_TRUE, &rank, dims, &len, v));
  for (PetscInt i = 1; i < job->n; i++)
    for (size_t k = 0; k < len; k++)
      PetscCheck(fabs(v[i][k] - v[0][k]) <= 1e-9 * PetscMax(fabs(v[0][k]), 1e-300), PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP, "%s and %s differ in %s: entry %zu is %.17g vs %.17g", job->in[0].path, job->in[i].path, path, k,
                 v[0][k], v[i][k]);
  PetscCall(Write(job, path, PETSC_FALSE, rank, dims, v[0]));
  PetscCall(FreeAll(job, v));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* /realizations/<name> rows of the sampled inputs (coupled runs: their paired samples). */
static PetscErrorCode PairedStderr(const Job *job, const char *path, size_t len, double *se)
{
  char        name[PETSC_MAX_PATH_LEN];
  double     *s[QRBM_RICHARDSON_MAX] = {NULL};
  hsize_t     dims[QRBM_H5_MAX_RANK];
  int         rank;
  PetscBool   exists;
  PetscInt    R = 0;
  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(name, sizeof(name), "/realizations/%s", strrchr(path, '/') + 1));
  for (PetscInt i = 0; i < job->n; i++) {
    if (!job->in[i].sampled) continue;
    PetscCall(QrbmH5Exists(job->in[i].file, name, &exists));
    PetscCheck(exists, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s is missing: the paired standard errors of coupled runs need every realisation (run with -save_realizations)", job->in[i].path, name);
    PetscCall(QrbmH5ReadReal(job->in[i].file, job->in[i].path, name, &rank, dims, &s[i]));
    hsize_t per = 1;
    for (int k = 1; k < rank; k++) per *= dims[k];
    R = (PetscInt)dims[0];
    PetscCheck(rank >= 1 && (double)dims[0] == job->in[i].realizations && per == len, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s does not hold %.0f realisations of %s", job->in[i].path, name, job->in[i].realizations, path);
  }
  QrbmRichardsonStderrPaired(job->n, job->w, R, len, (const double *const *)s, se);
  for (PetscInt i = 0; i < job->n; i++) PetscCall(PetscFree(s[i]));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* A mean series (observable or density) and its <path>_stderr. */
static PetscErrorCode CombineSeries(const Job *job, const char *path)
{
  char    name[PETSC_MAX_PATH_LEN];
  double *v[QRBM_RICHARDSON_MAX], *se[QRBM_RICHARDSON_MAX], *out, *oute;
  hsize_t dims[QRBM_H5_MAX_RANK], sd[QRBM_H5_MAX_RANK];
  int     rank, srank;
  size_t  len, slen;
  PetscFunctionBeginUser;
  PetscCall(ReadAll(job, path, PETSC_FALSE, PETSC_TRUE, &rank, dims, &len, v));
  PetscCall(PetscMalloc2(len, &out, len, &oute));
  QrbmRichardsonCombine(job->n, job->w, len, (const double *const *)v, out);
  PetscCall(Write(job, path, PETSC_FALSE, rank, dims, out));
  PetscCall(PetscSNPrintf(name, sizeof(name), "%s_stderr", path));
  if (job->coupled) PetscCall(PairedStderr(job, path, len, oute));
  else {
    PetscCall(ReadAll(job, name, PETSC_FALSE, PETSC_FALSE, &srank, sd, &slen, se));
    for (PetscInt i = 0; i < job->n; i++)
      PetscCheck(se[i] || !job->in[i].sampled, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s is missing", job->in[i].path, name);
    QrbmRichardsonStderrIndependent(job->n, job->w, len, (const double *const *)se, oute);
    PetscCall(FreeAll(job, se));
  }
  PetscCall(Write(job, name, PETSC_FALSE, rank, dims, oute));
  PetscCall(PetscFree2(out, oute));
  PetscCall(FreeAll(job, v));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Names of the mean datasets of /observables (not time, step or *_stderr). */
static herr_t AddName(hid_t g, const char *name, const H5L_info_t *info, void *ctx)
{
  char  (*names)[64] = ctx;
  size_t n           = 0;
  (void)g; (void)info;
  if (!strcmp(name, "time") || !strcmp(name, "step") || strstr(name, "_stderr") || strlen(name) >= 64) return 0;
  while (names[n][0]) n++;
  if (n + 1 >= 64) return -1;
  strcpy(names[n], name);
  return 0;
}

static PetscErrorCode CombineObservables(const Job *job)
{
  char names[64][64] = {{0}}, path[128];
  hid_t g;
  PetscFunctionBeginUser;
  QrbmCallH5Id(g, H5Gopen2(job->in[job->n - 1].file, "/observables", H5P_DEFAULT));
  QrbmCallH5(H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, NULL, AddName, names));
  QrbmCallH5(H5Gclose(g));
  for (int k = 0; names[k][0]; k++) {
    PetscCall(PetscSNPrintf(path, sizeof(path), "/observables/%s", names[k]));
    PetscCall(CombineSeries(job, path));
  }
  PetscCall(CombineSeries(job, "/density/rho"));
  PetscCall(CombineSeries(job, "/density/rho_p"));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Group means of every input on one K (an enumerated input repeats its exact R1 in every group);
   NULL when a sampled input has none or the counts differ (then no jackknife in the output). */
static PetscErrorCode ReadGroups(const Job *job, double **g, double **counts, PetscInt *K)
{
  hsize_t   dims[QRBM_H5_MAX_RANK];
  int       rank;
  PetscBool exists, usable = PETSC_TRUE;
  PetscInt  nb;
  PetscFunctionBeginUser;
  *K = 0; *counts = NULL;
  for (PetscInt i = 0; i < job->n; i++) {
    g[i] = NULL;
    if (!job->in[i].sampled) continue;
    PetscCall(QrbmH5Exists(job->in[i].file, "/rdm/batch_counts", &exists));
    if (!exists) { usable = PETSC_FALSE; continue; }
    double *c;
    PetscCall(QrbmH5ReadReal(job->in[i].file, job->in[i].path, "/rdm/batch_counts", &rank, dims, &c));
    nb = (PetscInt)dims[0];
    if (!*counts) { *counts = c; *K = nb; }
    else {
      PetscBool same = nb == *K ? PETSC_TRUE : PETSC_FALSE;
      for (PetscInt b = 0; same && b < nb; b++) same = c[b] == (*counts)[b] ? PETSC_TRUE : PETSC_FALSE;
      if (!same) usable = PETSC_FALSE;
      PetscCall(PetscFree(c));
    }
    PetscCall(QrbmH5ReadComplex(job->in[i].file, job->in[i].path, "/rdm/R1_batches", &rank, dims, (qcomplex **)&g[i]));
  }
  PetscCheck(usable || !job->coupled, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "coupled runs need /rdm/R1_batches with equal /rdm/batch_counts in every sampled input (same -realizations >= 2 and -rdm_batches)");
  if (!usable || !*counts) {
    for (PetscInt i = 0; i < job->n; i++) PetscCall(PetscFree(g[i]));
    PetscCall(PetscFree(*counts));
    *K = 0;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Element-wise standard error of the combined R1 from K paired group means C_b with counts n_b:
   (sum_b n_b (C_b - C)^2 / ((K - 1) R))^(1/2), R = sum_b n_b. */
static void GroupStderr(PetscInt K, const double *counts, size_t len, const double *C, double *se)
{
  double R = 0;
  for (PetscInt b = 0; b < K; b++) R += counts[b];
  for (size_t k = 0; k < len; k++) {
    double mean = 0, ss = 0;
    for (PetscInt b = 0; b < K; b++) mean += counts[b] * C[b * len + k] / R;
    for (PetscInt b = 0; b < K; b++) ss += counts[b] * PetscSqr(C[b * len + k] - mean);
    se[k] = sqrt(ss / ((K - 1) * R));
  }
}

/* /rdm/R1 (combined), R1_stderr, and the combined jackknife groups when every input has them. */
static PetscErrorCode CombineRdm(const Job *job)
{
  double  *v[QRBM_RICHARDSON_MAX], *se[QRBM_RICHARDSON_MAX], *g[QRBM_RICHARDSON_MAX], *gb[QRBM_RICHARDSON_MAX], *out, *oute, *counts, *cg = NULL;
  hsize_t  dims[QRBM_H5_MAX_RANK], sd[QRBM_H5_MAX_RANK];
  int      rank, srank;
  size_t   len, slen;
  PetscInt K;
  PetscFunctionBeginUser;
  PetscCall(ReadAll(job, "/rdm/R1", PETSC_TRUE, PETSC_TRUE, &rank, dims, &len, v));
  PetscCall(PetscMalloc2(len, &out, len, &oute));
  QrbmRichardsonCombine(job->n, job->w, len, (const double *const *)v, out);
  PetscCall(Write(job, "/rdm/R1", PETSC_TRUE, rank, dims, out));
  PetscCall(ReadGroups(job, g, &counts, &K));
  if (K) { /* C_b = sum_i w_i A_ib at every time: nt x K x len/nt */
    const size_t nt = dims[0], per = len / nt;
    PetscCall(PetscMalloc1(nt * K * per, &cg));
    for (PetscInt i = 0; i < job->n; i++) PetscCall(PetscMalloc1(nt * K * per, &gb[i]));
    for (size_t t = 0; t < nt; t++)
      for (PetscInt b = 0; b < K; b++)
        for (PetscInt i = 0; i < job->n; i++) PetscCall(PetscArraycpy(gb[i] + (t * K + b) * per, g[i] ? g[i] + (t * K + b) * per : v[i] + t * per, per));
    QrbmRichardsonCombine(job->n, job->w, nt * K * per, (const double *const *)gb, cg);
    const hsize_t db[4] = {(hsize_t)nt, (hsize_t)K, (hsize_t)dims[1], (hsize_t)dims[2]}, dk = (hsize_t)K;
    PetscCall(Write(job, "/rdm/R1_batches", PETSC_TRUE, 4, db, cg));
    PetscCall(QrbmH5WriteReal(job->out, "/rdm/batch_counts", 1, &dk, counts, H5P_DEFAULT, PETSC_TRUE));
    for (PetscInt i = 0; i < job->n; i++) PetscCall(PetscFree(gb[i]));
  }
  if (job->coupled) {
    for (size_t t = 0; t < dims[0]; t++) GroupStderr(K, counts, len / dims[0], cg + t * K * (len / dims[0]), oute + t * (len / dims[0]));
  } else {
    PetscCall(ReadAll(job, "/rdm/R1_stderr", PETSC_TRUE, PETSC_FALSE, &srank, sd, &slen, se));
    QrbmRichardsonStderrIndependent(job->n, job->w, len, (const double *const *)se, oute);
    PetscCall(FreeAll(job, se));
  }
  PetscCall(Write(job, "/rdm/R1_stderr", PETSC_TRUE, rank, dims, oute));
  PetscCall(PetscFree(cg));
  PetscCall(PetscFree(counts));
  PetscCall(FreeAll(job, g));
  PetscCall(PetscFree2(out, oute));
  PetscCall(FreeAll(job, v));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The Wigner function is linear in R1: combine the inputs' /wigner/W. */
static PetscErrorCode CombineWigner(const Job *job)
{
  double *v[QRBM_RICHARDSON_MAX], *out;
  hsize_t dims[QRBM_H5_MAX_RANK];
  int     rank;
  size_t  len;
  PetscFunctionBeginUser;
  PetscCall(ReadAll(job, "/wigner/W", PETSC_FALSE, PETSC_TRUE, &rank, dims, &len, v));
  PetscCall(PetscMalloc1(len, &out));
  QrbmRichardsonCombine(job->n, job->w, len, (const double *const *)v, out);
  PetscCall(Write(job, "/wigner/W", PETSC_FALSE, rank, dims, out));
  PetscCall(PetscFree(out));
  PetscCall(FreeAll(job, v));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode WriteAll(const Job *job, const char *out)
{
  static const char *groups[] = {"/observables", "/density", "/rdm", "/wigner"};
  hid_t              g;
  PetscFunctionBeginUser;
  for (size_t k = 0; k < sizeof(groups) / sizeof(groups[0]); k++) {
    QrbmCallH5Id(g, H5Gcreate2(job->out, groups[k], H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    QrbmCallH5(H5Gclose(g));
  }
  PetscCall(WriteRoot(job, out));
  for (size_t k = 0; k < sizeof(axes) / sizeof(axes[0]); k++) PetscCall(CopyAxis(job, axes[k]));
  PetscCall(CombineObservables(job));
  PetscCall(CombineRdm(job));
  PetscCall(CombineWigner(job));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Inputs ordered by decreasing rb_dt. */
static void SortInputs(Job *job)
{
  for (PetscInt i = 1; i < job->n; i++)
    for (PetscInt j = i; j > 0 && job->in[j].rb_dt > job->in[j - 1].rb_dt; j--) {
      const Input t = job->in[j];
      job->in[j] = job->in[j - 1];
      job->in[j - 1] = t;
    }
}

static PetscErrorCode Extrapolate(Job *job, char **paths, const char *out)
{
  char           part[PETSC_MAX_PATH_LEN + 8];
  double         dts[QRBM_RICHARDSON_MAX];
  PetscErrorCode ierr;
  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < job->n; i++) PetscCall(InputOpen(paths[i], &job->in[i]));
  SortInputs(job);
  PetscCall(CheckPhysics(job));
  for (PetscInt i = 0; i < job->n; i++) dts[i] = job->in[i].rb_dt;
  PetscCall(QrbmRichardsonWeights(job->n, dts, job->w));
  PetscCall(CheckCoupling(job));
  PetscCall(PetscSNPrintf(part, sizeof(part), "%s.part", out));
  PetscCall(CheckOutputPath(job, out, part));
  job->out = H5Fcreate(part, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  PetscCheck(job->out >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "-output %s: cannot create %s (directory missing or not writable?)", out, part);
  ierr = WriteAll(job, out);
  if (H5Fclose(job->out) < 0 && !ierr) ierr = PETSC_ERR_FILE_WRITE;
  if (!ierr && rename(part, out)) ierr = PETSC_ERR_FILE_WRITE;
  if (ierr) unlink(part);
  PetscCheck(ierr != PETSC_ERR_FILE_WRITE, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "-output %s: could not close %s or rename it to %s", out, part, out);
  PetscCall(ierr);
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "qrbm-extrapolate: %s = ", out));
  for (PetscInt i = 0; i < job->n; i++) PetscCall(PetscPrintf(PETSC_COMM_SELF, "%s%+.6g x %s (Dt = %g)", i ? " " : "", job->w[i], job->in[i].path, job->in[i].rb_dt));
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "; standard errors: %s\n", job->coupled ? "paired (common random numbers)" : "independent, in quadrature"));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode ParseArgs(int argc, char **argv, char *out, size_t nout, PetscInt *n, PetscBool *help_only)
{
  PetscFunctionBeginUser;
  PetscCall(PetscStrncpy(out, "qrbm-richardson.h5", nout));
  PetscOptionsBegin(PETSC_COMM_WORLD, NULL, "qrbm-extrapolate options", NULL);
  PetscCall(PetscOptionsString("-output", "extrapolated run file (HDF5)", "", out, out, nout, NULL));
  PetscOptionsEnd();
  PetscCall(QrbmConfigToolArgs("qrbm-extrapolate", "qrbm-extrapolate A.h5 B.h5 [C.h5] [-output OUT.h5] (2 or 3 run files, first)", argc, argv, 2, 3, n, help_only));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* One line per error, without PETSc's traceback. */
static PetscErrorCode ErrorHandler(MPI_Comm comm, int line, const char *fun, const char *file, PetscErrorCode n, PetscErrorType p, const char *mess, void *ctx)
{
  (void)comm; (void)ctx;
  if (p == PETSC_ERROR_INITIAL) fprintf(stderr, "qrbm-extrapolate: ERROR: %s\n  [%s() at %s:%d, error code %d]\n", mess ? mess : "(no message)", fun, file, line, (int)n);
  return n;
}

int main(int argc, char **argv)
{
  char           out[PETSC_MAX_PATH_LEN];
  PetscBool      help_only = PETSC_FALSE;
  PetscErrorCode ierr;
  Job            job = {0};
  if (PetscInitialize(&argc, &argv, NULL, help)) return 1;
  PetscCall(PetscPushErrorHandler(ErrorHandler, NULL));
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* our messages replace HDF5's stack dumps */
  ierr = ParseArgs(argc, argv, out, sizeof(out), &job.n, &help_only);
  if (!ierr && !help_only) ierr = Extrapolate(&job, argv + 1, out);
  for (PetscInt i = 0; i < job.n; i++)
    if (job.in[i].file > 0) H5Fclose(job.in[i].file);
  PetscCall(PetscFinalize());
  return ierr ? 1 : 0;
}
