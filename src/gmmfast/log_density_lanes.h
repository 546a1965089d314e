/* The full log-densities' sums of squares by vectors of components and tiles of as many
 * rows, for rows of type GMMFAST_T (see gmmfast/small_width.h, which includes this once
 * per type and version): in float64 (gmmfast_sum_squares_tiles; GMMFAST_SQUARES(name)
 * names the scalar loops of the same numbers, name_d for float64 rows, name_w for float32
 * rows with float64 sums) and, for float32 rows (GMMFAST_FLOAT_SUMS), in float32
 * (gmmfast_sum_squares_tiles32, the numbers of gmmfast_sum_squares_f). */

#ifndef GMMFAST_SQUARES_SUMS
/* The four partial sums a0 .. a3 (declared here, of vector type V) of the squares of the
   differences d_j = load_y(yk + j K) - load_c(ck + j K) over the features, in the scalar
   loop's order (gmmfast_sum_squares_run: d_j^2 into a_(j mod 4) for j below quads, the
   last D mod 4 into a0). Reads yk, ck, K, quads and n_features of the function it is
   written in. */
#define GMMFAST_SQUARES_SUMS(V, load_y, load_c)                                           \
    V a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};                                            \
    ptrdiff_t j = 0;                                                                     \
    for (; j < quads; j += 4) {                                                          \
        V d0 = load_y(yk + j * K) - load_c(ck + j * K);                                  \
        V d1 = load_y(yk + (j + 1) * K) - load_c(ck + (j + 1) * K);                      \
        V d2 = load_y(yk + (j + 2) * K) - load_c(ck + (j + 2) * K);                      \
        V d3 = load_y(yk + (j + 3) * K) - load_c(ck + (j + 3) * K);                      \
        a0 += d0 * d0;                                                                   \
        a1 += d1 * d1;                                                                   \
        a2 += d2 * d2;                                                                   \
        a3 += d3 * d3;                                                                   \
    }                                                                                    \
    for (; j < n_features; j++) {                                                        \
        V d0 = load_y(yk + j * K) - load_c(ck + j * K);                                  \
        a0 += d0 * d0;                                                                   \
    }
#endif

#ifndef GMMFAST_FLOAT_SUMS
/* (Once per version: the float64 rows' inclusion.) */
/* GMMFAST_W float64 numbers from p on. */
GMMFAST_WINLINE GMMFAST_VD GMMFAST_WN(gmmfast_load_doubles)(const double *p) {
    GMMFAST_VD v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* A tile's GMMFAST_W rows (s[r]: components k0 .. k0 + GMMFAST_W - 1 of row i0 + r) into
   log_prob: by_component, transposed (through a tile of W x W numbers on the stack, read
   back by gmmfast_small_tile_transpose: shuffles for eight lanes, lane by lane for fewer)
   and stored a vector of rows per component (log_prob[k * rows + i]); else a vector per
   row (log_prob[i * K + k]). */
GMMFAST_WINLINE void GMMFAST_WN(gmmfast_store_tile)(const GMMFAST_VD s[GMMFAST_W],
                                                    ptrdiff_t i0, ptrdiff_t k0,
                                                    ptrdiff_t rows, ptrdiff_t K,
                                                    int by_component, double *log_prob) {
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
#endif

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
    GMMFAST_SQUARES_SUMS(GMMFAST_VD, GMMFAST_TYPED(gmmfast_small_load_d),
                         GMMFAST_WN(gmmfast_load_doubles))
    return GMMFAST_WN(gmmfast_load_doubles)(log_norm) - 0.5 * ((a0 + a1) + (a2 + a3));
}

/* log p(x_i, k) of a block's rows from y = z [P_1 | ... | P_K] (full: y_ij(k) at
   [i, j * K + k], c_jk at c[j * K + k]): the numbers of GMMFAST_SQUARES(gmmfast_sum_squares)
   with per_component, into log_prob[i * K + k], or log_prob[k * rows + i] by_component.
   Tiles of GMMFAST_W rows x GMMFAST_W components, a vector per row; by component, each
   tile transposed (see gmmfast_store_tile) and stored as a vector of rows per component
   (the scalar loop stores those numbers one by one, each `rows` apart from the next:
   measured, about a fifth of its time). The components past the last whole vector, and
   the rows past the last whole tile, by the scalar loop. */
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
            GMMFAST_WN(gmmfast_store_tile)(s, i0, k0, rows, K, by_component, log_prob);
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

#if defined(GMMFAST_FLOAT_SUMS) && GMMFAST_W >= 4
/* The float32 rows' own sums of squares (gmmfast_sum_squares_f: differences, squares and
   the four partial sums in float32, the partial sums added in float64), by the same tiles
   (the versions of 4 and 8 float64 lanes, x86-64): 2 GMMFAST_W components of a row to a
   float32 vector, whose two halves become two vectors of float64, lo and hi. The same
   operations in the same order per (row, component) as the scalar loop. */
GMMFAST_WINLINE GMMFAST_VF2 GMMFAST_WN(gmmfast_load_floats)(const float *p) {
    GMMFAST_VF2 v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* The float64 lanes of one half (0: the first GMMFAST_W lanes, 1: the others) of v, by
   the instructions that take a half of a register (a copy through memory, as memcpy from
   the vector's address gave, kept the four sums in memory throughout the loop). */
GMMFAST_WINLINE GMMFAST_VD GMMFAST_WN(gmmfast_half_d)(GMMFAST_VF2 v, int half) {
#if GMMFAST_W == 8
    __m512d both = _mm512_castps_pd((__m512) v);
    __m256 h = half ? _mm256_castpd_ps(_mm512_extractf64x4_pd(both, 1))
                    : _mm256_castpd_ps(_mm512_castpd512_pd256(both));
    return (GMMFAST_VD) _mm512_cvtps_pd(h);
#else
    __m128 h = half ? _mm256_extractf128_ps((__m256) v, 1)
                    : _mm256_castps256_ps128((__m256) v);
    return (GMMFAST_VD) _mm256_cvtps_pd(h);
#endif
}

GMMFAST_WINLINE void GMMFAST_WN(gmmfast_squares_vector32)(
        const float *yk, const float *ck, ptrdiff_t n_features, ptrdiff_t n_components,
        ptrdiff_t quads, const double *log_norm, GMMFAST_VD *lo, GMMFAST_VD *hi) {
    const ptrdiff_t K = n_components;
    GMMFAST_SQUARES_SUMS(GMMFAST_VF2, GMMFAST_WN(gmmfast_load_floats),
                         GMMFAST_WN(gmmfast_load_floats))
    for (int half = 0; half < 2; half++) {
        GMMFAST_VD s = GMMFAST_WN(gmmfast_load_doubles)(log_norm + half * GMMFAST_W)
                       - 0.5 * ((GMMFAST_WN(gmmfast_half_d)(a0, half)
                                 + GMMFAST_WN(gmmfast_half_d)(a1, half))
                                + (GMMFAST_WN(gmmfast_half_d)(a2, half)
                                   + GMMFAST_WN(gmmfast_half_d)(a3, half)));
        if (half == 0) *lo = s;
        else *hi = s;
    }
}

GMMFAST_WTARGET static void GMMFAST_TYPED(gmmfast_sum_squares_tiles32)(
        const float *y, const float *c, ptrdiff_t rows, ptrdiff_t n_features,
        ptrdiff_t n_components, int by_component, const double *log_norm,
        double *log_prob) {
    const ptrdiff_t D = n_features, K = n_components, width = D * K, quads = D - D % 4;
    const ptrdiff_t step = 2 * GMMFAST_W;
    const ptrdiff_t rows_end = rows - rows % GMMFAST_W, k_end = K - K % step;
    for (ptrdiff_t i0 = 0; i0 < rows_end; i0 += GMMFAST_W) {
        for (ptrdiff_t k0 = 0; k0 < k_end; k0 += step) {
            GMMFAST_VD lo[GMMFAST_W], hi[GMMFAST_W];
            for (ptrdiff_t r = 0; r < GMMFAST_W; r++)
                GMMFAST_WN(gmmfast_squares_vector32)(y + (i0 + r) * width + k0, c + k0, D, K,
                                                     quads, log_norm + k0, &lo[r], &hi[r]);
            GMMFAST_WN(gmmfast_store_tile)(lo, i0, k0, rows, K, by_component, log_prob);
            GMMFAST_WN(gmmfast_store_tile)(hi, i0, k0 + GMMFAST_W, rows, K, by_component,
                                           log_prob);
        }
        if (k_end < K)
            for (ptrdiff_t r = 0; r < GMMFAST_W; r++)
                gmmfast_sum_squares_run_f(y + (i0 + r) * width, c, D, K, quads, k_end,
                                          K - k_end, 1, by_component, i0 + r, rows, log_norm,
                                          log_prob);
    }
    for (ptrdiff_t i = rows_end; i < rows; i++)
        gmmfast_sum_squares_row_f(y + i * width, c, D, K, 1, by_component, i, rows, log_norm,
                                  log_prob);
}
#elif defined(GMMFAST_FLOAT_SUMS)
/* Two lanes (the baseline, and processors other than x86-64): the scalar loop. */
GMMFAST_WTARGET static void GMMFAST_TYPED(gmmfast_sum_squares_tiles32)(
        const float *y, const float *c, ptrdiff_t rows, ptrdiff_t n_features,
        ptrdiff_t n_components, int by_component, const double *log_norm,
        double *log_prob) {
    gmmfast_sum_squares_f(y, c, rows, n_features, n_components, 1, by_component, log_norm,
                          log_prob);
}
#endif
