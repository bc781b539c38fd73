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
  /* one rank, D >= 3 (the whole array local): the kinetic sub-step without distributed transforms */
  PetscBool       slab;
  fftw_plan       cfwd, cbwd; /* axis 0 on a chunk of C columns (stride S) */
  fftw_plan       sfwd, sbwd; /* axes 1.. on one slab of fixed x_0 (S points) */
  ptrdiff_t       S, C;       /* points per slab of fixed x_0; columns per chunk */
  int             threads;    /* -threads: the team of the slab pass (callbacks use per-thread scratch) */
} QrbmKinetic;

/* Applied to each slab of fixed x_0 (position space) at the end of a one-rank kinetic sub-step. */
typedef void (*QrbmKineticSlabFn)(const void *ctx, ptrdiff_t x0, qcomplex *slab);

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
   transforms and the phase fused per block (one memory pass instead of three). On one rank (kin->slab)
   the sub-step is two in-cache passes instead: axis 0 on chunks of columns, then the other axes on
   each slab of fixed x_0 (the phase is a product of per-axis factors). */
PetscErrorCode QrbmKineticStep(QrbmKinetic *kin, qcomplex z, qcomplex *psi);
/* One rank only (kin->slab): QrbmKineticStep, then fn on every slab while it is in cache (the
   potential stage that follows the kinetic one: no separate pass). Logged as QrbmKineticPotential. */
PetscErrorCode QrbmKineticStepThen(QrbmKinetic *kin, qcomplex z, qcomplex *psi, QrbmKineticSlabFn fn, const void *ctx);
