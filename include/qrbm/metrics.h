/* Distances between one-particle reduced density matrices, the constants and right-hand side of
   the paper's Theorem 2.1, jackknife standard errors and the error table of a random batch run
   against a reference. Definitions and normalisations: docs/errors.md. All functions are serial
   (they work on the caller's data) unless stated otherwise. */
#pragma once
#include <qrbm/h5io.h>
#include <qrbm/grid.h>
#include <stdio.h>

/* Order K = [d/2] + 3 of the dual norm |||.|||_{-K} in the theorem. */
#define QRBM_WEAK_ORDER(d) ((d) / 2 + 3)

typedef struct {
  double trace;      /* sum |eig(A - B)| */
  double hs;         /* Hilbert-Schmidt norm (sum |A - B|^2)^(1/2) */
  double weak;       /* lower bound of |||W_A - W_B|||_{-K} over the plane-wave family */
  double sobolev;    /* ||W_A - W_B||_{H^-K} */
  double weak_k, weak_omega; /* the maximising plane wave exp(i (k x + omega xi)) */
} QrbmRdmDistance;

/* The distances, planned once per grid (the Wigner transform and the weak norms' 2-D FFT, with
   their work arrays) and applied at every RDM time and jackknife group of a run. Create plans
   (event QrbmFFTPlan); Apply and Jackknife compute (event QrbmRdmDistance). g must outlive it. */
typedef struct _n_QrbmRdmMetric *QrbmRdmMetric;
PetscErrorCode QrbmRdmMetricCreate(const QrbmGrid *g, double hbar, QrbmRdmMetric *m);
PetscErrorCode QrbmRdmMetricDestroy(QrbmRdmMetric *m);
/* A and B: Md x Md density matrices in the grid basis. For d > 1 the weak and Sobolev norms are
   those of the (x_1, xi_1) Wigner marginals (docs/errors.md). */
PetscErrorCode QrbmRdmMetricApply(QrbmRdmMetric m, const qcomplex *A, const qcomplex *B, QrbmRdmDistance *dist);
/* batch_means: K matrices, the means of R~_1 over realisation groups b = r mod K with counts[b]
   realisations each. mean_dist: distance of the pooled mean to B; err: delete-one-group jackknife
   standard errors sqrt((K-1)/K sum_b (d_(-b) - mean_b d_(-b))^2) (weak_k, weak_omega: 0). */
PetscErrorCode QrbmRdmMetricJackknife(QrbmRdmMetric m, PetscInt K, const qcomplex *batch_means, const double *counts, const qcomplex *B, QrbmRdmDistance *mean_dist, QrbmRdmDistance *err);
/* Lambda(V) = (2 pi)^-d int sum_mu |omega_mu| |V^(omega)| domega and
   L(V) = (2 pi)^-d int |omega|^2 |V^(omega)| domega of the pair potential of cfg (cfg->dim,
   potential, strength, width), by FFT of V on an enlarged, refined box (docs/errors.md). */
PetscErrorCode QrbmPotentialConstants(const QrbmConfig *cfg, const QrbmGrid *g, double *Lambda, double *Lip);
/* Right-hand side of eq. (14) with gamma_d = 1. */
double QrbmTheoremBound(double t, double Dt, PetscInt d, double Lambda, double Lip);

/* Observables compared besides the density matrices. */
#define QRBM_ERROR_NOBS 3
extern const char *const QrbmErrorObservables[QRBM_ERROR_NOBS]; /* x2, p2, energy */

/* One run's series as stored under /rdm and /observables (any pointer of an optional part may be
   NULL). */
typedef struct {
  const char     *name;     /* for messages (file name) */
  PetscInt        nt;       /* RDM output times */
  const double   *time;     /* nt */
  const qcomplex *R1;       /* nt x Md x Md */
  PetscInt        nbatch;   /* K realisation groups, 0: no jackknife */
  const qcomplex *batches;  /* nt x K x Md x Md */
  const double   *counts;   /* K */
  PetscInt        nobs;     /* observable output times */
  const double   *obs_time; /* nobs */
  const double   *obs[QRBM_ERROR_NOBS], *obs_stderr[QRBM_ERROR_NOBS]; /* nobs each */
} QrbmRunSeries;

/* Errors of a random batch run at the RDM times it shares with the reference (times equal within
   1e-9 relative). Observable errors are RB - REF, NaN where either run has no observables at that
   time; standard errors are NaN where undefined. */
typedef struct {
  PetscInt         n;
  double          *time;
  QrbmRdmDistance *dist, *dist_stderr;
  double          *obs, *obs_stderr; /* n x QRBM_ERROR_NOBS */
  double          *bound;
  PetscBool        jackknife;        /* dist_stderr holds jackknife errors (else NaN) */
  PetscBool        obs_has_stderr[QRBM_ERROR_NOBS];
  double           Lambda, Lip, rb_dt;
  PetscInt         K;
} QrbmErrorTable;

/* cfg supplies hbar, rb_dt and the pair potential; g the one-particle grid. */
PetscErrorCode QrbmErrorTableCompute(const QrbmGrid *g, const QrbmConfig *cfg, const QrbmRunSeries *ref, const QrbmRunSeries *rb, QrbmErrorTable *tab);
PetscErrorCode QrbmErrorTableDestroy(QrbmErrorTable *tab);
/* Plain-text table (one row per time, '#' header lines) on rank 0 of comm. */
PetscErrorCode QrbmErrorTableView(MPI_Comm comm, const QrbmErrorTable *tab, FILE *fp);
/* Group /error under loc (QrbmH5Write* semantics for dxpl and holder). */
PetscErrorCode QrbmErrorTableWrite(const QrbmErrorTable *tab, hid_t loc, hid_t dxpl, PetscBool holder);
