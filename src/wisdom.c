/* FFTW wisdom files. By default wisdom lives in a per-user cache, one file per key (grid, layout,
   ranks per grid, threads, planner, FFTW version, CPU model), so that a second identical run plans
   in a fraction of the first one's time. -fftw_wisdom PREFIX names the file explicitly and
   -fftw_wisdom none disables wisdom files.

   World rank 0 reads the file and broadcasts its text: every rank of every group imports the same
   wisdom even while another job replaces the file. After planning, world rank 0 writes group 0's
   gathered wisdom to a temporary file and renames it over the old one, so concurrent jobs (array
   jobs sharing a cache) only ever see complete files: the last writer wins. The cache is a
   convenience: when it cannot be read or written the run warns and plans without it. */
#define _POSIX_C_SOURCE 200809L /* mkdir, gethostname, fsync, fileno */
#include <qrbm/wisdom.h>
#include <fftw3-mpi.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WISDOM_MAX_BYTES (16 << 20) /* larger files are not wisdom qrbm wrote */

PetscBool QrbmWisdomCacheDir(char *dir, size_t len)
{
  const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
  int         n   = -1;
  if (xdg && xdg[0] == '/') n = snprintf(dir, len, "%s/qrbm", xdg); /* relative values are invalid (XDG spec) */
  else if (home && home[0] == '/') n = snprintf(dir, len, "%s/.cache/qrbm", home);
  return n > 0 && (size_t)n < len ? PETSC_TRUE : PETSC_FALSE;
}

/* Keeps letters, digits, '.', '_' and '-' of s (at most n characters): a file-name-safe key part. */
static void Sanitize(const char *s, char *out, size_t n)
{
  size_t k = 0;
  for (; *s && k + 1 < n; s++)
    if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-') out[k++] = *s;
  out[k] = 0;
}

static void CpuModel(char *out, size_t n)
{
  FILE *f = fopen("/proc/cpuinfo", "r");
  char  line[512];
  Sanitize("cpu-unknown", out, n);
  if (!f) return;
  while (fgets(line, sizeof(line), f))
    if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
      Sanitize(strchr(line, ':') + 1, out, n);
      break;
    }
  fclose(f);
}

/* mkdir -p with mode 0700 for the directories it creates (XDG base directory spec). */
static int MakeDirs(const char *dir)
{
  char p[PETSC_MAX_PATH_LEN];
  if (strlen(dir) >= sizeof(p)) return -1;
  strcpy(p, dir);
  for (char *s = p + 1; *s; s++)
    if (*s == '/') {
      *s = 0;
      if (mkdir(p, 0700) && errno != EEXIST) return -1;
      *s = '/';
    }
  return mkdir(p, 0700) && errno != EEXIST ? -1 : 0;
}

static PetscErrorCode WisdomPath(const QrbmConfig *cfg, const QrbmGrid *g, QrbmWisdom *w)
{
  char dir[PETSC_MAX_PATH_LEN], ver[32], cpu[96];
  PetscFunctionBeginUser;
  w->path[0] = 0;
  if (!strcmp(cfg->wisdom, "none")) PetscFunctionReturn(PETSC_SUCCESS);
  if (cfg->wisdom[0]) {
    PetscCall(PetscSNPrintf(w->path, sizeof(w->path), "%s.M%" PetscInt_FMT ".D%d.np%d.t%" PetscInt_FMT ".%s.wisdom", cfg->wisdom, g->M, g->nfft, g->size, cfg->threads, QrbmPlannerNames[cfg->planner]));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  w->cache = PETSC_TRUE;
  if (!QrbmWisdomCacheDir(dir, sizeof(dir))) {
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "WARNING: FFTW wisdom cache disabled: neither XDG_CACHE_HOME nor HOME is an absolute path (-fftw_wisdom none silences this)\n"));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  Sanitize(fftw_version, ver, sizeof(ver)); /* e.g. fftw-3.3.10-sse2-avx: the build's SIMD set matters too */
  CpuModel(cpu, sizeof(cpu));
  PetscCall(PetscSNPrintf(w->path, sizeof(w->path), "%s/M%" PetscInt_FMT ".D%d.%s.np%d.t%" PetscInt_FMT ".%s.%s.%s.wisdom", dir, g->M, g->nfft, g->D >= 2 ? "transposed" : "slab", g->size, cfg->threads, QrbmPlannerNames[cfg->planner], ver, cpu));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* World rank 0: the file's text (NULL when absent or unreadable, with *why set for the latter). */
static char *ReadText(const char *path, const char **why)
{
  FILE  *f = fopen(path, "rb");
  char  *text;
  size_t n;
  *why = NULL;
  if (!f) {
    if (errno != ENOENT) *why = strerror(errno);
    return NULL;
  }
  text = malloc(WISDOM_MAX_BYTES + 1);
  n    = text ? fread(text, 1, WISDOM_MAX_BYTES + 1, f) : 0;
  if (!text || ferror(f) || n > WISDOM_MAX_BYTES) {
    *why = !text ? "out of memory" : ferror(f) ? "read error" : "larger than 16 MiB";
    free(text);
    text = NULL;
  } else text[n] = 0;
  fclose(f);
  return text;
}

PetscErrorCode QrbmWisdomLoad(MPI_Comm world, const QrbmConfig *cfg, const QrbmGrid *g, PetscBool restored, QrbmWisdom *w)
{
  PetscMPIInt rank;
  long long   len = -1; /* -1: nothing to import */
  const char *why = NULL;
  char       *text = NULL;
  int         ok;
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(w, sizeof(*w)));
  w->quiet = cfg->quiet;
  if (restored) PetscFunctionReturn(PETSC_SUCCESS); /* the checkpoint's wisdom wins: no file read or written */
  PetscCall(WisdomPath(cfg, g, w));
  if (!w->path[0]) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCallMPI(MPI_Comm_rank(world, &rank));
  if (rank == 0) {
    text = ReadText(w->path, &why);
    if (text) len = (long long)strlen(text);
  }
  PetscCallMPI(MPI_Bcast(&len, 1, MPI_LONG_LONG, 0, world));
  if (why) PetscCall(PetscPrintf(PETSC_COMM_SELF, "WARNING: FFTW wisdom %s cannot be read (%s): planning without it\n", w->path, why));
  if (len < 0) PetscFunctionReturn(PETSC_SUCCESS);
  if (rank != 0) PetscCall(PetscMalloc1(len + 1, &text));
  PetscCallMPI(MPI_Bcast(text, (PetscMPIInt)(len + 1), MPI_CHAR, 0, world));
  ok = fftw_import_wisdom_from_string(text); /* the same text everywhere: the same result everywhere */
  if (!ok) PetscCall(PetscPrintf(world, "WARNING: FFTW wisdom %s is not valid wisdom of this FFTW: ignored, it will be replaced\n", w->path));
  else if (!w->quiet) PetscCall(PetscPrintf(world, "FFTW wisdom: read %s\n", w->path));
  if (rank == 0 && ok) w->text = text;
  else if (rank == 0) free(text);
  else PetscCall(PetscFree(text));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static int CompareLines(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorted lines of a copy of text (NULL on allocation failure); *n lines, *copy to free. */
static char **SortedLines(const char *text, size_t *n, char **copy)
{
  size_t k = 0, cap = 1;
  char **lines;
  for (const char *s = text; *s; s++) cap += *s == '\n';
  *copy = strdup(text);
  lines = malloc(cap * sizeof(*lines));
  if (!*copy || !lines) {
    free(lines);
    return NULL;
  }
  for (char *s = strtok(*copy, "\n"); s; s = strtok(NULL, "\n")) lines[k++] = s;
  qsort(lines, k, sizeof(*lines), CompareLines);
  *n = k;
  return lines;
}

/* FFTW exports its wisdom in hash-table order, which changes from run to run: compare the entries. */
static PetscBool SameWisdom(const char *a, const char *b)
{
  size_t    na = 0, nb = 0;
  char     *ca = NULL, *cb = NULL, **la = SortedLines(a, &na, &ca), **lb = SortedLines(b, &nb, &cb);
  PetscBool same = la && lb && na == nb ? PETSC_TRUE : PETSC_FALSE;
  for (size_t i = 0; same && i < na; i++) same = strcmp(la[i], lb[i]) ? PETSC_FALSE : PETSC_TRUE;
  free(la); free(lb); free(ca); free(cb);
  return same;
}

/* World rank 0: writes text to a temporary file next to path and renames it over path (mkdirs:
   creates the cache directory first). Returns the failure's cause, or NULL. */
static const char *WriteAtomically(const char *path, const char *text, PetscBool mkdirs)
{
  char        tmp[PETSC_MAX_PATH_LEN + 400], host[128] = "host", dir[PETSC_MAX_PATH_LEN + 256];
  const char *why = NULL;
  FILE       *f;
  strcpy(dir, path);
  if (strrchr(dir, '/')) *strrchr(dir, '/') = 0;
  if (mkdirs && MakeDirs(dir)) return strerror(errno);
  gethostname(host, sizeof(host) - 1);
  snprintf(tmp, sizeof(tmp), "%s.tmp.%s.%ld", path, host, (long)getpid()); /* unique per writer */
  if (!(f = fopen(tmp, "w"))) return strerror(errno);
  if (fputs(text, f) < 0 || fflush(f) || fsync(fileno(f))) why = strerror(errno);
  if (fclose(f) && !why) why = strerror(errno);
  if (!why && rename(tmp, path)) why = strerror(errno);
  if (why) remove(tmp);
  return why;
}

PetscErrorCode QrbmWisdomSave(MPI_Comm world, const QrbmGrid *g, QrbmWisdom *w)
{
  PetscMPIInt rank;
  int         failed = 0;
  char        why[256] = "";
  PetscFunctionBeginUser;
  if (!w->path[0]) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCallMPI(MPI_Comm_rank(world, &rank));
  fftw_mpi_gather_wisdom(g->comm); /* world rank 0 is rank 0 of group 0 */
  if (rank == 0) {
    char *text = fftw_export_wisdom_to_string();
    if (!text) snprintf(why, sizeof(why), "FFTW could not export its wisdom");
    else if (!w->text || !SameWisdom(text, w->text)) {
      const char *err = WriteAtomically(w->path, text, w->cache);
      if (err) snprintf(why, sizeof(why), "%s", err);
    } else text[0] = 0; /* unchanged: nothing written */
    failed = why[0] ? 1 : text[0] ? 0 : -1;
    free(text);
  }
  PetscCallMPI(MPI_Bcast(&failed, 1, MPI_INT, 0, world));
  PetscCallMPI(MPI_Bcast(why, sizeof(why), MPI_CHAR, 0, world));
  PetscCheck(failed <= 0 || w->cache, world, PETSC_ERR_FILE_WRITE, "-fftw_wisdom: cannot write wisdom file %s: %s", w->path, why);
  if (failed > 0) PetscCall(PetscPrintf(world, "WARNING: FFTW wisdom cache %s cannot be written (%s): the next run plans again (-fftw_wisdom none silences this)\n", w->path, why));
  else if (failed == 0 && !w->quiet) PetscCall(PetscPrintf(world, "FFTW wisdom: wrote %s\n", w->path));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmWisdomDestroy(QrbmWisdom *w)
{
  PetscFunctionBeginUser;
  free(w->text);
  w->text = NULL;
  PetscFunctionReturn(PETSC_SUCCESS);
}
