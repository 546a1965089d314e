/* The full log-densities' sums of squares in float64 by vectors of GMMFAST_W components,
 * for rows of type GMMFAST_T (see gmmfast/small_width.h, which includes this once per
 * type and version; GMMFAST_SQUARES(name) names the scalar loops of the same numbers:
 * name_d for float64 rows, name_w for float32 rows with float64 sums). */

/* GMMFAST_W components k0 .. of one row: log_norm_k - 1/2 sum_j (y_j(k) - c_jk)^2, with
   y_j(k) = yk[j * K] and c_jk = ck[j * K] the vectors' first lanes. The differences,
   squares and sums in float64, by the scalar loop's operations in its order
   (gmmfast_sum_squares_run: four partial sums over j, j mod 4 below the last multiple of
   four, the remaining terms into the first, added as (a0 + a1) + (a2 + a3)), so that each
   lane holds that loop's bits. Inlined, so that the vectors stay in registers. */
GMMFAST_WINLINE GMMFAST_VD GMMFAST_TYPED(gmmfast_squares_vector)(
        const GMMFAST_T *yk, const double *ck, ptrdiff_t n_features, ptrdiff_t n_components,
        ptrdiff_t quads, const double *log_norm) {
    const ptrdiff_t K = n_components;
    GMMFAST_VD a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
    ptrdiff_t j = 0;
    for (; j < quads; j += 4) {
        GMMFAST_VD d0 = GMMFAST_TYPED(gmmfast_small_load_d)(yk + j * K)
                        - GMMFAST_WN(gmmfast_small_terms)(ck + j * K, GMMFAST_W);
        GMMFAST_VD d1 = GMMFAST_TYPED(gmmfast_small_load_d)(yk + (j + 1) * K)
                        - GMMFAST_WN(gmmfast_small_terms)(ck + (j + 1) * K, GMMFAST_W);
        GMMFAST_VD d2 = GMMFAST_TYPED(gmmfast_small_load_d)(yk + (j + 2) * K)
                        - GMMFAST_WN(gmmfast_small_terms)(ck + (j + 2) * K, GMMFAST_W);
        GMMFAST_VD d3 = GMMFAST_TYPED(gmmfast_small_load_d)(yk + (j + 3) * K)
                        - GMMFAST_WN(gmmfast_small_terms)(ck + (j + 3) * K, GMMFAST_W);
        a0 += d0 * d0;
        a1 += d1 * d1;
        a2 += d2 * d2;
        a3 += d3 * d3;
    }
    for (; j < n_features; j++) {
        GMMFAST_VD d0 = GMMFAST_TYPED(gmmfast_small_load_d)(yk + j * K)
                        - GMMFAST_WN(gmmfast_small_terms)(ck + j * K, GMMFAST_W);
        a0 += d0 * d0;
    }
    return GMMFAST_WN(gmmfast_small_terms)(log_norm, GMMFAST_W) - 0.5 * ((a0 + a1) + (a2 + a3));
}

/* log p(x_i, k) of a block's rows from y = z [P_1 | ... | P_K] (full: y_ij(k) at
   [i, j * K + k], c_jk at c[j * K + k]): the numbers of GMMFAST_SQUARES(gmmfast_sum_squares)
   with per_component, into log_prob[i * K + k], or log_prob[k * rows + i] by_component.
   Tiles of GMMFAST_W rows x GMMFAST_W components, a vector per row; by component, each
   tile transposed in registers and stored as a vector of rows per component (the scalar
   loop stores those numbers one by one, GMMFAST_W apart by rows: measured, about a fifth
   of its time). The components past the last whole vector, and the rows past the last
   whole tile, by the scalar loop. */
GMMFAST_WTARGET static void GMMFAST_TYPED(gmmfast_sum_squares_tiles)(
        const GMMFAST_T *y, const double *c, ptrdiff_t rows, ptrdiff_t n_features,
        ptrdiff_t n_components, int by_component, const double *log_norm,
        double *log_prob) {
    const ptrdiff_t D = n_features, K = n_components, width = D * K, quads = D - D % 4;
    const ptrdiff_t rows_end = rows - rows % GMMFAST_W, k_end = K - K % GMMFAST_W;
    for (ptrdiff_t i0 = 0; i0 < rows_end; i0 += GMMFAST_W) {
        for (ptrdiff_t k0 = 0; k0 < k_end; k0 += GMMFAST_W) {
            GMMFAST_VD s[GMMFAST_W];
            for (ptrdiff_t r = 0; r < GMMFAST_W; r++)
                s[r] = GMMFAST_TYPED(gmmfast_squares_vector)(y + (i0 + r) * width + k0,
                                                             c + k0, D, K, quads,
                                                             log_norm + k0);
            if (by_component) {
                double tile[GMMFAST_W * GMMFAST_W];
                GMMFAST_VD col[GMMFAST_W];
                memcpy(tile, s, sizeof tile);
                GMMFAST_WN(gmmfast_small_tile_transpose)(tile, GMMFAST_W, col);
                for (ptrdiff_t l = 0; l < GMMFAST_W; l++)
                    memcpy(log_prob + (k0 + l) * rows + i0, &col[l], sizeof col[l]);
            } else {
                for (ptrdiff_t r = 0; r < GMMFAST_W; r++)
                    memcpy(log_prob + (i0 + r) * K + k0, &s[r], sizeof s[r]);
            }
        }
        if (k_end < K)
            for (ptrdiff_t r = 0; r < GMMFAST_W; r++)
                GMMFAST_SQUARES(gmmfast_sum_squares_run)(y + (i0 + r) * width, c, D, K, quads,
                                                         k_end, K - k_end, 1, by_component,
                                                         i0 + r, rows, log_norm, log_prob);
    }
    for (ptrdiff_t i = rows_end; i < rows; i++)
        GMMFAST_SQUARES(gmmfast_sum_squares_row)(y + i * width, c, D, K, 1, by_component, i,
                                                 rows, log_norm, log_prob);
}
