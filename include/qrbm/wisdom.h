/* FFTW wisdom files: the per-user cache (default) or an explicit -fftw_wisdom PREFIX. */
#pragma once
#include <qrbm/grid.h>

typedef struct {
  char      path[PETSC_MAX_PATH_LEN + 256]; /* the wisdom file; empty: none */
  PetscBool cache;                          /* the per-user cache: failures are warnings */
  PetscBool quiet;
  char     *text; /* the wisdom read (world rank 0), so that an unchanged file is not rewritten */
} QrbmWisdom;

/* Chooses the file and imports it on every rank of world (rank 0 reads, broadcasts the text).
   restored: the checkpoint's wisdom was imported; it wins, and no file is read or written. Call
   before planning. */
PetscErrorCode QrbmWisdomLoad(MPI_Comm world, const QrbmConfig *cfg, const QrbmGrid *g, PetscBool restored, QrbmWisdom *w);
/* After planning: gathers the group's wisdom and, when it changed, world rank 0 writes the file
   atomically (temporary file, then rename). Collective on world. */
PetscErrorCode QrbmWisdomSave(MPI_Comm world, const QrbmGrid *g, QrbmWisdom *w);
PetscErrorCode QrbmWisdomDestroy(QrbmWisdom *w);
/* The cache directory: $XDG_CACHE_HOME/qrbm, else $HOME/.cache/qrbm; returns PETSC_FALSE when
   neither variable gives an absolute path. */
PetscBool QrbmWisdomCacheDir(char *dir, size_t len);
