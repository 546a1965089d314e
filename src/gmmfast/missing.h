/* Rows with missing features: the marginal log-density of one row's observed features and
 * the conditional means of its missing ones, under every component of a full or tied model,
 * and their corrections of the sums (gmmfast/missing_typed.h, for float64 and float32 rows:
 * gmmfast_marginal_row_d / _f, gmmfast_missing_moments_d / _f; for diagonal and spherical
 * models gmmfast_missing_diag_sums_d / _f). */
#ifndef GMMFAST_MISSING_H
#define GMMFAST_MISSING_H

#include "gmmfast/common.h"

#define GMMFAST_LOG_2PI 1.8378770664093453

/* Diagonal and spherical models of at most TINY_FEATURES features (src/_kernels.pyx; with
   more, the log-density product adds these terms itself, see _quadratic_log_prob): what
   each row's missing features add to its log p(x, k),
   the terms a_jk (Model.missing_terms, a_jk at j K + k) summed over them in order into
   sums[i K + k] (rows x K scratch), then added to log_prob[i i_stride + k k_stride]
   (component by component when the rows are contiguous, i_stride 1, row by row
   otherwise; a complete row adds zero). */
GMMFAST_CLONES static void gmmfast_missing_terms(
        const double *GMMFAST_RESTRICT terms, const int *GMMFAST_RESTRICT start,
        const int *GMMFAST_RESTRICT index, ptrdiff_t rows, ptrdiff_t n_components,
        ptrdiff_t i_stride, ptrdiff_t k_stride, double *GMMFAST_RESTRICT sums,
        double *GMMFAST_RESTRICT log_prob) {
    ptrdiff_t K = n_components;
    for (ptrdiff_t i = 0; i < rows; i++) {
        double *row = sums + i * K;
        for (ptrdiff_t k = 0; k < K; k++) row[k] = 0.0;
        for (ptrdiff_t q = start[i]; q < start[i + 1]; q++) {
            const double *a = terms + (ptrdiff_t) index[q] * K;
            for (ptrdiff_t k = 0; k < K; k++) row[k] += a[k];
        }
    }
    if (i_stride == 1)
        for (ptrdiff_t k = 0; k < K; k++) {
            double *column = log_prob + k * k_stride;
            for (ptrdiff_t i = 0; i < rows; i++) column[i] += sums[i * K + k];
        }
    else
        for (ptrdiff_t i = 0; i < rows; i++)
            for (ptrdiff_t k = 0; k < K; k++) log_prob[i * i_stride + k * k_stride] += sums[i * K + k];
}

#define GMMFAST_TYPED_HEADER "gmmfast/missing_typed.h"
#include "gmmfast/both_types.h"

#endif
