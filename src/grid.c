/* Grid geometry and the FFTW-MPI slab decomposition. */
#include <qrbm/grid.h>
#include <fftw3-mpi.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static void SetLayout(QrbmLayout *lay, int naxes, const ptrdiff_t *nglob, ptrdiff_t nlocal, ptrdiff_t start, PetscBool transposed)
{
  lay->naxes = naxes;
  lay->start = start;
  lay->count = 1;
  for (int s = 0; s < naxes; s++) {
    lay->perm[s] = s;
    if (transposed && s < 2) lay->perm[s] = 1 - s;
    lay->n[s] = s == 0 ? nlocal : nglob[lay->perm[s]];
    lay->count *= lay->n[s];
  }
}

ptrdiff_t QrbmGridTrailingPoints(const QrbmGrid *g)
{
  ptrdiff_t T = 1;
  for (int a = 2; a < g->nfft; a++) T *= g->nglob[a];
  return T;
}

void QrbmLayoutIndex(const QrbmLayout *lay, ptrdiff_t flat, ptrdiff_t *idx)
{
  for (int s = lay->naxes - 1; s >= 0; s--) {
    idx[lay->perm[s]] = flat % lay->n[s] + (s == 0 ? lay->start : 0);
    flat /= lay->n[s];
  }
}

PetscErrorCode QrbmGridCreate(MPI_Comm comm, const QrbmConfig *cfg, QrbmGrid *g)
{
  ptrdiff_t n0, s0, n1, s1;
  PetscFunctionBeginUser;
  g->comm = comm;
  PetscCallMPI(MPI_Comm_rank(comm, &g->rank));
  PetscCallMPI(MPI_Comm_size(comm, &g->size));
  g->N = cfg->particles; g->d = cfg->dim; g->M = cfg->grid; g->D = g->N * g->d;
  g->L = cfg->box; g->h = cfg->box / cfg->grid;
  PetscCheck(g->size <= g->M, comm, PETSC_ERR_ARG_OUTOFRANGE,
             "%d MPI ranks but -grid %" PetscInt_FMT ": the slab decomposition uses at most M ranks per grid; run with <= %" PetscInt_FMT " ranks and use -threads for more cores",
             g->size, g->M, g->M);
  /* FFTW-MPI's plans for the padded M x 1 shape are unreliable on uneven slabs: one particle in 1-D
     (at most 65536 points) runs on one rank per grid */
  PetscCheck(g->D > 1 || g->size == 1, comm, PETSC_ERR_ARG_OUTOFRANGE,
             "one particle in 1-D (-particles 1 -dim 1) runs on 1 rank per grid, not %d: use -threads, or more ranks with -method rbm ensembles", g->size);
  g->Md = 1;
  for (PetscInt c = 0; c < g->d; c++) g->Md *= g->M;
  g->total = pow((double)g->M, (double)g->D);
  PetscCheck(g->total < 0x1p62, comm, PETSC_ERR_ARG_OUTOFRANGE, "grid of M^(N d) = %g points does not fit in 64-bit indices: reduce -grid or -particles", g->total);
  g->nfft = g->D < 2 ? 2 : (int)g->D;
  for (int a = 0; a < g->nfft; a++) g->nglob[a] = a < g->D ? g->M : 1;
  PetscCall(PetscMalloc2(g->M, &g->x, g->M, &g->k));
  for (PetscInt j = 0; j < g->M; j++) {
    g->x[j] = -0.5 * g->L + j * g->h;
    g->k[j] = 2 * PETSC_PI / g->L * (double)(j <= (g->M - 1) / 2 ? j : j - g->M); /* fftfreq order */
  }
  g->alloc_local = 0;
  if (QrbmGridBytesPerRank(g, 0) > 0x1p62) PetscFunctionReturn(PETSC_SUCCESS); /* refused by QrbmGridCheckMemory */
  /* the distribution of the kinetic module's plans: 2-D over the leading axes, the trailing ones
     as howmany (the same slabs as a D-dimensional plan) */
  g->alloc_local = fftw_mpi_local_size_many_transposed(2, g->nglob, QrbmGridTrailingPoints(g), FFTW_MPI_DEFAULT_BLOCK, FFTW_MPI_DEFAULT_BLOCK, comm, &n0, &s0, &n1, &s1);
  SetLayout(&g->xlay, g->nfft, g->nglob, n0, s0, PETSC_FALSE);
  /* FFTW-MPI has no transposed plans for the padded M x 1 shape of N d = 1: there momentum space
     keeps the position layout */
  if (g->D >= 2) SetLayout(&g->klay, g->nfft, g->nglob, n1, s1, PETSC_TRUE);
  else g->klay = g->xlay;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmGridDestroy(QrbmGrid *g)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree2(g->x, g->k));
  PetscFunctionReturn(PETSC_SUCCESS);
}

double QrbmGridBytesPerRank(const QrbmGrid *g, PetscInt extra_states)
{
  /* the slab: ceil(M/size) rows of M^(D-1) complex numbers; FFTW-MPI transposes may need a
     scratch buffer of the same size */
  const double rows = ceil((double)g->M / g->size);
  return (2.0 + extra_states) * 16.0 * rows * g->total / g->M + 64.0 * g->Md * (g->N + 4) * g->N;
}

static double NodeAvailableBytes(void)
{
  FILE  *f = fopen("/proc/meminfo", "r");
  char   key[64];
  double kb = 0, v;
  if (!f) return 0;
  while (fscanf(f, "%63s %lf kB\n", key, &v) == 2)
    if (!strcmp(key, "MemAvailable:")) kb = v;
  fclose(f);
  return kb * 1024.0;
}

PetscErrorCode QrbmGridAvailableBytes(const QrbmGrid *g, const QrbmConfig *cfg, double *avail)
{
  MPI_Comm    node;
  PetscMPIInt on_node;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_split_type(g->comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node));
  PetscCallMPI(MPI_Comm_size(node, &on_node));
  PetscCallMPI(MPI_Comm_free(&node));
  *avail = cfg->memory_limit_mb > 0 ? cfg->memory_limit_mb * 1048576.0 : NodeAvailableBytes() / on_node;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, avail, 1, MPI_DOUBLE, MPI_MIN, g->comm)); /* one decision per group */
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmGridCheckMemory(const QrbmGrid *g, const QrbmConfig *cfg, PetscInt extra_states, double extra_bytes)
{
  double need = QrbmGridBytesPerRank(g, extra_states) + extra_bytes, avail;
  PetscFunctionBeginUser;
  PetscCall(QrbmGridAvailableBytes(g, cfg, &avail));
  if (!cfg->quiet) PetscCall(PetscPrintf(PETSC_COMM_WORLD, "memory: %.1f MiB per rank needed (state of %g points over %d ranks, %" PetscInt_FMT " saved copies), %.1f MiB available per rank\n", need / 1048576.0, g->total, g->size, extra_states, avail / 1048576.0));
  PetscCheck(avail <= 0 || need <= avail, g->comm, PETSC_ERR_MEM,
             "the run needs %.1f MiB per rank but only %.1f MiB are available (-memory_limit_mb or MemAvailable / ranks per node): reduce -grid or -particles, or use more ranks",
             need / 1048576.0, avail / 1048576.0);
  PetscFunctionReturn(PETSC_SUCCESS);
}
