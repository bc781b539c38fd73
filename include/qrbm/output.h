/* The HDF5 output file (schema in docs/output.md): collective parallel I/O, written to
   OUTPUT.part and renamed to OUTPUT only when the run completes. */
#pragma once
#include <qrbm/observables.h>
#include <hdf5.h>
#include <stdint.h>

typedef struct {
  MPI_Comm          comm; /* all ranks of the run */
  PetscMPIInt       rank;
  hid_t             file, dxpl;
  const QrbmRecord *rec;
  hsize_t           ntimes;     /* rows written so far */
  hsize_t           nrdm;       /* rows of the RDM series written so far */
  hsize_t           ntotal;     /* output times of the whole run */
  hsize_t           nintervals; /* reshuffle intervals of the whole run */
  hid_t             real[QRBM_MAX_FIELDS]; /* /realizations datasets, -1 when not saved */
  hid_t            *pairings;   /* /pairings/<r> datasets */
  PetscInt          npairings;
  uint64_t          sum; /* this rank's part of the checksum of what a restart keeps (SumKept) */
  PetscBool         created;      /* this process created FILE.part (fresh run) */
  PetscBool         checkpointed; /* a checkpoint of this run exists: keep FILE.part on failure */
  char              path[PETSC_MAX_PATH_LEN], part[PETSC_MAX_PATH_LEN + 8];
} QrbmOutput;

PetscErrorCode QrbmOutputCreate(MPI_Comm comm, const QrbmGrid *g, const QrbmConfig *cfg, const QrbmRecord *rec, const double *pgrid, hsize_t ntotal, hsize_t nintervals, QrbmOutput *out);
/* Appends nrows output times (records of rec->len values): means and standard errors. Collective. */
PetscErrorCode QrbmOutputAppend(QrbmOutput *out, PetscInt nrows, const double *mean, const double *stderr);
/* Per-realisation series (all output times) and pairing permutations (intervals x N) of
   realisation r; called by the one rank that holds them (independent I/O). */
PetscErrorCode QrbmOutputWriteRealization(QrbmOutput *out, PetscInt r, const double *rows);
PetscErrorCode QrbmOutputWritePairings(QrbmOutput *out, PetscInt r, const int *perms);
/* A checkpoint of the run now exists: from here on a failure keeps OUTPUT.part. */
void QrbmOutputSetCheckpointed(QrbmOutput *out);
typedef enum { QRBM_OUTPUT_FAILED, QRBM_OUTPUT_CHECKPOINTED, QRBM_OUTPUT_COMPLETE } QrbmOutputStatus;
/* Reopens the output of a checkpointed run (OUTPUT.part, or OUTPUT renamed back to it) and cuts
   every time series to the `keep` rows that the checkpoint accounts for. First, read-only: the
   run id, the physics, the shapes, and `sum`, the checkpoint's record of out->sum (the first
   `keep` rows of every series and the /realizations rows and /pairings of the realisations with
   done[r]). Collective. */
PetscErrorCode QrbmOutputOpen(MPI_Comm comm, const QrbmGrid *g, const QrbmConfig *cfg, const QrbmRecord *rec, hsize_t ntotal, hsize_t nintervals, hsize_t keep, const char *done, uint64_t sum, QrbmOutput *out);
/* Closes the file. COMPLETE and CHECKPOINTED rename OUTPUT.part to OUTPUT and record the status in
   the root attribute "status". FAILED removes OUTPUT.part only when this process created it and
   no checkpoint of the run exists; otherwise it stays, with status "checkpointed" when a
   checkpoint exists (a restart continues from it). Collective. */
PetscErrorCode QrbmOutputClose(QrbmOutput *out, QrbmOutputStatus status);
/* Root attributes: every option, code version, rank count (also used by checkpoints). */
PetscErrorCode QrbmOutputWriteOptions(hid_t loc, const QrbmGrid *g, const QrbmConfig *cfg);
