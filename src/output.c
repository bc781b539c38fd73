/* HDF5 output: root attributes record every option, time series grow along an unlimited axis. */
#include <qrbm/output.h>
#include <qrbm/events.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static PetscErrorCode AttrString(hid_t loc, const char *name, const char *value)
{
  hid_t t, s, a;
  PetscFunctionBeginUser;
  QrbmCallH5Id(t, H5Tcopy(H5T_C_S1));
  QrbmCallH5(H5Tset_size(t, strlen(value) + 1));
  QrbmCallH5Id(s, H5Screate(H5S_SCALAR));
  QrbmCallH5Id(a, H5Acreate2(loc, name, t, s, H5P_DEFAULT, H5P_DEFAULT));
  QrbmCallH5(H5Awrite(a, t, value));
  QrbmCallH5(H5Aclose(a));
  QrbmCallH5(H5Sclose(s));
  QrbmCallH5(H5Tclose(t));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode AttrNumbers(hid_t loc, const char *name, hid_t type, hsize_t n, const void *v)
{
  hid_t s, a;
  PetscFunctionBeginUser;
  QrbmCallH5Id(s, n == 1 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, NULL));
  QrbmCallH5Id(a, H5Acreate2(loc, name, type, s, H5P_DEFAULT, H5P_DEFAULT));
  QrbmCallH5(H5Awrite(a, type, v));
  QrbmCallH5(H5Aclose(a));
  QrbmCallH5(H5Sclose(s));
  PetscFunctionReturn(PETSC_SUCCESS);
}
#define AttrReal(loc, name, v) AttrNumbers(loc, name, H5T_NATIVE_DOUBLE, 1, &(double){(double)(v)})
#define AttrInt(loc, name, v)  AttrNumbers(loc, name, H5T_NATIVE_LLONG, 1, &(long long){(long long)(v)})

/* Every option value, the code version and the parallel layout, as root attributes. */
static PetscErrorCode WriteAttributes(hid_t f, const QrbmGrid *g, const QrbmConfig *c)
{
  const hsize_t npk = (hsize_t)(c->ninit * c->dim);
  PetscFunctionBeginUser;
  PetscCall(AttrString(f, "qrbm_version", QRBM_VERSION));
  PetscCall(AttrInt(f, "format_version", QRBM_FORMAT_VERSION));
  PetscCall(AttrInt(f, "mpi_ranks", g->size));
  PetscCall(AttrInt(f, "dim", c->dim));
  PetscCall(AttrInt(f, "particles", c->particles));
  PetscCall(AttrInt(f, "grid", c->grid));
  PetscCall(AttrReal(f, "box", c->box));
  PetscCall(AttrReal(f, "hbar", c->hbar));
  PetscCall(AttrReal(f, "t_final", c->t_final));
  PetscCall(AttrReal(f, "dt", c->dt));
  PetscCall(AttrInt(f, "nsteps", c->nsteps));
  PetscCall(AttrString(f, "scheme", QrbmSchemeNames[c->scheme]));
  PetscCall(AttrString(f, "potential", QrbmPotentialNames[c->potential]));
  PetscCall(AttrReal(f, "potential_strength", c->strength));
  PetscCall(AttrReal(f, "potential_width", c->width));
  PetscCall(AttrReal(f, "trap_omega", c->trap_omega));
  PetscCall(AttrString(f, "init", QrbmInitNames[c->init]));
  if (npk) PetscCall(AttrNumbers(f, "init_q", H5T_NATIVE_DOUBLE, npk, c->init_q));
  if (npk) PetscCall(AttrNumbers(f, "init_p", H5T_NATIVE_DOUBLE, npk, c->init_p));
  PetscCall(AttrReal(f, "ground_tol", c->ground_tol));
  PetscCall(AttrInt(f, "ground_maxiter", c->ground_maxiter));
  PetscCall(AttrReal(f, "ground_dtau", c->ground_dtau));
  PetscCall(AttrString(f, "output", c->output));
  PetscCall(AttrInt(f, "output_interval", c->output_interval));
  PetscCall(AttrString(f, "fftw_planner", QrbmPlannerNames[c->planner]));
  PetscCall(AttrString(f, "fftw_wisdom", c->wisdom));
  PetscCall(AttrInt(f, "threads", c->threads));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* A dataset of shape (0, shape...) growing along axis 0, or a fixed array when !series. */
static PetscErrorCode CreateSeries(hid_t f, const char *name, int rank, const hsize_t *shape)
{
  hsize_t dims[4] = {0}, maxd[4] = {H5S_UNLIMITED}, chunk[4] = {1};
  hid_t   s, p, d;
  PetscFunctionBeginUser;
  for (int r = 0; r < rank; r++) dims[r + 1] = maxd[r + 1] = chunk[r + 1] = shape[r];
  if (rank == 0) chunk[0] = 256;
  QrbmCallH5Id(s, H5Screate_simple(rank + 1, dims, maxd));
  QrbmCallH5Id(p, H5Pcreate(H5P_DATASET_CREATE));
  QrbmCallH5(H5Pset_chunk(p, rank + 1, chunk));
  QrbmCallH5Id(d, H5Dcreate2(f, name, H5T_NATIVE_DOUBLE, s, H5P_DEFAULT, p, H5P_DEFAULT));
  QrbmCallH5(H5Dclose(d));
  QrbmCallH5(H5Pclose(p));
  QrbmCallH5(H5Sclose(s));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Writes a fixed array collectively; rank 0 holds the data, the other ranks select nothing. */
static PetscErrorCode WriteFixed(QrbmOutput *out, const char *name, int rank, const hsize_t *shape, const double *v)
{
  hid_t s, d;
  PetscFunctionBeginUser;
  QrbmCallH5Id(s, H5Screate_simple(rank, shape, NULL));
  QrbmCallH5Id(d, H5Dcreate2(out->file, name, H5T_NATIVE_DOUBLE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  if (out->rank != 0) QrbmCallH5(H5Sselect_none(s));
  QrbmCallH5(H5Dwrite(d, H5T_NATIVE_DOUBLE, s, s, out->dxpl, v));
  QrbmCallH5(H5Dclose(d));
  QrbmCallH5(H5Sclose(s));
  PetscFunctionReturn(PETSC_SUCCESS);
}

typedef struct {
  const char   *name;
  int           rank;
  const double *v;
} Series;

/* The time series of the schema, with the row each holds at this output time. */
static int SeriesList(const QrbmObservables *o, const QrbmOutput *out, Series *s, double *scalars)
{
  const int rd = (int)out->d;
  int       n  = 0;
  const char *names[] = {"/observables/time", "/observables/step", "/observables/norm", "/observables/energy", "/observables/energy_kinetic",
                         "/observables/energy_trap", "/observables/energy_interaction", "/observables/x2", "/observables/p2"};
  const double vals[] = {o->time, (double)o->step, o->norm, o->energy, o->e_kin, o->e_trap, o->e_int, o->x2, o->p2};
  for (int i = 0; i < 9; i++) {
    scalars[i] = vals[i];
    s[n++]     = (Series){names[i], 0, scalars + i};
  }
  s[n++] = (Series){"/observables/x", 1, o->x};
  s[n++] = (Series){"/observables/p", 1, o->p};
  s[n++] = (Series){"/observables/x2_axes", 1, o->x2c};
  s[n++] = (Series){"/observables/p2_axes", 1, o->p2c};
  s[n++] = (Series){"/density/rho", rd, o->rho};
  s[n++] = (Series){"/density/rho_p", rd, o->rho_p};
  return n;
}

PetscErrorCode QrbmOutputCreate(const QrbmGrid *g, const QrbmConfig *cfg, const QrbmObservables *obs, QrbmOutput *out)
{
  hid_t   fapl, grp;
  Series  s[16];
  double  scalars[16];
  hsize_t shape[4], M = (hsize_t)g->M;
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(QRBM_EVENT_IO, 0, 0, 0, 0));
  PetscCall(PetscMemzero(out, sizeof(*out)));
  out->comm = g->comm; out->rank = g->rank; out->d = g->d; out->Md = g->Md;
  PetscCall(PetscStrncpy(out->path, cfg->output, sizeof(out->path)));
  PetscCall(PetscSNPrintf(out->part, sizeof(out->part), "%s.part", cfg->output));
  QrbmCallH5(H5Eset_auto2(H5E_DEFAULT, NULL, NULL)); /* our own messages replace HDF5's stack dumps */
  QrbmCallH5Id(fapl, H5Pcreate(H5P_FILE_ACCESS));
  QrbmCallH5(H5Pset_fapl_mpio(fapl, g->comm, MPI_INFO_NULL));
  out->file = H5Fcreate(out->part, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  QrbmCallH5(H5Pclose(fapl));
  PetscCheck(out->file >= 0, g->comm, PETSC_ERR_FILE_OPEN, "-output %s: cannot create %s (directory missing or not writable?)", cfg->output, out->part);
  QrbmCallH5Id(out->dxpl, H5Pcreate(H5P_DATASET_XFER));
  QrbmCallH5(H5Pset_dxpl_mpio(out->dxpl, H5FD_MPIO_COLLECTIVE));
  PetscCall(WriteAttributes(out->file, g, cfg));
  QrbmCallH5Id(grp, H5Gcreate2(out->file, "/observables", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  QrbmCallH5(H5Gclose(grp));
  QrbmCallH5Id(grp, H5Gcreate2(out->file, "/density", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  PetscCall(AttrString(grp, "normalisation", "sum(rho) h^d = norm, sum(rho_p) (2 pi hbar/L)^d = norm; particle-averaged one-body densities"));
  QrbmCallH5(H5Gclose(grp));
  const int n = SeriesList(obs, out, s, scalars);
  for (int i = 0; i < n; i++) {
    for (int r = 0; r < s[i].rank; r++) shape[r] = strstr(s[i].name, "density") ? M : (hsize_t)g->d;
    PetscCall(CreateSeries(out->file, s[i].name, s[i].rank, shape));
  }
  PetscCall(WriteFixed(out, "/density/x", 1, &M, g->x));
  PetscCall(WriteFixed(out, "/density/p", 1, &M, obs->pgrid));
  PetscCall(PetscLogEventEnd(QRBM_EVENT_IO, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmOutputAppend(QrbmOutput *out, const QrbmObservables *obs)
{
  Series s[16];
  double scalars[16];
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(QRBM_EVENT_IO, 0, 0, 0, 0));
  const int n = SeriesList(obs, out, s, scalars);
  for (int i = 0; i < n; i++) {
    hsize_t dims[4], start[4] = {out->ntimes}, count[4] = {1};
    hid_t   d, fs, ms;
    QrbmCallH5Id(d, H5Dopen2(out->file, s[i].name, H5P_DEFAULT));
    QrbmCallH5Id(fs, H5Dget_space(d));
    QrbmCallH5(H5Sget_simple_extent_dims(fs, dims, NULL));
    QrbmCallH5(H5Sclose(fs));
    dims[0] = out->ntimes + 1;
    QrbmCallH5(H5Dset_extent(d, dims));
    QrbmCallH5Id(fs, H5Dget_space(d));
    for (int r = 1; r <= s[i].rank; r++) count[r] = dims[r];
    QrbmCallH5(H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL));
    QrbmCallH5Id(ms, H5Screate_simple(s[i].rank + 1, count, NULL));
    if (out->rank != 0) {
      QrbmCallH5(H5Sselect_none(fs));
      QrbmCallH5(H5Sselect_none(ms));
    }
    QrbmCallH5(H5Dwrite(d, H5T_NATIVE_DOUBLE, ms, fs, out->dxpl, s[i].v));
    QrbmCallH5(H5Sclose(ms));
    QrbmCallH5(H5Sclose(fs));
    QrbmCallH5(H5Dclose(d));
  }
  out->ntimes++;
  QrbmCallH5(H5Fflush(out->file, H5F_SCOPE_GLOBAL));
  PetscCall(PetscLogEventEnd(QRBM_EVENT_IO, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmOutputClose(QrbmOutput *out, PetscBool success)
{
  int ok = 1;
  PetscFunctionBeginUser;
  if (out->file <= 0) PetscFunctionReturn(PETSC_SUCCESS);
  H5Pclose(out->dxpl);
  if (H5Fclose(out->file) < 0) ok = 0;
  out->file = 0;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, out->comm));
  if (out->rank == 0) {
    if (success && ok) ok = rename(out->part, out->path) == 0;
    else unlink(out->part);
  }
  PetscCallMPI(MPI_Bcast(&ok, 1, MPI_INT, 0, out->comm));
  PetscCheck(!success || ok, out->comm, PETSC_ERR_FILE_WRITE, "-output %s: could not close or rename %s", out->path, out->part);
  PetscFunctionReturn(PETSC_SUCCESS);
}
