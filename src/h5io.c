/* HDF5 helpers: complex compound type, whole-dataset reads and writes, scalar attributes. */
#include <qrbm/h5io.h>
#include <string.h>

PetscErrorCode QrbmH5ComplexType(hid_t *type)
{
  PetscFunctionBeginUser;
  QrbmCallH5Id(*type, H5Tcreate(H5T_COMPOUND, sizeof(qcomplex)));
  QrbmCallH5(H5Tinsert(*type, "r", 0, H5T_NATIVE_DOUBLE));
  QrbmCallH5(H5Tinsert(*type, "i", sizeof(double), H5T_NATIVE_DOUBLE));
  PetscFunctionReturn(PETSC_SUCCESS);
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

/* Opens dataset `path`; its shape goes to rank/dims, its element count to *count. */
static PetscErrorCode OpenDataset(hid_t loc, const char *file, const char *path, hid_t *d, int *rank, hsize_t *dims, size_t *count)
{
  PetscBool exists;
  hid_t     s;
  PetscFunctionBeginUser;
  PetscCall(QrbmH5Exists(loc, path, &exists));
  PetscCheck(exists, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s is missing", file, path);
  QrbmCallH5Id(*d, H5Dopen2(loc, path, H5P_DEFAULT));
  QrbmCallH5Id(s, H5Dget_space(*d));
  QrbmCallH5Id(*rank, H5Sget_simple_extent_ndims(s));
  PetscCheck(*rank <= QRBM_H5_MAX_RANK, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s has %d dimensions, at most %d expected", file, path, *rank, QRBM_H5_MAX_RANK);
  QrbmCallH5(H5Sget_simple_extent_dims(s, dims, NULL));
  QrbmCallH5(H5Sclose(s));
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
  size_t    count;
  PetscBool cplx, real;
  PetscFunctionBeginUser;
  PetscCall(OpenDataset(loc, file, path, &d, rank, dims, &count));
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
  size_t    count;
  PetscBool cplx, real;
  PetscFunctionBeginUser;
  PetscCall(OpenDataset(loc, file, path, &d, rank, dims, &count));
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
  QrbmCallH5(H5Dwrite(d, type, s, s, dxpl, v));
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
