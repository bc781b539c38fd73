/* Potential sub-step micro-benchmark: QrbmPotentialApply (hoisted pair-phase products) against a
   straightforward per-grid-point evaluation of the pair sum and one complex exponential, on the
   same array, plus one plain memory pass (psi *= c) as the bandwidth reference.

   Usage: bench_potential [qrbm options: -particles -grid -dim -box -dt -threads ...] [-reps R]
   Prints one line of key=value pairs (times in seconds, best of R after one warm-up call):
     hoisted_s naive_s ratio_naive_over_hoisted mempass_s max_rel_diff points threads */
#include <qrbm/events.h>
#include <qrbm/kinetic.h>
#include <qrbm/potential.h>
#include <qrbm/state.h>
#include <math.h>
#include <omp.h>
#include <string.h>

static double MinImage(double r, double L) { return r - L * floor(r / L + 0.5); }

typedef struct {
  const QrbmGrid *g;
  double          hbar, w; /* pair weight 1/(N-1) */
  ptrdiff_t       M2d;     /* (2M)^d */
  double         *Vd;      /* V at the minimum-image separation for index differences (2M)^d */
  double         *U;       /* trap on the one-particle grid */
} Naive;

static PetscErrorCode NaiveCreate(const QrbmGrid *g, const QrbmConfig *cfg, Naive *nv)
{
  PetscFunctionBeginUser;
  nv->g = g; nv->hbar = cfg->hbar; nv->w = g->N > 1 ? 1.0 / (g->N - 1) : 0;
  nv->M2d = 1;
  for (PetscInt c = 0; c < g->d; c++) nv->M2d *= 2 * g->M;
  PetscCall(PetscMalloc2(nv->M2d, &nv->Vd, g->Md, &nv->U));
  for (ptrdiff_t u = 0; u < nv->M2d; u++) {
    double    r[QRBM_MAX_DIM] = {0};
    ptrdiff_t rest = u;
    for (PetscInt c = g->d - 1; c >= 0; c--, rest /= 2 * g->M) r[c] = MinImage((double)(rest % (2 * g->M) - g->M) * g->h, g->L);
    nv->Vd[u] = QrbmPotentialPair(cfg, r);
  }
  for (ptrdiff_t j = 0; j < g->Md; j++) {
    double    x2 = 0;
    ptrdiff_t rest = j;
    for (PetscInt c = 0; c < g->d; c++, rest /= g->M) x2 += g->x[rest % g->M] * g->x[rest % g->M];
    nv->U[j] = 0.5 * cfg->trap_omega * cfg->trap_omega * x2;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* For every local point: V_tot = sum_m U(x_m) + w sum_{l<n} V(x_l - x_n), psi *= exp(z/hbar V_tot).
   Rows of the last storage axis are decomposed once; inside a row only the last axis moves. */
static void NaiveApply(const Naive *nv, qcomplex z, qcomplex *psi)
{
  const QrbmGrid  *g = nv->g;
  const QrbmLayout *lay = &g->xlay;
  const PetscInt   N = g->N, d = g->d, D = g->D, M = g->M;
  const int        last = lay->naxes - 1;
  const ptrdiff_t  nin = lay->n[last], rows = lay->count / nin;
  const qcomplex   zh = z / nv->hbar;
#pragma omp parallel for schedule(static)
  for (ptrdiff_t r = 0; r < rows; r++) {
    ptrdiff_t idx[QRBM_MAX_AXES];
    QrbmLayoutIndex(lay, r * nin, idx);
    for (ptrdiff_t j = 0; j < nin; j++) {
      double vt = 0;
      idx[last] = j;
      for (PetscInt m = 0; m < N; m++) {
        ptrdiff_t jm = 0;
        for (PetscInt c = 0; c < d; c++) jm = jm * M + idx[m * d + c];
        vt += nv->U[jm];
      }
      for (PetscInt l = 0; l < N; l++)
        for (PetscInt n = l + 1; n < N; n++) {
          ptrdiff_t u = 0;
          for (PetscInt c = 0; c < d; c++) u = u * 2 * M + (idx[l * d + c] - idx[n * d + c] + M);
          vt += nv->w * nv->Vd[u];
        }
      psi[r * nin + j] *= cexp(zh * vt);
    }
  }
  (void)D;
}

static void MemPass(ptrdiff_t n, qcomplex c, qcomplex *psi)
{
#pragma omp parallel for schedule(static)
  for (ptrdiff_t i = 0; i < n; i++) psi[i] *= c;
}

int main(int argc, char **argv)
{
  QrbmConfig      cfg;
  QrbmGrid        g;
  QrbmState       st;
  QrbmPotential   pot;
  QrbmPairWeights W;
  Naive           nv;
  qcomplex       *phi, *ref;
  PetscInt        reps = 3;
  double          t_hoist = 1e300, t_naive = 1e300, t_mem = 1e300, diff = 0, amax = 0;

  PetscCall(PetscInitialize(&argc, &argv, NULL, "qrbm potential-step benchmark\n"));
  PetscCall(QrbmEventsRegister());
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-reps", &reps, NULL));
  PetscCall(QrbmConfigSetFromOptions(PETSC_COMM_WORLD, &cfg));
  omp_set_num_threads((int)cfg.threads);
  PetscCall(QrbmFFTInitialize(cfg.threads));
  PetscCall(QrbmGridCreate(PETSC_COMM_WORLD, &cfg, &g));
  PetscCall(QrbmStateCreate(&g, &st));
  PetscCall(PetscMalloc2(g.Md, &phi, g.xlay.count, &ref));
  QrbmCoherentPacket(&g, cfg.hbar, cfg.init_q, cfg.init_p, phi);
  PetscCall(QrbmStateSetProduct(&st, phi));
  PetscCall(PetscArraycpy(ref, st.psi, g.xlay.count));
  PetscCall(QrbmPotentialCreate(&g, &cfg, 2, &pot)); /* one z, one pair weight: trap and pair tables */
  PetscCall(NaiveCreate(&g, &cfg, &nv));
  QrbmPairWeightsExact(g.N, &W);
  const qcomplex z = -I * cfg.dt;

  /* correctness: one step of each from the same state */
  PetscCall(QrbmPotentialApply(&pot, &W, z, st.psi));
  NaiveApply(&nv, z, ref);
  for (ptrdiff_t i = 0; i < g.xlay.count; i++) {
    diff = PetscMax(diff, cabs(st.psi[i] - ref[i]));
    amax = PetscMax(amax, cabs(ref[i]));
  }
  /* timings on the same array (phases have unit modulus: repeated application is harmless) */
  for (PetscInt k = 0; k < reps; k++) {
    double t = MPI_Wtime();
    PetscCall(QrbmPotentialApply(&pot, &W, z, st.psi));
    t_hoist = PetscMin(t_hoist, MPI_Wtime() - t);
    t = MPI_Wtime();
    NaiveApply(&nv, z, st.psi);
    t_naive = PetscMin(t_naive, MPI_Wtime() - t);
    t = MPI_Wtime();
    MemPass(g.xlay.count, cexp(-I * 1e-3), st.psi);
    t_mem = PetscMin(t_mem, MPI_Wtime() - t);
  }
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "bench_potential N=%" PetscInt_FMT " M=%" PetscInt_FMT " d=%" PetscInt_FMT " points=%.0f threads=%" PetscInt_FMT " reps=%" PetscInt_FMT " hoisted_s=%.6e naive_s=%.6e ratio_naive_over_hoisted=%.3f mempass_s=%.6e max_rel_diff=%.3e\n",
                        g.N, g.M, g.d, g.total, cfg.threads, reps, t_hoist, t_naive, t_naive / t_hoist, t_mem, amax > 0 ? diff / amax : diff));

  PetscCall(PetscFree2(nv.Vd, nv.U));
  PetscCall(PetscFree2(phi, ref));
  PetscCall(QrbmPotentialDestroy(&pot));
  PetscCall(QrbmStateDestroy(&st));
  PetscCall(QrbmGridDestroy(&g));
  PetscCall(PetscFinalize());
  return 0;
}
