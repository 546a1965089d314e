/* Full and tied log-densities from the product of the rows with the precision factors:
 * log_norm_k minus half the sum of squares over the features (gmmfast/log_density_typed.h,
 * for float64 and float32 rows: gmmfast_sum_squares_d / _f, each in its rows' type, and
 * gmmfast_sum_squares_w, float32 rows in float64). */
#ifndef GMMFAST_LOG_DENSITY_H
#define GMMFAST_LOG_DENSITY_H

#include "gmmfast/common.h"

#define GMMFAST_TYPED_HEADER "gmmfast/log_density_typed.h"
#include "gmmfast/both_types.h"

#define GMMFAST_T float
#define GMMFAST_SUMS double
#define GMMFAST_TYPED(name) name##_w
#include "gmmfast/log_density_typed.h"
#undef GMMFAST_T
#undef GMMFAST_SUMS
#undef GMMFAST_TYPED

#endif
