/* Checksums of checkpoint data that do not depend on the rank layout: the sum over all elements of
   a hash of (global element position, element bits), modulo 2^64. Each rank adds the elements it
   writes or reads; one reduction gives the same value for any number of ranks, so a checkpoint
   written on 4 ranks is verified on 3 (elastic restarts). Any changed, zeroed, swapped or
   reordered element changes the sum (except with probability about 2^-64). */
#pragma once
#include <petscsys.h>
#include <hdf5.h>
#include <stdint.h>

/* Checksum of n elements of elem_size bytes that sit at global element positions start.. */
uint64_t QrbmChecksumBlock(uint64_t start, size_t elem_size, size_t n, const void *data);
/* Base position of a dataset: QrbmChecksumBlock(QrbmChecksumName(name) + i, ...) covers element i
   of dataset `name`, so that data moved from one dataset to another changes the sum. */
uint64_t QrbmChecksumName(const char *name);
/* Sum of every rank's part (collective over comm). */
PetscErrorCode QrbmChecksumReduce(MPI_Comm comm, uint64_t local, uint64_t *global);
/* Attribute "checksum" (uint64) of a dataset or group. */
PetscErrorCode QrbmChecksumWrite(hid_t loc, uint64_t sum);
/* Reads it; *present false when the object has none. */
PetscErrorCode QrbmChecksumRead(hid_t loc, uint64_t *sum, PetscBool *present);
