// One width of the element-wise kernels. vector_maps.c includes this file
// once per width, with W (lanes), SUFFIX (the width's name) and a target
// pragma around it, so the same source runs 4, 8 or 16 lanes wide. Every
// formula is written in the order Strata's Swift kernels use (Kernels.swift,
// SIMDKernels.swift), without fused multiply-adds, so each lane gives the
// bits of the scalar function.

#define CAT2_(a, b) a##_##b
#define CAT2(a, b) CAT2_(a, b)
#define VF CAT2(vf, SUFFIX)
#define VI CAT2(vi, SUFFIX)
#define VU CAT2(vu, SUFFIX)

typedef float VF __attribute__((ext_vector_type(W)));
typedef int VI __attribute__((ext_vector_type(W)));
typedef unsigned int VU __attribute__((ext_vector_type(W)));

/// `mask ? a : b` lane by lane (mask lanes are all ones or all zeros).
static inline VF CAT2(select, SUFFIX)(VI mask, VF a, VF b) {
    return (VF)(((VI)a & mask) | ((VI)b & ~mask));
}
#define SELECT CAT2(select, SUFFIX)

static inline VF CAT2(exp, SUFFIX)(VF x) {
    VF low = -87.3f, high = 88.3f;
    VF clamped = SELECT(x < low, low, x);
    clamped = SELECT(clamped > high, high, clamped);
    VF shifted = clamped * LOG2E + ROUNDING_MAGIC;
    VF n = shifted - ROUNDING_MAGIC;
    VI integer = (VI)shifted - 0x4B400000;
    VF r = clamped - n * LN2_HIGH;
    r = r - n * LN2_LOW;
    VF p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    VF y = p * (r * r) + r + 1.0f;
    VF scale = (VF)(((VU)integer + 127u) << 23);
    return y * scale;
}

static inline VF CAT2(log, SUFFIX)(VF x) {
    VF smallest = FLT_MIN;
    VF v = SELECT(x < smallest, smallest, x);
    VI shifted = (VI)v + (0x3f800000 - 0x3f3504f3);
    VF k = __builtin_convertvector((shifted >> 23) - 0x7f, VF);
    VF m = (VF)((shifted & 0x007fffff) + 0x3f3504f3) - 1.0f;
    VF z = m * m;
    VF p = 7.0376836292e-2f;
    p = p * m - 1.1514610310e-1f;
    p = p * m + 1.1676998740e-1f;
    p = p * m - 1.2420140846e-1f;
    p = p * m + 1.4249322787e-1f;
    p = p * m - 1.6668057665e-1f;
    p = p * m + 2.0000714765e-1f;
    p = p * m - 2.4999993993e-1f;
    p = p * m + 3.3333331174e-1f;
    VF y = m * z * p;
    y = y + k * LN2_LOW;
    y = y + (-0.5f) * z;
    VF nan = __builtin_nanf("");
    return SELECT(x < 0.0f, nan, m + y + k * LN2_HIGH);
}

static inline VF CAT2(apply, SUFFIX)(strata_map_function function, VF x) {
    switch (function) {
    case STRATA_MAP_EXP: return CAT2(exp, SUFFIX)(x);
    case STRATA_MAP_LOG: return CAT2(log, SUFFIX)(x);
    case STRATA_MAP_SIGMOID: return 1.0f / (1.0f + CAT2(exp, SUFFIX)(-x));
    case STRATA_MAP_TANH: return 2.0f / (1.0f + CAT2(exp, SUFFIX)(-2.0f * x)) - 1.0f;
    case STRATA_MAP_SOFTPLUS: {
        VF zero = 0.0f;
        VF magnitude = SELECT(x < zero, -x, x);
        return SELECT(x < zero, zero, x) + CAT2(log, SUFFIX)(1.0f + CAT2(exp, SUFFIX)(-magnitude));
    }
    case STRATA_MAP_SQRT: {
        VF half = 0.5f * x;
        VF y = (VF)(0x5f3759dfu - ((VU)x >> 1));
        y = y * (1.5f - half * y * y);
        y = y * (1.5f - half * y * y);
        y = y * (1.5f - half * y * y);
        return x * y;
    }
    }
    return x;
}

/// The loop of one function at this width: whole vectors, then the rest
/// through one zero-padded vector. The square root's values past the last
/// multiple of eight take the C library's sqrtf instead (as the Swift loops
/// always did), so that its bits do not depend on the width either.
#define MAP_LOOP(FUNCTION)                                                          \
    {                                                                               \
        size_t end = FUNCTION == STRATA_MAP_SQRT ? count / 8 * 8 : count, i = 0;    \
        for (; i + W <= end; i += W) {                                              \
            VF v;                                                                   \
            __builtin_memcpy(&v, values + i, sizeof v);                             \
            v = CAT2(apply, SUFFIX)(FUNCTION, v);                                   \
            __builtin_memcpy(values + i, &v, sizeof v);                             \
        }                                                                           \
        if (i < end) {                                                              \
            float lanes[W] = {0};                                                   \
            __builtin_memcpy(lanes, values + i, (end - i) * sizeof(float));         \
            VF v;                                                                   \
            __builtin_memcpy(&v, lanes, sizeof v);                                  \
            v = CAT2(apply, SUFFIX)(FUNCTION, v);                                   \
            __builtin_memcpy(lanes, &v, sizeof v);                                  \
            __builtin_memcpy(values + i, lanes, (end - i) * sizeof(float));         \
        }                                                                           \
        for (i = end; i < count; i++) values[i] = sqrtf(values[i]);                 \
    }

void CAT2(strata_map, SUFFIX)(strata_map_function function, float *values, size_t count) {
    // One loop per function, so each is compiled with its formula inlined.
    switch (function) {
    case STRATA_MAP_EXP: MAP_LOOP(STRATA_MAP_EXP) break;
    case STRATA_MAP_LOG: MAP_LOOP(STRATA_MAP_LOG) break;
    case STRATA_MAP_SIGMOID: MAP_LOOP(STRATA_MAP_SIGMOID) break;
    case STRATA_MAP_TANH: MAP_LOOP(STRATA_MAP_TANH) break;
    case STRATA_MAP_SOFTPLUS: MAP_LOOP(STRATA_MAP_SOFTPLUS) break;
    case STRATA_MAP_SQRT: MAP_LOOP(STRATA_MAP_SQRT) break;
    }
}

#undef MAP_LOOP
#undef SELECT
#undef VF
#undef VI
#undef VU
