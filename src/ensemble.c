/* Runs: one exact trajectory, an ensemble of sampled random batch realisations, or the exact
   expectation over every pairing sequence. Realisations are spread over rank groups; each
   group owns a grid (its own FFTW-MPI slabs) and runs its realisations one after another. */
#include <qrbm/ensemble.h>
#include <qrbm/events.h>
#include <math.h>
#include <omp.h>
#include <string.h>

PetscErrorCode QrbmEnsembleSplit(MPI_Comm world, const QrbmConfig *cfg, QrbmEnsembleComm *ec)
{
  PetscInt g = cfg->ranks_per_realization;
  PetscFunctionBeginUser;
  ec->world = world;
  PetscCallMPI(MPI_Comm_rank(world, &ec->wrank));
  PetscCallMPI(MPI_Comm_size(world, &ec->wsize));
  if (g == 0) {
    const double points = pow((double)cfg->grid, (double)(cfg->particles * cfg->dim));
    const double want   = PetscMax(ceil(points / 4194304.0), ceil((double)ec->wsize / cfg->realizations));
    for (g = 1; g < ec->wsize && (g < want || ec->wsize % g); g++) {}
    g = PetscMin(g, cfg->grid);
    while (ec->wsize % g) g--;
  }
  PetscCheck(g >= 1 && g <= ec->wsize && ec->wsize % g == 0, world, PETSC_ERR_ARG_OUTOFRANGE,
             "-ranks_per_realization %" PetscInt_FMT " must divide the rank count %d", g, ec->wsize);
  ec->ngroups = ec->wsize / (int)g;
  ec->color   = ec->wrank / (int)g;
  PetscCallMPI(MPI_Comm_split(world, ec->color, ec->wrank, &ec->group));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode InitialState(QrbmRun *r)
{
  const QrbmConfig *c = &r->cfg;
  const QrbmGrid   *g = &r->grid;
  qcomplex         *phi[QRBM_MAX_PARTICLES] = {NULL};
  double            norm;
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(QRBM_EVENT_INIT, 0, 0, 0, 0));
  for (PetscInt k = 0; k < c->ninit; k++) {
    PetscCall(PetscMalloc1(g->Md, &phi[k]));
    QrbmCoherentPacket(g, c->hbar, c->init_q + k * c->dim, c->init_p + k * c->dim, phi[k]);
  }
  if (c->init == QRBM_INIT_SYMMETRIZED) PetscCall(QrbmStateSetSymmetrized(&r->state, (const qcomplex *const *)phi));
  else {
    PetscCall(QrbmStateSetProduct(&r->state, phi[0]));
    PetscCall(QrbmStateNorm(&r->state, &norm)); /* the discrete norm differs from 1 by the mesh error */
    PetscCall(QrbmStateScale(&r->state, 1 / sqrt(norm)));
  }
  for (PetscInt k = 0; k < c->ninit; k++) PetscCall(PetscFree(phi[k]));
  if (c->init == QRBM_INIT_GROUND) PetscCall(QrbmPropagatorGroundState(&r->prop, &r->obs));
  PetscCall(PetscLogEventEnd(QRBM_EVENT_INIT, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscInt Intervals(const QrbmConfig *c) { return (c->nsteps + c->rb_steps - 1) / c->rb_steps; }

/* State copies kept besides psi: the initial state when a group runs several realisations, and
   one state per interval depth when enumerating. */
static PetscInt ExtraStates(const QrbmRun *r)
{
  if (r->cfg.expectation == QRBM_EXPECT_ENUMERATE) return Intervals(&r->cfg) + 1;
  return r->cfg.realizations > r->ec.ngroups ? 1 : 0;
}

PetscErrorCode QrbmRunSetUp(QrbmRun *r)
{
  QrbmConfig *c = &r->cfg;
  PetscFunctionBeginUser;
  PetscCall(PetscLogStagePush(QRBM_STAGE_SETUP));
  omp_set_num_threads((int)c->threads);
  PetscCall(QrbmFFTInitialize(c->threads));
  PetscCall(QrbmEnsembleSplit(PETSC_COMM_WORLD, c, &r->ec));
  PetscCall(QrbmGridCreate(r->ec.group, c, &r->grid));
  PetscCall(QrbmGridCheckMemory(&r->grid, c, ExtraStates(r)));
  PetscCall(QrbmStateCreate(&r->grid, &r->state));
  PetscCall(QrbmKineticCreate(&r->grid, c, r->state.psi, &r->kin));
  PetscCall(QrbmPotentialCreate(&r->grid, c, &r->pot));
  PetscCall(QrbmObservablesCreate(&r->grid, c->hbar, &r->obs));
  PetscCall(QrbmRecordCreate(&r->grid, &r->rec));
  PetscCall(QrbmPropagatorCreate(c, &r->grid, &r->state, &r->kin, &r->pot, &r->prop));
  r->ntimes = (c->nsteps + c->output_interval - 1) / c->output_interval + 1;
  PetscCall(PetscMalloc2(r->ntimes, &r->tsteps, r->ntimes * r->rec.len, &r->rows));
  for (PetscInt i = 0; i < r->ntimes; i++) r->tsteps[i] = PetscMin(i * c->output_interval, c->nsteps);
  PetscCall(PetscLogStagePop());
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmRunDestroy(QrbmRun *r)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree2(r->tsteps, r->rows));
  PetscCall(QrbmObservablesDestroy(&r->obs));
  PetscCall(QrbmPotentialDestroy(&r->pot));
  PetscCall(QrbmKineticDestroy(&r->kin));
  PetscCall(QrbmStateDestroy(&r->state));
  PetscCall(QrbmGridDestroy(&r->grid));
  if (r->ec.group != MPI_COMM_NULL && r->ec.group) PetscCallMPI(MPI_Comm_free(&r->ec.group));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* One trajectory from the current state: measures every output time into r->rows; with append,
   each row goes to the output as soon as it is measured (single-trajectory runs). */
static PetscErrorCode Trajectory(QrbmRun *r, PetscInt realization, PetscBool append, const double *zeros)
{
  QrbmPropagator *pr = &r->prop;
  PetscFunctionBeginUser;
  pr->step = 0; pr->realization = realization;
  for (PetscInt i = 0; i < r->ntimes; i++) {
    double *row = r->rows + i * r->rec.len;
    if (i == 0) PetscCall(QrbmPropagatorMeasure(pr, &r->obs));
    else PetscCall(QrbmPropagatorAdvance(pr, r->tsteps[i] - r->tsteps[i - 1], &r->obs));
    QrbmObservablesPack(&r->obs, &r->grid, row);
    if (append) PetscCall(QrbmOutputAppend(&r->out, 1, row, zeros));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Chan et al.'s pairwise update of (count, mean, sum of squared deviations). */
static void WelfordMerge(PetscInt len, double na, double *ma, double *m2a, double nb, const double *mb, const double *m2b)
{
  const double n = na + nb;
  if (nb == 0) return;
  for (PetscInt j = 0; j < len; j++) {
    const double delta = mb[j] - ma[j];
    ma[j] += delta * nb / n;
    m2a[j] += m2b[j] + delta * delta * na * nb / n;
  }
}

/* Gathers every group's (count, mean, M2) on world rank 0 and merges them in group order. */
static PetscErrorCode CombineGroups(QrbmRun *r, double n, double *mean, double *m2, double *stderr)
{
  const PetscInt len = r->ntimes * r->rec.len;
  double        *all = NULL, *counts = NULL, ntot = 0;
  PetscFunctionBeginUser;
  if (r->ec.wrank == 0) PetscCall(PetscMalloc2((size_t)r->ec.wsize * 2 * len, &all, r->ec.wsize, &counts));
  PetscCallMPI(MPI_Gather(&n, 1, MPI_DOUBLE, counts, 1, MPI_DOUBLE, 0, r->ec.world));
  PetscCall(PetscArraycpy(stderr, m2, len)); /* send buffer: mean then M2 */
  double *send;
  PetscCall(PetscMalloc1(2 * len, &send));
  PetscCall(PetscArraycpy(send, mean, len));
  PetscCall(PetscArraycpy(send + len, m2, len));
  PetscCallMPI(MPI_Gather(send, (PetscMPIInt)(2 * len), MPI_DOUBLE, all, (PetscMPIInt)(2 * len), MPI_DOUBLE, 0, r->ec.world));
  PetscCall(PetscFree(send));
  if (r->ec.wrank == 0) {
    PetscCall(PetscArrayzero(mean, len));
    PetscCall(PetscArrayzero(m2, len));
    for (int k = 0; k < r->ec.wsize; k++) {
      WelfordMerge(len, ntot, mean, m2, counts[k], all + (size_t)k * 2 * len, all + (size_t)k * 2 * len + len);
      ntot += counts[k];
    }
    for (PetscInt j = 0; j < len; j++) stderr[j] = ntot > 1 ? sqrt(m2[j] / (ntot - 1) / ntot) : 0;
    PetscCall(PetscFree2(all, counts));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode ReportRealization(QrbmRun *r, PetscInt done, PetscInt mine, PetscInt k)
{
  PetscFunctionBeginUser;
  if (r->cfg.quiet || r->cfg.realizations == 1) PetscFunctionReturn(PETSC_SUCCESS);
  const double wall = MPI_Wtime() - r->wall;
  PetscCall(PetscPrintf(r->ec.world, "realisation %6" PetscInt_FMT " done: about %" PetscInt_FMT "/%" PetscInt_FMT " (%d groups)  wall %9.2f s  ETA %9.2f s\n", k,
                        PetscMin(done * r->ec.ngroups, r->cfg.realizations), r->cfg.realizations, r->ec.ngroups, wall, wall / done * (mine - done)));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Sampled realisations k = color, color + ngroups, ...; statistics merged at the end. */
static PetscErrorCode Sample(QrbmRun *r, double *mean, double *stderr)
{
  const QrbmConfig *c      = &r->cfg;
  const PetscInt    len    = r->ntimes * r->rec.len;
  const PetscBool   single = c->realizations == 1 && r->ec.ngroups == 1, root = r->grid.rank == 0;
  qcomplex         *psi0   = NULL;
  double           *m2, *zeros, n = 0;
  PetscInt          done = 0, mine = 0;
  PetscFunctionBeginUser;
  PetscCall(PetscCalloc2(len, &m2, r->rec.len, &zeros));
  PetscCall(PetscArrayzero(mean, len));
  if (ExtraStates(r)) {
    PetscCall(PetscMalloc1(r->grid.xlay.count, &psi0));
    PetscCall(PetscArraycpy(psi0, r->state.psi, r->grid.xlay.count));
  }
  if (c->record_pairings) PetscCall(PetscCalloc1(Intervals(c) * c->particles, &r->prop.perms));
  r->prop.draw = c->method == QRBM_METHOD_RBM;
  for (PetscInt k = r->ec.color; k < c->realizations; k += r->ec.ngroups) mine++;
  for (PetscInt k = r->ec.color; k < c->realizations; k += r->ec.ngroups) {
    if (psi0) PetscCall(PetscArraycpy(r->state.psi, psi0, r->grid.xlay.count));
    PetscCall(Trajectory(r, k, single, zeros));
    if (root) {
      n += 1;
      for (PetscInt j = 0; j < len; j++) { /* Welford's update */
        const double delta = r->rows[j] - mean[j];
        mean[j] += delta / n;
        m2[j] += delta * (r->rows[j] - mean[j]);
      }
    }
    if (root && c->save_realizations) PetscCall(QrbmOutputWriteRealization(&r->out, k, r->rows));
    if (root && c->record_pairings) PetscCall(QrbmOutputWritePairings(&r->out, k, r->prop.perms));
    PetscCall(ReportRealization(r, ++done, mine, k));
  }
  PetscCall(CombineGroups(r, n, mean, m2, stderr));
  PetscCall(PetscFree(r->prop.perms));
  PetscCall(PetscFree(psi0));
  PetscCall(PetscFree2(m2, zeros));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Exact expectation over pairing sequences: depth-first over the tree of partitions, sharing
   common prefixes; stack[j] holds the state at the start of interval j. */
typedef struct {
  PetscInt     npart, nint;
  PetscInt    *parts;  /* npart partitions, N labels each */
  qcomplex   **stack;
  long double *sum;    /* probability-weighted sums of the records */
  PetscInt     leaves_done;
} Enumeration;

static PetscErrorCode Branch(QrbmRun *r, Enumeration *e, PetscInt j, long double weight)
{
  const QrbmConfig *c = &r->cfg;
  const PetscInt    first = j * c->rb_steps, last = PetscMin(first + c->rb_steps, c->nsteps), cnt = r->grid.xlay.count;
  PetscFunctionBeginUser;
  for (PetscInt b = 0; b < e->npart; b++) {
    if (j == 0 && b % r->ec.ngroups != r->ec.color) continue;
    PetscInt cur = first;
    PetscCall(PetscArraycpy(r->state.psi, e->stack[j], cnt));
    QrbmBatchWeights(c->particles, c->batch_size, e->parts + b * c->particles, &r->prop.W);
    r->prop.step = first;
    for (PetscInt i = 1; i < r->ntimes; i++) {
      if (r->tsteps[i] <= first || r->tsteps[i] > last) continue;
      PetscCall(QrbmPropagatorAdvance(&r->prop, r->tsteps[i] - cur, &r->obs));
      cur = r->tsteps[i];
      QrbmObservablesPack(&r->obs, &r->grid, r->rows);
      for (PetscInt k = 0; k < r->rec.len; k++) e->sum[i * r->rec.len + k] += weight / e->npart * r->rows[k];
    }
    if (cur < last) PetscCall(QrbmPropagatorAdvance(&r->prop, last - cur, NULL));
    if (j + 1 < e->nint) {
      PetscCall(PetscArraycpy(e->stack[j + 1], r->state.psi, cnt));
      PetscCall(Branch(r, e, j + 1, weight / e->npart));
    }
    if (j == 0) PetscCall(ReportRealization(r, ++e->leaves_done, (e->npart + r->ec.ngroups - 1 - r->ec.color) / r->ec.ngroups, b));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Enumerate(QrbmRun *r, double *mean, double *stderr)
{
  const QrbmConfig *c   = &r->cfg;
  const PetscInt    len = r->ntimes * r->rec.len;
  Enumeration       e   = {0};
  PetscFunctionBeginUser;
  e.nint = Intervals(c);
  const double npart = QrbmBatchCountPartitions(c->particles, c->batch_size), nseq = pow(npart, (double)e.nint);
  PetscCall(PetscPrintf(r->ec.world, "rb_expectation enumerate: %g partitions per interval, %" PetscInt_FMT " intervals: %g pairing sequences\n", npart, e.nint, nseq));
  PetscCheck(nseq <= c->enumerate_limit, r->ec.world, PETSC_ERR_ARG_OUTOFRANGE,
             "-rb_expectation enumerate: %g pairing sequences exceed -rb_enumerate_limit %g: use fewer intervals (-rb_dt, -t_final) or -rb_expectation sample", nseq, (double)c->enumerate_limit);
  e.npart = (PetscInt)npart;
  PetscCall(PetscMalloc1(e.npart * c->particles, &e.parts));
  PetscCall(QrbmBatchEnumeratePartitions(c->particles, c->batch_size, e.parts, &e.npart));
  PetscCall(PetscCalloc1(len, &e.sum));
  PetscCall(PetscMalloc1(e.nint, &e.stack));
  for (PetscInt j = 0; j < e.nint; j++) PetscCall(PetscMalloc1(r->grid.xlay.count, &e.stack[j]));
  r->prop.draw = PETSC_FALSE;
  r->prop.step = 0;
  PetscCall(QrbmPropagatorMeasure(&r->prop, &r->obs));
  if (r->ec.color == 0) {
    QrbmObservablesPack(&r->obs, &r->grid, r->rows);
    for (PetscInt k = 0; k < r->rec.len; k++) e.sum[k] = r->rows[k];
  }
  PetscCall(PetscArraycpy(e.stack[0], r->state.psi, r->grid.xlay.count));
  PetscCall(Branch(r, &e, 0, 1.0L));
  if (r->grid.rank != 0) PetscCall(PetscArrayzero(e.sum, len)); /* one contribution per group */
  PetscCallMPI(MPI_Reduce(r->ec.wrank ? e.sum : MPI_IN_PLACE, e.sum, (PetscMPIInt)len, MPI_LONG_DOUBLE, MPI_SUM, 0, r->ec.world));
  for (PetscInt k = 0; k < len; k++) {
    mean[k]   = (double)e.sum[k];
    stderr[k] = 0; /* an exact expectation has no sampling error */
  }
  for (PetscInt j = 0; j < e.nint; j++) PetscCall(PetscFree(e.stack[j]));
  PetscCall(PetscFree(e.stack));
  PetscCall(PetscFree(e.sum));
  PetscCall(PetscFree(e.parts));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Summary(QrbmRun *r, const double *mean, const double *stderr)
{
  const QrbmConfig *c = &r->cfg;
  const double     *f0 = mean, *f1 = mean + (r->ntimes - 1) * r->rec.len, *s1 = stderr + (r->ntimes - 1) * r->rec.len;
  PetscFunctionBeginUser;
  if (c->quiet) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscPrintf(r->ec.world, "qrbm %s: %s, N=%" PetscInt_FMT " d=%" PetscInt_FMT " M=%" PetscInt_FMT " (%g points), %s, %" PetscInt_FMT " steps, %d ranks = %d groups x %d, %" PetscInt_FMT " threads, %.2f s\n",
                        QRBM_VERSION, QrbmMethodNames[c->method], r->grid.N, r->grid.d, r->grid.M, r->grid.total, QrbmSchemeNames[c->scheme], c->nsteps, r->ec.wsize, r->ec.ngroups, r->grid.size, c->threads, r->wall));
  if (c->method == QRBM_METHOD_RBM && c->expectation == QRBM_EXPECT_SAMPLE)
    PetscCall(PetscPrintf(r->ec.world, "random batches: P=%" PetscInt_FMT ", Dt=%g, mean of %" PetscInt_FMT " sampled realisations (seed %" PetscInt_FMT ") +- standard error\n", c->batch_size, (double)c->rb_dt, c->realizations, c->seed));
  if (c->expectation == QRBM_EXPECT_ENUMERATE)
    PetscCall(PetscPrintf(r->ec.world, "random batches: P=%" PetscInt_FMT ", Dt=%g, exact expectation over every pairing sequence\n", c->batch_size, (double)c->rb_dt));
  PetscCall(PetscPrintf(r->ec.world, "t = %g: norm %.15f (drift %.2e), energy %.12g +- %.2e (drift %.2e), <x^2> %.8g +- %.2e, <p^2> %.8g +- %.2e\n", f1[0], f1[2], f1[2] - f0[2], f1[3], s1[3], f1[3] - f0[3], f1[7], s1[7], f1[8], s1[8]));
  PetscCall(PetscPrintf(r->ec.world, "output: %s (%" PetscInt_FMT " output times)\n", c->output, r->ntimes));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmRunExecute(QrbmRun *r)
{
  const QrbmConfig *c   = &r->cfg;
  const PetscInt    len = r->ntimes * r->rec.len;
  const PetscBool   single = c->realizations == 1 && r->ec.ngroups == 1 && c->expectation == QRBM_EXPECT_SAMPLE;
  double           *mean, *stderr;
  PetscFunctionBeginUser;
  PetscCall(PetscLogStagePush(QRBM_STAGE_INIT));
  PetscCall(InitialState(r));
  PetscCall(PetscLogStagePop());
  PetscCall(QrbmOutputCreate(r->ec.world, &r->grid, c, &r->rec, r->obs.pgrid, (hsize_t)r->ntimes, (hsize_t)Intervals(c), &r->out));
  PetscCall(PetscMalloc2(len, &mean, len, &stderr));
  PetscCall(PetscLogStagePush(QRBM_STAGE_TIMELOOP));
  r->wall = MPI_Wtime();
  if (c->expectation == QRBM_EXPECT_ENUMERATE) PetscCall(Enumerate(r, mean, stderr));
  else PetscCall(Sample(r, mean, stderr));
  r->wall = MPI_Wtime() - r->wall;
  PetscCall(PetscLogStagePop());
  for (PetscInt i = 0; i < r->ntimes; i++) { /* exact times, not averages of them */
    mean[i * r->rec.len]     = r->tsteps[i] * c->dt;
    mean[i * r->rec.len + 1] = (double)r->tsteps[i];
  }
  if (!single) PetscCall(QrbmOutputAppend(&r->out, r->ntimes, mean, stderr));
  PetscCall(QrbmOutputClose(&r->out, PETSC_TRUE));
  PetscCall(Summary(r, mean, stderr));
  PetscCall(PetscFree2(mean, stderr));
  PetscFunctionReturn(PETSC_SUCCESS);
}
