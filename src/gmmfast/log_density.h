/* Full and tied log-densities from the product of the rows with the precision factors:
 * log_norm_k minus half the sum of squares over the features. */
#ifndef GMMFAST_LOG_DENSITY_H
#define GMMFAST_LOG_DENSITY_H

#include "gmmfast/common.h"

/* log p(x_i, k) = log_norm_k - 1/2 sum_j (y_ij(k) - c_jk)^2 for the rows of a block,
   from y = z [P_1 | ... | P_K] (full: y_ij(k) at [i, j*K + k]) or y = z P (tied: y_ij
   at [i, j], the same for every k), c at [j, k]. Components go GMMFAST_LANES at a time;
   the sum over j runs in four partial sums (j mod 4, the last D mod 4 terms into the
   first) added in a fixed order, so that the additions do not wait on one another and
   every build adds in the same order. log_prob: rows x K, or K x rows by_component. */
#define GMMFAST_Y_FULL(J, L) yi[(J) * n_components + k0 + (L)]
#define GMMFAST_Y_TIED(J, L) yi[(J)]
#define GMMFAST_SQUARE(Y, J, L) ((double) Y(J, L) - (double) c[(J) * n_components + k0 + (L)])
#define GMMFAST_SUM_CHUNK(LANES, Y)                                                     \
    {                                                                                  \
        double a0[GMMFAST_LANES], a1[GMMFAST_LANES], a2[GMMFAST_LANES],                \
               a3[GMMFAST_LANES];                                                      \
        for (ptrdiff_t l = 0; l < (LANES); l++) a0[l] = a1[l] = a2[l] = a3[l] = 0.0;  \
        for (ptrdiff_t j = 0; j < quads; j += 4) {                                    \
            for (ptrdiff_t l = 0; l < (LANES); l++) {                                 \
                double d0 = GMMFAST_SQUARE(Y, j, l), d1 = GMMFAST_SQUARE(Y, j + 1, l);       \
                double d2 = GMMFAST_SQUARE(Y, j + 2, l), d3 = GMMFAST_SQUARE(Y, j + 3, l);   \
                a0[l] += d0 * d0;                                                      \
                a1[l] += d1 * d1;                                                      \
                a2[l] += d2 * d2;                                                      \
                a3[l] += d3 * d3;                                                      \
            }                                                                          \
        }                                                                              \
        for (ptrdiff_t j = quads; j < n_features; j++) {                              \
            for (ptrdiff_t l = 0; l < (LANES); l++) {                                 \
                double d0 = GMMFAST_SQUARE(Y, j, l);                                      \
                a0[l] += d0 * d0;                                                      \
            }                                                                          \
        }                                                                              \
        if (by_component)                                                              \
            for (ptrdiff_t l = 0; l < (LANES); l++)                                   \
                log_prob[(k0 + l) * rows + i] =                                        \
                    log_norm[k0 + l] - 0.5 * ((a0[l] + a1[l]) + (a2[l] + a3[l]));     \
        else                                                                           \
            for (ptrdiff_t l = 0; l < (LANES); l++)                                   \
                out[k0 + l] = log_norm[k0 + l] - 0.5 * ((a0[l] + a1[l]) + (a2[l] + a3[l])); \
    }
#define GMMFAST_SUM_SQUARES(NAME, T)                                                   \
GMMFAST_CLONES static void NAME(const T *y, const T *c, ptrdiff_t rows,               \
                                ptrdiff_t n_features, ptrdiff_t n_components,        \
                                int per_component, int by_component,                   \
                                const double *log_norm, double *log_prob) {            \
    ptrdiff_t width = per_component ? n_features * n_components : n_features;         \
    ptrdiff_t quads = n_features - n_features % 4;                                    \
    ptrdiff_t full_end = n_components - n_components % GMMFAST_LANES;                 \
    for (ptrdiff_t i = 0; i < rows; i++) {                                            \
        const T *yi = y + i * width;                                                   \
        double *out = log_prob + i * n_components;                                     \
        ptrdiff_t k0;                                                                 \
        if (per_component) {                                                           \
            for (k0 = 0; k0 < full_end; k0 += GMMFAST_LANES)                           \
                GMMFAST_SUM_CHUNK(GMMFAST_LANES, GMMFAST_Y_FULL)                       \
            if (k0 < n_components) GMMFAST_SUM_CHUNK(n_components - k0, GMMFAST_Y_FULL) \
        } else {                                                                       \
            for (k0 = 0; k0 < full_end; k0 += GMMFAST_LANES)                           \
                GMMFAST_SUM_CHUNK(GMMFAST_LANES, GMMFAST_Y_TIED)                       \
            if (k0 < n_components) GMMFAST_SUM_CHUNK(n_components - k0, GMMFAST_Y_TIED) \
        }                                                                              \
    }                                                                                  \
}
GMMFAST_SUM_SQUARES(gmmfast_sum_squares_d, double)
GMMFAST_SUM_SQUARES(gmmfast_sum_squares_f, float)

#endif
