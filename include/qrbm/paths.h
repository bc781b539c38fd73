/* The files of a run (output, checkpoints, -log_view, locks, backups): resolved and checked at
   start-up, locked against a second run, and old outputs moved aside instead of overwritten. */
#pragma once
#include <qrbm/config.h>

/* Longest file name passed to MPI-IO: Open MPI 4.1's OMPIO component overflows a buffer on names
   of 246 characters and more (ROMIO does not). */
#define QRBM_MPIIO_MAX_NAME 240
/* Numbered backups FILE.~1~ .. FILE.~N~ of outputs that a fresh run would overwrite. */
#define QRBM_MAX_BACKUPS 9

/* Before PetscInitialize: a -options_file that includes itself (directly or through others) is
   refused here, because PETSc would recurse until it crashes. Returns 0 when fine, 1 after
   printing the chain (on rank 0 only). */
int QrbmOptionsFilesCheck(int argc, char **argv);
/* Collective: resolves -output, -checkpoint_file (with .tmp, .lock and the rotated names),
   -restart and the -log_view file, checks that they are distinct, that their directories exist
   and are writable and that MPI-IO can open the names; then locks the output (and the checkpoint)
   with FILE.lock files (host, pid, SLURM job, start time). */
PetscErrorCode QrbmPathsSetUp(MPI_Comm comm, const QrbmConfig *cfg);
/* Collective, fresh runs only, just before the output is created: every existing file the run
   would overwrite (output, FILE.part, FILE.error.txt, the checkpoints) is renamed to the next free
   FILE.~n~, with one line saying so. */
PetscErrorCode QrbmPathsMoveAside(MPI_Comm comm, const QrbmConfig *cfg);
/* Rank 0: renames an existing path to the next free PATH.~n~ with one line saying so (refused
   when all QRBM_MAX_BACKUPS exist: backups are never deleted). */
PetscErrorCode QrbmPathsBackup(const char *path);
/* The file this process created and must remove if it ends abnormally (a fresh run's FILE.part
   before any checkpoint), or NULL. Removed by QrbmPathsRelease. */
void QrbmPathsOwn(const char *path);
/* Removes the locks this process holds and the file it owns (rank 0; safe to call more than
   once; also called when a watchdog or a timeout ends the job). */
void QrbmPathsRelease(void);
/* After a failure (every rank; acts on rank 0's files): QrbmPathsRelease, and unless the run keeps
   files (a checkpoint exists) the files QrbmPathsMoveAside moved aside are moved back where their
   names are free again, so that a failed fresh run leaves every old file where it was. */
void QrbmPathsAbandon(void);
/* Flushes a file's data and its directory entry to stable storage (fsync of both). */
PetscErrorCode QrbmPathsSync(const char *path);
