/* Shared set-up of the cmocka unit tests (tests/unit/test_*.c), written once:
   - the includes cmocka needs (in its required order) and the library headers;
   - urand(): xorshift64*, uniform in [0, 1), seeded per test program by UNIT_RUN;
   - make_config(): the smallest valid QrbmConfig for a grid (no potential, no trap, one thread,
     FFTW_ESTIMATE), which a test then adjusts;
   - unit_setup/unit_teardown: PETSc, the log events and FFTW(-MPI) started once per program as
     cmocka group fixtures, and UNIT_RUN(name, tests, seed) to run a group with them. */
#pragma once
#include <qrbm/config.h>
#include <qrbm/events.h>
#include <qrbm/kinetic.h>
#include <qrbm/pairpot.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static uint64_t unit_rng = 0x2545F4914F6CDD1Dull;

static inline double urand(void)
{
  unit_rng ^= unit_rng >> 12;
  unit_rng ^= unit_rng << 25;
  unit_rng ^= unit_rng >> 27;
  return (double)((unit_rng * 2685821657736338717ull) >> 11) * 0x1p-53;
}

static inline void make_config(PetscInt N, PetscInt d, PetscInt M, double L, double hbar, QrbmConfig *c)
{
  memset(c, 0, sizeof(*c));
  c->dim = d; c->particles = N; c->grid = M; c->box = L; c->hbar = hbar; c->t_final = 1; c->dt = 0.1; c->nsteps = 10;
  c->potential = QRBM_POT_NONE; c->width = 1; c->threads = 1; c->planner = QRBM_PLAN_ESTIMATE; c->output_interval = 1;
  c->realizations = 1; c->batch_size = 2;
}

static inline int unit_setup(void **state)
{
  (void)state;
  if (PetscInitialize(NULL, NULL, NULL, NULL)) return -1;
  if (QrbmEventsRegister()) return -1;
  return QrbmFFTInitialize(1) ? -1 : 0; /* fftw_mpi_init before any QrbmGridCreate */
}

static inline int unit_teardown(void **state)
{
  (void)state;
  return PetscFinalize() ? -1 : 0;
}

/* Runs the group with the shared fixtures; a non-zero seed replaces urand's default. */
#define UNIT_RUN(name, tests, seed) \
  (((seed) ? (unit_rng = (seed)) : 0), cmocka_run_group_tests_name(name, tests, unit_setup, unit_teardown) ? 1 : 0)
