/* Sums of the M-step over the listed terms: zeroth, first and diagonal second moments
 * (gmmfast/moments_typed.h, for float64 and float32 rows: gmmfast_diag_moments_d / _f). */
#ifndef GMMFAST_MOMENTS_H
#define GMMFAST_MOMENTS_H

#include "gmmfast/common.h"

#define GMMFAST_TYPED_HEADER "gmmfast/moments_typed.h"
#include "gmmfast/both_types.h"

#endif
