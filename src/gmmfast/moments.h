/* Sums of the M-step over the listed terms: zeroth, first and diagonal second moments. */
#ifndef GMMFAST_MOMENTS_H
#define GMMFAST_MOMENTS_H

#include "gmmfast/common.h"

/* Zeroth, first and diagonal second moments around each component's offset o_k, for
   the pairs (i, k) of a block in buckets by component (see gmmfast_list_rows_plain):
   s0[k] += v_ik, s1[k, a] += v_ik (z_ia - o_ka), s2[k, a] += v_ik (z_ia - o_ka)^2, each
   sum adding its rows in order.
   The sums of one component and GMMFAST_LANES features stay in registers over all its
   rows. */
#define GMMFAST_DIAG_MOMENTS_RUN(T, WIDTH)                                               \
    {                                                                                  \
        double af[GMMFAST_LANES], as[GMMFAST_LANES], ok[GMMFAST_LANES];                \
        for (ptrdiff_t l = 0; l < (WIDTH); l++) {                                     \
            af[l] = f[a0 + l];                                                         \
            as[l] = s[a0 + l];                                                         \
            ok[l] = (double) o[a0 + l];                                                \
        }                                                                              \
        for (ptrdiff_t q = begin; q < end; q++) {                                     \
            ptrdiff_t i = bucket[q];                                                  \
            const double v = value[q];                                                 \
            const T *GMMFAST_RESTRICT zi = z + i * n_features + a0;                    \
            for (ptrdiff_t l = 0; l < (WIDTH); l++) {                                 \
                double diff = (double) zi[l] - ok[l];                                  \
                double weighted = v * diff;                                            \
                af[l] += weighted;                                                     \
                as[l] += weighted * diff;                                              \
            }                                                                          \
        }                                                                              \
        for (ptrdiff_t l = 0; l < (WIDTH); l++) {                                     \
            f[a0 + l] = af[l];                                                         \
            s[a0 + l] = as[l];                                                         \
        }                                                                              \
    }
#define GMMFAST_DIAG_MOMENTS(NAME, T)                                                  \
GMMFAST_CLONES static void NAME(const T *GMMFAST_RESTRICT z,                           \
                                const T *GMMFAST_RESTRICT offsets,                     \
                                ptrdiff_t n_features, ptrdiff_t n_components,        \
                                const int *GMMFAST_RESTRICT bucket,                    \
                                const double *GMMFAST_RESTRICT value,                  \
                                const int *GMMFAST_RESTRICT start,                     \
                                double *GMMFAST_RESTRICT s0,                           \
                                double *GMMFAST_RESTRICT s1,                           \
                                double *GMMFAST_RESTRICT s2) {                         \
    ptrdiff_t lanes_end = n_features - n_features % GMMFAST_LANES;                    \
    for (ptrdiff_t k = 0; k < n_components; k++) {                                    \
        ptrdiff_t begin = start[k], end = start[k + 1];                               \
        double mass = 0.0;                                                             \
        if (begin == end) continue;                                                    \
        for (ptrdiff_t q = begin; q < end; q++) mass += value[q];                     \
        s0[k] += mass;                                                                 \
        const T *GMMFAST_RESTRICT o = offsets + k * n_features;                        \
        double *GMMFAST_RESTRICT f = s1 + k * n_features;                              \
        double *GMMFAST_RESTRICT s = s2 + k * n_features;                              \
        ptrdiff_t a0;                                                                 \
        for (a0 = 0; a0 < lanes_end; a0 += GMMFAST_LANES)                              \
            GMMFAST_DIAG_MOMENTS_RUN(T, GMMFAST_LANES)                                 \
        if (a0 < n_features) GMMFAST_DIAG_MOMENTS_RUN(T, n_features - a0)              \
    }                                                                                  \
}
GMMFAST_DIAG_MOMENTS(gmmfast_diag_moments_d, double)
GMMFAST_DIAG_MOMENTS(gmmfast_diag_moments_f, float)

#endif
