/* The wavefunction buffer and the product / symmetrised initial states. */
#pragma once
#include <qrbm/grid.h>
#include <qrbm/util.h>
#include <fftw3-mpi.h>

typedef struct {
  const QrbmGrid *g;
  qcomplex       *psi; /* alloc_local complex numbers (fftw_malloc), position layout */
} QrbmState;

PetscErrorCode QrbmStateCreate(const QrbmGrid *g, QrbmState *st);
PetscErrorCode QrbmStateDestroy(QrbmState *st);
/* Coherent packet (pi hbar)^(-d/4) exp(-|x-q|^2/(2 hbar) + i p.(x-q)/hbar) on the one-particle grid
   (minimum-image x - q), M^d values. */
void QrbmCoherentPacket(const QrbmGrid *g, double hbar, const double *q, const double *p, qcomplex *phi);
/* Scales packet k (of -init_q/-init_p) to discrete norm sum |phi|^2 h^d = 1; refuses a packet that is
   not finite (momentum phase overflow) or vanishes on the grid (hbar far below the mesh). */
PetscErrorCode QrbmCoherentPacketNormalize(const QrbmGrid *g, double hbar, PetscInt k, qcomplex *phi);
/* Psi = phi^(x)N. */
PetscErrorCode QrbmStateSetProduct(QrbmState *st, const qcomplex *phi);
/* Psi = normalised permanent of phi_k(x_m) (bosonic symmetrisation of N distinct packets), by
   Glynn's formula with Gray-code order: O(2^(N-1) N) per grid point instead of N! terms. */
PetscErrorCode QrbmStateSetSymmetrized(QrbmState *st, const qcomplex *const *phi);
/* Global sum |psi|^2 h^D. */
PetscErrorCode QrbmStateNorm(const QrbmState *st, double *norm);
PetscErrorCode QrbmStateScale(QrbmState *st, double factor);
