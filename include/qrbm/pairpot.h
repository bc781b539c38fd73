/* The table of pair potentials V(r): one row per potential (name, parameters, V, V', checks).
   Adding a potential is one row in src/pairpot.c; -potential, the output attributes, restarts,
   qrbm-compare and the metrics' constants follow from it. A new parameter is one option row in
   src/config.c (class fixed, used by qrbm-compare), its field here and its line in
   QrbmConfigPairParams. */
#pragma once
#include <petscsys.h>

#if PETSC_VERSION_LT(3, 19, 0)
  #define PETSC_SUCCESS 0 /* as in config.h, which this layer-0 module cannot include */
#endif

/* The parameters a potential may depend on (filled from the run's options). */
typedef struct {
  PetscInt  dim;
  PetscReal strength, width, box; /* -potential_strength lambda, -potential_width sigma, -box L */
} QrbmPairParams;

typedef struct {
  const char *name; /* value of -potential */
  /* V at separation r (dim components); sum2 = |r|^2 and csum = sum_c cos(2 pi r_c / width) are
     passed in so that every row uses the same sums in the same order (bit-identical tables) */
  double (*V)(const QrbmPairParams *p, double sum2, double csum);
  void (*dV)(const QrbmPairParams *p, const double *r, double sum2, double *grad); /* V', dim components */
  /* checks beyond each option's own range (e.g. cosine: L/width integer); NULL: none */
  PetscErrorCode (*check)(MPI_Comm comm, const QrbmPairParams *p);
} QrbmPairPotential;

extern const QrbmPairPotential QrbmPairPotentials[]; /* ends with a row whose name is NULL */
/* Indices of the built-in rows (tests and examples name them; the table does not need them). */
typedef enum { QRBM_POT_NONE, QRBM_POT_GAUSSIAN, QRBM_POT_SOFTCOULOMB, QRBM_POT_COSINE } QrbmPotentialKind;

/* Name of row i, NULL past the last row (the -potential option's list of values). */
const char *QrbmPairPotentialName(PetscInt i);
/* V(r) and V'(r) of row kind. */
double QrbmPairPotentialValue(PetscInt kind, const QrbmPairParams *p, const double *r);
void   QrbmPairPotentialGradient(PetscInt kind, const QrbmPairParams *p, const double *r, double *grad);
