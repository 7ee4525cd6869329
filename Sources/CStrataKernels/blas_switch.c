// Choosing OpenBLAS's kernels after it loaded. A DYNAMIC_ARCH OpenBLAS (as
// Debian builds it) picks its kernel table once, as it loads, from the CPU
// model or from OPENBLAS_CORETYPE; a CPU newer than the build gets the
// generic SSE3 table. Such a build exports the two functions that pick and
// drop the table, so the choice can be made again before the first product.
// They are declared weak: with another BLAS build they are absent (null).
#include "StrataKernels.h"
#include <stdlib.h>
#include <string.h>

extern void gotoblas_dynamic_init(void) __attribute__((weak));
extern void gotoblas_dynamic_quit(void) __attribute__((weak));

int strata_blas_can_switch(void) {
    return gotoblas_dynamic_init != NULL && gotoblas_dynamic_quit != NULL;
}

int strata_blas_switch(const char *name) {
    if (!strata_blas_can_switch() || name == NULL) return -1;
    const char *previous = getenv("OPENBLAS_CORETYPE");
    char *saved = previous ? strdup(previous) : NULL;
    setenv("OPENBLAS_CORETYPE", name, 1);
    gotoblas_dynamic_quit();
    gotoblas_dynamic_init();
    if (saved) { setenv("OPENBLAS_CORETYPE", saved, 1); free(saved); }
    else unsetenv("OPENBLAS_CORETYPE");
    return 0;
}
