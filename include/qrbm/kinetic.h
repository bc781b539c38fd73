/* Distributed FFTs (FFTW-MPI, transposed layouts, wisdom) and the kinetic phase. */
#pragma once
#include <qrbm/grid.h>
#include <qrbm/util.h>
#include <fftw3-mpi.h>

typedef struct {
  const QrbmGrid *g;
  double          hbar;
  fftw_plan       fwd, bwd;   /* the two leading axes (distributed; forward: transposed out) */
  fftw_plan       tfwd, tbwd; /* the trailing axes of one block of T points (serial); NULL for D < 3 */
  ptrdiff_t       T;          /* points per block of the trailing axes */
  qcomplex       *tab, *ttab; /* per-axis kinetic factors (M); their product over one block (T) */
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
/* Forward, phase, backward in one: psi <- F^-1 exp(z/hbar T) F psi / M^D, with the trailing axes'
   transforms and the phase fused per block (one memory pass instead of three). */
PetscErrorCode QrbmKineticStep(QrbmKinetic *kin, qcomplex z, qcomplex *psi);
