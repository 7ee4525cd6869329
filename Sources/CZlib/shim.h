#ifndef STRATA_ZLIB_SHIM_H
#define STRATA_ZLIB_SHIM_H
#include <zlib.h>
#endif
