#ifndef STRATA_CAIRO_SHIM_H
#define STRATA_CAIRO_SHIM_H
#include <cairo.h>
#endif
