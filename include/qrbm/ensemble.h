/* Ensembles of random batch realisations: communicator split into rank groups, realisation
   scheduling, ensemble statistics, exact enumeration of pairing sequences. */
#pragma once
#include <qrbm/output.h>
#include <qrbm/propagator.h>

typedef struct {
  MPI_Comm    world, group; /* all ranks; the ranks sharing one grid */
  PetscMPIInt wrank, wsize;
  int         ngroups, color; /* number of groups; this rank's group */
} QrbmEnsembleComm;

typedef struct {
  QrbmConfig       cfg;
  QrbmEnsembleComm ec;
  QrbmGrid         grid;
  QrbmState        state;
  QrbmKinetic      kin;
  QrbmPotential    pot;
  QrbmPropagator   prop;
  QrbmObservables  obs;
  QrbmRecord       rec;
  QrbmOutput       out;
  PetscInt         ntimes;   /* output times of the run */
  PetscInt        *tsteps;   /* their step numbers */
  double          *rows;     /* ntimes records of the current realisation */
  double           norm0, energy0, wall;
} QrbmRun;

/* Group size: -ranks_per_realization, or by default the smallest divisor g of the rank count with
   g >= ceil(points / 2^22) (one rank per 64 MiB of state) and g >= ceil(ranks / R), at most M. */
PetscErrorCode QrbmEnsembleSplit(MPI_Comm world, const QrbmConfig *cfg, QrbmEnsembleComm *ec);
PetscErrorCode QrbmRunSetUp(QrbmRun *run);
PetscErrorCode QrbmRunExecute(QrbmRun *run);
PetscErrorCode QrbmRunDestroy(QrbmRun *run);
