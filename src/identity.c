/* Run identity and provenance (see identity.h). */
#include <qrbm/identity.h>
#include <qrbm/h5io.h>
#include <fftw3.h>
#include <stdio.h>
#include <string.h>
#include "git.h" /* build/git.h: QRBM_GIT_COMMIT, QRBM_GIT_DIRTY, written by the Makefile */

static char command_line[4096];

void QrbmIdentitySetCommandLine(int argc, char **argv)
{
  size_t n = 0;
  for (int i = 0; i < argc && n + 2 < sizeof(command_line); i++) n += (size_t)snprintf(command_line + n, sizeof(command_line) - n, "%s%s", i ? " " : "", argv[i]);
}

PetscErrorCode QrbmIdentityNew(MPI_Comm comm, QrbmConfig *cfg)
{
  PetscMPIInt   rank;
  unsigned char bytes[16] = {0};
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    FILE  *fp = fopen("/dev/urandom", "rb");
    size_t n  = fp ? fread(bytes, 1, sizeof(bytes), fp) : 0;
    if (fp) fclose(fp);
    PetscCheck(n == sizeof(bytes), PETSC_COMM_SELF, PETSC_ERR_SYS, "cannot read /dev/urandom for the run id");
  }
  PetscCallMPI(MPI_Bcast(bytes, sizeof(bytes), MPI_UNSIGNED_CHAR, 0, comm));
  for (int i = 0; i < 16; i++) snprintf(cfg->run_id + 2 * i, 3, "%02x", bytes[i]);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmIdentityWrite(hid_t loc, const QrbmConfig *cfg)
{
  char     text[512];
  unsigned maj, min, rel;
  int      len;
  PetscFunctionBeginUser;
  PetscCall(QrbmH5WriteAttrString(loc, "run_id", cfg->run_id));
  PetscCall(QrbmH5WriteAttrString(loc, "physics_hash", cfg->physics_hash));
  PetscCall(QrbmH5WriteAttrString(loc, "git_commit", QRBM_GIT_COMMIT));
  PetscCall(QrbmH5WriteAttrReal(loc, "git_dirty", QRBM_GIT_DIRTY));
  QrbmCallH5(H5get_libversion(&maj, &min, &rel));
  PetscCall(PetscSNPrintf(text, sizeof(text), "%u.%u.%u", maj, min, rel));
  PetscCall(QrbmH5WriteAttrString(loc, "hdf5_version", text));
  PetscCall(QrbmH5WriteAttrString(loc, "fftw_version", fftw_version));
  PetscCall(PetscGetVersion(text, sizeof(text)));
  PetscCall(QrbmH5WriteAttrString(loc, "petsc_version", text));
  PetscCallMPI(MPI_Get_library_version(text, &len));
  text[strcspn(text, "\n")] = 0;
  PetscCall(QrbmH5WriteAttrString(loc, "mpi_version", text));
  PetscCall(QrbmH5WriteAttrString(loc, "command_line", command_line));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmIdentityRead(hid_t loc, const char *file, char *run_id, char *physics_hash)
{
  PetscFunctionBeginUser;
  run_id[0] = physics_hash[0] = 0;
  if (H5Aexists(loc, "run_id") > 0) PetscCall(QrbmH5ReadAttrString(loc, file, "run_id", run_id, 33));
  if (H5Aexists(loc, "physics_hash") > 0) PetscCall(QrbmH5ReadAttrString(loc, file, "physics_hash", physics_hash, 17));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* One option from its root attribute: choices by name, strings as stored, numbers that fit the field. */
static PetscErrorCode ReadOption(hid_t loc, const char *file, const QrbmOption *o, QrbmConfig *cfg)
{
  const char *attr = o->name + 1;
  char        text[PETSC_MAX_PATH_LEN], list[256];
  double      v;
  PetscFunctionBeginUser;
  PetscCheck(o->type != QRBM_OPT_REALS, PETSC_COMM_SELF, PETSC_ERR_SUP, "option %s: lists are not read back from files", o->name);
  if (o->type == QRBM_OPT_STRING) {
    PetscCall(QrbmH5ReadAttrString(loc, file, attr, (char *)cfg + o->offset, o->size));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  if (o->type == QRBM_OPT_CHOICE) {
    PetscCall(QrbmH5ReadAttrString(loc, file, attr, text, sizeof(text)));
    PetscCall(QrbmOptionChoiceList(o, ", ", list, sizeof(list)));
    v = (double)QrbmOptionChoiceIndex(o, text);
    PetscCheck(v >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute '%s' = '%s' is not one of %s", file, attr, text, list);
  } else PetscCall(QrbmH5ReadAttrReal(loc, file, attr, &v));
  PetscCheck(QrbmOptionSetNumber(o, cfg, v), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute '%s' = %g is not a value of %s", file, attr, v, o->name);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmIdentityReadOptions(hid_t loc, const char *file, unsigned use, QrbmConfig *cfg)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(cfg, sizeof(*cfg)));
  for (const QrbmOption *o = QrbmOptions; o->name; o++)
    if (o->use & use) PetscCall(ReadOption(loc, file, o, cfg));
  PetscFunctionReturn(PETSC_SUCCESS);
}
