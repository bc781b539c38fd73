/* The HDF5 output file (schema in docs/output.md): collective parallel I/O, written to
   OUTPUT.part and renamed to OUTPUT only when the run completes. */
#pragma once
#include <qrbm/observables.h>
#include <hdf5.h>

typedef struct {
  MPI_Comm comm;
  int      rank;
  hid_t    file, dxpl;
  hsize_t  ntimes; /* rows written so far */
  char     path[PETSC_MAX_PATH_LEN], part[PETSC_MAX_PATH_LEN + 8];
  PetscInt d, Md;
} QrbmOutput;

PetscErrorCode QrbmOutputCreate(const QrbmGrid *g, const QrbmConfig *cfg, const QrbmObservables *obs, QrbmOutput *out);
PetscErrorCode QrbmOutputAppend(QrbmOutput *out, const QrbmObservables *obs);
/* Closes the file; renames OUTPUT.part to OUTPUT when success, removes it otherwise. */
PetscErrorCode QrbmOutputClose(QrbmOutput *out, PetscBool success);
