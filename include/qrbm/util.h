/* Error wrappers for non-PETSc libraries and exact-enough global sums. */
#pragma once
#include <qrbm/config.h>
#include <complex.h>
#include <errno.h>

/* HDF5 returns negative ids/status on failure: turn that into a PETSc error that names the file
   and object of the current context (QrbmH5Context), the call and the cause (HDF5's innermost
   messages and strerror of errno). */
#define QrbmCallH5(call) \
  do { \
    errno = 0; \
    if ((call) < 0) SETERRQ(PETSC_COMM_SELF, PETSC_ERR_LIB, "%s", QrbmH5Describe(#call, errno)); \
  } while (0)
/* Same for HDF5 calls that return an id we keep. */
#define QrbmCallH5Id(id, call) \
  do { \
    errno = 0; \
    (id)  = (call); \
    if ((id) < 0) SETERRQ(PETSC_COMM_SELF, PETSC_ERR_LIB, "%s", QrbmH5Describe(#call, errno)); \
  } while (0)
/* The file and object (dataset, group, attribute) that the following HDF5 calls work on, and the
   operation, for error messages; NULL keeps the previous value. */
void QrbmH5Context(const char *file, const char *object, const char *operation);
/* "OPERATION FILE, object OBJECT: HDF5 call CALL failed: <HDF5 messages>: <strerror(err)>" */
const char *QrbmH5Describe(const char *call, int err);
/* FFTW returns NULL plans on failure. */
#define QrbmCallFFTW(plan, call) \
  do { \
    (plan) = (call); \
    PetscCheck((plan), PETSC_COMM_SELF, PETSC_ERR_LIB, "FFTW planning failed: %s", #call); \
  } while (0)

typedef double _Complex qcomplex;

/* Sum n long doubles over comm; each rank accumulates locally in long double first. */
PetscErrorCode QrbmSumLongDouble(MPI_Comm comm, PetscInt n, const long double *local, double *global);
