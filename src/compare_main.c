/* qrbm-compare REF.h5 RB.h5: distance between the reduced density matrices of two runs. */
#include <qrbm/config.h>

int main(int argc, char **argv)
{
  PetscCall(PetscInitialize(&argc, &argv, NULL, "qrbm-compare REF.h5 RB.h5\n"));
  PetscCall(PetscFinalize());
  return 0;
}
