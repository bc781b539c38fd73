/* HDF5 helpers: complex compound type, whole-dataset reads and writes, scalar attributes. */
#define _DEFAULT_SOURCE /* statvfs, dirname */
#include <qrbm/h5io.h>
#include <qrbm/paths.h>
#include <libgen.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>

static char ctx_file[PETSC_MAX_PATH_LEN + 16], ctx_object[256], ctx_op[64] = "HDF5 I/O on";

void QrbmH5Context(const char *file, const char *object, const char *operation)
{
  if (file) snprintf(ctx_file, sizeof(ctx_file), "%s", file);
  if (object) snprintf(ctx_object, sizeof(ctx_object), "%s", object);
  if (operation) snprintf(ctx_op, sizeof(ctx_op), "%s", operation);
}

/* MPI-IO reports a short write without errno: a full file system is the usual cause, so say so
   when the file's file system has (almost) no space left. */
static int LikelyErrno(void)
{
  char           dir[sizeof(ctx_file)];
  struct statvfs st;
  snprintf(dir, sizeof(dir), "%s", ctx_file);
  if (!ctx_file[0] || statvfs(dirname(dir), &st) != 0) return 0;
  const double avail = (double)st.f_bavail * (double)st.f_frsize, total = (double)st.f_blocks * (double)st.f_frsize;
  return avail < 1048576.0 || avail < 0.001 * total ? ENOSPC : 0;
}

static volatile int    watching;   /* a collective call is running */
static volatile double watch_t0;   /* since (CLOCK_MONOTONIC seconds) */
static pthread_t       watch_thread;
static int             watch_started;

static double Now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static void *Watch(void *arg)
{
  const char *env = getenv("QRBM_FAILURE_TIMEOUT");
  const double limit = (env && atof(env) > 0 ? atof(env) : QRBM_FAILURE_TIMEOUT) + 2.0 * (double)(intptr_t)arg; /* other ranks later */
  for (;;) {
    sleep(1);
    if (!watching || Now() - watch_t0 < limit || !LikelyErrno()) continue;
    if (arg) _exit(1); /* rank 0 reports; another rank only ends when rank 0 is not stuck here */
    QrbmPathsAbandon();
    char msg[sizeof(ctx_file) + 512];
    const int n = snprintf(msg, sizeof(msg), "qrbm: ERROR: %s %s%s%s: a collective HDF5 call did not return within %g s and the file system is full: %s (parallel HDF5 leaves the ranks out of step): ending the job\n", ctx_op, ctx_file,
                           ctx_object[0] ? ", object " : "", ctx_object, limit, strerror(ENOSPC));
    if (write(2, msg, (size_t)PetscMin(n, (int)sizeof(msg) - 1)) < 0) _exit(1);
    _exit(1);
  }
  return NULL;
}

void QrbmH5WatchBegin(void)
{
  if (!watch_started) {
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    watch_started = pthread_create(&watch_thread, NULL, Watch, (void *)(intptr_t)rank) == 0 ? 1 : -1;
  }
  watch_t0 = Now();
  watching = 1;
}

PetscErrorCode QrbmH5Guarded(herr_t status, const char *call)
{
  const int err = errno; /* of the call just made */
  watching = 0;
  return status < 0 ? QrbmH5Fail(call, err) : PETSC_SUCCESS;
}

/* The innermost entries of HDF5's error stack: they say what went wrong (the outer ones only
   repeat which API call failed). */
typedef struct {
  char text[3][256];
  int  n;
} Causes;

static herr_t CollectCause(unsigned n, const H5E_error2_t *e, void *data)
{
  Causes *c = (Causes *)data;
  (void)n;
  if (!e->desc || !e->desc[0]) return 0;
  snprintf(c->text[c->n % 3], sizeof(c->text[0]), "%s", e->desc);
  c->n++;
  return 0;
}

const char *QrbmH5Describe(const char *call, int err)
{
  static char buf[8192];
  Causes      c = {.n = 0};
  char        causes[800] = "";
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, CollectCause, &c);
  for (int k = PetscMax(0, c.n - 2); k < c.n; k++) { /* the two innermost, outer first */
    if (causes[0]) strncat(causes, "; ", sizeof(causes) - strlen(causes) - 1);
    strncat(causes, c.text[k % 3], sizeof(causes) - strlen(causes) - 1);
  }
  if (LikelyErrno()) err = ENOSPC; /* errno may be left from an unrelated call inside HDF5 */
  snprintf(buf, sizeof(buf), "%s %s%s%s: HDF5 call %s failed%s%s%s%s", ctx_op, ctx_file[0] ? ctx_file : "(no file)", ctx_object[0] ? ", object " : "", ctx_object, call, causes[0] ? ": " : "", causes,
           err ? ": " : "", err ? strerror(err) : "");
  return buf;
}

PetscErrorCode QrbmH5ComplexType(hid_t *type)
{
  PetscFunctionBeginUser;
  QrbmCallH5Id(*type, H5Tcreate(H5T_COMPOUND, sizeof(qcomplex)));
  QrbmCallH5(H5Tinsert(*type, "r", 0, H5T_NATIVE_DOUBLE));
  QrbmCallH5(H5Tinsert(*type, "i", sizeof(double), H5T_NATIVE_DOUBLE));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmH5Fail(const char *call, int err)
{
  SETERRQ(PETSC_COMM_SELF, PETSC_ERR_LIB, "%s", QrbmH5Describe(call, err));
}

/* H5Lexists fails on a path whose parent group is missing, so walk the prefixes. */
PetscErrorCode QrbmH5Exists(hid_t loc, const char *path, PetscBool *exists)
{
  char buf[PETSC_MAX_PATH_LEN];
  PetscFunctionBeginUser;
  PetscCall(PetscStrncpy(buf, path, sizeof(buf)));
  *exists = PETSC_FALSE;
  for (size_t i = 1; i <= strlen(path); i++) {
    if (buf[i] != '/' && buf[i] != '\0') continue;
    const char c = buf[i];
    buf[i]       = '\0';
    const htri_t e = H5Lexists(loc, buf, H5P_DEFAULT);
    buf[i]         = c;
    if (e <= 0) PetscFunctionReturn(PETSC_SUCCESS);
  }
  *exists = PETSC_TRUE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmH5OpenDataset(MPI_Comm comm, hid_t loc, const char *file, const char *path, const char *hint, hid_t *d, int *rank, hsize_t *dims)
{
  PetscBool exists;
  hid_t     s;
  PetscFunctionBeginUser;
  PetscCall(QrbmH5Exists(loc, path, &exists));
  PetscCheck(exists, comm, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s is missing%s%s", file, path, hint ? ": " : "", hint ? hint : "");
  QrbmH5Context(file, path, "opening");
  QrbmCallH5Id(*d, H5Dopen2(loc, path, H5P_DEFAULT));
  QrbmCallH5Id(s, H5Dget_space(*d));
  QrbmCallH5Id(*rank, H5Sget_simple_extent_ndims(s));
  PetscCheck(*rank <= QRBM_H5_MAX_RANK, comm, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s has %d dimensions, at most %d expected%s%s", file, path, *rank, QRBM_H5_MAX_RANK, hint ? ": " : "", hint ? hint : "");
  QrbmCallH5(H5Sget_simple_extent_dims(s, dims, NULL));
  QrbmCallH5(H5Sclose(s));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Serial whole-dataset reads: the shape and the element count. */
static PetscErrorCode OpenWhole(hid_t loc, const char *file, const char *path, hid_t *d, int *rank, hsize_t *dims, size_t *count)
{
  PetscFunctionBeginUser;
  PetscCall(QrbmH5OpenDataset(PETSC_COMM_SELF, loc, file, path, NULL, d, rank, dims));
  *count = 1;
  for (int r = 0; r < *rank; r++) *count *= dims[r];
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Whether the file type of dataset d is a number (real) or an {r, i} compound (complex). */
static PetscErrorCode DatasetIsComplex(hid_t d, PetscBool *cplx, PetscBool *real)
{
  hid_t       t;
  H5T_class_t cls;
  PetscFunctionBeginUser;
  QrbmCallH5Id(t, H5Dget_type(d));
  cls   = H5Tget_class(t);
  *real = cls == H5T_FLOAT || cls == H5T_INTEGER ? PETSC_TRUE : PETSC_FALSE;
  *cplx = cls == H5T_COMPOUND && H5Tget_nmembers(t) == 2 && H5Tget_member_index(t, "r") >= 0 && H5Tget_member_index(t, "i") >= 0 ? PETSC_TRUE : PETSC_FALSE;
  QrbmCallH5(H5Tclose(t));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmH5ReadReal(hid_t loc, const char *file, const char *path, int *rank, hsize_t *dims, double **v)
{
  hid_t     d;
  size_t    count = 0;
  PetscBool cplx, real;
  PetscFunctionBeginUser;
  PetscCall(OpenWhole(loc, file, path, &d, rank, dims, &count));
  PetscCall(DatasetIsComplex(d, &cplx, &real));
  PetscCheck(real, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s is not real-valued", file, path);
  PetscCall(PetscMalloc1(PetscMax(count, 1), v));
  QrbmCallH5(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, *v));
  QrbmCallH5(H5Dclose(d));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmH5ReadComplex(hid_t loc, const char *file, const char *path, int *rank, hsize_t *dims, qcomplex **v)
{
  hid_t     d, t;
  size_t    count = 0;
  PetscBool cplx, real;
  PetscFunctionBeginUser;
  PetscCall(OpenWhole(loc, file, path, &d, rank, dims, &count));
  PetscCall(DatasetIsComplex(d, &cplx, &real));
  PetscCheck(cplx, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s is not complex (compound {r, i} of doubles)", file, path);
  PetscCall(PetscMalloc1(PetscMax(count, 1), v));
  PetscCall(QrbmH5ComplexType(&t));
  QrbmCallH5(H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, *v));
  QrbmCallH5(H5Tclose(t));
  QrbmCallH5(H5Dclose(d));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Write(hid_t loc, const char *name, hid_t type, int rank, const hsize_t *dims, const void *v, hid_t dxpl, PetscBool holder)
{
  hid_t s, d;
  PetscFunctionBeginUser;
  QrbmCallH5Id(s, H5Screate_simple(rank, dims, NULL));
  QrbmCallH5Id(d, H5Dcreate2(loc, name, type, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  if (!holder) QrbmCallH5(H5Sselect_none(s));
  QrbmH5Context(NULL, name, "writing");
  if (dxpl != H5P_DEFAULT) QrbmCallH5Collective("writing a dataset", H5Dwrite(d, type, s, s, dxpl, v)); /* every rank takes part */
  else QrbmCallH5(H5Dwrite(d, type, s, s, dxpl, v));
  QrbmCallH5(H5Dclose(d));
  QrbmCallH5(H5Sclose(s));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmH5WriteReal(hid_t loc, const char *name, int rank, const hsize_t *dims, const double *v, hid_t dxpl, PetscBool holder)
{
  PetscFunctionBeginUser;
  PetscCall(Write(loc, name, H5T_NATIVE_DOUBLE, rank, dims, v, dxpl, holder));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmH5WriteComplex(hid_t loc, const char *name, int rank, const hsize_t *dims, const qcomplex *v, hid_t dxpl, PetscBool holder)
{
  hid_t t;
  PetscFunctionBeginUser;
  PetscCall(QrbmH5ComplexType(&t));
  PetscCall(Write(loc, name, t, rank, dims, v, dxpl, holder));
  QrbmCallH5(H5Tclose(t));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode OpenAttr(hid_t loc, const char *file, const char *name, hid_t *a)
{
  htri_t e;
  PetscFunctionBeginUser;
  QrbmCallH5Id(e, H5Aexists(loc, name));
  PetscCheck(e > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute '%s' is missing", file, name);
  QrbmCallH5Id(*a, H5Aopen(loc, name, H5P_DEFAULT));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmH5ReadAttrReal(hid_t loc, const char *file, const char *name, double *v)
{
  hid_t       a, s, t;
  hssize_t    n;
  H5T_class_t cls;
  PetscFunctionBeginUser;
  PetscCall(OpenAttr(loc, file, name, &a));
  QrbmCallH5Id(s, H5Aget_space(a));
  QrbmCallH5Id(n, H5Sget_simple_extent_npoints(s));
  QrbmCallH5Id(t, H5Aget_type(a));
  cls = H5Tget_class(t);
  PetscCheck(n == 1 && (cls == H5T_FLOAT || cls == H5T_INTEGER), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute '%s' is not a single number", file, name);
  QrbmCallH5(H5Aread(a, H5T_NATIVE_DOUBLE, v));
  QrbmCallH5(H5Tclose(t));
  QrbmCallH5(H5Sclose(s));
  QrbmCallH5(H5Aclose(a));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmH5ReadAttrString(hid_t loc, const char *file, const char *name, char *buf, size_t len)
{
  hid_t a, t, mt;
  PetscFunctionBeginUser;
  PetscCall(OpenAttr(loc, file, name, &a));
  QrbmCallH5Id(t, H5Aget_type(a));
  PetscCheck(H5Tget_class(t) == H5T_STRING, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute '%s' is not a string", file, name);
  QrbmCallH5Id(mt, H5Tcopy(H5T_C_S1));
  QrbmCallH5(H5Tset_cset(mt, H5Tget_cset(t))); /* HDF5 does not convert between character sets */
  if (H5Tis_variable_str(t) > 0) {
    char *s = NULL;
    QrbmCallH5(H5Tset_size(mt, H5T_VARIABLE));
    QrbmCallH5(H5Aread(a, mt, &s));
    PetscCall(PetscStrncpy(buf, s ? s : "", len));
    H5free_memory(s);
  } else {
    const size_t size = H5Tget_size(t);
    char        *s;
    PetscCall(PetscCalloc1(size + 1, &s));
    QrbmCallH5(H5Tset_size(mt, size + 1)); /* room for the terminator of space-padded strings */
    QrbmCallH5(H5Aread(a, mt, s));
    PetscCall(PetscStrncpy(buf, s, len));
    PetscCall(PetscFree(s));
  }
  QrbmCallH5(H5Tclose(mt));
  QrbmCallH5(H5Tclose(t));
  QrbmCallH5(H5Aclose(a));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmH5WriteAttrReal(hid_t loc, const char *name, double v)
{
  hid_t s, a;
  PetscFunctionBeginUser;
  QrbmCallH5Id(s, H5Screate(H5S_SCALAR));
  QrbmCallH5Id(a, H5Acreate2(loc, name, H5T_NATIVE_DOUBLE, s, H5P_DEFAULT, H5P_DEFAULT));
  QrbmCallH5(H5Awrite(a, H5T_NATIVE_DOUBLE, &v));
  QrbmCallH5(H5Aclose(a));
  QrbmCallH5(H5Sclose(s));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmH5WriteAttrString(hid_t loc, const char *name, const char *v)
{
  hid_t t, s, a;
  PetscFunctionBeginUser;
  QrbmCallH5Id(t, H5Tcopy(H5T_C_S1));
  QrbmCallH5(H5Tset_size(t, strlen(v) + 1));
  QrbmCallH5Id(s, H5Screate(H5S_SCALAR));
  QrbmCallH5Id(a, H5Acreate2(loc, name, t, s, H5P_DEFAULT, H5P_DEFAULT));
  QrbmCallH5(H5Awrite(a, t, v));
  QrbmCallH5(H5Aclose(a));
  QrbmCallH5(H5Sclose(s));
  QrbmCallH5(H5Tclose(t));
  PetscFunctionReturn(PETSC_SUCCESS);
}
