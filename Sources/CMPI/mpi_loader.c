// Run-time MPI binding (see include/CMPI.h): dlopen + dlsym, no mpi.h.
#include "CMPI.h"

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Open MPI: every handle is a pointer. MPICH ABI: every handle is an int.
typedef int (*ompi_allreduce_fn)(const void *, void *, int, void *, void *, void *);
typedef int (*ompi_comm_int_fn)(void *, int *);
typedef int (*ompi_comm_fn)(void *);
typedef int (*ompi_abort_fn)(void *, int);
typedef int (*mpich_allreduce_fn)(const void *, void *, int, int, int, int);
typedef int (*mpich_comm_int_fn)(int, int *);
typedef int (*mpich_comm_fn)(int);
typedef int (*mpich_abort_fn)(int, int);
typedef int (*init_fn)(int *, char ***);
typedef int (*flag_fn)(int *);
typedef int (*finalize_fn)(void);
typedef int (*error_string_fn)(int, char *, int *);

enum { MPICH_COMM_WORLD = 0x44000000, MPICH_FLOAT = 0x4c00040a, MPICH_DOUBLE = 0x4c00080b, MPICH_SUM = 0x58000003 };
enum { ERROR_STRING_MAX = 512 };  // >= MPI_MAX_ERROR_STRING of Open MPI (256) and MPICH (512)

struct hg_mpi {
    void *library;
    int open_mpi;  // 1: Open MPI ABI, 0: MPICH ABI
    void *comm_world, *type_float, *type_double, *op_sum;  // Open MPI handles
    init_fn init;
    flag_fn initialized, finalized;
    finalize_fn finalize;
    error_string_fn error_string;
    void *allreduce, *comm_rank, *comm_size, *barrier, *abort;
};

static void *resolve(void *library, const char *name, char *error, size_t length) {
    void *symbol = dlsym(library, name);
    if (!symbol) snprintf(error, length, "the MPI library has no symbol %s", name);
    return symbol;
}

hg_mpi *hg_mpi_open(const char *path, char *error, size_t error_length) {
    void *library = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
    if (!library) {
        const char *why = dlerror();
        snprintf(error, error_length, "cannot open %s: %s", path, why ? why : "unknown dlopen error");
        return NULL;
    }
    hg_mpi *mpi = calloc(1, sizeof *mpi);
    if (!mpi) { snprintf(error, error_length, "out of memory"); dlclose(library); return NULL; }
    mpi->library = library;
    mpi->comm_world = dlsym(library, "ompi_mpi_comm_world");
    mpi->open_mpi = mpi->comm_world != NULL;
    if (mpi->open_mpi) {
        if (!(mpi->type_float = resolve(library, "ompi_mpi_float", error, error_length))) goto fail;
        if (!(mpi->type_double = resolve(library, "ompi_mpi_double", error, error_length))) goto fail;
        if (!(mpi->op_sum = resolve(library, "ompi_mpi_op_sum", error, error_length))) goto fail;
    }
    if (!(mpi->init = (init_fn)resolve(library, "MPI_Init", error, error_length))) goto fail;
    if (!(mpi->initialized = (flag_fn)resolve(library, "MPI_Initialized", error, error_length))) goto fail;
    if (!(mpi->finalized = (flag_fn)resolve(library, "MPI_Finalized", error, error_length))) goto fail;
    if (!(mpi->finalize = (finalize_fn)resolve(library, "MPI_Finalize", error, error_length))) goto fail;
    if (!(mpi->error_string = (error_string_fn)resolve(library, "MPI_Error_string", error, error_length))) goto fail;
    if (!(mpi->allreduce = resolve(library, "MPI_Allreduce", error, error_length))) goto fail;
    if (!(mpi->comm_rank = resolve(library, "MPI_Comm_rank", error, error_length))) goto fail;
    if (!(mpi->comm_size = resolve(library, "MPI_Comm_size", error, error_length))) goto fail;
    if (!(mpi->barrier = resolve(library, "MPI_Barrier", error, error_length))) goto fail;
    if (!(mpi->abort = resolve(library, "MPI_Abort", error, error_length))) goto fail;
    return mpi;
fail:
    dlclose(library);
    free(mpi);
    return NULL;
}

const char *hg_mpi_flavor(const hg_mpi *mpi) { return mpi->open_mpi ? "Open MPI" : "MPICH ABI"; }

int hg_mpi_init(hg_mpi *mpi, int *rank, int *size) {
    int done = 0, status = mpi->initialized(&done);
    if (status != 0) return status;
    if (!done && (status = mpi->init(NULL, NULL)) != 0) return status;
    if (mpi->open_mpi) {
        if ((status = ((ompi_comm_int_fn)mpi->comm_rank)(mpi->comm_world, rank)) != 0) return status;
        return ((ompi_comm_int_fn)mpi->comm_size)(mpi->comm_world, size);
    }
    if ((status = ((mpich_comm_int_fn)mpi->comm_rank)(MPICH_COMM_WORLD, rank)) != 0) return status;
    return ((mpich_comm_int_fn)mpi->comm_size)(MPICH_COMM_WORLD, size);
}

int hg_mpi_allreduce_sum_float(hg_mpi *mpi, const float *send, float *recv, int count) {
    if (mpi->open_mpi)
        return ((ompi_allreduce_fn)mpi->allreduce)(send, recv, count, mpi->type_float, mpi->op_sum, mpi->comm_world);
    return ((mpich_allreduce_fn)mpi->allreduce)(send, recv, count, MPICH_FLOAT, MPICH_SUM, MPICH_COMM_WORLD);
}

int hg_mpi_allreduce_sum_double(hg_mpi *mpi, const double *send, double *recv, int count) {
    if (mpi->open_mpi)
        return ((ompi_allreduce_fn)mpi->allreduce)(send, recv, count, mpi->type_double, mpi->op_sum, mpi->comm_world);
    return ((mpich_allreduce_fn)mpi->allreduce)(send, recv, count, MPICH_DOUBLE, MPICH_SUM, MPICH_COMM_WORLD);
}

int hg_mpi_barrier(hg_mpi *mpi) {
    if (mpi->open_mpi) return ((ompi_comm_fn)mpi->barrier)(mpi->comm_world);
    return ((mpich_comm_fn)mpi->barrier)(MPICH_COMM_WORLD);
}

void hg_mpi_abort(hg_mpi *mpi, int code) {
    if (mpi->open_mpi) ((ompi_abort_fn)mpi->abort)(mpi->comm_world, code);
    else ((mpich_abort_fn)mpi->abort)(MPICH_COMM_WORLD, code);
    exit(code);  // MPI_Abort does not return; in case an implementation does
}

int hg_mpi_finalize(hg_mpi *mpi) {
    int done = 0, status = mpi->finalized(&done);
    if (status != 0 || done) return status;
    return mpi->finalize();
}

void hg_mpi_error_string(hg_mpi *mpi, int code, char *buffer, size_t length) {
    char text[ERROR_STRING_MAX + 1] = {0};
    int written = 0;
    if (mpi->error_string(code, text, &written) != 0) snprintf(text, sizeof text, "MPI error %d", code);
    snprintf(buffer, length, "%s", text);
}
