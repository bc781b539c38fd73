/* Runs: one exact trajectory, an ensemble of sampled random batch realisations, or the exact
   expectation over every pairing sequence. Realisations are spread over rank groups; each
   group owns a grid (its own FFTW-MPI slabs) and runs its realisations one after another. */
#include <qrbm/checkpoint.h>
#include <qrbm/ensemble.h>
#include <qrbm/agree.h>
#include <qrbm/events.h>
#include <qrbm/identity.h>
#include <qrbm/rdm.h>
#include <qrbm/report.h>
#include <qrbm/signals.h>
#include <qrbm/stats.h>
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
  const double work = cfg->expectation == QRBM_EXPECT_ENUMERATE ? QrbmBatchCountPartitions(cfg->particles, cfg->batch_size) : (double)cfg->realizations;
  PetscCheck(ec->ngroups <= work, world, PETSC_ERR_ARG_OUTOFRANGE,
             "%d ranks in groups of %" PetscInt_FMT " make %d groups but there are only %g %s to share: a grid of -grid %" PetscInt_FMT " uses at most %" PetscInt_FMT " ranks; run with fewer ranks, use -threads, or raise -realizations",
             ec->wsize, g, ec->ngroups, work, cfg->expectation == QRBM_EXPECT_ENUMERATE ? "first-interval pairings" : "realisations", cfg->grid, cfg->grid);
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
    PetscCall(QrbmCoherentPacketNormalize(g, c->hbar, k, phi[k])); /* before the product, which may underflow */
  }
  if (c->init == QRBM_INIT_SYMMETRIZED) PetscCall(QrbmStateSetSymmetrized(&r->state, (const qcomplex *const *)phi));
  else {
    PetscCall(QrbmStateSetProduct(&r->state, phi[0]));
    PetscCall(QrbmStateNorm(&r->state, &norm)); /* a product of normalised packets: 1 up to rounding */
    PetscCheck(PetscIsNormalReal(norm) && fabs(norm - 1) <= 1e-10, g->comm, PETSC_ERR_ARG_OUTOFRANGE,
               "-init %s: the product of %" PetscInt_FMT " normalised packets has norm %g on the grid instead of 1: -hbar %g is too small for the mesh h = -box/-grid = %g or the -init_q/-init_p packet is not resolved",
               QrbmInitNames[c->init], g->N, norm, (double)c->hbar, g->h);
    PetscCall(QrbmStateScale(&r->state, 1 / sqrt(norm)));
  }
  for (PetscInt k = 0; k < c->ninit; k++) PetscCall(PetscFree(phi[k]));
  if (c->init == QRBM_INIT_GROUND) PetscCall(QrbmPropagatorGroundState(r->prop, &r->obs));
  PetscCall(PetscLogEventEnd(QRBM_EVENT_INIT, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Steps between progress lines of a single trajectory (0: none: ensembles report realisations). */
static PetscInt64 Progress(const QrbmConfig *c)
{
  if (c->quiet || c->realizations > 1 || c->expectation == QRBM_EXPECT_ENUMERATE) return 0;
  return c->progress_interval ? c->progress_interval : PetscMax(1, c->nsteps / 10);
}

static PetscInt64 Intervals(const QrbmConfig *c) { return (c->nsteps + c->rb_steps - 1) / c->rb_steps; }

static PetscErrorCode ReportRealization(QrbmRun *r, PetscInt done, PetscInt mine, PetscInt k)
{
  PetscFunctionBeginUser;
  if (r->cfg.quiet || r->cfg.realizations == 1) PetscFunctionReturn(PETSC_SUCCESS);
  const double wall = MPI_Wtime() - r->wall;
  if (k == -1) PetscCall(PetscPrintf(r->ec.world, "exact reference done (group 0)\n"));
  if (k < 0) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscPrintf(r->ec.world, "realisation %6" PetscInt_FMT " done: about %" PetscInt_FMT "/%" PetscInt_FMT " (%d groups)  wall %9.2f s  ETA %9.2f s\n", k,
                        PetscMin(done * r->ec.ngroups, r->cfg.realizations), r->cfg.realizations, r->ec.ngroups, wall, wall / done * (mine - done)));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Builds the lockstep schedule: runs of resumed items with equal start step fill rounds of
   ngroups items (item i of a run goes to group i mod ngroups), then the fresh realisations, in
   index order, fill the remaining rounds. With the split of the checkpoint this reproduces the
   uninterrupted assignment (realisation k on group k mod ngroups). */
static PetscErrorCode BuildSchedule(QrbmRun *r)
{
  const PetscInt G = r->ec.ngroups;
  PetscInt       nres = 0, nr = 0;
  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < r->nitems; i++) nres += r->items[i].resumed ? 1 : 0;
  PetscCall(PetscMalloc2(r->nitems + 1, &r->round_step, (r->nitems + 1) * G, &r->round_item));
  for (PetscInt i = 0; i < r->nitems;) {
    PetscInt run = 1;
    if (i < nres)
      while (i + run < nres && run < G && r->items[i + run].step == r->items[i].step) run++;
    else run = PetscMin(G, r->nitems - i);
    r->round_step[nr] = r->items[i].step;
    for (PetscInt c = 0; c < G; c++) r->round_item[nr * G + c] = c < run ? i + c : -1;
    nr++;
    i += run;
  }
  r->nrounds = nr;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* A fresh run: every realisation from the initial state. */
static PetscErrorCode FreshItems(QrbmRun *r)
{
  const PetscInt ref = r->cfg.reference == QRBM_REFERENCE_EXACT ? 1 : 0;
  PetscFunctionBeginUser;
  r->nitems = r->cfg.realizations + ref;
  PetscCall(PetscCalloc1(r->nitems, &r->items));
  for (PetscInt k = 0; k < r->nitems; k++) r->items[k].k = k - ref; /* k = -1: the exact reference */
  PetscCall(PetscCalloc1(r->cfg.realizations, &r->done));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Items of the schedule that this group runs, and how many of them start from the initial state. */
static void MyItems(const QrbmRun *r, PetscInt *mine, PetscInt *fresh)
{
  *mine = *fresh = 0;
  for (PetscInt k = 0; k < r->nrounds; k++) {
    const PetscInt it = r->round_item[k * r->ec.ngroups + r->ec.color];
    if (it < 0) continue;
    (*mine)++;
    if (!r->items[it].resumed) (*fresh)++;
  }
}

/* State copies kept besides psi: the initial state when this group runs it more than once or after
   a resumed item, the resumed states, and one state per interval depth when enumerating. */
static PetscInt ExtraStates(const QrbmRun *r, PetscBool *keep_psi0)
{
  PetscInt mine, fresh;
  *keep_psi0 = PETSC_FALSE;
  if (r->cfg.expectation == QRBM_EXPECT_ENUMERATE) return (PetscInt)PetscMin(Intervals(&r->cfg), PETSC_MAX_INT); /* too many: refused by the memory check */
  MyItems(r, &mine, &fresh);
  *keep_psi0 = fresh > 0 && mine > 1 ? PETSC_TRUE : PETSC_FALSE;
  return (*keep_psi0 ? 1 : 0) + (mine - fresh);
}

/* The run as the checkpoint module sees it; the caller fills in items and done. */
static void CheckpointView(QrbmRun *r, QrbmCheckpointState *st)
{
  memset(st, 0, sizeof(*st));
  st->world = r->ec.world; st->wrank = r->ec.wrank; st->wsize = r->ec.wsize;
  st->ngroups = r->ec.ngroups; st->color = r->ec.color;
  st->grid = &r->grid; st->cfg = &r->cfg;
  st->nsteps = r->cfg.nsteps; st->ntimes = r->ntimes; st->reclen = r->rec.len;
  st->rows_written = r->rows_written; st->tsteps = r->tsteps;
  st->ref_done = r->ref_done; st->ref_rows = r->ref_rows; st->ref_held = r->ref_held;
  st->acc_n = r->acc_n; st->acc_mean = r->acc_mean; st->acc_m2 = r->acc_m2;
  st->nbatch = r->nbatch; st->bcount = r->bcount; st->bsum = r->bsum;
  st->round = r->round; st->step = r->cur_step;
  st->output_sum = r->out.sum;
}

/* The checkpoint's view of an item run by group c: in the round being run (cur), at the current
   step with the current state and records. */
static QrbmCheckpointItem CheckpointItem(const QrbmRun *r, const QrbmItem *item, int c, PetscBool cur)
{
  return (QrbmCheckpointItem){item->k, cur ? r->cur_step : item->step, cur ? r->cur_pending : item->pending, c == r->ec.color, cur ? r->state.psi : item->psi, cur ? r->rows : item->rows};
}

/* Calls fn for every scheduled item (round q, group c, item index it), round by round. */
typedef PetscErrorCode (*ScheduledFn)(QrbmRun *r, QrbmCheckpointState *st, PetscInt q, int c, PetscInt it);
static PetscErrorCode ForEachScheduled(QrbmRun *r, QrbmCheckpointState *st, ScheduledFn fn)
{
  const int G = r->ec.ngroups;
  PetscFunctionBeginUser;
  for (PetscInt q = 0; q < r->nrounds; q++)
    for (int c = 0; c < G; c++)
      if (r->round_item[q * G + c] >= 0) PetscCall(fn(r, st, q, c, r->round_item[q * G + c]));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Items of earlier rounds are complete; those of the current round and resumed later ones are saved. */
static PetscErrorCode SaveItem(QrbmRun *r, QrbmCheckpointState *st, PetscInt q, int c, PetscInt it)
{
  const QrbmItem *item = &r->items[it];
  PetscFunctionBeginUser;
  if (q < r->round && item->k < 0) st->ref_done = PETSC_TRUE;
  else if (q < r->round) st->done[item->k] = 1;
  else if (q == r->round || item->resumed) st->items[st->nitems++] = CheckpointItem(r, item, c, q == r->round ? PETSC_TRUE : PETSC_FALSE);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* A checkpoint saves the items of the current round (at cur_step, mid-chain when cur_pending) and
   the resumed items of later rounds, in an order every rank computes alike; the items of earlier
   rounds are complete. */
static PetscErrorCode WriteCheckpoint(QrbmRun *r)
{
  QrbmCheckpointState st;
  PetscFunctionBeginUser;
  CheckpointView(r, &st);
  PetscCall(PetscMalloc1(r->nitems + 1, &st.items));
  PetscCall(PetscMalloc1(r->cfg.realizations, &st.done));
  PetscCall(PetscArraycpy(st.done, r->done, r->cfg.realizations));
  PetscCall(ForEachScheduled(r, &st, SaveItem));
  PetscCall(QrbmCheckpointWrite(&st));
  PetscCall(PetscFree(st.items));
  PetscCall(PetscFree(st.done));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Output times after a -t_final extension: those already passed stay, the new ones follow. */
static PetscErrorCode MergeOutputTimes(QrbmRun *r, const PetscInt64 *old, PetscInt nold, PetscInt64 upto)
{
  const QrbmConfig *c = &r->cfg;
  PetscInt          n = 0;
  PetscInt64       *ts;
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(nold + r->ntimes, &ts));
  for (PetscInt i = 0; i < nold && old[i] <= upto; i++) ts[n++] = old[i];
  for (PetscInt i = 0; i < r->ntimes; i++)
    if (r->tsteps[i] > upto) ts[n++] = r->tsteps[i];
  PetscCheck(upto <= c->nsteps, PETSC_COMM_WORLD, PETSC_ERR_ARG_OUTOFRANGE, "-t_final %g: the checkpoint is already at step %" PetscInt64_FMT " > %" PetscInt64_FMT " steps", (double)c->t_final, upto, c->nsteps);
  PetscCall(PetscFree(r->tsteps));
  r->tsteps = ts;
  r->ntimes = n;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Restart, part 1 (before allocation). The item list: the saved items (file order), the exact
   reference if it has not started, then every realisation neither done nor saved, in index order;
   the output times of the checkpoint up to where it stopped. */
static PetscErrorCode ResumeItems(QrbmRun *r)
{
  const QrbmConfig   *c = &r->cfg;
  const PetscInt      R = c->realizations;
  QrbmCheckpointState st;
  char               *saved;
  PetscBool           ref_saved = PETSC_FALSE;
  PetscFunctionBeginUser;
  PetscCall(QrbmCheckpointRead(c, &r->grid, r->ec.wsize, &st));
  PetscCall(PetscStrncpy(r->cfg.run_id, st.run_id, sizeof(r->cfg.run_id))); /* the run continues under its id */
  PetscCall(PetscCalloc1(R + 1, &saved));
  PetscCall(PetscCalloc1(R + 1, &r->items));
  for (PetscInt j = 0; j < st.nitems; j++) {
    const QrbmCheckpointItem *s = &st.items[j];
    r->items[r->nitems++] = (QrbmItem){s->k, s->step, s->pending, PETSC_TRUE, NULL, NULL};
    if (s->k < 0) ref_saved = PETSC_TRUE;
    else saved[s->k] = 1;
  }
  r->ref_done = st.ref_done;
  if (c->reference == QRBM_REFERENCE_EXACT && !r->ref_done && !ref_saved) r->items[r->nitems++] = (QrbmItem){-1, 0, PETSC_FALSE, PETSC_FALSE, NULL, NULL};
  for (PetscInt k = 0; k < R; k++)
    if (!st.done[k] && !saved[k]) r->items[r->nitems++] = (QrbmItem){k, 0, PETSC_FALSE, PETSC_FALSE, NULL, NULL};
  r->done = st.done; /* taken over */
  st.done = NULL;
  PetscCall(MergeOutputTimes(r, st.tsteps, st.ntimes, r->nitems && r->items[0].resumed ? r->items[0].step : c->nsteps));
  r->rows_written    = st.rows_written;
  r->output_sum      = st.output_sum;
  r->ntimes_saved    = st.ntimes;
  r->wisdom_restored = st.wisdom_restored;
  PetscCall(QrbmCheckpointStateFree(&st));
  PetscCall(PetscFree(saved));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* A resumed item gets its state and records allocated where its group runs it; resumed items
   come first, in file order. */
static PetscErrorCode LoadItem(QrbmRun *r, QrbmCheckpointState *st, PetscInt q, int c, PetscInt it)
{
  QrbmItem *item = &r->items[it];
  PetscFunctionBeginUser;
  (void)q;
  if (!item->resumed) PetscFunctionReturn(PETSC_SUCCESS);
  if (c == r->ec.color) PetscCall(PetscCalloc2(r->grid.xlay.count, &item->psi, r->ntimes * r->rec.len, &item->rows));
  st->items[it] = CheckpointItem(r, item, c, PETSC_FALSE);
  st->nitems    = PetscMax(st->nitems, it + 1);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Restart, part 2: the saved states and records of this group's items, and the accumulators. */
static PetscErrorCode ResumeLoad(QrbmRun *r)
{
  QrbmCheckpointState st;
  PetscFunctionBeginUser;
  CheckpointView(r, &st);
  PetscCall(PetscCalloc1(r->nitems + 1, &st.items));
  PetscCall(ForEachScheduled(r, &st, LoadItem));
  PetscCall(QrbmCheckpointLoad(&st, r->ntimes_saved));
  r->acc_n    = st.acc_n;
  r->ref_held = st.ref_held;
  PetscCall(PetscFree(st.items));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* A force-gradient scheme whose dynamics have three-body terms (a particle with two or more
   partners: exact N >= 3, batches P >= 3, or the exact reference) keeps its per-point modified
   phase in one state-sized array when that fits in memory (docs/numerics.md). */
static PetscErrorCode GradientCache(QrbmRun *r, PetscInt extra, double others, PetscBool *cache)
{
  const QrbmConfig *c = &r->cfg;
  const QrbmScheme *sd = QrbmSchemeGet(c->scheme);
  double            avail;
  PetscFunctionBeginUser;
  *cache = PETSC_FALSE;
  if (!QrbmSchemeNeedsGradient(sd) || c->particles < 3) PetscFunctionReturn(PETSC_SUCCESS);
  if (c->method == QRBM_METHOD_RBM && c->batch_size < 3 && c->reference == QRBM_REFERENCE_NONE) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(QrbmGridAvailableBytes(&r->grid, c, &avail));
  *cache = QrbmGridBytesPerRank(&r->grid, extra + 1) + others <= avail ? PETSC_TRUE : PETSC_FALSE;
  if (!*cache && !c->quiet)
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "-scheme %s: the modified potential (three-body terms) is recomputed per point at every force-gradient stage: its cache (one state copy) does not fit in memory\n", sd->name));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmRunSetUp(QrbmRun *r)
{
  QrbmConfig *c = &r->cfg;
  PetscBool   keep_psi0;
  PetscFunctionBeginUser;
  PetscCall(PetscLogStagePush(QRBM_STAGE_SETUP));
  r->t_start = r->t_last_ckpt = MPI_Wtime();
  c->checkpoint_given = c->checkpoint_file[0] ? PETSC_TRUE : PETSC_FALSE;
  if (!c->checkpoint_given) PetscCall(PetscSNPrintf(c->checkpoint_file, sizeof(c->checkpoint_file), "%s.ckpt", c->output));
  omp_set_num_threads((int)c->threads);
  PetscCall(QrbmBlasSetThreads(c->threads, NULL));
  PetscCall(QrbmFFTInitialize(c->threads));
  PetscCall(QrbmEnsembleSplit(PETSC_COMM_WORLD, c, &r->ec));
  PetscCall(QrbmGridCreate(r->ec.group, c, &r->grid));
  PetscCall(QrbmRecordCreate(&r->grid, c, &r->rec));
  PetscCheck(!c->record_pairings || Intervals(c) * c->particles <= PETSC_MAX_INT, PETSC_COMM_WORLD, PETSC_ERR_ARG_OUTOFRANGE,
             "-record_pairings: %" PetscInt64_FMT " reshuffle intervals of %" PetscInt_FMT " labels exceed PETSc's integers (at most %d numbers per realisation): raise -rb_dt or drop -record_pairings", Intervals(c), c->particles, (int)PETSC_MAX_INT);
  r->ntimes = (PetscInt)((c->nsteps + c->output_interval - 1) / c->output_interval + 1); /* at most PETSC_MAX_INT (config) */
  PetscCall(PetscMalloc1(r->ntimes, &r->tsteps));
  for (PetscInt i = 0; i < r->ntimes; i++) r->tsteps[i] = PetscMin((PetscInt64)i * c->output_interval, c->nsteps);
  PetscCall(QrbmCheckpointPhysicsHash(c, c->physics_hash));
  if (c->restart[0]) PetscCall(QrbmCheckpointChoose(c, &r->grid, r->ec.world)); /* the newest checkpoint that passes its checks */
  if (c->restart[0]) PetscCall(ResumeItems(r)); /* items, output times, FFTW wisdom, the run id */
  else {
    PetscCall(QrbmIdentityNew(r->ec.world, c));
    PetscCall(FreshItems(r));
  }
  PetscCall(BuildSchedule(r));
  const PetscInt extra = ExtraStates(r, &keep_psi0);
  const double records = 8.0 * r->ntimes * r->rec.len * (4 + (c->rdm_interval > 0 ? c->rdm_batches : 0)) /* rows, accumulators, jackknife sums */
                         + (double)(c->realizations + 1) * (sizeof(QrbmItem) + 2.0 * sizeof(PetscInt) * r->ec.ngroups + 1) /* item list, schedule, flags */
                         + (c->record_pairings ? (double)sizeof(int) * Intervals(c) * c->particles : 0); /* one realisation's pairings (Finish) */
  const double ground = c->init == QRBM_INIT_GROUND ? 4 * (QrbmGridBytesPerRank(&r->grid, 1) - QrbmGridBytesPerRank(&r->grid, 0)) : 0; /* the check's temporaries */
  const PetscBool fg     = QrbmSchemeNeedsGradient(QrbmSchemeGet(c->scheme));
  const double    others = ground + records + (c->rdm_interval > 0 ? QrbmRdmBytesPerRank(&r->grid) : 0) + (fg ? QrbmPotentialGradientBytes(&r->grid) : 0);
  PetscBool    fg_cache;
  PetscCall(GradientCache(r, extra, others, &fg_cache));
  PetscCall(QrbmGridCheckMemory(&r->grid, c, extra + (fg_cache ? 1 : 0), others));
  PetscCall(QrbmStateCreate(&r->grid, &r->state));
  PetscCall(QrbmWisdomLoad(r->ec.world, c, &r->grid, r->wisdom_restored, &r->wisdom));
  PetscCall(QrbmKineticCreate(&r->grid, c, r->state.psi, &r->kin));
  PetscCall(QrbmWisdomSave(r->ec.world, &r->grid, &r->wisdom));
  PetscCall(QrbmPotentialCreate(&r->grid, c, QrbmPropagatorPhaseTables(c, NULL), &r->pot));
  PetscCall(QrbmObservablesCreate(&r->grid, c->hbar, &r->obs));
  PetscCall(QrbmPropagatorCreate(c, &r->grid, &r->state, &r->kin, &r->pot, &r->prop));
  PetscCall(QrbmPropagatorSetProgress(r->prop, Progress(c)));
  if (fg) PetscCall(QrbmPotentialSetUpGradient(&r->pot, c, fg_cache));
  PetscCall(PetscCalloc3(r->ntimes * r->rec.len, &r->rows, r->ntimes * r->rec.len, &r->acc_mean, r->ntimes * r->rec.len, &r->acc_m2));
  if (keep_psi0) PetscCall(PetscMalloc1(r->grid.xlay.count, &r->psi0));
  /* jackknife groups: at most one per realisation, none below two */
  r->nbatch = c->rdm_interval > 0 && c->method == QRBM_METHOD_RBM && c->expectation == QRBM_EXPECT_SAMPLE ? PetscMin(c->rdm_batches, c->realizations) : 0;
  if (r->nbatch < 2) r->nbatch = 0;
  PetscCall(PetscCalloc2(r->nbatch, &r->bcount, r->nbatch * r->ntimes * r->rec.len, &r->bsum));
  if (c->reference == QRBM_REFERENCE_EXACT) PetscCall(PetscCalloc1(r->ntimes * r->rec.len, &r->ref_rows));
  if (c->restart[0]) PetscCall(ResumeLoad(r)); /* the saved states of this group's items, accumulators */
  PetscCall(PetscLogStagePop());
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmRunDestroy(QrbmRun *r)
{
  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < r->nitems; i++) PetscCall(PetscFree2(r->items[i].psi, r->items[i].rows));
  PetscCall(PetscFree(r->items));
  PetscCall(PetscFree2(r->round_step, r->round_item));
  PetscCall(PetscFree(r->done));
  PetscCall(PetscFree(r->psi0));
  PetscCall(PetscFree(r->tsteps));
  PetscCall(PetscFree3(r->rows, r->acc_mean, r->acc_m2));
  PetscCall(PetscFree2(r->bcount, r->bsum));
  PetscCall(PetscFree(r->ref_rows));
  PetscCall(QrbmPropagatorDestroy(&r->prop));
  PetscCall(QrbmObservablesDestroy(&r->obs));
  PetscCall(QrbmPotentialDestroy(&r->pot));
  PetscCall(QrbmKineticDestroy(&r->kin));
  PetscCall(QrbmWisdomDestroy(&r->wisdom));
  PetscCall(QrbmStateDestroy(&r->state));
  PetscCall(QrbmGridDestroy(&r->grid));
  if (r->ec.group != MPI_COMM_NULL && r->ec.group) PetscCallMPI(MPI_Comm_free(&r->ec.group));
  PetscFunctionReturn(PETSC_SUCCESS);
}
/* Once per step, over all ranks: signals (any rank), wall-clock limits (rank 0's clock) and the
   checkpoint interval decide whether to pause for a checkpoint, and whether to stop after it. */
static PetscErrorCode Check(void *ctx, PetscBool *pause)
{
  QrbmRun          *r = (QrbmRun *)ctx;
  const QrbmConfig *c = &r->cfg;
  const double      now = MPI_Wtime();
  int               flag[2] = {QrbmSignalReceived(), 0};
  PetscFunctionBeginUser;
  r->work++;
  r->step_wall_max = PetscMax(r->step_wall_max, now - r->t_last_check);
  r->t_last_check  = now;
  if (r->ec.wrank == 0) {
    const double margin = 2 * r->step_wall_max + 2 * r->ckpt_cost + 1.0;
    if (c->max_walltime > 0 && now - r->t_start + margin >= c->max_walltime) flag[0] = 1;
    if (c->ckpt_wall > 0 && now - r->t_last_ckpt >= c->ckpt_wall) flag[1] = 1;
  }
  if (c->ckpt_steps > 0 && r->work % c->ckpt_steps == 0) flag[1] = 1;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, flag, 2, MPI_INT, MPI_MAX, r->ec.world));
  r->action = flag[0] ? QRBM_ACTION_STOP : flag[1] ? QRBM_ACTION_CHECKPOINT : QRBM_ACTION_NONE;
  *pause    = r->action != QRBM_ACTION_NONE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Writes the checkpoint the last check asked for; *stop when the run must end now. */
static PetscErrorCode Act(QrbmRun *r, PetscInt64 step, PetscBool pending, PetscBool *stop)
{
  PetscFunctionBeginUser;
  *stop = PETSC_FALSE;
  if (r->action == QRBM_ACTION_NONE) PetscFunctionReturn(PETSC_SUCCESS);
  const double t0 = MPI_Wtime();
  r->cur_step = step; r->cur_pending = pending;
  PetscCall(WriteCheckpoint(r));
  r->ckpt_cost = MPI_Wtime() - t0;
  r->t_last_ckpt = MPI_Wtime();
  *stop = r->action == QRBM_ACTION_STOP;
  r->action = QRBM_ACTION_NONE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Up to n steps of the current item, or, for an idle group, the same sequence of checks. */
static PetscErrorCode StepOrIdle(QrbmRun *r, PetscBool active, PetscInt64 n, QrbmObservables *obs, PetscInt64 *done)
{
  PetscBool pause = PETSC_FALSE;
  PetscFunctionBeginUser;
  if (active) PetscFunctionReturn(QrbmPropagatorAdvance(r->prop, n, obs, done));
  for (*done = 1; *done < n; (*done)++) {
    PetscCall(Check(r, &pause));
    if (pause) PetscFunctionReturn(PETSC_SUCCESS);
  }
  *done = n;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Output time i of the current state into row: observables and, at RDM times, R_1 (the exact
   dynamics keeps the state symmetric, so one label suffices; eq. 13 averages the labels). */
static PetscErrorCode Record(QrbmRun *r, PetscInt i, double *row)
{
  const PetscBool rdm = QrbmRecordHasRdm(&r->rec, i);
  PetscFunctionBeginUser;
  QrbmRecordPack(&r->rec, &r->obs, rdm, row);
  if (!rdm) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscLogEventBegin(QRBM_EVENT_RDM, 0, 0, 0, 0));
  qcomplex *R1 = (qcomplex *)(row + r->rec.rdm_offset);
  if (r->cfg.method == QRBM_METHOD_RBM && !r->in_reference) PetscCall(QrbmRdmLabelAverage(&r->grid, r->state.psi, R1));
  else PetscCall(QrbmRdmLabel(&r->grid, r->state.psi, r->grid.N - 1, R1));
  PetscCall(PetscLogEventEnd(QRBM_EVENT_RDM, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Loads the item's state: the saved slab, or the initial state. */
static PetscErrorCode StartItem(QrbmRun *r, QrbmItem *item, PetscBool single, const double *zeros)
{
  QrbmPropagator pr = r->prop;
  PetscFunctionBeginUser;
  if (item->psi || r->psi0) PetscCall(PetscArraycpy(r->state.psi, item->psi ? item->psi : r->psi0, r->grid.xlay.count));
  if (item->rows) PetscCall(PetscArraycpy(r->rows, item->rows, r->ntimes * r->rec.len));
  r->in_reference = item->k < 0 ? PETSC_TRUE : PETSC_FALSE;
  PetscCall(QrbmPropagatorReset(pr, item->step, item->pending));
  if (r->cfg.method == QRBM_METHOD_RBM && !r->in_reference) PetscCall(QrbmPropagatorSetSampling(pr, item->k));
  if (item->step == 0) {
    PetscCall(QrbmPropagatorMeasure(pr, &r->obs));
    PetscCall(Record(r, 0, r->rows));
    if (single) PetscCall(QrbmOutputAppend(&r->out, 1, r->rows, zeros));
    if (single) r->rows_written = 1;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode FinishItem(QrbmRun *r, const QrbmItem *item)
{
  const PetscInt len = r->ntimes * r->rec.len;
  PetscFunctionBeginUser;
  if (r->grid.rank != 0) PetscFunctionReturn(PETSC_SUCCESS);
  if (item->k < 0) { /* the exact reference: kept aside, not part of the ensemble */
    PetscCall(PetscArraycpy(r->ref_rows, r->rows, len));
    r->ref_held = PETSC_TRUE;
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  if (r->nbatch) {
    const PetscInt b = item->k % r->nbatch;
    r->bcount[b] += 1;
    for (PetscInt j = 0; j < len; j++) r->bsum[b * len + j] += r->rows[j];
  }
  QrbmStatsAdd(len, &r->acc_n, r->acc_mean, r->acc_m2, r->rows);
  if (r->cfg.save_realizations) PetscCall(QrbmOutputWriteRealization(&r->out, item->k, r->rows));
  if (r->cfg.record_pairings) {
    const PetscInt64 nint = Intervals(&r->cfg), N = r->cfg.particles; /* nint x N bounded at set-up */
    PetscInt       perm[QRBM_MAX_PARTICLES];
    int           *perms;
    PetscCall(PetscMalloc1(nint * N, &perms));
    for (PetscInt64 j = 0; j < nint; j++) { /* a pure function of (seed, realisation, interval, level) */
      QrbmBatchPermutationCoupled((uint32_t)r->cfg.seed, (uint32_t)item->k, (uint64_t)j, r->cfg.rb_couple_level, N, perm);
      for (PetscInt64 m = 0; m < N; m++) perms[j * N + m] = (int)perm[m];
    }
    PetscCall(QrbmOutputWritePairings(&r->out, item->k, perms));
    PetscCall(PetscFree(perms));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Non-finite numbers make everything after them meaningless: stop at the first output time that
   has them. */
static PetscErrorCode CheckFinite(const QrbmRun *r, PetscInt i, const double *row, const char *what)
{
  ptrdiff_t on, oe;
  PetscFunctionBeginUser;
  PetscCall(QrbmRecordOffset(&r->rec, "/observables/norm", &on));
  PetscCall(QrbmRecordOffset(&r->rec, "/observables/energy", &oe));
  const double norm = row[on], energy = row[oe];
  PetscCheck(PetscIsNormalReal(norm) && (PetscIsNormalReal(energy) || energy == 0), PETSC_COMM_SELF, PETSC_ERR_FP,
             "non-finite result at step %" PetscInt64_FMT " (t = %g, %s): norm %g, energy %g. Likely cause: a time step too large for the grid's largest kinetic or potential energy (-dt against -grid, -box, -hbar, "
             "-potential_strength, -trap_omega), or inputs so large (-box, -init_p, -potential_strength) that the numbers overflow",
             r->tsteps[i], r->tsteps[i] * r->cfg.dt, what, norm, energy);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode CheckItemFinite(const QrbmRun *r, PetscInt i, PetscInt k)
{
  char what[64];
  PetscFunctionBeginUser;
  if (k < 0) PetscCall(PetscStrncpy(what, "the exact reference", sizeof(what)));
  else PetscCall(PetscSNPrintf(what, sizeof(what), "realisation %" PetscInt_FMT, k));
  PetscCall(CheckFinite(r, i, r->rows + i * r->rec.len, what));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* One round: this group's item (or idle checks) from the round's start step to the end. */
static PetscErrorCode RunRound(QrbmRun *r, const double *zeros, PetscBool *stop)
{
  const PetscInt  it     = r->round_item[r->round * r->ec.ngroups + r->ec.color];
  const PetscBool single = r->cfg.realizations == 1 && r->ec.ngroups == 1, active = it >= 0;
  PetscInt64      step   = r->round_step[r->round], done;
  PetscBool       pause  = PETSC_FALSE;
  PetscFunctionBeginUser;
  *stop = PETSC_FALSE;
  if (active) PetscCall(StartItem(r, &r->items[it], single, zeros));
  for (PetscInt i = 1; i < r->ntimes; i++) {
    if (r->tsteps[i] <= step) continue;
    while (step < r->tsteps[i]) {
      PetscCall(StepOrIdle(r, active, r->tsteps[i] - step, &r->obs, &done));
      step += done;
      if (step < r->tsteps[i]) PetscCall(Act(r, step, QrbmSchemeMergesEnds(QrbmSchemeGet(r->cfg.scheme)), stop)); /* paused mid-chain */
      if (*stop) PetscFunctionReturn(PETSC_SUCCESS);
    }
    if (active) {
      double *row = r->rows + i * r->rec.len;
      PetscCall(Record(r, i, row));
      if (single) PetscCall(QrbmOutputAppend(&r->out, 1, row, zeros));
    }
    if (single) r->rows_written = i + 1;
    QrbmCollective("checking the norm and energy at an output time", active && r->grid.rank == 0 ? CheckItemFinite(r, i, r->items[it].k) : PETSC_SUCCESS);
    PetscCall(Check(r, &pause));
    PetscCall(Act(r, step, PETSC_FALSE, stop));
    if (*stop) PetscFunctionReturn(PETSC_SUCCESS);
  }
  if (single && r->cfg.checkpoint_given) { /* the final state, to extend -t_final later */
    r->action = QRBM_ACTION_CHECKPOINT;
    PetscCall(Act(r, step, PETSC_FALSE, stop));
  }
  QrbmCollective("finishing a realisation", active ? FinishItem(r, &r->items[it]) : PETSC_SUCCESS); /* independent writes */
  PetscCall(ReportRealization(r, r->round + 1, r->nrounds, r->round_item[r->round * r->ec.ngroups] >= 0 ? r->items[r->round_item[r->round * r->ec.ngroups]].k : -2));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Gathers every group's (count, mean, M2) on world rank 0 and merges them in group order. */
static PetscErrorCode CombineGroups(QrbmRun *r, double *mean, double *stderr)
{
  const PetscInt len = r->ntimes * r->rec.len;
  double        *all = NULL, *counts = NULL, *send, ntot = 0, n = r->grid.rank == 0 ? r->acc_n : 0;
  PetscFunctionBeginUser;
  if (r->ec.wrank == 0) PetscCall(PetscMalloc2((size_t)r->ec.wsize * 2 * len, &all, r->ec.wsize, &counts));
  PetscCallMPI(MPI_Gather(&n, 1, MPI_DOUBLE, counts, 1, MPI_DOUBLE, 0, r->ec.world));
  PetscCall(PetscMalloc1(2 * len, &send));
  PetscCall(PetscArraycpy(send, r->acc_mean, len));
  PetscCall(PetscArraycpy(send + len, r->acc_m2, len));
  PetscCallMPI(MPI_Gather(send, (PetscMPIInt)(2 * len), MPI_DOUBLE, all, (PetscMPIInt)(2 * len), MPI_DOUBLE, 0, r->ec.world));
  PetscCall(PetscFree(send));
  if (r->ec.wrank == 0) {
    double *m2;
    PetscCall(PetscCalloc1(len, &m2));
    PetscCall(PetscArrayzero(mean, len));
    for (int k = 0; k < r->ec.wsize; k++) {
      QrbmStatsMerge(len, ntot, mean, m2, counts[k], all + (size_t)k * 2 * len, all + (size_t)k * 2 * len + len);
      ntot += counts[k];
    }
    QrbmStatsStderr(len, ntot, m2, stderr);
    PetscCall(PetscFree(m2));
    PetscCall(PetscFree2(all, counts));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Sampled realisations (or the one exact trajectory), round by round. */
static PetscErrorCode Sample(QrbmRun *r, double *mean, double *stderr, PetscBool *stopped)
{
  double *zeros;
  PetscFunctionBeginUser;
  PetscCall(PetscCalloc1(r->rec.len, &zeros));
  PetscCall(QrbmPropagatorSetCheck(r->prop, Check, r));
  r->t_last_check   = MPI_Wtime();
  for (; r->round < r->nrounds; r->round++) {
    PetscCall(RunRound(r, zeros, stopped));
    if (*stopped) break;
  }
  if (!*stopped) PetscCall(CombineGroups(r, mean, stderr));
  PetscCall(PetscFree(zeros));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Exact expectation over pairing sequences: depth-first over the tree of partitions, sharing
   common prefixes; stack[j] holds the state at the start of interval j. */
typedef struct {
  PetscInt     npart;
  PetscInt64   nint;
  PetscInt    *parts;  /* npart partitions, N labels each */
  qcomplex   **stack;
  long double *sum;    /* probability-weighted sums of the records */
  PetscInt     leaves_done;
} Enumeration;

static PetscErrorCode Branch(QrbmRun *r, Enumeration *e, PetscInt j, long double weight)
{
  const QrbmConfig *c = &r->cfg;
  const PetscInt64  first = j * c->rb_steps, last = PetscMin(first + c->rb_steps, c->nsteps);
  const PetscInt    cnt = r->grid.xlay.count;
  PetscFunctionBeginUser;
  for (PetscInt b = 0; b < e->npart; b++) {
    if (j == 0 && b % r->ec.ngroups != r->ec.color) continue;
    PetscInt64 cur = first, done;
    PetscCall(PetscArraycpy(r->state.psi, e->stack[j], cnt));
    QrbmPairWeights W;
    QrbmBatchWeights(c->particles, c->batch_size, e->parts + b * c->particles, &W);
    PetscCall(QrbmPropagatorReset(r->prop, first, PETSC_FALSE));
    PetscCall(QrbmPropagatorSetWeights(r->prop, &W));
    for (PetscInt i = 1; i < r->ntimes; i++) {
      if (r->tsteps[i] <= first || r->tsteps[i] > last) continue;
      PetscCall(QrbmPropagatorAdvance(r->prop, r->tsteps[i] - cur, &r->obs, &done));
      cur = r->tsteps[i];
      PetscCall(Record(r, i, r->rows));
      for (PetscInt k = 0; k < r->rec.len; k++) e->sum[i * r->rec.len + k] += weight / e->npart * r->rows[k];
    }
    if (cur < last) PetscCall(QrbmPropagatorAdvance(r->prop, last - cur, NULL, &done));
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
  if (!c->quiet) PetscCall(PetscPrintf(r->ec.world, "rb_expectation enumerate: %g partitions per interval, %" PetscInt64_FMT " intervals: %g pairing sequences\n", npart, e.nint, nseq));
  PetscCheck(nseq <= c->enumerate_limit, r->ec.world, PETSC_ERR_ARG_OUTOFRANGE,
             "-rb_expectation enumerate: %g pairing sequences exceed -rb_enumerate_limit %g: use fewer intervals (-rb_dt, -t_final) or -rb_expectation sample", nseq, (double)c->enumerate_limit);
  e.npart = (PetscInt)llround(npart);
  PetscCall(PetscMalloc1(e.npart * c->particles, &e.parts));
  PetscCall(QrbmBatchEnumeratePartitions(c->particles, c->batch_size, e.parts, &e.npart));
  PetscCall(PetscCalloc1(len, &e.sum));
  PetscCall(PetscMalloc1(e.nint, &e.stack));
  for (PetscInt j = 0; j < e.nint; j++) PetscCall(PetscMalloc1(r->grid.xlay.count, &e.stack[j]));
  PetscCall(QrbmPropagatorReset(r->prop, 0, PETSC_FALSE));
  PetscCall(QrbmPropagatorMeasure(r->prop, &r->obs));
  if (r->ec.color == 0) {
    PetscCall(Record(r, 0, r->rows));
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
  const char       *names[5] = {"/observables/time", "/observables/norm", "/observables/energy", "/observables/x2", "/observables/p2"};
  ptrdiff_t         o[5];
  PetscFunctionBeginUser;
  for (int i = 0; i < 5; i++) PetscCall(QrbmRecordOffset(&r->rec, names[i], &o[i]));
  if (c->quiet) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscPrintf(r->ec.world, "qrbm %s: %s, N=%" PetscInt_FMT " d=%" PetscInt_FMT " M=%" PetscInt_FMT " (%g points), %s, %" PetscInt64_FMT " steps, %d ranks = %d groups x %d, %" PetscInt_FMT " threads, %.2f s\n",
                        QRBM_VERSION, QrbmMethodNames[c->method], r->grid.N, r->grid.d, r->grid.M, r->grid.total, QrbmSchemeName(c->scheme), c->nsteps, r->ec.wsize, r->ec.ngroups, r->grid.size, c->threads, r->wall));
  if (c->method == QRBM_METHOD_RBM && c->expectation == QRBM_EXPECT_SAMPLE)
    PetscCall(PetscPrintf(r->ec.world, "random batches: P=%" PetscInt_FMT ", Dt=%g, mean of %" PetscInt_FMT " sampled realisations (seed %" PetscInt64_FMT ") +- standard error\n", c->batch_size, (double)c->rb_dt, c->realizations, c->seed));
  if (c->expectation == QRBM_EXPECT_ENUMERATE)
    PetscCall(PetscPrintf(r->ec.world, "random batches: P=%" PetscInt_FMT ", Dt=%g, exact expectation over every pairing sequence\n", c->batch_size, (double)c->rb_dt));
  PetscCall(PetscPrintf(r->ec.world, "t = %g: norm %.15f (drift %.2e), energy %.12g +- %.2e (drift %.2e), <x^2> %.8g +- %.2e, <p^2> %.8g +- %.2e\n", f1[o[0]], f1[o[1]], f1[o[1]] - f0[o[1]], f1[o[2]], s1[o[2]], f1[o[2]] - f0[o[2]], f1[o[3]], s1[o[3]], f1[o[4]], s1[o[4]]));
  PetscCall(PetscPrintf(r->ec.world, "output: %s (%" PetscInt_FMT " output times)\n", c->output, r->ntimes));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Report(QrbmRun *r, double *mean, double *stderr)
{
  const QrbmReportInput in = {r->ec.world, r->ec.wrank, &r->grid, &r->cfg, &r->rec, r->ntimes, r->tsteps, r->nbatch, r->bcount, r->bsum, r->ref_rows, r->ref_held, r->out.file, r->out.dxpl};
  PetscFunctionBeginUser;
  QrbmCollective("writing the end-of-run datasets", QrbmReportWrite(&in, mean, stderr));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Exact output times and steps in the mean records, not averages of them. */
static PetscErrorCode ExactTimes(const QrbmRun *r, double *mean)
{
  ptrdiff_t ot, os;
  PetscFunctionBeginUser;
  PetscCall(QrbmRecordOffset(&r->rec, "/observables/time", &ot));
  PetscCall(QrbmRecordOffset(&r->rec, "/observables/step", &os));
  for (PetscInt i = 0; i < r->ntimes; i++) {
    mean[i * r->rec.len + ot] = r->tsteps[i] * r->cfg.dt;
    mean[i * r->rec.len + os] = (double)r->tsteps[i];
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmRunExecute(QrbmRun *r, PetscBool *stopped)
{
  const QrbmConfig *c   = &r->cfg;
  const PetscInt    len = r->ntimes * r->rec.len;
  const PetscBool   single = c->realizations == 1 && r->ec.ngroups == 1 && c->expectation == QRBM_EXPECT_SAMPLE;
  PetscInt          mine, fresh;
  double           *mean, *stderr;
  PetscFunctionBeginUser;
  *stopped = PETSC_FALSE;
  MyItems(r, &mine, &fresh);
  if (fresh > 0 || c->expectation == QRBM_EXPECT_ENUMERATE) {
    PetscCall(PetscLogStagePush(QRBM_STAGE_INIT));
    PetscCall(InitialState(r));
    if (r->psi0) PetscCall(PetscArraycpy(r->psi0, r->state.psi, r->grid.xlay.count));
    PetscCall(PetscLogStagePop());
  }
  if (c->restart[0]) PetscCall(QrbmOutputOpen(r->ec.world, &r->grid, c, &r->rec, (hsize_t)r->ntimes, (hsize_t)Intervals(c), (hsize_t)r->rows_written, r->done, r->output_sum, &r->out));
  else PetscCall(QrbmOutputCreate(r->ec.world, &r->grid, c, &r->rec, r->obs.pgrid, (hsize_t)r->ntimes, (hsize_t)Intervals(c), &r->out));
  PetscCall(PetscMalloc2(len, &mean, len, &stderr));
  PetscCall(PetscLogStagePush(QRBM_STAGE_TIMELOOP));
  r->wall = MPI_Wtime();
  if (c->expectation == QRBM_EXPECT_ENUMERATE) PetscCall(Enumerate(r, mean, stderr));
  else PetscCall(Sample(r, mean, stderr, stopped));
  r->wall = MPI_Wtime() - r->wall;
  PetscCall(PetscLogStagePop());
  if (*stopped) {
    PetscCall(QrbmOutputClose(&r->out, QRBM_OUTPUT_CHECKPOINTED));
    PetscCall(PetscPrintf(r->ec.world, "checkpoint written to %s: stopping with exit code %d (resubmit with -restart %s)\n", c->checkpoint_file, QRBM_EXIT_CHECKPOINTED, c->checkpoint_file));
    PetscCall(PetscFree2(mean, stderr));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  PetscCall(ExactTimes(r, mean));
  for (PetscInt i = 0; i < r->ntimes && c->expectation == QRBM_EXPECT_ENUMERATE; i++) /* sampled runs were checked per realisation */
    QrbmCollective("checking the mean norm and energy", r->ec.wrank == 0 ? CheckFinite(r, i, mean + i * r->rec.len, "the enumerated expectation") : PETSC_SUCCESS);
  if (!single) PetscCall(QrbmOutputAppend(&r->out, r->ntimes, mean, stderr));
  PetscCall(Report(r, mean, stderr));
  PetscCall(QrbmOutputClose(&r->out, QRBM_OUTPUT_COMPLETE));
  PetscCall(Summary(r, mean, stderr));
  PetscCall(PetscFree2(mean, stderr));
  PetscFunctionReturn(PETSC_SUCCESS);
}
