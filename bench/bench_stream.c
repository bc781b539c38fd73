/* STREAM-like memory bandwidth: the pass every phase of a step makes at least once, psi *= c over a
   complex array (read and write 16 bytes per point), and a copy, at 1..T OpenMP threads. The ratio
   of the bandwidths at T and at 1 thread bounds the thread speed-up of a memory-bound phase.

   Usage: bench_stream [-points P] [-threads T] [-reps R]
   Prints one line per thread count: threads=t scale_GBs=.. copy_GBs=.. scale_s=.. (best of R). */
#include <petscsys.h>
#include <complex.h>
#include <omp.h>

static void Scale(ptrdiff_t n, double complex c, double complex *restrict a)
{
#pragma omp parallel for schedule(static)
  for (ptrdiff_t i = 0; i < n; i++) a[i] *= c;
}

static void Copy(ptrdiff_t n, const double complex *restrict a, double complex *restrict b)
{
#pragma omp parallel for schedule(static)
  for (ptrdiff_t i = 0; i < n; i++) b[i] = a[i];
}

int main(int argc, char **argv)
{
  PetscInt        points = 1 << 24, threads = 2, reps = 5;
  double complex *a, *b;
  PetscCall(PetscInitialize(&argc, &argv, NULL, "STREAM-like bandwidth\n"));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-points", &points, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-threads", &threads, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-reps", &reps, NULL));
  PetscCall(PetscMalloc2(points, &a, points, &b));
  for (PetscInt t = 1; t <= threads; t++) {
    double ts = 1e300, tc = 1e300;
    omp_set_num_threads((int)t);
    /* first touch by the same static schedule, so that pages sit with their thread */
#pragma omp parallel for schedule(static)
    for (ptrdiff_t i = 0; i < points; i++) a[i] = b[i] = 1.0;
    for (PetscInt k = 0; k <= reps; k++) {
      double t0 = MPI_Wtime();
      Scale(points, cexp(I * 1e-3), a);
      double t1 = MPI_Wtime();
      Copy(points, a, b);
      double t2 = MPI_Wtime();
      if (k) ts = PetscMin(ts, t1 - t0), tc = PetscMin(tc, t2 - t1);
    }
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "bench_stream threads=%" PetscInt_FMT " points=%" PetscInt_FMT " scale_s=%.6e scale_GBs=%.2f copy_GBs=%.2f\n", t, points, ts, 32e-9 * points / ts, 32e-9 * points / tc));
  }
  PetscCall(PetscFree2(a, b));
  PetscCall(PetscFinalize());
  return 0;
}
