// The element-wise kernels at three widths in one binary, chosen at run
// time by the caller from the CPU's features: 16 lanes (AVX-512), 8 (AVX2),
// 4 (SSE2, every x86-64). No contraction into fused multiply-adds, so every
// width gives the same bits, lane by lane, as the scalar functions of
// Kernels.swift (the tests' reference).
#pragma clang fp contract(off)
#include "StrataKernels.h"
#include <float.h>
#include <math.h>

#define LOG2E 1.44269504088896341f
#define ROUNDING_MAGIC 12582912.0f
#define LN2_HIGH 0.693359375f
#define LN2_LOW -2.12194440e-4f

#define W 4
#define SUFFIX baseline
#include "vector_maps_template.h"
#undef W
#undef SUFFIX

#pragma clang attribute push(__attribute__((target("avx,avx2"))), apply_to = function)
#define W 8
#define SUFFIX avx2
#include "vector_maps_template.h"
#undef W
#undef SUFFIX
#pragma clang attribute pop

#pragma clang attribute push(__attribute__((target("avx,avx2,avx512f,avx512bw,avx512dq,avx512vl"))), apply_to = function)
#define W 16
#define SUFFIX avx512
#include "vector_maps_template.h"
#undef W
#undef SUFFIX
#pragma clang attribute pop

void strata_map(strata_vector_width width, strata_map_function function, float *values, size_t count) {
    switch (width) {
    case STRATA_WIDTH_AVX512: strata_map_avx512(function, values, count); return;
    case STRATA_WIDTH_AVX2: strata_map_avx2(function, values, count); return;
    case STRATA_WIDTH_BASELINE: strata_map_baseline(function, values, count); return;
    }
}
