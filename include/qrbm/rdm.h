/* One-particle reduced density matrices of the N-body state (paper eq. 12, 13) and their spectra.

   Matrices are Md x Md (Md = M^d), row-major, in the orthonormal grid basis: the coefficients of
   psi are c = psi h^(N d / 2), so R[a][b] = h^(N d) sum_rest psi(.., a, ..) conj(psi(.., b, ..)),
   trace R = discrete norm, and the kernel is r(x_a, x_b) = R[a][b] / h^d. */
#pragma once
#include <qrbm/grid.h>
#include <qrbm/util.h>

/* The BLAS's own thread pool uses `threads` threads (-threads), so that ranks x threads bounds the
   cores a run uses also inside BLAS (OpenBLAS, found at run time; other BLAS: no effect).
   *openblas (may be NULL): whether the loaded BLAS is OpenBLAS. */
PetscErrorCode QrbmBlasSetThreads(PetscInt threads, PetscBool *openblas);
/* OpenBLAS 0.3.21 (Debian 12) does not recognise CPUs newer than it and then runs its generic
   "Prescott" (SSE3) kernels, about 3x slower on R_1; it reads OPENBLAS_CORETYPE only when it is
   loaded, before main. So when the loaded OpenBLAS chose Prescott on a CPU with AVX-512 (AVX2) and
   OPENBLAS_CORETYPE is unset, this re-executes the program (/proc/self/exe, same argv) with
   OPENBLAS_CORETYPE=SkylakeX (Haswell). Call first in main, before MPI or PETSc start; returns when
   nothing needs to change or the re-execution failed. */
void QrbmBlasSelectKernels(char **argv);
/* R^(j) = Psi_(j) Psi_(j)^dagger: partial trace over every particle but j (0 <= j < N).
   Collective on g->comm; Rj is identical on every rank. Label 0 is the slab-distributed one and
   costs a ring exchange of the slabs; for a symmetric state every label gives R_1, and label N-1
   needs no communication besides the final reduction. */
PetscErrorCode QrbmRdmLabel(const QrbmGrid *g, const qcomplex *psi, PetscInt j, qcomplex *Rj);
/* (1/N) sum_j R^(j), the reduced density matrix of a state without label symmetry (eq. 13). */
PetscErrorCode QrbmRdmLabelAverage(const QrbmGrid *g, const qcomplex *psi, qcomplex *R1);
/* Bytes per rank QrbmRdmLabel and QrbmRdmLabelAverage allocate: label 0's two receive buffers of
   the largest slab (one on 2 ranks, none on 1) and two Md x Md matrices. */
double QrbmRdmBytesPerRank(const QrbmGrid *g);
/* Eigenvalues of the Hermitian n x n matrix R in descending order (n values), purity sum eig^2 and
   von Neumann entropy -sum eig log eig over eig > 0. purity and entropy may be NULL. */
PetscErrorCode QrbmRdmSpectrum(PetscInt n, const qcomplex *R, double *eig, double *purity, double *entropy);
