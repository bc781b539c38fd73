/* Layout-independent checksums (see checksum.h). */
#include <qrbm/checksum.h>
#include <qrbm/util.h>
#include <string.h>

static uint64_t Mix(uint64_t x) /* splitmix64's finaliser */
{
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t QrbmChecksumBlock(uint64_t start, size_t elem_size, size_t n, const void *data)
{
  const unsigned char *p   = (const unsigned char *)data;
  const size_t         w   = elem_size % 8 == 0 ? elem_size / 8 : 0; /* whole 8-byte words per element */
  uint64_t             sum = 0;
  for (size_t j = 0; j < n; j++) {
    const uint64_t pos = (start + j) * 0x9e3779b97f4a7c15ULL;
    if (w) {
      for (size_t k = 0; k < w; k++) {
        uint64_t word;
        memcpy(&word, p + j * elem_size + 8 * k, 8);
        sum += Mix(pos + k + Mix(word));
      }
    } else {
      for (size_t k = 0; k < elem_size; k++) sum += Mix(pos + k + Mix(p[j * elem_size + k]));
    }
  }
  return sum;
}

uint64_t QrbmChecksumName(const char *name)
{
  uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a 64 */
  for (; *name; name++) h = (h ^ (unsigned char)*name) * 0x100000001b3ULL;
  return h;
}

PetscErrorCode QrbmChecksumReduce(MPI_Comm comm, uint64_t local, uint64_t *global)
{
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Allreduce(&local, global, 1, MPI_UINT64_T, MPI_SUM, comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmChecksumWrite(hid_t loc, uint64_t sum)
{
  hid_t s, a;
  PetscFunctionBeginUser;
  QrbmCallH5Id(s, H5Screate(H5S_SCALAR));
  QrbmCallH5Id(a, H5Acreate2(loc, "checksum", H5T_NATIVE_UINT64, s, H5P_DEFAULT, H5P_DEFAULT));
  QrbmCallH5(H5Awrite(a, H5T_NATIVE_UINT64, &sum));
  QrbmCallH5(H5Aclose(a));
  QrbmCallH5(H5Sclose(s));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode QrbmChecksumRead(hid_t loc, uint64_t *sum, PetscBool *present)
{
  hid_t a;
  PetscFunctionBeginUser;
  *sum     = 0;
  *present = H5Aexists(loc, "checksum") > 0 ? PETSC_TRUE : PETSC_FALSE;
  if (!*present) PetscFunctionReturn(PETSC_SUCCESS);
  QrbmCallH5Id(a, H5Aopen(loc, "checksum", H5P_DEFAULT));
  QrbmCallH5(H5Aread(a, H5T_NATIVE_UINT64, sum));
  QrbmCallH5(H5Aclose(a));
  PetscFunctionReturn(PETSC_SUCCESS);
}
