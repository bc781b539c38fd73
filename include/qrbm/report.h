/* What a run derives from its ensemble mean at the end: spectra and Wigner functions of R_1, the
   jackknife groups, and with -reference exact the error table of the random batch mean. */
#pragma once
#include <qrbm/ensemble.h>

/* Collective over all ranks; mean and stderr (ntimes records) are valid on rank 0. */
PetscErrorCode QrbmReportWrite(QrbmRun *r, double *mean, double *stderr);
