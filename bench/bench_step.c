#define _POSIX_C_SOURCE 200809L /* clock_gettime */
/* Step cost against FFT cost, on one rank: the time of a steady-state step of the chosen -scheme
   against its FFT pairs, each at the price of one plain FFTW-MPI forward + backward transform of
   the whole array: one N d-dimensional plan each way with the transposed layouts and the planner
   qrbm uses (what qrbm's kinetic sub-step was before it fused the trailing axes with the phase).
   qrbm's own unfused pair (QrbmKineticForward + QrbmKineticBackward) is shown as well.

   Usage: bench_step [qrbm options: -particles -grid -dim -scheme -threads -fftw_planner ...]
                     [-reps R] [-nsteps n] [-clock wall|cpu]
   A steady-state step is (t(Advance(n + 1)) - t(Advance(1))) / n, which removes the chain's
   opening kinetic sub-step. Prints one line of key=value pairs (best of R after a warm-up):
     pairs (FFT pairs per step) fftw_pair_s (plain FFTW pair) pair_s (qrbm's unfused pair)
     kinetic_s (one fused kinetic sub-step) potential_s step_s
     step_over_pairs = step_s / (pairs x fftw_pair_s) */
#include <qrbm/events.h>
#include <qrbm/propagator.h>
#include <qrbm/wisdom.h>
#include <omp.h>
#include <string.h>
#include <time.h>

static double Best(double a, double b) { return a < b ? a : b; }

static void PotentialSlab(const void *ctx, ptrdiff_t x0, qcomplex *slab) { QrbmPotentialPhaseSlab((const QrbmPotentialPhase *)ctx, x0, slab); }

/* One rank: a kinetic sub-step with the potential stage folded into its last pass, as the
   propagator applies a potential stage after a kinetic one (0 when there is no one-rank path). */
static PetscErrorCode KineticPotential(QrbmKinetic *kin, QrbmPotential *pot, const QrbmPairWeights *W, qcomplex z, qcomplex *psi, double (*now)(void), double *t)
{
  QrbmPotentialPhase ph;
  PetscFunctionBeginUser;
  *t = 0;
  if (!kin->slab) PetscFunctionReturn(PETSC_SUCCESS);
  const double t0 = now();
  PetscCall(QrbmPotentialPhaseSetUp(pot, W, z, &ph));
  PetscCall(QrbmKineticStepThen(kin, z, psi, PotentialSlab, &ph));
  *t = now() - t0;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* -clock cpu: process CPU time (all threads) instead of wall time. On a shared machine the CPU time
   of a single-threaded run is far less disturbed by other jobs than its wall time. */
static PetscBool cpu_clock = PETSC_FALSE;
static double    Now(void)
{
  struct timespec t;
  if (!cpu_clock) return MPI_Wtime();
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* The plain pair: N d-dimensional FFTW-MPI plans on a scratch array of the slab's size. */
static PetscErrorCode PlainPair(const QrbmGrid *g, const QrbmConfig *cfg, fftw_complex *a, fftw_plan *p)
{
  static const unsigned effort[] = {FFTW_ESTIMATE, FFTW_MEASURE, FFTW_PATIENT};
  const unsigned        tout = g->D >= 2 ? FFTW_MPI_TRANSPOSED_OUT : 0, tin = g->D >= 2 ? FFTW_MPI_TRANSPOSED_IN : 0;
  PetscFunctionBeginUser;
  QrbmCallFFTW(p[0], fftw_mpi_plan_many_dft(g->nfft, g->nglob, 1, FFTW_MPI_DEFAULT_BLOCK, FFTW_MPI_DEFAULT_BLOCK, a, a, g->comm, FFTW_FORWARD, effort[cfg->planner] | tout));
  QrbmCallFFTW(p[1], fftw_mpi_plan_many_dft(g->nfft, g->nglob, 1, FFTW_MPI_DEFAULT_BLOCK, FFTW_MPI_DEFAULT_BLOCK, a, a, g->comm, FFTW_BACKWARD, effort[cfg->planner] | tin));
  for (ptrdiff_t i = 0; i < g->xlay.count; i++) a[i] = 1.0 + 1.0 * I;
  PetscFunctionReturn(PETSC_SUCCESS);
}

int main(int argc, char **argv)
{
  QrbmConfig      cfg;
  QrbmGrid        g;
  QrbmState       st;
  QrbmKinetic     kin;
  QrbmPotential   pot;
  QrbmPropagator  pr;
  QrbmPairWeights W;
  qcomplex       *phi;
  PetscInt        reps = 3, n = 4;
  PetscInt64      done;
  fftw_complex   *plain;
  fftw_plan       pp[2];
  QrbmWisdom      wis;
  ptrdiff_t       na, n0, s0, n1, s1;
  double          t_fftw = 1e300, t_pair = 1e300, t_kin = 1e300, t_pot = 1e300, t_1 = 1e300, t_n = 1e300, t_plk = 1e300, t_kp = 1e300;

  PetscCall(PetscInitialize(&argc, &argv, NULL, "qrbm step benchmark\n"));
  PetscCall(QrbmEventsRegister());
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-reps", &reps, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-nsteps", &n, NULL));
  {
    char      clk[8] = "wall";
    PetscCall(PetscOptionsGetString(NULL, NULL, "-clock", clk, sizeof(clk), NULL));
    cpu_clock = strcmp(clk, "cpu") ? PETSC_FALSE : PETSC_TRUE;
  }
  PetscCall(QrbmConfigSetFromOptions(PETSC_COMM_WORLD, &cfg));
  const QrbmScheme *sc = QrbmSchemeGet(cfg.scheme);
  cfg.quiet = PETSC_TRUE;
  omp_set_num_threads((int)cfg.threads);
  PetscCall(QrbmFFTInitialize(cfg.threads));
  PetscCall(QrbmGridCreate(PETSC_COMM_WORLD, &cfg, &g));
  PetscCall(QrbmStateCreate(&g, &st));
  PetscCall(QrbmWisdomLoad(PETSC_COMM_WORLD, &cfg, &g, PETSC_FALSE, &wis)); /* the run's wisdom cache: no re-planning per scheme */
  PetscCall(QrbmKineticCreate(&g, &cfg, st.psi, &kin));
  PetscCall(QrbmPotentialCreate(&g, &cfg, QrbmPropagatorPhaseTables(&cfg, NULL) + 2, &pot)); /* + the bare potential step's */
  PetscCall(QrbmPropagatorCreate(&cfg, &g, &st, &kin, &pot, &pr));
  if (QrbmSchemeNeedsGradient(sc)) PetscCall(QrbmPotentialSetUpGradient(&pot, &cfg, PETSC_TRUE));
  QrbmPairWeightsExact(g.N, &W);
  na    = fftw_mpi_local_size_many_transposed(g.nfft, g.nglob, 1, FFTW_MPI_DEFAULT_BLOCK, FFTW_MPI_DEFAULT_BLOCK, g.comm, &n0, &s0, &n1, &s1);
  plain = fftw_alloc_complex((size_t)PetscMax(na, 1));
  PetscCheck(plain, PETSC_COMM_SELF, PETSC_ERR_MEM, "cannot allocate the plain FFT array");
  PetscCall(PlainPair(&g, &cfg, plain, pp));
  PetscCall(QrbmWisdomSave(PETSC_COMM_WORLD, &g, &wis));
  PetscCall(PetscMalloc1(g.Md, &phi));
  QrbmCoherentPacket(&g, cfg.hbar, cfg.init_q, cfg.init_p, phi);
  PetscCall(QrbmStateSetProduct(&st, phi));
  const qcomplex z = -I * cfg.dt;
  for (PetscInt k = 0; k <= reps; k++) { /* k = 0: warm-up */
    double tp = Now(), t0, t1, t2, t3, t4, t5, t6, tkp;
    fftw_mpi_execute_dft(pp[0], plain, plain);
    fftw_mpi_execute_dft(pp[1], plain, plain);
    t0 = Now();
    PetscCall(QrbmKineticForward(&kin, st.psi));
    PetscCall(QrbmKineticBackward(&kin, st.psi));
    t1 = Now();
    PetscCall(QrbmStateScale(&st, 1.0 / g.total)); /* undo the unnormalised pair */
    t2 = Now();
    PetscCall(QrbmKineticStep(&kin, z, st.psi));
    t3 = Now();
    PetscCall(QrbmPotentialApply(&pot, &W, z, st.psi));
    t4 = Now();
    PetscCall(KineticPotential(&kin, &pot, &W, z, st.psi, Now, &tkp));
    const double t4b = Now();
    PetscCall(QrbmPropagatorAdvance(pr, 1, NULL, &done));
    t5 = Now();
    PetscCall(QrbmPropagatorAdvance(pr, n + 1, NULL, &done));
    t6 = Now();
    fftw_mpi_execute_dft(pp[0], plain, plain);
    PetscCall(QrbmKineticPhase(&kin, z, (qcomplex *)plain));
    fftw_mpi_execute_dft(pp[1], plain, plain);
    if (!k) continue;
    t_fftw = Best(t_fftw, t0 - tp);
    t_pair = Best(t_pair, t1 - t0);
    t_kin  = Best(t_kin, t3 - t2);
    t_pot  = Best(t_pot, t4 - t3);
    t_1    = Best(t_1, t5 - t4b);
    t_n    = Best(t_n, t6 - t5);
    t_plk  = Best(t_plk, Now() - t6);
    t_kp   = Best(t_kp, tkp);
  }
  const double step = (t_n - t_1) / (double)n;
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "bench_step clock=%s N=%" PetscInt_FMT " M=%" PetscInt_FMT " d=%" PetscInt_FMT " scheme=%s threads=%" PetscInt_FMT " pairs=%d fftw_pair_s=%.6e pair_s=%.6e kinetic_s=%.6e plain_kinetic_s=%.6e kinetic_potential_s=%.6e potential_s=%.6e step_s=%.6e step_over_pairs=%.4f\n",
                        cpu_clock ? "cpu" : "wall", g.N, g.M, g.d, sc->name, cfg.threads, QrbmSchemePairs(sc), t_fftw, t_pair, t_kin, t_plk, t_kp, t_pot, step, step / (QrbmSchemePairs(sc) * t_fftw)));
  fftw_destroy_plan(pp[0]);
  fftw_destroy_plan(pp[1]);
  fftw_free(plain);
  PetscCall(PetscFree(phi));
  PetscCall(QrbmPropagatorDestroy(&pr));
  PetscCall(QrbmPotentialDestroy(&pot));
  PetscCall(QrbmKineticDestroy(&kin));
  PetscCall(QrbmWisdomDestroy(&wis));
  PetscCall(QrbmStateDestroy(&st));
  PetscCall(QrbmGridDestroy(&g));
  PetscCall(PetscFinalize());
  return 0;
}
