/* The full and tied log-densities for rows of type GMMFAST_T (see gmmfast/both_types.h). */

/* GMMFAST_S: the type of the differences and sums of squares, the rows' type unless
   GMMFAST_SUMS names another; GMMFAST_S_LANES: as many as make a vector of 8 doubles. */
#undef GMMFAST_S
#undef GMMFAST_S_LANES
#ifdef GMMFAST_SUMS
#define GMMFAST_S GMMFAST_SUMS
#else
#define GMMFAST_S GMMFAST_T
#endif
#define GMMFAST_S_LANES (GMMFAST_LANES * (ptrdiff_t) (sizeof(double) / sizeof(GMMFAST_S)))

/* log p(x_i, k) = log_norm_k - 1/2 sum_j (y_ij(k) - c_jk)^2 of row i for the components
   k0 .. k0 + lanes - 1 (lanes at most GMMFAST_S_LANES), y_ij(k) = yi[j * K + k] when
   per_component (full) or yi[j] (tied), c_jk = c[j * K + k], the differences, squares and
   sums in GMMFAST_S. float32 rows take them in float32 (gmmfast_sum_squares_f), twice as
   many lanes to a vector as float64: their rounding is no larger than the product's,
   since y_ij(k) comes from a float32 product of D terms, off by up to about D eps32 |z|
   |P_k|, while y - c is exact where y and c are within a factor two of each other (the
   rows close to component k, whose terms count) and off by eps32 |y - c| elsewhere, and
   each square and sum adds eps32 of the result. Where a difference takes away most of the
   sum (the marginals of rows with missing features) they are taken in float64
   (gmmfast_sum_squares_w). The sum over j runs in four partial sums (j mod 4 for j <
   quads, the last D mod 4 terms into the first), added in float64 as (a0 + a1) + (a2 +
   a3), so that the additions do not wait on one another and every build adds in the same
   order. Into log_prob[k * rows + i] by_component, else log_prob[i * K + k]. Inlined, so
   that constant lanes and per_component unroll. */
GMMFAST_INLINE void GMMFAST_TYPED(gmmfast_sum_squares_run)(
        const GMMFAST_T *yi, const GMMFAST_S *c, ptrdiff_t n_features,
        ptrdiff_t n_components, ptrdiff_t quads, ptrdiff_t k0, ptrdiff_t lanes,
        int per_component, int by_component, ptrdiff_t i, ptrdiff_t rows,
        const double *log_norm, double *log_prob) {
    GMMFAST_S a0[GMMFAST_S_LANES], a1[GMMFAST_S_LANES], a2[GMMFAST_S_LANES],
        a3[GMMFAST_S_LANES];
    const GMMFAST_S *ck = c + k0;
    const GMMFAST_T *yk = per_component ? yi + k0 : yi;
    ptrdiff_t y_stride = per_component ? n_components : 1;
    ptrdiff_t lane_step = per_component ? 1 : 0;
    for (ptrdiff_t l = 0; l < lanes; l++) a0[l] = a1[l] = a2[l] = a3[l] = 0;
    for (ptrdiff_t j = 0; j < quads; j += 4) {
        for (ptrdiff_t l = 0; l < lanes; l++) {
            GMMFAST_S d0 = (GMMFAST_S) yk[j * y_stride + l * lane_step]
                           - ck[j * n_components + l];
            GMMFAST_S d1 = (GMMFAST_S) yk[(j + 1) * y_stride + l * lane_step]
                           - ck[(j + 1) * n_components + l];
            GMMFAST_S d2 = (GMMFAST_S) yk[(j + 2) * y_stride + l * lane_step]
                           - ck[(j + 2) * n_components + l];
            GMMFAST_S d3 = (GMMFAST_S) yk[(j + 3) * y_stride + l * lane_step]
                           - ck[(j + 3) * n_components + l];
            a0[l] += d0 * d0;
            a1[l] += d1 * d1;
            a2[l] += d2 * d2;
            a3[l] += d3 * d3;
        }
    }
    for (ptrdiff_t j = quads; j < n_features; j++) {
        for (ptrdiff_t l = 0; l < lanes; l++) {
            GMMFAST_S d0 = (GMMFAST_S) yk[j * y_stride + l * lane_step]
                           - ck[j * n_components + l];
            a0[l] += d0 * d0;
        }
    }
    /* The lanes' sums taken as one vector, then stored (strided when by_component). */
    double s[GMMFAST_S_LANES];
    for (ptrdiff_t l = 0; l < lanes; l++)
        s[l] = log_norm[k0 + l]
               - 0.5 * (((double) a0[l] + (double) a1[l]) + ((double) a2[l] + (double) a3[l]));
    if (by_component)
        for (ptrdiff_t l = 0; l < lanes; l++) log_prob[(k0 + l) * rows + i] = s[l];
    else
        for (ptrdiff_t l = 0; l < lanes; l++) log_prob[i * n_components + k0 + l] = s[l];
}

/* log p(x_i, k) of row i for every component, GMMFAST_S_LANES components at a time, then
   the rest (see gmmfast_sum_squares_run); inlined, so that a constant per_component
   unrolls. */
GMMFAST_INLINE void GMMFAST_TYPED(gmmfast_sum_squares_row)(
        const GMMFAST_T *yi, const GMMFAST_S *c, ptrdiff_t n_features,
        ptrdiff_t n_components, int per_component, int by_component, ptrdiff_t i,
        ptrdiff_t rows, const double *log_norm, double *log_prob) {
    ptrdiff_t quads = n_features - n_features % 4;
    ptrdiff_t full_end = n_components - n_components % GMMFAST_S_LANES;
    ptrdiff_t k0;
    for (k0 = 0; k0 < full_end; k0 += GMMFAST_S_LANES)
        GMMFAST_TYPED(gmmfast_sum_squares_run)(yi, c, n_features, n_components, quads, k0,
                                                GMMFAST_S_LANES, per_component, by_component,
                                                i, rows, log_norm, log_prob);
    if (k0 < n_components)
        GMMFAST_TYPED(gmmfast_sum_squares_run)(yi, c, n_features, n_components, quads, k0,
                                                n_components - k0, per_component,
                                                by_component, i, rows, log_norm, log_prob);
}

/* log p(x_i, k) for the rows of a block, from y = z [P_1 | ... | P_K] (full, y_ij(k) at
   [i, j*K + k]) or y = z P (tied, y_ij at [i, j], the same for every k), c at [j, k].
   log_prob: rows x K, or K x rows by_component. */
GMMFAST_CLONES static void GMMFAST_TYPED(gmmfast_sum_squares)(
        const GMMFAST_T *y, const GMMFAST_S *c, ptrdiff_t rows, ptrdiff_t n_features,
        ptrdiff_t n_components, int per_component, int by_component,
        const double *log_norm, double *log_prob) {
    ptrdiff_t width = per_component ? n_features * n_components : n_features;
    for (ptrdiff_t i = 0; i < rows; i++) {
        if (per_component)
            GMMFAST_TYPED(gmmfast_sum_squares_row)(y + i * width, c, n_features, n_components,
                                                    1, by_component, i, rows, log_norm,
                                                    log_prob);
        else
            GMMFAST_TYPED(gmmfast_sum_squares_row)(y + i * width, c, n_features, n_components,
                                                    0, by_component, i, rows, log_norm,
                                                    log_prob);
    }
}
