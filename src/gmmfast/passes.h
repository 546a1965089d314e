/* Every C helper of the compiled passes (src/_kernels.pyx), one header per concern. */
#ifndef GMMFAST_PASSES_H
#define GMMFAST_PASSES_H

#include "gmmfast/common.h"
#include "gmmfast/elementwise.h"
#include "gmmfast/rows.h"
#include "gmmfast/listing.h"
#include "gmmfast/moments.h"
#include "gmmfast/log_density.h"
#include "gmmfast/kmeans.h"
#include "gmmfast/missing.h"
#include "gmmfast/small.h"

#endif
