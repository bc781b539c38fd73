/* Which run wrote a file, and with what: a random run id (kept across restarts), a hash of the
   physics options, and the provenance of the code (version, git commit and whether the tree was
   modified, library versions, command line). A restart refuses an output or a checkpoint of
   another run, even one of identical physics. */
#pragma once
#include <qrbm/config.h>
#include <hdf5.h>

/* Remembers the command line (before PetscInitialize). */
void QrbmIdentitySetCommandLine(int argc, char **argv);
/* A new random run id in cfg->run_id: 128 bits from /dev/urandom on rank 0, broadcast. */
PetscErrorCode QrbmIdentityNew(MPI_Comm comm, QrbmConfig *cfg);
/* Root attributes run_id, physics_hash, git_commit, git_dirty, hdf5_version, fftw_version,
   petsc_version, mpi_version, command_line. */
PetscErrorCode QrbmIdentityWrite(hid_t loc, const QrbmConfig *cfg);
/* Reads run_id and physics_hash of a file ("" when the file predates them). */
PetscErrorCode QrbmIdentityRead(hid_t loc, const char *file, char *run_id, char *physics_hash);
/* The options of the table rows whose `use` has a bit of `use`, from the root attributes a run
   wrote (QrbmOutputWriteOptions) into a zeroed cfg; a missing attribute, an unknown choice or a
   number that does not fit its field is an error naming the file and the attribute. */
PetscErrorCode QrbmIdentityReadOptions(hid_t loc, const char *file, unsigned use, QrbmConfig *cfg);
