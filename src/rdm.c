/* Reduced density matrices by BLAS Gram products on the local slab.

   For label j, psi is row-major (pre, a, post): `pre` runs over the particles before j, a over
   particle j's Md points, `post` over the later axes. The column-major view of one pre block is
   Y = X^T (post x Md), and R[a][b] = sum_k X[a][k] conj(X[b][k]) is (Y^H Y)(b, a): gemm('C', 'N')
   on the column-major views writes R in row-major order directly.

   Label 0's rows are the distributed axis, so a rank only holds a row block X_p. Block (p, q) of R
   is X_p X_q^H: the slabs travel around a ring of ranks (size - 1 shifts), each rank
   fills its row block, and the sum over ranks assembles R. */
#define _GNU_SOURCE /* RTLD_DEFAULT */
#include <qrbm/rdm.h>
#include <petscblaslapack.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>
#include <limits.h>
#include <math.h>

/* OpenBLAS reads OPENBLAS_NUM_THREADS when the library is loaded, i.e. before main: setting it
   here would be too late. Its run-time setter is looked up instead, in whatever library the
   libblas.so.3 alternative points to; reference BLAS has no threads and no setter. */
PetscErrorCode QrbmBlasSetThreads(PetscInt threads, PetscBool *openblas)
{
  void (*set)(int);
  PetscFunctionBeginUser;
  *(void **)&set = dlsym(RTLD_DEFAULT, "openblas_set_num_threads");
  if (set) set((int)threads);
  if (openblas) *openblas = set ? PETSC_TRUE : PETSC_FALSE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

void QrbmBlasSelectKernels(char **argv)
{
  char *(*corename)(void);
  const char *best;
  if (getenv("OPENBLAS_CORETYPE")) return; /* the user's choice, or this process was re-executed */
  *(void **)&corename = dlsym(RTLD_DEFAULT, "openblas_get_corename");
  if (!corename || strcasecmp(corename(), "prescott")) return;
  __builtin_cpu_init();
  best = __builtin_cpu_supports("avx512f") ? "SkylakeX" : __builtin_cpu_supports("avx2") ? "Haswell" : NULL;
  if (!best || setenv("OPENBLAS_CORETYPE", best, 1)) return;
  execv("/proc/self/exe", argv); /* returns only on failure: then run on the generic kernels */
  unsetenv("OPENBLAS_CORETYPE");
}

static PetscErrorCode BlasInt(ptrdiff_t v, PetscBLASInt *b)
{
  PetscFunctionBeginUser;
  PetscCheck(v >= 0 && v <= INT_MAX, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "RDM: matrix dimension %td exceeds the 32-bit BLAS index range: reduce -grid", v);
  *b = (PetscBLASInt)v;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* C (column-major, ldc) += A^H B for column-major A (k x m, lda) and B (k x n, ldb). */
static PetscErrorCode GemmCN(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const qcomplex *A, ptrdiff_t lda, const qcomplex *B, ptrdiff_t ldb, qcomplex *C, ptrdiff_t ldc)
{
  PetscBLASInt bm, bn, bk, blda, bldb, bldc;
  PetscScalar  one = 1.0;
  PetscFunctionBeginUser;
  if (m == 0 || n == 0 || k == 0) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(BlasInt(m, &bm));
  PetscCall(BlasInt(n, &bn));
  PetscCall(BlasInt(k, &bk));
  PetscCall(BlasInt(lda, &blda));
  PetscCall(BlasInt(ldb, &bldb));
  PetscCall(BlasInt(ldc, &bldc));
  PetscCallBLAS("BLASgemm", BLASgemm_("C", "N", &bm, &bn, &bk, &one, A, &blda, B, &bldb, &one, C, &bldc));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Local extents of the unfolding for label j (storage axis 0 holds the local rows). */
static void Unfold(const QrbmGrid *g, PetscInt j, ptrdiff_t *pre, ptrdiff_t *post)
{
  *pre = *post = 1;
  for (int s = 0; s < j * g->d; s++) *pre *= g->xlay.n[s];
  for (int s = (int)((j + 1) * g->d); s < g->xlay.naxes; s++) *post *= g->xlay.n[s];
}

static void Transpose(ptrdiff_t n, qcomplex *A)
{
  for (ptrdiff_t a = 0; a < n; a++)
    for (ptrdiff_t b = a + 1; b < n; b++) {
      const qcomplex t = A[a * n + b];
      A[a * n + b]     = A[b * n + a];
      A[b * n + a]     = t;
    }
}

/* Labels j >= 1: every pre block is local. When nothing follows particle j (post = 1) the blocks
   are the columns of one Md x pre matrix Z, and a single large gemm beats pre rank-1 updates:
   Z Z^H is R in column-major order, i.e. R^T in row-major order: transpose it. */
static PetscErrorCode LocalLabel(const QrbmGrid *g, const qcomplex *psi, PetscInt j, qcomplex *R)
{
  const ptrdiff_t Md = g->Md;
  ptrdiff_t       pre, post;
  PetscFunctionBeginUser;
  Unfold(g, j, &pre, &post);
  if (post > 1) {
    for (ptrdiff_t i = 0; i < pre; i++) PetscCall(GemmCN(Md, Md, post, psi + i * Md * post, post, psi + i * Md * post, post, R, Md));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  if (pre > 0) {
    PetscBLASInt bMd, bpre;
    PetscScalar  one = 1.0;
    PetscCall(BlasInt(Md, &bMd));
    PetscCall(BlasInt(pre, &bpre));
    PetscCallBLAS("BLASgemm", BLASgemm_("N", "C", &bMd, &bMd, &bpre, &one, psi, &bMd, psi, &bMd, &one, R, &bMd));
  }
  Transpose(Md, R);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* MPI type of one row of storage axis 0 (all later axes; there is at least one), nested so that
   no count exceeds M. */
static PetscErrorCode RowType(const QrbmGrid *g, MPI_Datatype *row)
{
  MPI_Datatype t = MPI_C_DOUBLE_COMPLEX, next;
  PetscFunctionBeginUser;
  for (int s = g->xlay.naxes - 1; s >= 1; s--) {
    PetscCallMPI(MPI_Type_contiguous((int)g->xlay.n[s], t, &next));
    if (t != MPI_C_DOUBLE_COMPLEX) PetscCallMPI(MPI_Type_free(&t));
    t = next;
  }
  PetscCallMPI(MPI_Type_commit(&t));
  *row = t;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Label 0: block (p, q) = X_p X_q^H with the slabs X_q passed around the ring (slabs may differ in
   size, some may be empty). The next slab is received while the current one is multiplied, into
   two alternating buffers (OpenMPI's MPI_Sendrecv_replace packs through a temporary of the same
   size anyway, and is several times slower). */
static PetscErrorCode RingLabel(const QrbmGrid *g, const qcomplex *psi, qcomplex *R)
{
  const PetscMPIInt size = g->size, rank = g->rank, right = (rank + 1) % size, left = (rank - 1 + size) % size;
  const ptrdiff_t   Md = g->Md, Mr = Md / g->M; /* rows of R per row of axis 0 */
  PetscInt64        mine[2] = {g->xlay.n[0], g->xlay.start}, *all, maxrows = 0;
  ptrdiff_t         pre, post;
  MPI_Datatype      row;
  MPI_Request       req[2];
  const qcomplex   *cur = psi;
  qcomplex         *buf[2];
  PetscFunctionBeginUser;
  Unfold(g, 0, &pre, &post);
  PetscCall(PetscMalloc1(2 * size, &all));
  PetscCallMPI(MPI_Allgather(mine, 2, MPIU_INT64, all, 2, MPIU_INT64, g->comm)); /* rows, start */
  for (PetscMPIInt q = 0; q < size; q++) maxrows = PetscMax(maxrows, all[2 * q]);
  for (int i = 0; i < 2; i++) {
    const size_t n = size > i + 1 ? (size_t)(maxrows * Mr * post) : 0; /* buf[1] only with > 2 ranks */
    PetscCall(PetscMalloc1(n, &buf[i]));
  }
  PetscCall(RowType(g, &row));
  for (PetscMPIInt s = 0; s < size; s++) {
    const PetscMPIInt q = (rank - s + size) % size; /* cur holds X_q */
    if (s + 1 < size) {
      PetscCallMPI(MPI_Irecv(buf[s % 2], (int)maxrows, row, left, 0, g->comm, &req[0]));
      PetscCallMPI(MPI_Isend(cur, (int)all[2 * q], row, right, 0, g->comm, &req[1]));
    }
    PetscCall(GemmCN(all[2 * q] * Mr, g->xlay.n[0] * Mr, post, cur, post, psi, post, R + all[2 * q + 1] * Mr + g->xlay.start * Mr * Md, Md));
    if (s + 1 < size) {
      PetscCallMPI(MPI_Waitall(2, req, MPI_STATUSES_IGNORE));
      cur = buf[s % 2];
    }
  }
  PetscCallMPI(MPI_Type_free(&row));
  for (int i = 0; i < 2; i++) PetscCall(PetscFree(buf[i]));
  PetscCall(PetscFree(all));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmRdmLabel(const QrbmGrid *g, const qcomplex *psi, PetscInt j, qcomplex *Rj)
{
  const ptrdiff_t n2 = g->Md * g->Md;
  const double    w  = pow(g->h, (double)g->D);
  PetscMPIInt     count;
  PetscFunctionBeginUser;
  PetscCheck(j >= 0 && j < g->N, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "RDM label %" PetscInt_FMT " out of range [0, %" PetscInt_FMT "]", j, g->N - 1);
  PetscCall(PetscMPIIntCast(n2, &count));
  PetscCall(PetscArrayzero(Rj, n2));
  if (j == 0) PetscCall(RingLabel(g, psi, Rj));
  else PetscCall(LocalLabel(g, psi, j, Rj));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, Rj, count, MPI_C_DOUBLE_COMPLEX, MPI_SUM, g->comm));
  for (ptrdiff_t i = 0; i < n2; i++) Rj[i] *= w;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmRdmLabelAverage(const QrbmGrid *g, const qcomplex *psi, qcomplex *R1)
{
  const ptrdiff_t n2 = g->Md * g->Md;
  qcomplex       *Rj;
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(n2, &Rj));
  PetscCall(PetscArrayzero(R1, n2));
  for (PetscInt j = 0; j < g->N; j++) {
    PetscCall(QrbmRdmLabel(g, psi, j, Rj));
    for (ptrdiff_t i = 0; i < n2; i++) R1[i] += Rj[i] / (double)g->N;
  }
  PetscCall(PetscFree(Rj));
  PetscFunctionReturn(PETSC_SUCCESS);
}

double QrbmRdmBytesPerRank(const QrbmGrid *g)
{
  const double slab = 16.0 * ceil((double)g->M / g->size) * (g->total / g->M);
  return (g->size > 2 ? 2 : g->size - 1) * slab + 2 * 16.0 * (double)g->Md * (double)g->Md;
}

PetscErrorCode QrbmRdmSpectrum(PetscInt n, const qcomplex *R, double *eig, double *purity, double *entropy)
{
  PetscBLASInt bn, lwork = -1, info;
  PetscScalar *A, *work, query;
  PetscReal   *w, *rwork;
  PetscFunctionBeginUser;
  PetscCall(BlasInt(n, &bn));
  PetscCall(PetscMalloc3((size_t)n * n, &A, n, &w, PetscMax(1, 3 * n - 2), &rwork));
  PetscCall(PetscArraycpy(A, R, (size_t)n * n)); /* the column-major view is R^T: same eigenvalues */
  PetscCallBLAS("LAPACKheev", LAPACKheev_("N", "U", &bn, A, &bn, w, &query, &lwork, rwork, &info));
  lwork = (PetscBLASInt)PetscRealPart(query);
  PetscCall(PetscMalloc1(lwork, &work));
  PetscCallBLAS("LAPACKheev", LAPACKheev_("N", "U", &bn, A, &bn, w, work, &lwork, rwork, &info));
  PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "LAPACK zheev failed on a %" PetscInt_FMT " x %" PetscInt_FMT " matrix (info %d)", n, n, (int)info);
  if (purity) *purity = 0;
  if (entropy) *entropy = 0;
  for (PetscInt i = 0; i < n; i++) {
    eig[i] = w[n - 1 - i]; /* LAPACK sorts ascending */
    if (purity) *purity += eig[i] * eig[i];
    if (entropy && eig[i] > 0) *entropy -= eig[i] * log(eig[i]);
  }
  PetscCall(PetscFree(work));
  PetscCall(PetscFree3(A, w, rwork));
  PetscFunctionReturn(PETSC_SUCCESS);
}
