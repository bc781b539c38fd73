/* Small HDF5 helpers shared by the run output and qrbm-compare: the compound {r, i} complex type
   (what h5py reads as complex128), whole-dataset reads and writes, scalar attributes.
   `file` arguments only name the file in error messages. */
#pragma once
#include <qrbm/agree.h>
#include <qrbm/util.h>
#include <hdf5.h>

#define QRBM_H5_MAX_RANK 8

/* A collective HDF5 call (a data transfer, a flush, a close) after which every rank agrees on its
   success (agree.h), so that a failure on one rank (a full disk) cannot leave the others waiting. */
#define QrbmCallH5Collective(what, call) QrbmCollective(what, QrbmH5Guarded((QrbmH5WatchBegin(), errno = 0, (call)), #call))
/* A full file system can leave parallel HDF5's ranks waiting for each other inside one call (its
   metadata flush fails on one rank only). While a collective call runs, a watchdog thread checks
   the file system of the current file every second: when the call has not returned within the
   failure timeout and that file system is full, it prints the cause and ends the job (exit 1). */
void           QrbmH5WatchBegin(void);
PetscErrorCode QrbmH5Guarded(herr_t status, const char *call);
/* The PETSc error of a failed HDF5 call, described by QrbmH5Describe. */
PetscErrorCode QrbmH5Fail(const char *call, int err);

/* Compound {double r; double i;} matching qcomplex in memory; close with H5Tclose. */
PetscErrorCode QrbmH5ComplexType(hid_t *type);
/* Whether every link of the absolute or relative path exists. */
PetscErrorCode QrbmH5Exists(hid_t loc, const char *path, PetscBool *exists);
/* Opens dataset `path` (close with H5Dclose); rank and dims[QRBM_H5_MAX_RANK] get its shape.
   Every failure names the file (`file`, e.g. "-restart ck.h5"), the dataset and the cause: a
   missing dataset or too many dimensions (followed by `hint`, what that means, unless NULL) are
   raised on comm (the ranks that open it together, so it is reported once), HDF5 failures by
   QrbmCallH5 with the file and dataset as context. */
PetscErrorCode QrbmH5OpenDataset(MPI_Comm comm, hid_t loc, const char *file, const char *path, const char *hint, hid_t *d, int *rank, hsize_t *dims);
/* Whole dataset into a new array (PetscFree it); *rank and dims[QRBM_H5_MAX_RANK] get its shape.
   A missing dataset or a wrong type is an error naming the file and the path. */
PetscErrorCode QrbmH5ReadReal(hid_t loc, const char *file, const char *path, int *rank, hsize_t *dims, double **v);
PetscErrorCode QrbmH5ReadComplex(hid_t loc, const char *file, const char *path, int *rank, hsize_t *dims, qcomplex **v);
/* Creates dataset `name` and writes v. Collective in a parallel file: every rank calls with the
   same shape, dxpl is the transfer property list (H5P_DEFAULT for serial files), and only ranks
   with holder = PETSC_TRUE contribute data (they must hold identical data). */
PetscErrorCode QrbmH5WriteReal(hid_t loc, const char *name, int rank, const hsize_t *dims, const double *v, hid_t dxpl, PetscBool holder);
PetscErrorCode QrbmH5WriteComplex(hid_t loc, const char *name, int rank, const hsize_t *dims, const qcomplex *v, hid_t dxpl, PetscBool holder);
/* Scalar attributes (numbers of any numeric type are converted to double; strings may be fixed or
   variable length). Missing attributes are errors naming the file and the attribute. */
PetscErrorCode QrbmH5ReadAttrReal(hid_t loc, const char *file, const char *name, double *v);
PetscErrorCode QrbmH5ReadAttrString(hid_t loc, const char *file, const char *name, char *buf, size_t len);
PetscErrorCode QrbmH5WriteAttrReal(hid_t loc, const char *name, double v);
PetscErrorCode QrbmH5WriteAttrString(hid_t loc, const char *name, const char *v);
