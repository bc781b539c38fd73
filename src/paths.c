/* Files of a run: start-up checks, lock files, backups of old outputs, fsync. Everything here
   runs on rank 0 (one file system view is enough: MPI-IO needs a shared file system) and ends in
   an agreement, so that every rank refuses together. */
#define _GNU_SOURCE /* realpath, gethostname */
#include <qrbm/agree.h>
#include <qrbm/paths.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NAME_LEN (PATH_MAX + 32)

/* snprintf that may truncate (names are bounded by NAME_LEN; lock fields by their buffers). */
static void Fmt(char *dst, size_t n, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(dst, n, fmt, ap);
  va_end(ap);
}

/* ---------- -options_file recursion (before PETSc and MPI exist) ---------- */

static int Quiet(void)
{
  const char *r = getenv("OMPI_COMM_WORLD_RANK");
  if (!r) r = getenv("PMI_RANK");
  return r && atoi(r) != 0;
}

/* Depth-first over the -options_file lines of `file`; chain holds the resolved files above it. */
static int VisitOptionsFile(const char *file, char chain[][PATH_MAX], int depth)
{
  char  real[PATH_MAX], line[4096];
  FILE *fp;
  int   bad = 0;
  if (!realpath(file, real)) return 0; /* missing: PETSc reports it */
  for (int i = 0; i < depth; i++)
    if (!strcmp(chain[i], real)) {
      if (!Quiet()) {
        fprintf(stderr, "qrbm: ERROR: -options_file %s includes itself:", real);
        for (int j = i; j < depth; j++) fprintf(stderr, " %s ->", chain[j]);
        fprintf(stderr, " %s (recursive options files)\n", real);
      }
      return 1;
    }
  if (depth >= 16) {
    if (!Quiet()) fprintf(stderr, "qrbm: ERROR: -options_file %s: options files nested more than 16 deep\n", real);
    return 1;
  }
  Fmt(chain[depth], PATH_MAX, "%s", real);
  if (!(fp = fopen(real, "r"))) return 0;
  while (!bad && fgets(line, sizeof(line), fp)) {
    char *tok = strtok(line, " \t\r\n"), *arg;
    if (!tok || strcmp(tok, "-options_file")) continue;
    if (!(arg = strtok(NULL, " \t\r\n"))) continue;
    /* PETSc resolves nested names relative to the working directory */
    bad = VisitOptionsFile(arg, chain, depth + 1);
  }
  fclose(fp);
  return bad;
}

int QrbmOptionsFilesCheck(int argc, char **argv)
{
  static char chain[17][PATH_MAX];
  for (int i = 1; i + 1 < argc; i++)
    if (!strcmp(argv[i], "-options_file") && VisitOptionsFile(argv[i + 1], chain, 0)) return 1;
  return 0;
}

/* ---------- resolution and checks ---------- */

/* Absolute name with symbolic links resolved; the file itself need not exist, its directory must. */
static PetscErrorCode Resolve(const char *opt, const char *path, char *out)
{
  char dir[NAME_LEN], base[NAME_LEN], rdir[PATH_MAX];
  PetscFunctionBeginUser;
  if (realpath(path, rdir)) {
    Fmt(out, NAME_LEN, "%s", rdir);
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  Fmt(dir, sizeof(dir), "%s", path);
  Fmt(base, sizeof(base), "%s", path);
  const char *d = dirname(dir), *b = basename(base);
  PetscCheck(realpath(d, rdir), PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "%s %s: directory %s: %s", opt, path, d, strerror(errno));
  Fmt(out, NAME_LEN, "%s/%s", rdir, b);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode CheckWritableDir(const char *opt, const char *path, const char *resolved)
{
  char dir[NAME_LEN];
  PetscFunctionBeginUser;
  Fmt(dir, sizeof(dir), "%s", resolved);
  const char *d = dirname(dir);
  PetscCheck(access(d, W_OK | X_OK) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "%s %s: directory %s is not writable: %s", opt, path, d, strerror(errno));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode CheckMPIIOName(const char *opt, const char *name)
{
  const char *io = getenv("OMPI_MCA_io");
  PetscFunctionBeginUser;
  if (io && strstr(io, "romio")) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCheck(strlen(name) <= QRBM_MPIIO_MAX_NAME, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "%s: the file name %s has %zu characters; Open MPI 4.1's MPI-IO (OMPIO) crashes on names longer than %d: use a shorter (e.g. relative) name, or export OMPI_MCA_io=romio321", opt, name, strlen(name),
             QRBM_MPIIO_MAX_NAME);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The file of PETSc's -log_view [type][:file][:format], or "" for standard output. */
static PetscErrorCode LogViewFile(char *file, size_t len)
{
  char      value[PETSC_MAX_PATH_LEN] = "";
  PetscBool set;
  PetscFunctionBeginUser;
  file[0] = 0;
  PetscCall(PetscOptionsGetString(NULL, NULL, "-log_view", value, sizeof(value), &set));
  char *colon = strchr(value, ':');
  if (!set || !colon) PetscFunctionReturn(PETSC_SUCCESS);
  char *end = strchr(colon + 1, ':');
  if (end) *end = 0;
  Fmt(file, len, "%s", colon + 1);
  PetscFunctionReturn(PETSC_SUCCESS);
}

typedef struct {
  const char *opt; /* option that names it */
  char        name[NAME_LEN];
} Named;

static PetscErrorCode AddNamed(Named *list, int *n, const char *opt, const char *resolved, const char *suffix)
{
  PetscFunctionBeginUser;
  list[*n].opt = opt;
  Fmt(list[*n].name, NAME_LEN, "%s%s", resolved, suffix);
  (*n)++;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Two names of the list that are the same file (same resolved name, or the same inode). */
static PetscErrorCode CheckDistinct(const Named *list, int n)
{
  struct stat a, b;
  PetscFunctionBeginUser;
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++) {
      PetscBool same = strcmp(list[i].name, list[j].name) ? PETSC_FALSE : PETSC_TRUE;
      if (!same && !stat(list[i].name, &a) && !stat(list[j].name, &b)) same = a.st_dev == b.st_dev && a.st_ino == b.st_ino ? PETSC_TRUE : PETSC_FALSE;
      PetscCheck(!same, PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP, "%s and %s name the same file %s: every file of a run (output, OUTPUT.part, OUTPUT.lock, checkpoint, CHECKPOINT.tmp/.1/..., -log_view, the restart file) must be distinct", list[i].opt,
                 list[j].opt, list[i].name);
    }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* ---------- lock files ---------- */

static char locks[2][NAME_LEN];
static int  nlocks;

typedef struct {
  char host[256], job[64], start[64];
  long pid;
} LockInfo;

static void Me(LockInfo *me)
{
  const char *job = getenv("SLURM_JOB_ID");
  time_t      now = time(NULL);
  memset(me, 0, sizeof(*me));
  gethostname(me->host, sizeof(me->host) - 1);
  me->pid = (long)getpid();
  Fmt(me->job, sizeof(me->job), "%s", job && job[0] ? job : "none");
  strftime(me->start, sizeof(me->start), "%Y-%m-%dT%H:%M:%S%z", localtime(&now));
}

static int ReadLock(const char *file, LockInfo *li)
{
  FILE *fp = fopen(file, "r");
  char  line[512];
  memset(li, 0, sizeof(*li));
  if (!fp) return 0;
  while (fgets(line, sizeof(line), fp)) {
    line[strcspn(line, "\n")] = 0;
    if (!strncmp(line, "host=", 5)) Fmt(li->host, sizeof(li->host), "%s", line + 5);
    if (!strncmp(line, "pid=", 4)) li->pid = atol(line + 4);
    if (!strncmp(line, "slurm_job=", 10)) Fmt(li->job, sizeof(li->job), "%s", line + 10);
    if (!strncmp(line, "start=", 6)) Fmt(li->start, sizeof(li->start), "%s", line + 6);
  }
  fclose(fp);
  return 1;
}

/* A running (not zombie) process of this host with that pid that is a qrbm (not a recycled pid). */
static PetscBool Alive(long pid)
{
  char  path[64], stat[512] = "";
  FILE *fp;
  if (pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno != EPERM)) return PETSC_FALSE;
  Fmt(path, sizeof(path), "/proc/%ld/stat", pid);
  if (!(fp = fopen(path, "r"))) return PETSC_TRUE; /* no /proc: trust kill() */
  if (!fgets(stat, sizeof(stat), fp)) stat[0] = 0;
  fclose(fp);
  const char *close = strrchr(stat, ')'); /* "pid (comm) state ..." */
  if (!close || close[1] != ' ' || close[2] == 'Z' || close[2] == 'X') return PETSC_FALSE;
  char    exe[PATH_MAX] = "";
  ssize_t n;
  Fmt(path, sizeof(path), "/proc/%ld/exe", pid); /* comm may read "exe" after a re-exec of /proc/self/exe */
  if ((n = readlink(path, exe, sizeof(exe) - 1)) < 0) return PETSC_TRUE;
  exe[n] = 0;
  return strstr(exe, "qrbm") ? PETSC_TRUE : PETSC_FALSE;
}

static PetscErrorCode WriteLock(const char *opt, const char *file, const LockInfo *me)
{
  int  fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0644);
  char text[512];
  PetscFunctionBeginUser;
  PetscCheck(fd >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "%s: cannot create the lock file %s: %s", opt, file, strerror(errno));
  const int n = snprintf(text, sizeof(text), "host=%s\npid=%ld\nslurm_job=%s\nstart=%s\n", me->host, me->pid, me->job, me->start);
  const ssize_t w = write(fd, text, (size_t)n);
  const int     e = errno;
  close(fd);
  if (w != n) unlink(file); /* created just now: a full disk must not leave a lock behind */
  errno = e;
  PetscCheck(w == n, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "%s: cannot write the lock file %s: %s", opt, file, strerror(errno));
  Fmt(locks[nlocks++], NAME_LEN, "%s", file);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Creates FILE.lock, or takes over a stale one (same host, process gone; other host only with
   -lock_takeover), or refuses naming the run that holds it. */
static PetscErrorCode Lock(const char *opt, const char *path, const char *resolved, PetscBool takeover)
{
  char     file[NAME_LEN];
  LockInfo me, li;
  PetscFunctionBeginUser;
  Me(&me);
  Fmt(file, sizeof(file), "%s.lock", resolved);
  if (access(file, F_OK) != 0) {
    PetscCall(WriteLock(opt, file, &me));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  ReadLock(file, &li);
  const PetscBool here = strcmp(li.host, me.host) ? PETSC_FALSE : PETSC_TRUE;
  PetscCheck(!here || !Alive(li.pid), PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "%s %s is in use by another qrbm run: pid %ld on this host %s, SLURM job %s, started %s (lock file %s)", opt, path, li.pid, li.host, li.job, li.start, file);
  PetscCheck(here || takeover, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN,
             "%s %s is locked by a run on another host: pid %ld on host %s, SLURM job %s, started %s (lock file %s). If that run is gone (e.g. a requeued job now runs on another node), rerun with -lock_takeover", opt, path, li.pid,
             li.host, li.job, li.start, file);
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "qrbm: taking over the stale lock %s of pid %ld on host %s (SLURM job %s, started %s): %s\n", file, li.pid, li.host, li.job, li.start,
                        here ? "that process is gone" : "-lock_takeover given"));
  PetscCheck(unlink(file) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "%s: cannot remove the stale lock file %s: %s", opt, file, strerror(errno));
  PetscCall(WriteLock(opt, file, &me));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static char owned[NAME_LEN];
static int  committed; /* the run keeps its files (a checkpoint exists, or it closed its output) */

void QrbmPathsOwn(const char *path)
{
  Fmt(owned, sizeof(owned), "%s", path ? path : "");
  committed = path ? 0 : 1;
}

/* Files moved aside by this run: put back if it fails before it has anything to keep. */
static char moved[QRBM_MAX_KEEP + 8][2][NAME_LEN]; /* output, .part, .error.txt, the checkpoints */
static int  nmoved;

static void RestoreMoved(void)
{
  for (int i = nmoved - 1; i >= 0; i--)
    if (access(moved[i][0], F_OK) != 0 && rename(moved[i][1], moved[i][0]) == 0) fprintf(stderr, "qrbm: the run failed: moved %s back to %s\n", moved[i][1], moved[i][0]);
  nmoved = 0;
}

static LockInfo holder; /* rank 0's identity, as written into the locks; known on every rank */

void QrbmPathsRelease(void)
{
  LockInfo li;
  if (owned[0]) unlink(owned);
  owned[0] = 0;
  for (int i = 0; i < nlocks; i++) /* only if it is still ours (it may have been taken over) */
    if (ReadLock(locks[i], &li) && li.pid == holder.pid && !strcmp(li.host, holder.host)) unlink(locks[i]);
  nlocks = 0;
}

void QrbmPathsAbandon(void)
{
  if (owned[0]) unlink(owned); /* first, so that the names moved aside are free again */
  owned[0] = 0;
  if (!committed) RestoreMoved();
  QrbmPathsRelease();
}

/* ---------- start-up ---------- */
static PetscErrorCode CheckAll(const QrbmConfig *c)
{
  char  out[NAME_LEN], ck[NAME_LEN], rs[NAME_LEN], lv[PETSC_MAX_PATH_LEN], lvr[NAME_LEN], suffix[32], given[NAME_LEN];
  Named list[64];
  int   n = 0;
  PetscFunctionBeginUser;
  PetscCall(Resolve("-output", c->output, out));
  PetscCall(CheckWritableDir("-output", c->output, out));
  PetscCall(AddNamed(list, &n, "-output", out, ""));
  PetscCall(AddNamed(list, &n, "-output (OUTPUT.part)", out, ".part"));
  PetscCall(AddNamed(list, &n, "-output (OUTPUT.lock)", out, ".lock"));
  PetscCall(AddNamed(list, &n, "-output (OUTPUT.error.txt)", out, ".error.txt"));
  Fmt(given, sizeof(given), "%s.part", c->output);
  PetscCall(CheckMPIIOName("-output", given));
  if (!c->checkpoint_file[0]) { /* a stop writes OUTPUT.ckpt */
    PetscCall(AddNamed(list, &n, "-output (OUTPUT.ckpt, the checkpoint of a stop)", out, ".ckpt"));
    PetscCall(AddNamed(list, &n, "-output (OUTPUT.ckpt.tmp)", out, ".ckpt.tmp"));
    Fmt(given, sizeof(given), "%s.ckpt.tmp", c->output);
    PetscCall(CheckMPIIOName("-output", given));
  } else {
    Fmt(given, sizeof(given), "%s.tmp", c->checkpoint_file);
    PetscCall(CheckMPIIOName("-checkpoint_file", given));
    PetscCall(Resolve("-checkpoint_file", c->checkpoint_file, ck));
    PetscCall(CheckWritableDir("-checkpoint_file", c->checkpoint_file, ck));
    PetscCall(AddNamed(list, &n, "-checkpoint_file", ck, ""));
    PetscCall(AddNamed(list, &n, "-checkpoint_file (CHECKPOINT.tmp)", ck, ".tmp"));
    PetscCall(AddNamed(list, &n, "-checkpoint_file (CHECKPOINT.lock)", ck, ".lock"));
    for (PetscInt i = 1; i < c->checkpoint_keep && n < 60; i++) {
      Fmt(suffix, sizeof(suffix), ".%d", (int)i);
      PetscCall(AddNamed(list, &n, "-checkpoint_file (a rotated CHECKPOINT.n)", ck, suffix));
    }
  }
  PetscCall(LogViewFile(lv, sizeof(lv)));
  if (lv[0]) {
    PetscCall(Resolve("-log_view", lv, lvr));
    PetscCall(CheckWritableDir("-log_view", lv, lvr));
    struct stat st; /* PETSc writes it at the very end: a directory or read-only file would fail the finished run */
    PetscCheck(stat(lvr, &st) != 0 || (S_ISREG(st.st_mode) && access(lvr, W_OK) == 0), PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "-log_view %s: exists and is not a writable regular file", lv);
    PetscCall(AddNamed(list, &n, "-log_view", lvr, ""));
  }
  PetscCall(CheckDistinct(list, n));
  if (c->restart[0]) { /* may be one of the checkpoints, never one of the other files */
    PetscCheck(access(c->restart, R_OK) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "-restart %s: file not found or not readable (%s)", c->restart, strerror(errno));
    PetscCall(CheckMPIIOName("-restart", c->restart));
    PetscCall(Resolve("-restart", c->restart, rs));
    for (int i = 0; i < n; i++) {
      const PetscBool ckpt = !strcmp(list[i].opt, "-checkpoint_file") || strstr(list[i].opt, "CHECKPOINT.n") || strstr(list[i].opt, "OUTPUT.ckpt,");
      Named           pair[2] = {list[i], {"-restart", ""}};
      Fmt(pair[1].name, NAME_LEN, "%s", rs);
      if (!ckpt) PetscCall(CheckDistinct(pair, 2));
    }
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode LockAll(const QrbmConfig *c)
{
  char out[NAME_LEN], ck[NAME_LEN];
  PetscFunctionBeginUser;
  PetscCall(Resolve("-output", c->output, out));
  PetscCall(Lock("-output", c->output, out, c->lock_takeover));
  if (c->checkpoint_file[0]) {
    PetscCall(Resolve("-checkpoint_file", c->checkpoint_file, ck));
    PetscCall(Lock("-checkpoint_file", c->checkpoint_file, ck, c->lock_takeover));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmPathsSetUp(MPI_Comm comm, const QrbmConfig *cfg)
{
  PetscMPIInt rank;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  QrbmAgreeOnAbort(QrbmPathsAbandon);
  if (rank == 0) Me(&holder); /* before locking: a failure between the two locks releases the first */
  QrbmCollective("checking the file names", rank == 0 ? CheckAll(cfg) : PETSC_SUCCESS);
  QrbmCollective("locking the output and checkpoint", rank == 0 ? LockAll(cfg) : PETSC_SUCCESS);
  /* every rank can clean up rank 0's files when it has to end the job alone */
  PetscCallMPI(MPI_Bcast(&holder, (int)sizeof(holder), MPI_BYTE, 0, comm));
  PetscCallMPI(MPI_Bcast(&nlocks, 1, MPI_INT, 0, comm));
  PetscCallMPI(MPI_Bcast(locks, (int)sizeof(locks), MPI_CHAR, 0, comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* ---------- backups ---------- */

PetscErrorCode QrbmPathsBackup(const char *path)
{
  char bak[NAME_LEN];
  int  k;
  PetscFunctionBeginUser;
  if (access(path, F_OK) != 0) PetscFunctionReturn(PETSC_SUCCESS);
  for (k = 1; k <= QRBM_MAX_BACKUPS; k++) {
    Fmt(bak, sizeof(bak), "%s.~%d~", path, k);
    if (access(bak, F_OK) != 0) break;
  }
  PetscCheck(k <= QRBM_MAX_BACKUPS, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "%s exists and so do its %d backups %s.~1~ .. %s.~%d~: remove or move old backups (qrbm never deletes them)", path, QRBM_MAX_BACKUPS, path, path,
             QRBM_MAX_BACKUPS);
  PetscCheck(rename(path, bak) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot move the existing %s aside to %s: %s", path, bak, strerror(errno));
  if (nmoved < (int)(sizeof(moved) / sizeof(moved[0]))) {
    Fmt(moved[nmoved][0], NAME_LEN, "%s", path);
    Fmt(moved[nmoved++][1], NAME_LEN, "%s", bak);
  }
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "qrbm: %s existed: moved it aside to %s\n", path, bak));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode MoveAsideAll(const QrbmConfig *c)
{
  const char *suffixes[] = {"", ".part", ".error.txt"};
  char        name[NAME_LEN];
  PetscFunctionBeginUser;
  for (int i = 0; i < 3; i++) {
    Fmt(name, sizeof(name), "%s%s", c->output, suffixes[i]);
    PetscCall(QrbmPathsBackup(name));
  }
  /* also OUTPUT.ckpt without -checkpoint_file: a stop would rotate another run's checkpoint */
  PetscCall(QrbmPathsBackup(c->checkpoint_file));
  for (PetscInt i = 1; i < c->checkpoint_keep; i++) {
    Fmt(name, sizeof(name), "%s.%d", c->checkpoint_file, (int)i);
    PetscCall(QrbmPathsBackup(name));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmPathsMoveAside(MPI_Comm comm, const QrbmConfig *cfg)
{
  PetscMPIInt rank;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  QrbmCollective("moving old files aside", rank == 0 ? MoveAsideAll(cfg) : PETSC_SUCCESS);
  /* any rank may have to end the job alone and then puts them back (QrbmPathsAbandon) */
  PetscCallMPI(MPI_Bcast(&nmoved, 1, MPI_INT, 0, comm));
  if (nmoved) PetscCallMPI(MPI_Bcast(moved, nmoved * 2 * NAME_LEN, MPI_CHAR, 0, comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmPathsSync(const char *path)
{
  char dir[NAME_LEN];
  int  fd;
  PetscFunctionBeginUser;
  fd = open(path, O_RDONLY);
  PetscCheck(fd >= 0 && fsync(fd) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "fsync of %s failed: %s", path, strerror(errno));
  close(fd);
  Fmt(dir, sizeof(dir), "%s", path);
  fd = open(dirname(dir), O_RDONLY | O_DIRECTORY);
  PetscCheck(fd >= 0 && fsync(fd) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "fsync of the directory of %s failed: %s", path, strerror(errno));
  close(fd);
  PetscFunctionReturn(PETSC_SUCCESS);
}
