/* Splitting schemes as data: one row per scheme in the table of src/scheme.c, registered the way
   PETSc's TSRKRegister(name, order, stages, A, b, ...) registers Runge-Kutta methods. A step of
   length dt is the product of the row's stages, applied in order. Adding a scheme is adding a row:
   the -scheme values and their -help text, the propagator (merged end stages, pausing,
   reshuffles), the phase-table cache and the unit test of the orders follow from the table. */
#pragma once
#include <petscsys.h>

#if PETSC_VERSION_LT(3, 19, 0)
  #define PETSC_SUCCESS 0 /* Debian 12 ships PETSc 3.18 (as in config.h) */
#endif

typedef enum { QRBM_STAGE_KINETIC, QRBM_STAGE_POTENTIAL } QrbmStageKind;

/* With z = -i dt (real time) or -dtau (imaginary time): a kinetic stage is exp(c z T/hbar), a
   potential stage exp(z/hbar (c Phi + (f/c) z^2 |grad Phi|^2)); f = 0 is a plain potential stage,
   f != 0 a modified potential (force gradient: exp(c B + f [B,[A,B]]) with A = z T/hbar,
   B = z Phi/hbar, since [Phi,[T,Phi]] = hbar^2 |grad Phi|^2 for mass 1). */
typedef struct {
  QrbmStageKind kind;
  double        c; /* fraction of the step */
  double        f; /* potential stages: force-gradient coefficient (0: plain) */
} QrbmStage;

#define QRBM_SCHEME_GRADIENT  0x1u /* some stage has f != 0: the run needs V' and U' tables */
#define QRBM_SCHEME_POTENTIAL_ENDS 0x2u /* the first and the last stage are potential stages */

typedef struct {
  const char      *name;  /* the -scheme value */
  int              order; /* global order in dt, checked by tests/unit/test_scheme.c */
  unsigned         flags; /* QRBM_SCHEME_*, checked against the stages by QrbmSchemeCheck */
  int              nstages;
  const QrbmStage *stages;
} QrbmScheme;

/* Row i of the table, NULL past the last row. */
const QrbmScheme *QrbmSchemeGet(PetscInt i);
/* Name of row i, NULL past the last row (the -scheme option's values). */
const char *QrbmSchemeName(PetscInt i);
/* Row of name, -1 when there is none. */
PetscInt QrbmSchemeFind(const char *name);
/* Rows in the table. */
PetscInt QrbmSchemeCount(void);
/* -help text of -scheme: every value with its order and FFT pairs per step (PetscFree it). */
PetscErrorCode QrbmSchemeHelp(char **text);
/* The names separated by single spaces (PetscFree it). */
PetscErrorCode QrbmSchemeNameList(char **text);
/* A row is consistent: at least one stage of each kind, kinetic and potential fractions each sum
   to 1, gradient coefficients only on potential stages with c != 0, flags that match the stages.
   Raises PETSC_ERR_PLIB naming the row otherwise. */
PetscErrorCode QrbmSchemeCheck(const QrbmScheme *s);
PetscBool      QrbmSchemeNeedsGradient(const QrbmScheme *s);
/* The last stage of a step and the first of the next have the same kind, so a chain of steps
   applies them as one stage (summed c and f): the last stage of a step is deferred, and a chain
   paused between steps owes it (`pending`). */
PetscBool QrbmSchemeMergesEnds(const QrbmScheme *s);
/* FFT pairs (kinetic stages) per step in a chain of merged steps: the cost measure of a scheme. */
int QrbmSchemePairs(const QrbmScheme *s);
/* Distinct (c, f) of the potential stages a chain applies (each stage, and the merged end stage):
   times the pair weights in use, the number of phase tables one time unit needs. */
int QrbmSchemePotentialCoefficients(const QrbmScheme *s);
