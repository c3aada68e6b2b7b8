// A run-time binding of the few MPI calls data-parallel training needs. No MPI header or library is needed
// to build or to run the binary: the library is opened with dlopen only when a process is launched by
// mpirun, and its predefined handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_DOUBLE, MPI_SUM), which are macros
// in mpi.h, are found by ABI:
//   Open MPI (libmpi.so.40): handles are pointers to the exported objects ompi_mpi_comm_world,
//     ompi_mpi_float, ompi_mpi_double, ompi_mpi_op_sum.
//   MPICH ABI (libmpi.so.12: MPICH, Intel MPI, Cray MPICH, MVAPICH): handles are fixed integers
//     (MPI_COMM_WORLD 0x44000000, MPI_FLOAT 0x4c00040a, MPI_DOUBLE 0x4c00080b, MPI_SUM 0x58000003).
#ifndef HISTOGAN_CMPI_H
#define HISTOGAN_CMPI_H

#include <stddef.h>

/// An opened MPI library: its dlopen handle, resolved functions and predefined handles.
typedef struct hg_mpi hg_mpi;

/// Opens the MPI library at `path` (a file name such as "libmpi.so.40" or a full path) with
/// RTLD_NOW | RTLD_GLOBAL (Open MPI's plug-ins need libmpi's symbols global) and resolves every function
/// and handle. Returns NULL and writes a message into `error` when the library or a symbol is missing.
hg_mpi *hg_mpi_open(const char *path, char *error, size_t error_length);

/// "Open MPI" or "MPICH ABI".
const char *hg_mpi_flavor(const hg_mpi *mpi);

/// MPI_Init(NULL, NULL) unless MPI is already initialised; then the rank and size in MPI_COMM_WORLD.
/// Returns an MPI error code (0 = MPI_SUCCESS).
int hg_mpi_init(hg_mpi *mpi, int *rank, int *size);

/// MPI_Allreduce(send, recv, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD); send and recv must not overlap.
int hg_mpi_allreduce_sum_float(hg_mpi *mpi, const float *send, float *recv, int count);

/// MPI_Allreduce(send, recv, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD); send and recv must not overlap.
int hg_mpi_allreduce_sum_double(hg_mpi *mpi, const double *send, double *recv, int count);

/// MPI_Barrier(MPI_COMM_WORLD).
int hg_mpi_barrier(hg_mpi *mpi);

/// MPI_Abort(MPI_COMM_WORLD, code): ends every rank of the job.
void hg_mpi_abort(hg_mpi *mpi, int code);

/// MPI_Finalize() (once); the library stays loaded.
int hg_mpi_finalize(hg_mpi *mpi);

/// The text of MPI error `code` (MPI_Error_string) into `buffer`.
void hg_mpi_error_string(hg_mpi *mpi, int code, char *buffer, size_t length);

#endif
