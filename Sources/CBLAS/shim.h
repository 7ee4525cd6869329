#ifndef STRATA_CBLAS_SHIM_H
#define STRATA_CBLAS_SHIM_H
#include <cblas.h>

/// LAPACK's symmetric eigensolver (divide and conquer), Fortran calling
/// convention; OpenBLAS exports it from libopenblas.
void ssyevd_(const char *jobz, const char *uplo, const int *n, float *a,
             const int *lda, float *w, float *work, const int *lwork,
             int *iwork, const int *liwork, int *info);
void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a,
             const int *lda, double *w, double *work, const int *lwork,
             int *iwork, const int *liwork, int *info);
#endif
