/* The table of splitting schemes (docs/numerics.md). Stage coefficients are fractions of the step
   dt, written with the expressions of the publications; the compiler evaluates them once in double
   precision, as the propagator did when they were computed at run time. */
#include <qrbm/scheme.h>
#include <math.h>
#include <string.h>

#define K(c)     {QRBM_STAGE_KINETIC, (c), 0}
#define P(c)     {QRBM_STAGE_POTENTIAL, (c), 0}
#define PF(c, f) {QRBM_STAGE_POTENTIAL, (c), (f)}

/* Strang: K(1/2) P(1) K(1/2). */
static const QrbmStage strang[] = {K(0.5), P(1), K(0.5)};

/* Yoshida: three Strang steps of lengths w1, w0, w1, adjacent kinetic halves merged. */
#define Y_W1 (1 / (2 - cbrt(2.0)))
#define Y_W0 (1 - 2 * Y_W1)
static const QrbmStage yoshida4[] = {K(0.5 * Y_W1), P(Y_W1), K(0.5 * (Y_W1 + Y_W0)), P(Y_W0), K(0.5 * (Y_W1 + Y_W0)), P(Y_W1), K(0.5 * Y_W1)};

/* Chin 4A: P(1/6) K(1/2) P~(2/3) K(1/2) P(1/6), P~ with (2/3)(dt^2/48) |grad Phi|^2. */
static const QrbmStage chin4[] = {P(1.0 / 6), K(0.5), PF(2.0 / 3, 2.0 / 3 / 48), K(0.5), P(1.0 / 6)};

/* Blanes-Moan SRKN_6^b (2002, Table 3): b1 a1 b2 a2 b3 a3 b4 a3 b3 a2 b2 a1 b1 (P = b, K = a). */
#define M6_B1 0.0829844064174052
#define M6_B2 0.396309801498368
#define M6_B3 -0.0390563049223486
#define M6_A1 0.245298957184271
#define M6_A2 0.604872665711080
#define M6_A3 (0.5 - (M6_A1 + M6_A2))
#define M6_B4 (1 - 2 * (M6_B1 + M6_B2 + M6_B3))
static const QrbmStage bm6[] = {P(M6_B1), K(M6_A1), P(M6_B2), K(M6_A2), P(M6_B3), K(M6_A3), P(M6_B4),
                                K(M6_A3), P(M6_B3), K(M6_A2), P(M6_B2), K(M6_A1), P(M6_B1)};

/* Blanes-Moan SRKN_11^b (2002, Table 3), order 6: b1 a1 ... b6 a6 b6 ... a1 b1. */
#define M11_B1 0.0414649985182624
#define M11_B2 0.198128671918067
#define M11_B3 -0.0400061921041533
#define M11_B4 0.0752539843015807
#define M11_B5 -0.0115113874206879
#define M11_B6 (0.5 - (M11_B1 + M11_B2 + M11_B3 + M11_B4 + M11_B5))
#define M11_A1 0.123229775946271
#define M11_A2 0.290553797799558
#define M11_A3 -0.127049212625417
#define M11_A4 -0.246331761062075
#define M11_A5 0.357208872795928
#define M11_A6 (1 - 2 * (M11_A1 + M11_A2 + M11_A3 + M11_A4 + M11_A5))
static const QrbmStage bm11[] = {P(M11_B1), K(M11_A1), P(M11_B2), K(M11_A2), P(M11_B3), K(M11_A3), P(M11_B4), K(M11_A4),
                                 P(M11_B5), K(M11_A5), P(M11_B6), K(M11_A6), P(M11_B6), K(M11_A5), P(M11_B5), K(M11_A4),
                                 P(M11_B4), K(M11_A3), P(M11_B3), K(M11_A2), P(M11_B2), K(M11_A1), P(M11_B1)};

#define ROW(name, order, flags, stages) {name, order, flags, (int)(sizeof(stages) / sizeof(stages[0])), stages}
static const QrbmScheme table[] = {
  ROW("strang", 2, 0, strang),
  ROW("yoshida4", 4, 0, yoshida4),
  ROW("chin4", 4, QRBM_SCHEME_GRADIENT | QRBM_SCHEME_POTENTIAL_ENDS, chin4),
  ROW("bm6", 4, QRBM_SCHEME_POTENTIAL_ENDS, bm6),
  ROW("bm11", 6, QRBM_SCHEME_POTENTIAL_ENDS, bm11),
};
#define NROWS ((PetscInt)(sizeof(table) / sizeof(table[0])))

PetscInt          QrbmSchemeCount(void) { return NROWS; }
const QrbmScheme *QrbmSchemeGet(PetscInt i) { return i >= 0 && i < NROWS ? &table[i] : NULL; }
const char       *QrbmSchemeName(PetscInt i) { return i >= 0 && i < NROWS ? table[i].name : NULL; }

PetscInt QrbmSchemeFind(const char *name)
{
  for (PetscInt i = 0; i < NROWS; i++)
    if (!strcmp(table[i].name, name)) return i;
  return -1;
}

PetscErrorCode QrbmSchemeNameList(char **text)
{
  size_t len = 1;
  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < NROWS; i++) len += strlen(table[i].name) + 1;
  PetscCall(PetscCalloc1(len, text));
  for (PetscInt i = 0; i < NROWS; i++) {
    PetscCall(PetscStrlcat(*text, i ? " " : "", len));
    PetscCall(PetscStrlcat(*text, table[i].name, len));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmSchemeHelp(char **text)
{
  static const char head[] = "splitting scheme; per value its order and FFT pairs per step:";
  char             *names, item[96];
  size_t            len = sizeof(head) + 16;
  PetscFunctionBeginUser;
  PetscCall(QrbmSchemeNameList(&names));
  len += 2 * strlen(names) + NROWS * 32;
  PetscCall(PetscCalloc1(len, text));
  PetscCall(PetscStrlcat(*text, head, len));
  for (PetscInt i = 0; i < NROWS; i++) {
    PetscCall(PetscSNPrintf(item, sizeof(item), "%s %s %d %d", i ? "," : "", table[i].name, table[i].order, QrbmSchemePairs(&table[i])));
    PetscCall(PetscStrlcat(*text, item, len));
  }
  PetscCall(PetscStrlcat(*text, " (one of: ", len));
  PetscCall(PetscStrlcat(*text, names, len));
  PetscCall(PetscStrlcat(*text, ")", len));
  PetscCall(PetscFree(names));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscBool QrbmSchemeNeedsGradient(const QrbmScheme *s) { return s->flags & QRBM_SCHEME_GRADIENT ? PETSC_TRUE : PETSC_FALSE; }

PetscBool QrbmSchemeMergesEnds(const QrbmScheme *s) { return s->stages[0].kind == s->stages[s->nstages - 1].kind ? PETSC_TRUE : PETSC_FALSE; }

int QrbmSchemePairs(const QrbmScheme *s)
{
  int n = 0;
  for (int i = 0; i < s->nstages; i++) n += s->stages[i].kind == QRBM_STAGE_KINETIC;
  return n - (QrbmSchemeMergesEnds(s) && s->stages[0].kind == QRBM_STAGE_KINETIC ? 1 : 0);
}

/* Potential stage i of a chain (i = nstages: the merged end stage) and its (c, f), as the
   propagator computes them. */
static PetscBool PotentialStage(const QrbmScheme *s, int i, double *c, double *f)
{
  const QrbmStage *a = &s->stages[0], *b = &s->stages[s->nstages - 1];
  if (i == s->nstages) {
    if (!QrbmSchemeMergesEnds(s) || a->kind != QRBM_STAGE_POTENTIAL) return PETSC_FALSE;
    *c = b->c + a->c;
    *f = b->f + a->f;
    return PETSC_TRUE;
  }
  *c = s->stages[i].c;
  *f = s->stages[i].f;
  return s->stages[i].kind == QRBM_STAGE_POTENTIAL ? PETSC_TRUE : PETSC_FALSE;
}

int QrbmSchemePotentialCoefficients(const QrbmScheme *s)
{
  int count = 0;
  for (int i = 0; i <= s->nstages; i++) {
    double    c, f, c2, f2;
    PetscBool seen = PETSC_FALSE;
    if (!PotentialStage(s, i, &c, &f)) continue;
    for (int j = 0; j < i && !seen; j++) seen = PotentialStage(s, j, &c2, &f2) && c2 == c && f2 == f ? PETSC_TRUE : PETSC_FALSE;
    count += seen ? 0 : 1;
  }
  return count;
}

PetscErrorCode QrbmSchemeCheck(const QrbmScheme *s)
{
  double   sum[2] = {0, 0};
  unsigned flags  = 0;
  PetscFunctionBeginUser;
  PetscCheck(s->name && s->nstages >= 2 && s->stages, PETSC_COMM_SELF, PETSC_ERR_PLIB, "scheme table: row %s needs a name and at least two stages", s->name ? s->name : "(unnamed)");
  for (int i = 0; i < s->nstages; i++) {
    const QrbmStage *st = &s->stages[i];
    sum[st->kind] += st->c;
    PetscCheck(st->f == 0 || (st->kind == QRBM_STAGE_POTENTIAL && st->c != 0), PETSC_COMM_SELF, PETSC_ERR_PLIB, "scheme table: row %s, stage %d: a gradient coefficient needs a potential stage with c != 0", s->name, i);
    if (st->f != 0) flags |= QRBM_SCHEME_GRADIENT;
  }
  if (s->stages[0].kind == QRBM_STAGE_POTENTIAL && s->stages[s->nstages - 1].kind == QRBM_STAGE_POTENTIAL) flags |= QRBM_SCHEME_POTENTIAL_ENDS;
  for (int k = 0; k < 2; k++)
    PetscCheck(fabs(sum[k] - 1) <= 1e-12, PETSC_COMM_SELF, PETSC_ERR_PLIB, "scheme table: row %s: its %s fractions sum to %.17g, not 1", s->name, k == QRBM_STAGE_KINETIC ? "kinetic" : "potential", sum[k]);
  PetscCheck(flags == s->flags, PETSC_COMM_SELF, PETSC_ERR_PLIB, "scheme table: row %s: flags 0x%x do not match its stages (0x%x)", s->name, s->flags, flags);
  PetscCheck(s->order >= 1, PETSC_COMM_SELF, PETSC_ERR_PLIB, "scheme table: row %s: order %d", s->name, s->order);
  PetscFunctionReturn(PETSC_SUCCESS);
}
