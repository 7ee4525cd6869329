#ifndef STRATA_PNG_SHIM_H
#define STRATA_PNG_SHIM_H
#include <png.h>
#endif
