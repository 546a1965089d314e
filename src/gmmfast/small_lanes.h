/* The vector loops over rows with few features for rows of type GMMFAST_T and vectors of
 * GMMFAST_W lanes (see gmmfast/small_width.h, which includes this once per type). A block
 * is held column by column, zt[a * stride + i] = z_ia with stride the rows rounded up to
 * GMMFAST_LANES (the padding rows zero), and every loop takes GMMFAST_W consecutive rows
 * as one vector (GMMFAST_VT in the rows' dtype, GMMFAST_VD in float64), with one
 * component's numbers broadcast. What is per row and component (log-densities, the terms
 * of the sums) is held without padding, l[k * rows + i]: the last vector stores and loads
 * its rows only. */

GMMFAST_WINLINE GMMFAST_VT GMMFAST_TYPED(gmmfast_small_load)(const GMMFAST_T *p) {
    GMMFAST_VT v;
    memcpy(&v, p, sizeof v);
    return v;
}

GMMFAST_WINLINE GMMFAST_VD GMMFAST_TYPED(gmmfast_small_load_d)(const GMMFAST_T *p) {
    return GMMFAST_TO_D(GMMFAST_TYPED(gmmfast_small_load)(p));
}

/* (y_j - c)^2 in float64 for one vector of rows: y_j their column j of z P_k (full: the
   sum over a <= j of z_a P_k[a, j], adding a in order, in the rows' dtype; P_k[a, j] at
   p[a * D * K], p = &precision[j * K + k], see Model) or of yt (tied). */
GMMFAST_WINLINE GMMFAST_VD GMMFAST_TYPED(gmmfast_small_square)(
        const GMMFAST_T *zt, const GMMFAST_T *yt, ptrdiff_t stride, ptrdiff_t i0,
        ptrdiff_t j, int full, const GMMFAST_T *p, ptrdiff_t p_stride, double c) {
    GMMFAST_VT y;
    if (full) {
        y = GMMFAST_TYPED(gmmfast_small_load)(zt + i0) * p[0];
        for (ptrdiff_t a = 1; a <= j; a++)
            y += GMMFAST_TYPED(gmmfast_small_load)(zt + a * stride + i0) * p[a * p_stride];
    } else {
        y = GMMFAST_TYPED(gmmfast_small_load)(yt + j * stride + i0);
    }
    GMMFAST_VD d = GMMFAST_TO_D(y) - c;
    return d * d;
}

/* log p(x_i, k) of one vector of rows (i0 ..) for component k:
   full:      log_norm_k - 1/2 sum_j (y_ij(k) - c_jk)^2, y(k) = z P_k;
   tied:      the same with y = z P (yt, the same for every k);
   diag:      log_norm_k - 1/2 sum_j ((z_ij - c_jk) p_jk)^2;
   spherical: log_norm_k - 1/2 (sum_j (z_ij - c_jk)^2) p_k^2.
   For full and tied the sum over j runs in four partial sums (j mod 4 for j below the
   last multiple of four, the remaining terms into the first), added as (a0 + a1) +
   (a2 + a3), as for many features (gmmfast_sum_squares_run); diag and spherical add the
   features in order. Inlined, so that a constant code unrolls. */
GMMFAST_WINLINE GMMFAST_VD GMMFAST_TYPED(gmmfast_small_chunk)(
        const GMMFAST_T *zt, const GMMFAST_T *yt, ptrdiff_t stride, ptrdiff_t i0,
        ptrdiff_t n_features, ptrdiff_t n_components, ptrdiff_t k, int code,
        const GMMFAST_T *precision, const GMMFAST_T *centers, const double *log_norm) {
    const ptrdiff_t D = n_features, K = n_components, quads = D - D % 4;
    const int full = code == GMMFAST_FULL;
    const GMMFAST_T *c = centers + k;
    GMMFAST_VD a0 = {0};
    if (code == GMMFAST_FULL || code == GMMFAST_TIED) {
        GMMFAST_VD a1 = {0}, a2 = {0}, a3 = {0};
        const GMMFAST_T *p = precision + k;
        ptrdiff_t j = 0;
        for (; j < quads; j += 4) {
            a0 += GMMFAST_TYPED(gmmfast_small_square)(zt, yt, stride, i0, j, full,
                                                      p + j * K, D * K, (double) c[j * K]);
            a1 += GMMFAST_TYPED(gmmfast_small_square)(zt, yt, stride, i0, j + 1, full,
                                                      p + (j + 1) * K, D * K,
                                                      (double) c[(j + 1) * K]);
            a2 += GMMFAST_TYPED(gmmfast_small_square)(zt, yt, stride, i0, j + 2, full,
                                                      p + (j + 2) * K, D * K,
                                                      (double) c[(j + 2) * K]);
            a3 += GMMFAST_TYPED(gmmfast_small_square)(zt, yt, stride, i0, j + 3, full,
                                                      p + (j + 3) * K, D * K,
                                                      (double) c[(j + 3) * K]);
        }
        for (; j < D; j++)
            a0 += GMMFAST_TYPED(gmmfast_small_square)(zt, yt, stride, i0, j, full, p + j * K,
                                                      D * K, (double) c[j * K]);
        return log_norm[k] - 0.5 * ((a0 + a1) + (a2 + a3));
    }
    for (ptrdiff_t j = 0; j < D; j++) {
        GMMFAST_VD d = GMMFAST_TYPED(gmmfast_small_load_d)(zt + j * stride + i0)
                       - (double) c[j * K];
        if (code == GMMFAST_DIAG) d = d * (double) precision[j * K + k];
        a0 += d * d;
    }
    if (code == GMMFAST_DIAG) return log_norm[k] - 0.5 * a0;
    const double pk = (double) precision[k];
    return log_norm[k] - 0.5 * a0 * pk * pk;
}

GMMFAST_WINLINE void GMMFAST_TYPED(gmmfast_small_log_prob_of)(
        const GMMFAST_T *zt, const GMMFAST_T *yt, ptrdiff_t rows, ptrdiff_t stride,
        ptrdiff_t n_features, ptrdiff_t n_components, int code, const GMMFAST_T *precision,
        const GMMFAST_T *centers, const double *log_norm, double *log_prob) {
    /* Two vectors at a time: their chains of additions over the features overlap. */
    for (ptrdiff_t k = 0; k < n_components; k++) {
        double *out = log_prob + k * rows;
        ptrdiff_t i0 = 0;
        for (; i0 + 2 * GMMFAST_W <= stride; i0 += 2 * GMMFAST_W) {
            GMMFAST_VD a = GMMFAST_TYPED(gmmfast_small_chunk)(
                zt, yt, stride, i0, n_features, n_components, k, code, precision, centers,
                log_norm);
            GMMFAST_VD b = GMMFAST_TYPED(gmmfast_small_chunk)(
                zt, yt, stride, i0 + GMMFAST_W, n_features, n_components, k, code,
                precision, centers, log_norm);
            GMMFAST_WN(gmmfast_small_store)(out + i0, a, rows - i0);
            GMMFAST_WN(gmmfast_small_store)(out + i0 + GMMFAST_W, b, rows - i0 - GMMFAST_W);
        }
        for (; i0 < stride; i0 += GMMFAST_W)
            GMMFAST_WN(gmmfast_small_store)(
                out + i0,
                GMMFAST_TYPED(gmmfast_small_chunk)(zt, yt, stride, i0, n_features,
                                                   n_components, k, code, precision,
                                                   centers, log_norm),
                rows - i0);
    }
}

/* The first k with the largest log p(x_i, k) of each row, vector by vector over the
   components (the running maximum and its component kept in registers), into labels. */
GMMFAST_WINLINE void GMMFAST_TYPED(gmmfast_small_labels_of)(
        const GMMFAST_T *zt, const GMMFAST_T *yt, ptrdiff_t rows, ptrdiff_t stride,
        ptrdiff_t n_features, ptrdiff_t n_components, int code, const GMMFAST_T *precision,
        const GMMFAST_T *centers, const double *log_norm, ptrdiff_t *labels) {
    for (ptrdiff_t i0 = 0; i0 < stride; i0 += GMMFAST_W) {
        GMMFAST_VD best = GMMFAST_TYPED(gmmfast_small_chunk)(
            zt, yt, stride, i0, n_features, n_components, 0, code, precision, centers,
            log_norm);
        GMMFAST_VD label = {0};
        for (ptrdiff_t k = 1; k < n_components; k++) {
            GMMFAST_VD l = GMMFAST_TYPED(gmmfast_small_chunk)(
                zt, yt, stride, i0, n_features, n_components, k, code, precision, centers,
                log_norm);
            /* (A comparison gives lanes of all ones or zeros; its vector type differs
               between compilers.) */
            GMMFAST_VL better = (GMMFAST_VL) (l > best);
            best = GMMFAST_WN(gmmfast_select)(better, l, best);
            label = GMMFAST_WN(gmmfast_select)(better, (GMMFAST_VD) {0} + (double) k, label);
        }
        for (ptrdiff_t l = 0; l < GMMFAST_W && i0 + l < rows; l++)
            labels[i0 + l] = (ptrdiff_t) label[l];
    }
}

/* One copy of a loop over the rows per covariance type and number of features, both
   constants, so that the loops over the features unroll and two vectors' overlap. */
#define GMMFAST_SMALL_CODE_CASES(function, D_, ...)                                       \
    switch (code) {                                                                      \
    case GMMFAST_FULL: function(__VA_ARGS__, D_, n_components, GMMFAST_FULL, precision,   \
                                centers, log_norm, out); break;                          \
    case GMMFAST_TIED: function(__VA_ARGS__, D_, n_components, GMMFAST_TIED, precision,   \
                                centers, log_norm, out); break;                          \
    case GMMFAST_DIAG: function(__VA_ARGS__, D_, n_components, GMMFAST_DIAG, precision,   \
                                centers, log_norm, out); break;                          \
    default: function(__VA_ARGS__, D_, n_components, GMMFAST_SPHERICAL, precision,        \
                      centers, log_norm, out);                                           \
    }
#define GMMFAST_SMALL_FEATURE_CASES(function, ...)                                        \
    switch (n_features) {                                                                \
    case 1: GMMFAST_SMALL_CODE_CASES(function, 1, __VA_ARGS__) break;                    \
    case 2: GMMFAST_SMALL_CODE_CASES(function, 2, __VA_ARGS__) break;                    \
    case 3: GMMFAST_SMALL_CODE_CASES(function, 3, __VA_ARGS__) break;                    \
    case 4: GMMFAST_SMALL_CODE_CASES(function, 4, __VA_ARGS__) break;                    \
    case 5: GMMFAST_SMALL_CODE_CASES(function, 5, __VA_ARGS__) break;                    \
    case 6: GMMFAST_SMALL_CODE_CASES(function, 6, __VA_ARGS__) break;                    \
    case 7: GMMFAST_SMALL_CODE_CASES(function, 7, __VA_ARGS__) break;                    \
    default: GMMFAST_SMALL_CODE_CASES(function, 8, __VA_ARGS__)                          \
    }

/* log p(x_i, k) of a block held column by column, into log_prob[k * rows + i] (the
   model's arrays as Model describes them; yt: see gmmfast_small_tied_columns). */
GMMFAST_WTARGET static void GMMFAST_TYPED(gmmfast_small_log_prob)(
        const GMMFAST_T *zt, const GMMFAST_T *yt, ptrdiff_t rows, ptrdiff_t stride,
        ptrdiff_t n_features, ptrdiff_t n_components, int code, const GMMFAST_T *precision,
        const GMMFAST_T *centers, const double *log_norm, double *out) {
    GMMFAST_SMALL_FEATURE_CASES(GMMFAST_TYPED(gmmfast_small_log_prob_of), zt, yt, rows,
                                stride)
}

/* The first k with the largest log p(x_i, k) of each row of a block held column by
   column, into labels[i] (see gmmfast_small_log_prob). */
GMMFAST_WTARGET static void GMMFAST_TYPED(gmmfast_small_labels)(
        const GMMFAST_T *zt, const GMMFAST_T *yt, ptrdiff_t rows, ptrdiff_t stride,
        ptrdiff_t n_features, ptrdiff_t n_components, int code, const GMMFAST_T *precision,
        const GMMFAST_T *centers, const double *log_norm, ptrdiff_t *out) {
    GMMFAST_SMALL_FEATURE_CASES(GMMFAST_TYPED(gmmfast_small_labels_of), zt, yt, rows, stride)
}
#undef GMMFAST_SMALL_FEATURE_CASES
#undef GMMFAST_SMALL_CODE_CASES

/* out[i, k] = a[k * rows + i] in the rows' dtype (rows x K from K x rows), tiles of
   GMMFAST_W rows x GMMFAST_W components read and written by whole vectors (see
   gmmfast_small_tile_transpose), the components past the last full tile and the rows
   past the last full vector one by one. */
GMMFAST_WTARGET static void GMMFAST_TYPED(gmmfast_small_transpose)(
        const double *GMMFAST_RESTRICT a, ptrdiff_t rows, ptrdiff_t n_components,
        GMMFAST_T *GMMFAST_RESTRICT out) {
    ptrdiff_t i0 = 0, K = n_components;
    ptrdiff_t tiles_end = K - K % GMMFAST_W;
    for (; i0 + GMMFAST_W <= rows; i0 += GMMFAST_W) {
        for (ptrdiff_t k0 = 0; k0 < tiles_end; k0 += GMMFAST_W) {
            GMMFAST_VD col[GMMFAST_W];
            GMMFAST_WN(gmmfast_small_tile_transpose)(a + k0 * rows + i0, rows, col);
            for (ptrdiff_t l = 0; l < GMMFAST_W; l++) {
                GMMFAST_T row[GMMFAST_W];
                for (ptrdiff_t k = 0; k < GMMFAST_W; k++) row[k] = (GMMFAST_T) col[l][k];
                memcpy(out + (i0 + l) * K + k0, row, sizeof row);
            }
        }
        for (ptrdiff_t l = 0; l < GMMFAST_W; l++)
            for (ptrdiff_t k = tiles_end; k < K; k++)
                out[(i0 + l) * K + k] = (GMMFAST_T) a[k * rows + i0 + l];
    }
    for (; i0 < rows; i0++)
        for (ptrdiff_t k = 0; k < K; k++) out[i0 * K + k] = (GMMFAST_T) a[k * rows + i0];
}

/* Component k's sums over a block (see gmmfast_small_moments), D a constant where
   inlined from gmmfast_small_moments_of: the terms of the rows of lanes h W .. h W + W - 1
   of every chunk of GMMFAST_LANES rows into one vector of partial sums per sum, m += v,
   f[a] += v d_a, s[a, b] += (v d_a) d_b (b <= a; full) or s[a] += (v d_a) d_a (diag,
   spherical), d = z - o_k in float64, for each h in turn (one pass of the block for
   eight lanes); then each sum's GMMFAST_LANES partial sums into the group's sum. */
GMMFAST_WINLINE void GMMFAST_TYPED(gmmfast_small_component_moments)(
        const GMMFAST_T *zt, const GMMFAST_T *offsets, ptrdiff_t rows, ptrdiff_t stride,
        ptrdiff_t D,
        ptrdiff_t k, int code, const double *value, double *s0, double *s1, double *s2) {
    enum { TRIANGLE = GMMFAST_SMALL_FEATURES * (GMMFAST_SMALL_FEATURES + 1) / 2 };
    double o[GMMFAST_SMALL_FEATURES], part_m[GMMFAST_LANES];
    double part_f[GMMFAST_SMALL_FEATURES][GMMFAST_LANES], part_s[TRIANGLE][GMMFAST_LANES];
    const ptrdiff_t n_second = code == GMMFAST_FULL ? D * (D + 1) / 2
                               : code == GMMFAST_TIED ? 0 : D;
    for (ptrdiff_t a = 0; a < D; a++) o[a] = (double) offsets[k * D + a];
    for (ptrdiff_t h = 0; h < GMMFAST_LANES / GMMFAST_W; h++) {
        GMMFAST_VD m = {0}, f[GMMFAST_SMALL_FEATURES], s[TRIANGLE];
        for (ptrdiff_t a = 0; a < D; a++) f[a] = (GMMFAST_VD) {0};
        for (ptrdiff_t e = 0; e < n_second; e++) s[e] = (GMMFAST_VD) {0};
        for (ptrdiff_t i0 = h * GMMFAST_W; i0 < stride; i0 += GMMFAST_LANES) {
            GMMFAST_VD v = GMMFAST_WN(gmmfast_small_terms)(value + k * rows + i0, rows - i0),
                       d[GMMFAST_SMALL_FEATURES];
            /* Rows none of which counts for component k add zeros: skipped. */
            if (!GMMFAST_WN(gmmfast_small_any)(v)) continue;
            m += v;
            for (ptrdiff_t a = 0; a < D; a++) {
                d[a] = GMMFAST_TYPED(gmmfast_small_load_d)(zt + a * stride + i0) - o[a];
                f[a] += v * d[a];
            }
            if (code == GMMFAST_FULL) {
                ptrdiff_t e = 0;
                for (ptrdiff_t a = 0; a < D; a++) {
                    GMMFAST_VD w = v * d[a];
                    for (ptrdiff_t b = 0; b <= a; b++, e++) s[e] += w * d[b];
                }
            } else if (code != GMMFAST_TIED) {
                for (ptrdiff_t a = 0; a < D; a++) s[a] += (v * d[a]) * d[a];
            }
        }
        GMMFAST_WN(gmmfast_small_partials)(m, h, part_m);
        for (ptrdiff_t a = 0; a < D; a++) GMMFAST_WN(gmmfast_small_partials)(f[a], h, part_f[a]);
        for (ptrdiff_t e = 0; e < n_second; e++)
            GMMFAST_WN(gmmfast_small_partials)(s[e], h, part_s[e]);
    }
    s0[k] += gmmfast_small_lanes_sum(part_m);
    for (ptrdiff_t a = 0; a < D; a++)
        s1[k * D + a] += gmmfast_small_lanes_sum(part_f[a]);
    if (code == GMMFAST_FULL) {
        ptrdiff_t e = 0;
        for (ptrdiff_t a = 0; a < D; a++)
            for (ptrdiff_t b = 0; b <= a; b++, e++)
                s2[(k * D + a) * D + b] += gmmfast_small_lanes_sum(part_s[e]);
    } else if (code != GMMFAST_TIED) {
        for (ptrdiff_t a = 0; a < D; a++)
            s2[k * D + a] += gmmfast_small_lanes_sum(part_s[a]);
    }
}

/* Tied: one Gram matrix sum_i u_i z_i z_i^T, u_i = sum_k v_ik (the components added in
   order), its lower triangle into s2, in partial sums as the sums of each component
   (see gmmfast_small_component_moments); the reduction centres it (see
   _tied_around_means). */
GMMFAST_WINLINE void GMMFAST_TYPED(gmmfast_small_tied_gram)(
        const GMMFAST_T *zt, ptrdiff_t rows, ptrdiff_t stride, ptrdiff_t D,
        ptrdiff_t n_components,
        const double *value, double *s2) {
    enum { TRIANGLE = GMMFAST_SMALL_FEATURES * (GMMFAST_SMALL_FEATURES + 1) / 2 };
    double part_s[TRIANGLE][GMMFAST_LANES];
    for (ptrdiff_t h = 0; h < GMMFAST_LANES / GMMFAST_W; h++) {
        GMMFAST_VD s[TRIANGLE];
        for (ptrdiff_t e = 0; e < D * (D + 1) / 2; e++) s[e] = (GMMFAST_VD) {0};
        for (ptrdiff_t i0 = h * GMMFAST_W; i0 < stride; i0 += GMMFAST_LANES) {
            GMMFAST_VD u = {0}, z[GMMFAST_SMALL_FEATURES];
            ptrdiff_t e = 0;
            for (ptrdiff_t k = 0; k < n_components; k++)
                u += GMMFAST_WN(gmmfast_small_terms)(value + k * rows + i0, rows - i0);
            for (ptrdiff_t a = 0; a < D; a++)
                z[a] = GMMFAST_TYPED(gmmfast_small_load_d)(zt + a * stride + i0);
            for (ptrdiff_t a = 0; a < D; a++) {
                GMMFAST_VD w = u * z[a];
                for (ptrdiff_t b = 0; b <= a; b++, e++) s[e] += w * z[b];
            }
        }
        for (ptrdiff_t e = 0; e < D * (D + 1) / 2; e++)
            GMMFAST_WN(gmmfast_small_partials)(s[e], h, part_s[e]);
    }
    ptrdiff_t e = 0;
    for (ptrdiff_t a = 0; a < D; a++)
        for (ptrdiff_t b = 0; b <= a; b++, e++)
            s2[a * D + b] += gmmfast_small_lanes_sum(part_s[e]);
}

GMMFAST_WINLINE void GMMFAST_TYPED(gmmfast_small_moments_of)(
        const GMMFAST_T *zt, const GMMFAST_T *offsets, ptrdiff_t rows, ptrdiff_t stride,
        ptrdiff_t D, ptrdiff_t n_components, int code, const double *value, double *s0,
        double *s1, double *s2) {
    for (ptrdiff_t k = 0; k < n_components; k++)
        GMMFAST_TYPED(gmmfast_small_component_moments)(zt, offsets, rows, stride, D, k, code,
                                                       value, s0, s1, s2);
    if (code == GMMFAST_TIED)
        GMMFAST_TYPED(gmmfast_small_tied_gram)(zt, rows, stride, D, n_components, value, s2);
}

/* One copy of gmmfast_small_moments_of per covariance type and number of features, both
   constants, so that the partial sums stay in vector registers. */
#define GMMFAST_SMALL_MOMENTS_CASE(D_)                                                    \
    case D_:                                                                             \
        if (code == GMMFAST_FULL)                                                        \
            GMMFAST_TYPED(gmmfast_small_moments_of)(zt, offsets, rows, stride, D_,          \
                                                    n_components, GMMFAST_FULL, value,    \
                                                    s0, s1, s2);                          \
        else if (code == GMMFAST_TIED)                                                   \
            GMMFAST_TYPED(gmmfast_small_moments_of)(zt, offsets, rows, stride, D_,          \
                                                    n_components, GMMFAST_TIED, value,    \
                                                    s0, s1, s2);                          \
        else                                                                             \
            GMMFAST_TYPED(gmmfast_small_moments_of)(zt, offsets, rows, stride, D_,          \
                                                    n_components, GMMFAST_DIAG, value,    \
                                                    s0, s1, s2);                          \
        break;

/* The sums of a block held column by column into a group's sums, from every v_ik = w_i
   r_ik (value[k * rows + i], zero for the terms left out), around
   o_k = offsets[k]: s0_k += sum_i v_ik, s1_k += sum_i v_ik (z_i - o_k), s2_k += sum_i v_ik
   (z_i - o_k)(z_i - o_k)^T (full: lower triangle; diag, spherical: diagonal; tied: one
   raw Gram matrix sum_i (sum_k v_ik) z_i z_i^T, lower triangle). Each sum runs over the
   block's rows in GMMFAST_LANES partial sums added in a fixed order, then into the
   group's sum, so that it is the same for any number of threads and any vector width. */
GMMFAST_WTARGET static void GMMFAST_TYPED(gmmfast_small_moments)(
        const GMMFAST_T *zt, const GMMFAST_T *offsets, ptrdiff_t rows, ptrdiff_t stride,
        ptrdiff_t n_features,
        ptrdiff_t n_components, int code, const double *value, double *s0, double *s1,
        double *s2) {
    switch (n_features) {
        GMMFAST_SMALL_MOMENTS_CASE(1)
        GMMFAST_SMALL_MOMENTS_CASE(2)
        GMMFAST_SMALL_MOMENTS_CASE(3)
        GMMFAST_SMALL_MOMENTS_CASE(4)
        GMMFAST_SMALL_MOMENTS_CASE(5)
        GMMFAST_SMALL_MOMENTS_CASE(6)
        GMMFAST_SMALL_MOMENTS_CASE(7)
        GMMFAST_SMALL_MOMENTS_CASE(8)
    }
}
#undef GMMFAST_SMALL_MOMENTS_CASE
