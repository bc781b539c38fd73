/* R_1 micro-benchmark: qrbm's reduced density matrices (QrbmRdmLabel of the last label, what an
   exact run computes; QrbmRdmLabelAverage, what a random batch run computes) against one plain BLAS
   Gram product Z Z^H of the same shape (Z: M^d x M^(N d - d), the state itself), on one rank.

   Usage: bench_rdm [qrbm options: -particles -grid -dim -threads ...] [-reps R]
   Prints one line of key=value pairs (times in seconds, best of R after one warm-up call):
     label_s average_s gram_s label_over_gram gram_gflops blas threads */
#define _GNU_SOURCE /* RTLD_DEFAULT */
#include <qrbm/kinetic.h>
#include <qrbm/rdm.h>
#include <qrbm/state.h>
#include <petscblaslapack.h>
#include <dlfcn.h>
#include <omp.h>

/* The plain Gram product: one zgemm of the same shape and flop count as R_1 of the last label. */
static PetscErrorCode Gram(const QrbmGrid *g, const qcomplex *psi, qcomplex *R)
{
  PetscBLASInt md = (PetscBLASInt)g->Md, k = (PetscBLASInt)(g->xlay.count / g->Md);
  PetscScalar  one = 1.0, zero = 0.0;
  PetscFunctionBeginUser;
  PetscCallBLAS("BLASgemm", BLASgemm_("N", "C", &md, &md, &k, &one, psi, &md, psi, &md, &zero, R, &md));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* OpenBLAS's kernel set (core name), or "none" for another BLAS. */
static const char *BlasCore(void)
{
  char *(*corename)(void);
  *(void **)&corename = dlsym(RTLD_DEFAULT, "openblas_get_corename");
  return corename ? corename() : "none";
}

int main(int argc, char **argv)
{
  QrbmConfig cfg;
  QrbmGrid   g;
  QrbmState  st;
  qcomplex  *R;
  PetscInt   reps = 3;
  PetscBool  openblas;
  double     best[3] = {1e300, 1e300, 1e300};

  QrbmBlasSelectKernels(argv);
  PetscCall(PetscInitialize(&argc, &argv, NULL, "qrbm R_1 benchmark\n"));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-reps", &reps, NULL));
  PetscCall(QrbmConfigSetFromOptions(PETSC_COMM_WORLD, &cfg));
  omp_set_num_threads((int)cfg.threads);
  PetscCall(QrbmBlasSetThreads(cfg.threads, &openblas));
  PetscCall(QrbmGridCreate(PETSC_COMM_WORLD, &cfg, &g));
  PetscCall(QrbmStateCreate(&g, &st));
  for (ptrdiff_t i = 0; i < g.xlay.count; i++) st.psi[i] = sin(0.37 * (double)i) + I * cos(0.11 * (double)i);
  PetscCall(PetscMalloc1(g.Md * g.Md, &R));
  for (PetscInt k = 0; k <= reps; k++) { /* k = 0: warm-up */
    double t[4];
    t[0] = MPI_Wtime();
    PetscCall(QrbmRdmLabel(&g, st.psi, g.N - 1, R));
    t[1] = MPI_Wtime();
    PetscCall(QrbmRdmLabelAverage(&g, st.psi, R));
    t[2] = MPI_Wtime();
    PetscCall(Gram(&g, st.psi, R));
    t[3] = MPI_Wtime();
    for (int i = 0; i < 3 && k > 0; i++) best[i] = PetscMin(best[i], t[i + 1] - t[i]);
  }
  const double flops = 8.0 * (double)g.Md * (double)g.Md * (double)(g.xlay.count / g.Md);
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "bench_rdm N=%" PetscInt_FMT " M=%" PetscInt_FMT " d=%" PetscInt_FMT " threads=%" PetscInt_FMT " reps=%" PetscInt_FMT " label_s=%.6e average_s=%.6e gram_s=%.6e label_over_gram=%.3f gram_gflops=%.2f openblas=%d openblas_core=%s\n",
                        g.N, g.M, g.d, cfg.threads, reps, best[0], best[1], best[2], best[0] / best[2], flops / best[2] * 1e-9, (int)openblas, BlasCore()));
  PetscCall(PetscFree(R));
  PetscCall(QrbmStateDestroy(&st));
  PetscCall(QrbmGridDestroy(&g));
  PetscCall(PetscFinalize());
  return 0;
}
