/* Full and tied log-densities from the product of the rows with the precision factors:
 * log_norm_k minus half the sum of squares over the features (gmmfast/log_density_typed.h,
 * for float64 and float32 rows: gmmfast_sum_squares_d / _f). */
#ifndef GMMFAST_LOG_DENSITY_H
#define GMMFAST_LOG_DENSITY_H

#include "gmmfast/common.h"

#define GMMFAST_TYPED_HEADER "gmmfast/log_density_typed.h"
#include "gmmfast/both_types.h"

#endif
