#ifndef STRATA_KERNELS_H
#define STRATA_KERNELS_H
#include <stddef.h>

/// The vector instruction sets this CPU executes and its operating system
/// saves (cpuid leaves 1 and 7, XGETBV's XCR0), and the processor's names.
typedef struct {
    int sse3, ssse3, sse41, sse42, avx, avx2, fma, f16c;
    int avx512f, avx512bw, avx512dq, avx512vl;
    char vendor[13];
    char brand[49];
    int family, model;
} strata_cpu_features;

/// Reads the features of the CPU the calling thread runs on.
void strata_cpu_read(strata_cpu_features *features);

/// Whether the linked OpenBLAS can change its kernels after it loaded: a
/// DYNAMIC_ARCH build exporting gotoblas_dynamic_init and _quit.
int strata_blas_can_switch(void);

/// Reloads OpenBLAS's kernel table as if OPENBLAS_CORETYPE were `name` when it
/// loaded (OpenBLAS reads that variable only then), and restores the
/// environment as it was. Call with no product running. Returns 0 when the
/// switch could be made (OpenBLAS falls back to its own choice for a name it
/// does not know: compare the core name afterwards), -1 otherwise.
int strata_blas_switch(const char *name);

/// The element-wise functions of the vector kernels.
typedef enum {
    STRATA_MAP_EXP = 0,
    STRATA_MAP_LOG = 1,
    STRATA_MAP_SIGMOID = 2,
    STRATA_MAP_TANH = 3,
    STRATA_MAP_SOFTPLUS = 4,
    STRATA_MAP_SQRT = 5,
} strata_map_function;

/// The widths the vector kernels are built for.
typedef enum {
    STRATA_WIDTH_BASELINE = 0, /* SSE2, 4 lanes: every x86-64 */
    STRATA_WIDTH_AVX2 = 1,     /* AVX2, 8 lanes */
    STRATA_WIDTH_AVX512 = 2,   /* AVX-512 F/BW/DQ/VL, 16 lanes */
} strata_vector_width;

/// `values[i] = f(values[i])` for `i < count`, in place, on the given
/// width's code (the caller checks that the CPU has it). Every width gives
/// the same bits: the formula is the same lane by lane, and the square
/// root's values past the last multiple of eight take the C library's sqrtf.
void strata_map(strata_vector_width width, strata_map_function function, float *values, size_t count);

/// Asks the kernel to send this process SIGTERM when its parent exits
/// (Linux's PR_SET_PDEATHSIG), and sends it now when the parent is no longer
/// `parent` (it exited before the request). Returns 0 when the request was
/// made, -1 where the system has no such request.
int strata_stop_with_parent(int parent);

#endif
