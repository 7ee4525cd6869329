// The element-wise kernels at three widths in one binary, chosen at run
// time by the caller from the CPU's features: 16 lanes (AVX-512), 8 (AVX2),
// 4 (SSE2, every x86-64). No contraction into fused multiply-adds, so every
// width gives the same bits.
#pragma clang fp contract(off)
#include "StrataKernels.h"
#include <float.h>
#include <math.h>

#define LOG2E 1.44269504088896341f
#define ROUNDING_MAGIC 12582912.0f
#define LN2_HIGH 0.693359375f
#define LN2_LOW -2.12194440e-4f

// The scalar functions of the tail: one lane of the width-1 formulas.
static inline float bits_to_float(unsigned int u) { float f; __builtin_memcpy(&f, &u, 4); return f; }
static inline unsigned int float_to_bits(float f) { unsigned int u; __builtin_memcpy(&u, &f, 4); return u; }

static inline float scalar_exp(float x) {
    float clamped = x < -87.3f ? -87.3f : x;
    clamped = clamped > 88.3f ? 88.3f : clamped;
    float shifted = clamped * LOG2E + ROUNDING_MAGIC;
    float n = shifted - ROUNDING_MAGIC;
    int integer = (int)float_to_bits(shifted) - 0x4B400000;
    float r = clamped - n * LN2_HIGH;
    r = r - n * LN2_LOW;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float y = p * (r * r) + r + 1.0f;
    float result = y * bits_to_float(((unsigned int)integer + 127u) << 23);
    return x != x ? x : result;
}

static inline float scalar_log(float x) {
    float v = x < FLT_MIN ? FLT_MIN : x;
    int shifted = (int)float_to_bits(v) + (0x3f800000 - 0x3f3504f3);
    float k = (float)((shifted >> 23) - 0x7f);
    float m = bits_to_float((unsigned int)((shifted & 0x007fffff) + 0x3f3504f3)) - 1.0f;
    float z = m * m;
    float p = 7.0376836292e-2f;
    p = p * m - 1.1514610310e-1f;
    p = p * m + 1.1676998740e-1f;
    p = p * m - 1.2420140846e-1f;
    p = p * m + 1.4249322787e-1f;
    p = p * m - 1.6668057665e-1f;
    p = p * m + 2.0000714765e-1f;
    p = p * m - 2.4999993993e-1f;
    p = p * m + 3.3333331174e-1f;
    float y = m * z * p;
    y = y + k * LN2_LOW;
    y = y + (-0.5f) * z;
    float result = m + y + k * LN2_HIGH;
    return x < 0 ? __builtin_nanf("") : result;
}

static inline float scalar_apply(strata_map_function function, float x) {
    switch (function) {
    case STRATA_MAP_EXP: return scalar_exp(x);
    case STRATA_MAP_LOG: return scalar_log(x);
    case STRATA_MAP_SIGMOID: return 1.0f / (1.0f + scalar_exp(-x));
    case STRATA_MAP_TANH: return 2.0f / (1.0f + scalar_exp(-2.0f * x)) - 1.0f;
    case STRATA_MAP_SOFTPLUS: {
        float magnitude = x < 0 ? -x : x;
        return (0.0f >= x ? 0.0f : x) + scalar_log(1.0f + scalar_exp(-magnitude));
    }
    case STRATA_MAP_SQRT: return sqrtf(x);
    }
    return x;
}

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
