/* Pair potentials (see pairpot.h). The expressions are those of the switch they replaced, so the
   tables of V and V' are bit-identical to earlier versions. */
#include <qrbm/pairpot.h>
#include <math.h>

static double NoneV(const QrbmPairParams *p, double r2, double c)
{
  (void)p; (void)r2; (void)c;
  return 0;
}

static void NoneDV(const QrbmPairParams *p, const double *r, double r2, double *grad)
{
  (void)r2;
  for (PetscInt a = 0; a < p->dim; a++) grad[a] = 0 * r[a]; /* as f * r[a] with f = 0 before: -0 for r < 0 */
}

static double GaussianV(const QrbmPairParams *p, double r2, double c)
{
  (void)c;
  return p->strength * exp(-r2 / (2 * p->width * p->width));
}

static void GaussianDV(const QrbmPairParams *p, const double *r, double r2, double *grad)
{
  const double f = -p->strength * exp(-r2 / (2 * p->width * p->width)) / (p->width * p->width);
  for (PetscInt a = 0; a < p->dim; a++) grad[a] = f * r[a];
}

static double SoftCoulombV(const QrbmPairParams *p, double r2, double c)
{
  (void)c;
  return p->strength / sqrt(r2 + p->width * p->width);
}

static void SoftCoulombDV(const QrbmPairParams *p, const double *r, double r2, double *grad)
{
  const double f = -p->strength / pow(r2 + p->width * p->width, 1.5);
  for (PetscInt a = 0; a < p->dim; a++) grad[a] = f * r[a];
}

static double CosineV(const QrbmPairParams *p, double r2, double c)
{
  (void)r2;
  return p->strength * c / p->dim;
}

static void CosineDV(const QrbmPairParams *p, const double *r, double r2, double *grad)
{
  (void)r2;
  for (PetscInt a = 0; a < p->dim; a++) grad[a] = -p->strength / p->dim * 2 * PETSC_PI / p->width * sin(2 * PETSC_PI * r[a] / p->width);
}

/* The periodic box must hold a whole number of wavelengths, else V is discontinuous at L/2. */
static PetscErrorCode CosineCheck(MPI_Comm comm, const QrbmPairParams *p)
{
  const double per = p->box / p->width;
  PetscFunctionBeginUser;
  PetscCheck(fabs(per - round(per)) < 1e-9 * per, comm, PETSC_ERR_ARG_INCOMP, "-potential_width %g: the cosine wavelength must divide -box %g (L/width integer)", (double)p->width, (double)p->box);
  PetscFunctionReturn(PETSC_SUCCESS);
}

const QrbmPairPotential QrbmPairPotentials[] = {
  /* name         V(r), with lambda = strength, sigma = width           V'             checks */
  {"none",        NoneV,        /* 0 */                                  NoneDV,        NULL},
  {"gaussian",    GaussianV,    /* lambda exp(-|r|^2/(2 sigma^2)) */     GaussianDV,    NULL},
  {"softcoulomb", SoftCoulombV, /* lambda/sqrt(|r|^2 + sigma^2) */       SoftCoulombDV, NULL},
  {"cosine",      CosineV,      /* (lambda/d) sum_c cos(2 pi r_c/sigma) */ CosineDV,    CosineCheck},
  {NULL,          NULL,         NULL,                                   NULL},
};

const char *QrbmPairPotentialName(PetscInt i)
{
  for (PetscInt k = 0; QrbmPairPotentials[k].name; k++)
    if (k == i) return QrbmPairPotentials[k].name;
  return NULL;
}

double QrbmPairPotentialValue(PetscInt kind, const QrbmPairParams *p, const double *r)
{
  double r2 = 0, c = 0;
  for (PetscInt a = 0; a < p->dim; a++) {
    r2 += r[a] * r[a];
    c += cos(2 * PETSC_PI * r[a] / p->width);
  }
  return QrbmPairPotentials[kind].V(p, r2, c);
}

void QrbmPairPotentialGradient(PetscInt kind, const QrbmPairParams *p, const double *r, double *grad)
{
  double r2 = 0;
  for (PetscInt a = 0; a < p->dim; a++) r2 += r[a] * r[a];
  QrbmPairPotentials[kind].dV(p, r, r2, grad);
}
