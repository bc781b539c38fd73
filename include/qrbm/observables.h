/* What is measured from a state at an output time. */
#pragma once
#include <qrbm/potential.h>
#include <hdf5.h>

typedef struct {
  PetscInt64 step;
  double   time;
  double   norm, e_kin, e_trap, e_int, energy; /* <H_N> and its parts (all particles) */
  double   x[QRBM_MAX_DIM], p[QRBM_MAX_DIM];   /* particle-averaged <x>, <p> per component */
  double   x2c[QRBM_MAX_DIM], p2c[QRBM_MAX_DIM], x2, p2; /* <x_c^2>, <p_c^2>, <|x|^2>, <|p|^2> */
  double  *rho, *rho_p; /* one-body position density (per volume) and momentum density, M^d each,
                           rho_p ordered by ascending momentum */
  double  *pgrid;       /* momenta hbar*k in ascending order (M) */
} QrbmObservables;

/* Observables packed in a flat record, the unit of ensemble statistics and of output rows. The
   record is built from one table of fields (QrbmRecordFields in src/observables.c): each row names
   an HDF5 path, where its values come from and whether it has a standard error. The layout, the
   packing, the output datasets (and their _stderr), checkpoints, the ensemble's accumulation, the
   summary and the report all follow that table; users address values by name, never by a literal
   offset, so an observable is one row (plus its computation). */
typedef enum {
  QRBM_FIELD_SCALAR, /* one double of QrbmObservables */
  QRBM_FIELD_STEP,   /* the PetscInt step, stored as a double */
  QRBM_FIELD_AXES,   /* d doubles (an array member, one value per component) */
  QRBM_FIELD_GRID,   /* M^d doubles behind a pointer member, shape M x ... x M */
  QRBM_FIELD_R1      /* R_1: M^d x M^d complex, filled by the caller (not from QrbmObservables) */
} QrbmFieldSource;
typedef struct {
  const char     *name;   /* HDF5 path */
  QrbmFieldSource src;
  size_t          member; /* offsetof(QrbmObservables, ...) of the source (unused for R_1) */
  PetscBool       stats;  /* has a standard error (time and step do not) */
  PetscBool       rdm;    /* only at reduced-density-matrix times (every rdm_interval output times) */
} QrbmFieldDef;
extern const QrbmFieldDef QrbmRecordFields[];
extern const int          QrbmRecordNumFields;

#define QRBM_MAX_FIELDS 24
typedef struct {
  const char     *name;   /* HDF5 path */
  int             rank;   /* dimensions per output time */
  hsize_t         shape[QRBM_MAX_DIM];
  ptrdiff_t       offset, len;
  PetscBool       stats;  /* has a standard error */
  PetscBool       rdm;    /* only at RDM times */
  PetscBool       cplx;   /* complex values, stored as compound {r, i} */
  QrbmFieldSource src;
  size_t          member;
} QrbmField;
typedef struct {
  int       nfields;
  QrbmField f[QRBM_MAX_FIELDS];
  ptrdiff_t len;
  ptrdiff_t rdm_offset;   /* of /rdm/R1 (2 M^d M^d doubles) in the record, -1 without R_1 */
  PetscInt  rdm_interval;
} QrbmRecord;

/* The record of QrbmRecordFields (the R_1 fields only with cfg->rdm_interval > 0). */
PetscErrorCode QrbmRecordCreate(const QrbmGrid *g, const QrbmConfig *cfg, QrbmRecord *rec);
/* The same from any table of n fields (tests insert fields to check that users find theirs by name). */
PetscErrorCode QrbmRecordCreateFrom(const QrbmFieldDef *defs, int n, const QrbmGrid *g, PetscInt rdm_interval, QrbmRecord *rec);
/* Output time i carries R_1. */
PetscBool QrbmRecordHasRdm(const QrbmRecord *rec, PetscInt i);
/* The field with HDF5 path `name` (e.g. "/observables/x2"), or NULL. */
const QrbmField *QrbmRecordField(const QrbmRecord *rec, const char *name);
/* Offset of field `name` in a record; an error naming the field when the record has none. */
PetscErrorCode QrbmRecordOffset(const QrbmRecord *rec, const char *name, ptrdiff_t *offset);
/* Every field whose source is obs into row; the RDM fields (/rdm/time) only when rdm_time. R_1
   is the caller's (at rec->rdm_offset). */
void QrbmRecordPack(const QrbmRecord *rec, const QrbmObservables *obs, PetscBool rdm_time, double *row);

PetscErrorCode QrbmObservablesCreate(const QrbmGrid *g, double hbar, QrbmObservables *obs);
PetscErrorCode QrbmObservablesDestroy(QrbmObservables *obs);
/* From the unnormalised forward transform psi_k (transposed momentum layout). */
PetscErrorCode QrbmObservablesMomentum(QrbmObservables *obs, const QrbmGrid *g, double hbar, const qcomplex *psik);
/* From psi in position layout; W are the pair weights of the exact H_N. Completes the energy. */
PetscErrorCode QrbmObservablesPosition(QrbmObservables *obs, QrbmPotential *pot, const QrbmPairWeights *W, const qcomplex *psi);
