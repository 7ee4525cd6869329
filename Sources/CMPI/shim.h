// Open MPI for Swift: the handles MPI names by macro (MPI_COMM_WORLD, MPI_FLOAT,
// MPI_SUM, MPI_IN_PLACE, ...) expand to casts of global objects that Swift
// cannot import, so each is returned by a small inline function.
#ifndef STRATA_CMPI_SHIM_H
#define STRATA_CMPI_SHIM_H
#include <mpi.h>

static inline MPI_Comm strata_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype strata_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype strata_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype strata_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Op strata_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op strata_mpi_max(void) { return MPI_MAX; }
static inline void *strata_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline int strata_mpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }
static inline MPI_Info strata_mpi_info_null(void) { return MPI_INFO_NULL; }
static inline int strata_mpi_lock_exclusive(void) { return MPI_LOCK_EXCLUSIVE; }
static inline int strata_mpi_lock_shared(void) { return MPI_LOCK_SHARED; }

#endif
