/* What is measured from a state at an output time. */
#pragma once
#include <qrbm/potential.h>
#include <hdf5.h>

typedef struct {
  PetscInt step;
  double   time;
  double   norm, e_kin, e_trap, e_int, energy; /* <H_N> and its parts (all particles) */
  double   x[QRBM_MAX_DIM], p[QRBM_MAX_DIM];   /* particle-averaged <x>, <p> per component */
  double   x2c[QRBM_MAX_DIM], p2c[QRBM_MAX_DIM], x2, p2; /* <x_c^2>, <p_c^2>, <|x|^2>, <|p|^2> */
  double  *rho, *rho_p; /* one-body position density (per volume) and momentum density, M^d each,
                           rho_p ordered by ascending momentum */
  double  *pgrid;       /* momenta hbar*k in ascending order (M) */
} QrbmObservables;

/* Observables packed in a flat record, the unit of ensemble statistics and of output rows. */
#define QRBM_MAX_FIELDS 16
typedef struct {
  const char *name;   /* HDF5 path */
  int         rank;   /* dimensions per output time */
  hsize_t     shape[QRBM_MAX_DIM];
  ptrdiff_t   offset, len;
  PetscBool   stats;  /* has a standard error (time and step do not) */
} QrbmField;
typedef struct {
  int       nfields;
  QrbmField f[QRBM_MAX_FIELDS];
  ptrdiff_t len;
} QrbmRecord;

PetscErrorCode QrbmRecordCreate(const QrbmGrid *g, QrbmRecord *rec);
void           QrbmObservablesPack(const QrbmObservables *obs, const QrbmGrid *g, double *row);

PetscErrorCode QrbmObservablesCreate(const QrbmGrid *g, double hbar, QrbmObservables *obs);
PetscErrorCode QrbmObservablesDestroy(QrbmObservables *obs);
/* From the unnormalised forward transform psi_k (transposed momentum layout). */
PetscErrorCode QrbmObservablesMomentum(QrbmObservables *obs, const QrbmGrid *g, double hbar, const qcomplex *psik);
/* From psi in position layout; W are the pair weights of the exact H_N. Completes the energy. */
PetscErrorCode QrbmObservablesPosition(QrbmObservables *obs, QrbmPotential *pot, const QrbmPairWeights *W, const qcomplex *psi);
