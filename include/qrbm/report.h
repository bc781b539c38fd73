/* What a run derives from its ensemble mean at the end: spectra and Wigner functions of R_1, the
   jackknife groups, and with -reference exact the error table of the random batch mean. */
#pragma once
#include <qrbm/observables.h>
#include <hdf5.h>

/* Everything the report reads, as plain data. Jackknife sums are valid on group roots (grid rank
   0) and ignored elsewhere; ref_rows on the one rank with ref_held. */
typedef struct {
  MPI_Comm          world; /* all ranks of the run */
  PetscMPIInt       wrank;
  const QrbmGrid   *grid;  /* this rank's group grid */
  const QrbmConfig *cfg;
  const QrbmRecord *rec;
  PetscInt          ntimes;
  const PetscInt64 *tsteps; /* ntimes output steps */
  PetscInt          nbatch; /* K jackknife groups, 0: none */
  const double     *bcount, *bsum; /* K, K x ntimes x rec->len */
  const double     *ref_rows;      /* -reference exact: its ntimes records */
  PetscBool         ref_held;
  hid_t             file, dxpl;    /* the output file and its collective transfer list */
} QrbmReportInput;

/* Collective over all ranks; mean and stderr (ntimes records) are valid on rank 0. */
PetscErrorCode QrbmReportWrite(const QrbmReportInput *in, double *mean, double *stderr);
