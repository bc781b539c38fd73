/* Global shape of the N*d-dimensional grid and this rank's FFTW-MPI slab. */
#pragma once
#include <qrbm/config.h>
#include <stddef.h>

#define QRBM_MAX_AXES (QRBM_MAX_PARTICLES * QRBM_MAX_DIM)

/* A local block of the global array: row-major over `naxes` storage axes, storage axis 0 holds
   global indices [start, start + n[0]) and storage axis s is original axis perm[s]. */
typedef struct {
  int       naxes;
  ptrdiff_t n[QRBM_MAX_AXES], start;
  int       perm[QRBM_MAX_AXES];
  ptrdiff_t count; /* product of n[] */
} QrbmLayout;

typedef struct {
  MPI_Comm   comm;
  PetscMPIInt rank, size;
  PetscInt   N, d, M, D; /* particles, dimension, points per axis, N*d */
  ptrdiff_t  Md;         /* M^d: points of one particle's grid */
  double     total;      /* M^D as a double (for memory estimates) */
  double     L, h;
  int        nfft;                 /* FFT rank: max(D, 2); a trailing axis of size 1 pads D = 1 */
  ptrdiff_t  nglob[QRBM_MAX_AXES]; /* global FFT shape */
  ptrdiff_t  alloc_local;          /* complex elements to allocate (FFTW-MPI) */
  QrbmLayout xlay, klay;           /* position layout, transposed momentum layout */
  double    *x, *k;                /* coordinates x_j = -L/2 + j h and wave numbers, M each */
} QrbmGrid;

PetscErrorCode QrbmGridCreate(MPI_Comm comm, const QrbmConfig *cfg, QrbmGrid *g);
PetscErrorCode QrbmGridDestroy(QrbmGrid *g);
/* Per-rank bytes the run will allocate (state, FFTW transpose scratch, saved state copies, tables). */
double QrbmGridBytesPerRank(const QrbmGrid *g, PetscInt extra_states);
/* Memory per rank the run may use (-memory_limit_mb or MemAvailable / ranks on the node; the
   group's minimum). */
PetscErrorCode QrbmGridAvailableBytes(const QrbmGrid *g, const QrbmConfig *cfg, double *avail);
/* Prints the estimate and refuses the run when it exceeds the memory available per rank;
   extra_bytes: what other modules allocate besides the grid's states. */
PetscErrorCode QrbmGridCheckMemory(const QrbmGrid *g, const QrbmConfig *cfg, PetscInt extra_states, double extra_bytes);
/* Points of the trailing FFT axes 2.. (1 for D <= 2): the howmany of the distributed 2-D plans. */
ptrdiff_t QrbmGridTrailingPoints(const QrbmGrid *g);
/* Decompose a row-major flat index of `lay` into original-axis global indices. */
void QrbmLayoutIndex(const QrbmLayout *lay, ptrdiff_t flat, ptrdiff_t *idx);
