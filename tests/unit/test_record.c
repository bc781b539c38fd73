/* The record of observables: one table of named fields (QrbmRecordFields) gives the layout and
   the packing, and every user finds its values by name, so inserting a field cannot shift what
   the summary, the report or the ensemble read. */
#include "unit.h"
#include <qrbm/observables.h>

#define SENTINEL (-12345.0)

static void make_obs(const QrbmGrid *g, QrbmObservables *o)
{
  assert_int_equal(QrbmObservablesCreate(g, 1.0, o), 0);
  o->step = 1234567; o->time = urand(); o->norm = urand(); o->e_kin = urand(); o->e_trap = urand(); o->e_int = urand();
  o->energy = urand(); o->x2 = urand(); o->p2 = urand();
  for (PetscInt c = 0; c < g->d; c++) { o->x[c] = urand(); o->p[c] = urand(); o->x2c[c] = urand(); o->p2c[c] = urand(); }
  for (ptrdiff_t j = 0; j < g->Md; j++) { o->rho[j] = urand(); o->rho_p[j] = urand(); }
}

static void make_grid(QrbmGrid *g)
{
  QrbmConfig c;
  make_config(2, 2, 4, 8.0, 1.0, &c); /* d = 2: vector fields have 2 values, densities 4 x 4 */
  assert_int_equal(QrbmGridCreate(PETSC_COMM_WORLD, &c, g), 0);
}

/* Values of field `name` in row, checked against n expected values. */
static void expect_field(const QrbmRecord *rec, const double *row, const char *name, const double *want, ptrdiff_t n)
{
  const QrbmField *f = QrbmRecordField(rec, name);
  if (!f) fail_msg("no field %s", name);
  assert_int_equal(f->len, n);
  for (ptrdiff_t j = 0; j < n; j++)
    if (row[f->offset + j] != want[j]) fail_msg("%s[%td] = %g, expected %g", name, j, row[f->offset + j], want[j]);
}

/* The observables struct, member by member, written independently of the table. */
static void expect_obs(const QrbmRecord *rec, const double *row, const QrbmGrid *g, const QrbmObservables *o, PetscBool rdm)
{
  const double step = (double)o->step;
  expect_field(rec, row, "/observables/time", &o->time, 1);
  expect_field(rec, row, "/observables/step", &step, 1);
  expect_field(rec, row, "/observables/norm", &o->norm, 1);
  expect_field(rec, row, "/observables/energy", &o->energy, 1);
  expect_field(rec, row, "/observables/energy_kinetic", &o->e_kin, 1);
  expect_field(rec, row, "/observables/energy_trap", &o->e_trap, 1);
  expect_field(rec, row, "/observables/energy_interaction", &o->e_int, 1);
  expect_field(rec, row, "/observables/x2", &o->x2, 1);
  expect_field(rec, row, "/observables/p2", &o->p2, 1);
  expect_field(rec, row, "/observables/x", o->x, g->d);
  expect_field(rec, row, "/observables/p", o->p, g->d);
  expect_field(rec, row, "/observables/x2_axes", o->x2c, g->d);
  expect_field(rec, row, "/observables/p2_axes", o->p2c, g->d);
  expect_field(rec, row, "/density/rho", o->rho, g->Md);
  expect_field(rec, row, "/density/rho_p", o->rho_p, g->Md);
  if (rdm) expect_field(rec, row, "/rdm/time", &o->time, 1);
}

static void test_layout(void **state)
{
  (void)state;
  QrbmGrid   g;
  QrbmConfig c;
  QrbmRecord rec, plain;
  make_grid(&g);
  make_config(2, 2, 4, 8.0, 1.0, &c);
  c.rdm_interval = 2;
  assert_int_equal(QrbmRecordCreate(&g, &c, &rec), 0);
  c.rdm_interval = 0;
  assert_int_equal(QrbmRecordCreate(&g, &c, &plain), 0);
  ptrdiff_t next = 0;
  for (int i = 0; i < rec.nfields; i++) { /* contiguous, in table order, no name twice */
    assert_int_equal(rec.f[i].offset, next);
    next += rec.f[i].len;
    for (int j = 0; j < i; j++) assert_string_not_equal(rec.f[i].name, rec.f[j].name);
  }
  assert_int_equal(rec.len, next);
  const QrbmField *r1 = QrbmRecordField(&rec, "/rdm/R1");
  assert_non_null(r1);
  assert_true(r1->cplx && r1->rdm && r1->stats && r1->rank == 2 && r1->len == 2 * g.Md * g.Md);
  assert_int_equal(rec.rdm_offset, r1->offset);
  assert_true(QrbmRecordHasRdm(&rec, 0) && !QrbmRecordHasRdm(&rec, 1) && QrbmRecordHasRdm(&rec, 2));
  /* without -rdm_interval the R_1 fields are absent and the rest is unchanged */
  assert_null(QrbmRecordField(&plain, "/rdm/R1"));
  assert_null(QrbmRecordField(&plain, "/rdm/time"));
  assert_int_equal(plain.rdm_offset, -1);
  assert_int_equal(plain.len, rec.len - 1 - 2 * g.Md * g.Md);
  const QrbmField *rho = QrbmRecordField(&plain, "/density/rho");
  assert_true(rho->rank == 2 && rho->shape[0] == 4 && rho->shape[1] == 4 && rho->stats && !rho->rdm);
  assert_false(QrbmRecordField(&plain, "/observables/time")->stats);
  assert_false(QrbmRecordField(&plain, "/observables/step")->stats);
  ptrdiff_t off;
  assert_int_equal(PetscPushErrorHandler(PetscReturnErrorHandler, NULL), 0);
  assert_int_equal(QrbmRecordOffset(&plain, "/observables/none", &off), PETSC_ERR_PLIB); /* an error, not a stray offset */
  assert_int_equal(PetscPopErrorHandler(), 0);
  QrbmGridDestroy(&g);
}

static void test_pack_by_name(void **state)
{
  (void)state;
  QrbmGrid        g;
  QrbmConfig      c;
  QrbmRecord      rec;
  QrbmObservables o;
  double         *row;
  make_grid(&g);
  make_config(2, 2, 4, 8.0, 1.0, &c);
  c.rdm_interval = 1;
  assert_int_equal(QrbmRecordCreate(&g, &c, &rec), 0);
  make_obs(&g, &o);
  row = malloc(sizeof(double) * rec.len);
  for (ptrdiff_t j = 0; j < rec.len; j++) row[j] = SENTINEL;
  QrbmRecordPack(&rec, &o, PETSC_FALSE, row); /* not an RDM time: the RDM fields stay untouched */
  expect_obs(&rec, row, &g, &o, PETSC_FALSE);
  assert_true(row[QrbmRecordField(&rec, "/rdm/time")->offset] == SENTINEL);
  QrbmRecordPack(&rec, &o, PETSC_TRUE, row);
  expect_obs(&rec, row, &g, &o, PETSC_TRUE);
  for (ptrdiff_t j = rec.rdm_offset; j < rec.len; j++) assert_true(row[j] == SENTINEL); /* R_1 is the caller's */
  free(row);
  assert_int_equal(QrbmObservablesDestroy(&o), 0);
  QrbmGridDestroy(&g);
}

/* A scalar inserted before x2 (the silent corruption) and a vector at the front: every
   value the summary (time, norm, energy, x2, p2), the report (x2, p2, energy, R_1), the finite
   check (norm, energy) and the exact output times (time, step) read by name is still right. */
static void test_inserted_fields(void **state)
{
  (void)state;
  const int       n = QrbmRecordNumFields;
  QrbmFieldDef   *defs = malloc(sizeof(*defs) * (n + 2));
  QrbmGrid        g;
  QrbmRecord      rec, base;
  QrbmObservables o;
  int             k = 0;
  make_grid(&g);
  defs[k++] = (QrbmFieldDef){"/observables/inserted_axes", QRBM_FIELD_AXES, offsetof(QrbmObservables, p), PETSC_TRUE, PETSC_FALSE};
  for (int i = 0; i < n; i++) {
    if (!strcmp(QrbmRecordFields[i].name, "/observables/x2"))
      defs[k++] = (QrbmFieldDef){"/observables/inserted", QRBM_FIELD_SCALAR, offsetof(QrbmObservables, e_trap), PETSC_TRUE, PETSC_FALSE};
    defs[k++] = QrbmRecordFields[i];
  }
  assert_int_equal(k, n + 2);
  assert_int_equal(QrbmRecordCreateFrom(defs, k, &g, 1, &rec), 0);
  assert_int_equal(QrbmRecordCreateFrom(QrbmRecordFields, n, &g, 1, &base), 0);
  assert_int_equal(rec.len, base.len + g.d + 1);
  assert_int_equal(QrbmRecordField(&rec, "/observables/x2")->offset, QrbmRecordField(&base, "/observables/x2")->offset + g.d + 1);
  assert_int_equal(rec.rdm_offset, base.rdm_offset + g.d + 1);
  make_obs(&g, &o);
  double *row = calloc((size_t)rec.len, sizeof(double));
  QrbmRecordPack(&rec, &o, PETSC_TRUE, row);
  expect_obs(&rec, row, &g, &o, PETSC_TRUE);
  expect_field(&rec, row, "/observables/inserted", &o.e_trap, 1);
  expect_field(&rec, row, "/observables/inserted_axes", o.p, g.d);
  const char  *used[] = {"/observables/time", "/observables/step", "/observables/norm", "/observables/energy", "/observables/x2", "/observables/p2"};
  const double want[] = {o.time, (double)o.step, o.norm, o.energy, o.x2, o.p2};
  for (int i = 0; i < 6; i++) {
    ptrdiff_t off;
    assert_int_equal(QrbmRecordOffset(&rec, used[i], &off), 0);
    assert_true(row[off] == want[i]);
  }
  free(row);
  free(defs);
  assert_int_equal(QrbmObservablesDestroy(&o), 0);
  QrbmGridDestroy(&g);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_layout),
    cmocka_unit_test(test_pack_by_name),
    cmocka_unit_test(test_inserted_fields),
  };
  return UNIT_RUN("record", tests, 0x5eed0008ull);
}
