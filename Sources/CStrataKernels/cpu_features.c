// The CPU's vector instruction sets, from cpuid rather than a table of
// models: a set counts only when the CPU reports it and the operating system
// saves its registers across context switches (XCR0).
#include "StrataKernels.h"
#include <cpuid.h>
#include <string.h>

static unsigned long long read_xcr0(void) {
    unsigned int eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

void strata_cpu_read(strata_cpu_features *f) {
    memset(f, 0, sizeof *f);
    unsigned int a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d)) return;
    unsigned int maxLeaf = a;
    memcpy(f->vendor, &b, 4); memcpy(f->vendor + 4, &d, 4); memcpy(f->vendor + 8, &c, 4);
    __get_cpuid(1, &a, &b, &c, &d);
    unsigned int baseFamily = (a >> 8) & 0xf, baseModel = (a >> 4) & 0xf;
    f->family = (int)(baseFamily == 0xf ? baseFamily + ((a >> 20) & 0xff) : baseFamily);
    f->model = (int)((baseFamily == 0x6 || baseFamily == 0xf) ? (((a >> 16) & 0xf) << 4) + baseModel : baseModel);
    f->sse3 = (c >> 0) & 1; f->ssse3 = (c >> 9) & 1; f->sse41 = (c >> 19) & 1; f->sse42 = (c >> 20) & 1;
    int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1, f16c = (c >> 29) & 1;
    unsigned long long xcr0 = osxsave ? read_xcr0() : 0;
    int ymm = (xcr0 & 0x6) == 0x6;            // SSE and AVX state
    int zmm = ymm && (xcr0 & 0xe0) == 0xe0;   // opmask, ZMM_Hi256, Hi16_ZMM
    f->avx = avx && ymm; f->fma = fma && ymm; f->f16c = f16c && ymm;
    if (maxLeaf >= 7) {
        __get_cpuid_count(7, 0, &a, &b, &c, &d);
        f->avx2 = ((b >> 5) & 1) && ymm;
        f->avx512f = ((b >> 16) & 1) && zmm;
        f->avx512dq = ((b >> 17) & 1) && zmm;
        f->avx512bw = ((b >> 30) & 1) && zmm;
        f->avx512vl = ((b >> 31) & 1) && zmm;
    }
    __get_cpuid(0x80000000, &a, &b, &c, &d);
    if (a >= 0x80000004) {
        unsigned int words[12];
        for (unsigned int leaf = 0; leaf < 3; leaf++)
            __get_cpuid(0x80000002 + leaf, &words[4 * leaf], &words[4 * leaf + 1], &words[4 * leaf + 2], &words[4 * leaf + 3]);
        memcpy(f->brand, words, 48);
        f->brand[48] = 0;
    }
}
