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
#define QRBM_MAX_FIELDS 24
typedef struct {
  const char *name;   /* HDF5 path */
  int         rank;   /* dimensions per output time */
  hsize_t     shape[QRBM_MAX_DIM];
  ptrdiff_t   offset, len;
  PetscBool   stats;  /* has a standard error (time and step do not) */
  PetscBool   rdm;    /* only at reduced-density-matrix times (every rdm_interval output times) */
  PetscBool   cplx;   /* complex values, stored as compound {r, i} */
} QrbmField;
typedef struct {
  int       nfields;
  QrbmField f[QRBM_MAX_FIELDS];
  ptrdiff_t len;
  ptrdiff_t rdm_offset;   /* of R_1 (2 M^d M^d doubles) in the record, -1 without R_1 */
  PetscInt  rdm_interval;
} QrbmRecord;

PetscErrorCode QrbmRecordCreate(const QrbmGrid *g, const QrbmConfig *cfg, QrbmRecord *rec);
/* Output time i carries R_1. */
PetscBool QrbmRecordHasRdm(const QrbmRecord *rec, PetscInt i);
/* The field with HDF5 path `name` (e.g. "/observables/x2"), or NULL: users address record values
   by name, never by a literal offset. */
const QrbmField *QrbmRecordField(const QrbmRecord *rec, const char *name);
void           QrbmObservablesPack(const QrbmObservables *obs, const QrbmGrid *g, double *row);

PetscErrorCode QrbmObservablesCreate(const QrbmGrid *g, double hbar, QrbmObservables *obs);
PetscErrorCode QrbmObservablesDestroy(QrbmObservables *obs);
/* From the unnormalised forward transform psi_k (transposed momentum layout). */
PetscErrorCode QrbmObservablesMomentum(QrbmObservables *obs, const QrbmGrid *g, double hbar, const qcomplex *psik);
/* From psi in position layout; W are the pair weights of the exact H_N. Completes the energy. */
PetscErrorCode QrbmObservablesPosition(QrbmObservables *obs, QrbmPotential *pot, const QrbmPairWeights *W, const qcomplex *psi);
