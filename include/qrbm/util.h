/* Error wrappers for non-PETSc libraries and exact-enough global sums. */
#pragma once
#include <qrbm/config.h>
#include <complex.h>

/* HDF5 returns negative ids/status on failure: turn that into a PETSc error naming the call. */
#define QrbmCallH5(call) \
  do { \
    if ((call) < 0) SETERRQ(PETSC_COMM_SELF, PETSC_ERR_LIB, "HDF5 call failed: %s", #call); \
  } while (0)
/* Same for HDF5 calls that return an id we keep. */
#define QrbmCallH5Id(id, call) \
  do { \
    (id) = (call); \
    if ((id) < 0) SETERRQ(PETSC_COMM_SELF, PETSC_ERR_LIB, "HDF5 call failed: %s", #call); \
  } while (0)
/* FFTW returns NULL plans on failure. */
#define QrbmCallFFTW(plan, call) \
  do { \
    (plan) = (call); \
    PetscCheck((plan), PETSC_COMM_SELF, PETSC_ERR_LIB, "FFTW planning failed: %s", #call); \
  } while (0)

typedef double _Complex qcomplex;

/* Sum n long doubles over comm; each rank accumulates locally in long double first. */
PetscErrorCode QrbmSumLongDouble(MPI_Comm comm, PetscInt n, const long double *local, double *global);
