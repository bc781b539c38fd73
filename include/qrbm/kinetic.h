/* Distributed FFTs (FFTW-MPI, transposed layouts, wisdom) and the kinetic phase. */
#pragma once
#include <qrbm/grid.h>
#include <qrbm/util.h>
#include <fftw3-mpi.h>

typedef struct {
  const QrbmGrid *g;
  double          hbar;
  fftw_plan       fwd, bwd; /* forward: position -> transposed momentum layout; backward: inverse */
  qcomplex       *tab;      /* per-axis kinetic factors (M) */
} QrbmKinetic;

/* Library start-up (threads, then MPI); call once after PetscInitialize. */
PetscErrorCode QrbmFFTInitialize(PetscInt threads);
/* Plans the transforms on psi (planning overwrites psi: call before setting the state). Wisdom
   files are the caller's (wisdom.h). */
PetscErrorCode QrbmKineticCreate(const QrbmGrid *g, const QrbmConfig *cfg, qcomplex *psi, QrbmKinetic *kin);
PetscErrorCode QrbmKineticDestroy(QrbmKinetic *kin);
PetscErrorCode QrbmKineticForward(QrbmKinetic *kin, qcomplex *psi);
PetscErrorCode QrbmKineticBackward(QrbmKinetic *kin, qcomplex *psi);
/* psi_k *= exp(z/hbar * hbar^2 |k|^2 / 2) / M^D on the transposed momentum layout (the 1/M^D
   normalises the forward+backward pair). z = -i tau (real time), -tau (imaginary), 0 (scale only). */
PetscErrorCode QrbmKineticPhase(QrbmKinetic *kin, qcomplex z, qcomplex *psi);
