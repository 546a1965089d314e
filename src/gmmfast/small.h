/* Passes over rows with few features (D <= GMMFAST_SMALL_FEATURES): a block is held
 * column by column (D x rows), so that every loop runs over the rows, GMMFAST_LANES at a
 * time, with the model's numbers of one component broadcast. For so few features a matrix
 * product per block costs more in its call than in its arithmetic, and listing the terms
 * that count costs more than taking all of them: every (i, k) is computed, and those
 * below 2^-64 (see gmmfast_column_cutoffs) are set to zero. The per-type loops are in
 * gmmfast/small_typed.h (the block by columns, gmmfast_small_columns_d / _f and
 * gmmfast_small_tied_columns_d / _f; its log-densities, gmmfast_small_log_prob_d / _f;
 * its labels, gmmfast_small_labels_d / _f; its sums, gmmfast_small_moments_d / _f; the
 * responsibilities row by row, gmmfast_small_transpose_d / _f); the steps between them,
 * over the rows of log-densities held component by component, are here. */
#ifndef GMMFAST_SMALL_H
#define GMMFAST_SMALL_H

#include "gmmfast/common.h"
#include "gmmfast/elementwise.h"
#include "gmmfast/rows.h"

/* The covariance codes of the passes (COVARIANCE_CODES in src/_kernels.pyx). */
#define GMMFAST_FULL 0
#define GMMFAST_TIED 1
#define GMMFAST_DIAG 2
#define GMMFAST_SPHERICAL 3

/* The most features a block is held column by column for: 8 where the compiler has
   vector types (GCC, clang), whose element-wise operations round as the scalar ones do;
   none elsewhere (every block then takes the path of many features). */
#if defined(__GNUC__) || defined(__clang__)
#define GMMFAST_SMALL_FEATURES 8
#define GMMFAST_HAS_SMALL 1
typedef double gmmfast_vd __attribute__((vector_size(GMMFAST_LANES * sizeof(double))));
typedef float gmmfast_vf __attribute__((vector_size(GMMFAST_LANES * sizeof(float))));
typedef int64_t gmmfast_vl __attribute__((vector_size(GMMFAST_LANES * sizeof(int64_t))));

/* mask ? a : b lane by lane (mask lanes all ones or all zeros, as comparisons give). */
GMMFAST_INLINE gmmfast_vd gmmfast_select(gmmfast_vl mask, gmmfast_vd a, gmmfast_vd b) {
    return (gmmfast_vd) (((gmmfast_vl) a & mask) | ((gmmfast_vl) b & ~mask));
}

/* The first ``count`` lanes of v into out. */
GMMFAST_INLINE void gmmfast_small_store(double *out, gmmfast_vd v, ptrdiff_t count) {
    if (count >= GMMFAST_LANES)
        memcpy(out, &v, sizeof v);
    else
        for (ptrdiff_t l = 0; l < count; l++) out[l] = v[l];
}

/* The terms of one chunk of rows of what is held per row, t[i0 ..], zeros past the rows. */
GMMFAST_INLINE gmmfast_vd gmmfast_small_terms(const double *t, ptrdiff_t rows, ptrdiff_t i0) {
    gmmfast_vd v = {0};
    if (i0 + GMMFAST_LANES <= rows)
        memcpy(&v, t + i0, sizeof v);
    else
        for (ptrdiff_t l = 0; l < rows - i0; l++) v[l] = t[i0 + l];
    return v;
}

/* Whether any lane of v is not zero. */
GMMFAST_INLINE int gmmfast_small_any(gmmfast_vd v) {
    uint64_t bits[GMMFAST_LANES], any = 0;
    memcpy(bits, &v, sizeof bits);
    for (int l = 0; l < GMMFAST_LANES; l++) any |= bits[l] << 1;  /* +0 and -0 are zero */
    return any != 0;
}

/* Lanes of two vectors picked by index (0 .. 7 of a, 8 .. 15 of b). */
#if defined(__clang__)
#define GMMFAST_SHUFFLE(a, b, ...) __builtin_shufflevector((a), (b), __VA_ARGS__)
#else
#define GMMFAST_SHUFFLE(a, b, ...) __builtin_shuffle((a), (b), (gmmfast_vl) {__VA_ARGS__})
#endif

/* The tile t[k][l] = a[k * rows + l], k, l < 8 (8 rows of 8 components held component by
   component) transposed into col[l][k] = t[k][l], in three rounds of shuffles of pairs
   of vectors: single lanes, pairs of lanes, halves. */
GMMFAST_INLINE void gmmfast_small_tile_transpose(const double *a, ptrdiff_t rows,
                                                 gmmfast_vd col[GMMFAST_LANES]) {
    gmmfast_vd r[GMMFAST_LANES], t[GMMFAST_LANES], u[GMMFAST_LANES];
    for (int k = 0; k < GMMFAST_LANES; k++) memcpy(&r[k], a + k * rows, sizeof r[k]);
    /* t[k], k even: lanes 0, 2, 4, 6 of r[k] and r[k + 1] interleaved; t[k + 1]: 1, 3, 5, 7. */
    for (int k = 0; k < GMMFAST_LANES; k += 2) {
        t[k] = GMMFAST_SHUFFLE(r[k], r[k + 1], 0, 8, 2, 10, 4, 12, 6, 14);
        t[k + 1] = GMMFAST_SHUFFLE(r[k], r[k + 1], 1, 9, 3, 11, 5, 13, 7, 15);
    }
    /* u[g + e], g = 0 or 4, e < 4: lanes e and e + 4 of r[g .. g + 3]. */
    for (int g = 0; g < GMMFAST_LANES; g += 4)
        for (int p = 0; p < 2; p++) {
            u[g + p] = GMMFAST_SHUFFLE(t[g + p], t[g + 2 + p], 0, 1, 8, 9, 4, 5, 12, 13);
            u[g + 2 + p] = GMMFAST_SHUFFLE(t[g + p], t[g + 2 + p], 2, 3, 10, 11, 6, 7, 14, 15);
        }
    for (int e = 0; e < 4; e++) {
        col[e] = GMMFAST_SHUFFLE(u[e], u[4 + e], 0, 1, 2, 3, 8, 9, 10, 11);
        col[e + 4] = GMMFAST_SHUFFLE(u[e], u[4 + e], 4, 5, 6, 7, 12, 13, 14, 15);
    }
}

/* The lanes of a vector of partial sums added in a fixed order. */
GMMFAST_INLINE double gmmfast_small_lanes_sum(gmmfast_vd part) {
    return ((part[0] + part[1]) + (part[2] + part[3]))
           + ((part[4] + part[5]) + (part[6] + part[7]));
}
#else
#define GMMFAST_SMALL_FEATURES 0
#define GMMFAST_HAS_SMALL 0
#endif

/* Rows of a block held column by column: rows rounded up to GMMFAST_LANES, so that every
   column is whole chunks. */
GMMFAST_INLINE ptrdiff_t gmmfast_small_stride(ptrdiff_t rows) {
    return (rows + GMMFAST_LANES - 1) / GMMFAST_LANES * GMMFAST_LANES;
}

/* w_i r_ik for every (i, k), from log-densities held component by component
   (l[k * rows + i]) and the rows' maxima, shifts and cutoffs of gmmfast_column_cutoffs:
   exp(l_ik - shift_i) where l_ik > cutoff_i, else 0, each row's sum adding its
   components in order (total: rows of scratch), log p(x_i) = top_i + log(sum) into
   log_total, then the terms scaled by w_i / sum (w = NULL for ones). These are the
   numbers gmmfast_listed_responsibilities gives for the listed terms, and zeros for the
   others: adding a zero changes no sum. (Measured: taking every exponential in one
   vectorised loop costs no more than listing the terms that count and taking theirs,
   about a third of them on clusters in 3 features.) */
GMMFAST_CLONES static void gmmfast_dense_responsibilities(
        const double *GMMFAST_RESTRICT log_prob, const double *GMMFAST_RESTRICT top,
        const double *GMMFAST_RESTRICT shift, const double *GMMFAST_RESTRICT cutoff,
        const double *GMMFAST_RESTRICT weight, ptrdiff_t rows, ptrdiff_t n_components,
        double *GMMFAST_RESTRICT value, double *GMMFAST_RESTRICT total,
        double *GMMFAST_RESTRICT log_total) {
    for (ptrdiff_t i = 0; i < rows; i++) total[i] = 0.0;
    for (ptrdiff_t k = 0; k < n_components; k++) {
        const double *GMMFAST_RESTRICT l = log_prob + k * rows;
        double *GMMFAST_RESTRICT v = value + k * rows;
        for (ptrdiff_t i = 0; i < rows; i++) {
            double e = gmmfast_exp(l[i] - shift[i]);
            v[i] = l[i] > cutoff[i] ? e : 0.0;
            total[i] += v[i];
        }
    }
    /* A row with p(x_i) = 0 has total 1 from its one component: log p(x_i) = -inf. */
    for (ptrdiff_t i = 0; i < rows; i++)
        log_total[i] = top[i] + gmmfast_log_from_one(total[i]);
    /* total >= 1 (the largest term is exp(0)): each row's scale w_i / total is finite. */
    for (ptrdiff_t i = 0; i < rows; i++)
        total[i] = (weight == NULL ? 1.0 : weight[i]) / total[i];
    for (ptrdiff_t k = 0; k < n_components; k++) {
        double *GMMFAST_RESTRICT v = value + k * rows;
        for (ptrdiff_t i = 0; i < rows; i++) v[i] = v[i] * total[i];
    }
}

/* sum_k sum_i v_ik (l_ik - log p(x_i)) over the non-zero terms of
   gmmfast_dense_responsibilities, component by component and row by row: the number
   gmmfast_listed_entropy gives, in the same order. */
static double gmmfast_dense_entropy(const double *GMMFAST_RESTRICT log_prob,
                                    const double *GMMFAST_RESTRICT log_total,
                                    ptrdiff_t rows, ptrdiff_t n_components,
                                    const double *GMMFAST_RESTRICT value) {
    double total = 0.0;
    for (ptrdiff_t k = 0; k < n_components; k++)
        for (ptrdiff_t i = 0; i < rows; i++) {
            double v = value[k * rows + i];
            total += v != 0.0 ? v * (log_prob[k * rows + i] - log_total[i]) : 0.0;
        }
    return total;
}

/* Log-densities held component by component (l[k * rows + i]) into responsibilities, in
   place, and each row's log p(x) into log_total: with m_i = max_k l_ik, e_ik = exp(l_ik -
   m_i), r_ik = e_ik / sum_k e_ik (the components added in order), log p(x_i) = m_i + log
   sum_k e_ik. A row with p(x_i, k) = 0 for every k goes to its first component. Without
   ``responsibilities`` the e_ik are left unscaled (log p(x) alone). top, total: rows of
   scratch. */
GMMFAST_CLONES static void gmmfast_column_normalise(double *GMMFAST_RESTRICT log_prob,
                                                    ptrdiff_t rows, ptrdiff_t n_components,
                                                    int responsibilities,
                                                    double *GMMFAST_RESTRICT top,
                                                    double *GMMFAST_RESTRICT total,
                                                    double *GMMFAST_RESTRICT log_total) {
    for (ptrdiff_t i = 0; i < rows; i++) top[i] = log_prob[i];
    for (ptrdiff_t k = 1; k < n_components; k++) {
        const double *GMMFAST_RESTRICT l = log_prob + k * rows;
        for (ptrdiff_t i = 0; i < rows; i++) top[i] = l[i] > top[i] ? l[i] : top[i];
    }
    for (ptrdiff_t i = 0; i < rows; i++) total[i] = 0.0;
    for (ptrdiff_t k = 0; k < n_components; k++) {
        double *GMMFAST_RESTRICT l = log_prob + k * rows;
        for (ptrdiff_t i = 0; i < rows; i++) {
            /* -inf - -inf would be NaN: such a row gets e = 0 here and is fixed below. */
            double m = top[i] == -INFINITY ? 0.0 : top[i];
            double e = gmmfast_exp(l[i] - m);
            e = top[i] == -INFINITY ? (k == 0 ? 1.0 : 0.0) : e;
            l[i] = e;
            total[i] += e;
        }
    }
    /* A row with p(x) = 0 has total 1 from its one-hot row: log p(x) = -inf. */
    for (ptrdiff_t i = 0; i < rows; i++) {
        log_total[i] = top[i] + gmmfast_log_from_one(total[i]);
        total[i] = 1.0 / total[i];
    }
    if (!responsibilities) return;
    for (ptrdiff_t k = 0; k < n_components; k++) {
        double *GMMFAST_RESTRICT l = log_prob + k * rows;
        for (ptrdiff_t i = 0; i < rows; i++) l[i] = l[i] * total[i];
    }
}

#if GMMFAST_HAS_SMALL
/* The typed loops, once per rows' dtype, with GMMFAST_VT the vector of GMMFAST_LANES of
   them and GMMFAST_TO_D converting it to float64 (exactly). */
#define GMMFAST_T double
#define GMMFAST_TYPED(name) name##_d
#define GMMFAST_VT gmmfast_vd
#define GMMFAST_TO_D(v) (v)
#include "gmmfast/small_typed.h"
#undef GMMFAST_T
#undef GMMFAST_TYPED
#undef GMMFAST_VT
#undef GMMFAST_TO_D
#define GMMFAST_T float
#define GMMFAST_TYPED(name) name##_f
#define GMMFAST_VT gmmfast_vf
#define GMMFAST_TO_D(v) __builtin_convertvector((v), gmmfast_vd)
#include "gmmfast/small_typed.h"
#undef GMMFAST_T
#undef GMMFAST_TYPED
#undef GMMFAST_VT
#undef GMMFAST_TO_D

/* Float32 rows for the loops that take no arithmetic in the rows' dtype (diag and
   spherical log-densities, every sum): zt (D x stride, float64) = x - shift, the
   difference taken in float32 and converted (exactly), as gmmfast_small_load_d_f reads
   gmmfast_small_columns_f's columns, so that the float64 loops give the float32 ones'
   bits without a conversion per component; the rest as gmmfast_small_columns. */
GMMFAST_CLONES static int gmmfast_small_wide_columns(
        const char *x, ptrdiff_t row_stride, ptrdiff_t column_stride, ptrdiff_t rows,
        ptrdiff_t stride, ptrdiff_t n_features, const float *GMMFAST_RESTRICT shift,
        double *GMMFAST_RESTRICT zt) {
    int found = 0;
    for (ptrdiff_t a = 0; a < n_features; a++) {
        double *GMMFAST_RESTRICT za = zt + a * stride;
        const char *xa = x + a * column_stride;
        const float sa = shift[a];
        for (ptrdiff_t i = 0; i < rows; i++) {
            float v;
            memcpy(&v, xa + i * row_stride, sizeof v);
            za[i] = (double) (v - sa);
        }
        for (ptrdiff_t i = rows; i < stride; i++) za[i] = 0.0;
        found |= gmmfast_any_nonfinite_d(za, rows);
    }
    return found;
}
#else
/* Never called (GMMFAST_SMALL_FEATURES is 0): declared for the extension's code. */
#define GMMFAST_SMALL_STUBS(T, s)                                                         \
    static int gmmfast_small_columns_##s(const char *x, ptrdiff_t row_stride,             \
                                         ptrdiff_t column_stride, ptrdiff_t rows,          \
                                         ptrdiff_t stride, ptrdiff_t n_features,           \
                                         const T *shift, T *zt) { return 1; }              \
    static void gmmfast_small_tied_columns_##s(const T *zt, ptrdiff_t stride,             \
                                               ptrdiff_t n_features,                      \
                                               const T *tied_precision, T *yt) {}          \
    static void gmmfast_small_log_prob_##s(const T *zt, const T *yt, ptrdiff_t rows,      \
                                           ptrdiff_t stride, ptrdiff_t n_features,        \
                                           ptrdiff_t n_components, int code,              \
                                           const T *precision, const T *centers,          \
                                           const double *log_norm, double *log_prob) {}   \
    static void gmmfast_small_labels_##s(const T *zt, const T *yt, ptrdiff_t rows,        \
                                         ptrdiff_t stride, ptrdiff_t n_features,           \
                                         ptrdiff_t n_components, int code,                 \
                                         const T *precision, const T *centers,             \
                                         const double *log_norm, ptrdiff_t *labels) {}     \
    static void gmmfast_small_transpose_##s(const double *a, ptrdiff_t rows,              \
                                            ptrdiff_t n_components, T *out) {}            \
    static void gmmfast_small_moments_##s(const T *zt, const T *offsets, ptrdiff_t rows,  \
                                          ptrdiff_t stride, ptrdiff_t n_features,         \
                                          ptrdiff_t n_components, int code,               \
                                          const double *value, double *s0, double *s1,    \
                                          double *s2) {}
GMMFAST_SMALL_STUBS(double, d)
GMMFAST_SMALL_STUBS(float, f)
#undef GMMFAST_SMALL_STUBS
static int gmmfast_small_wide_columns(const char *x, ptrdiff_t row_stride,
                                      ptrdiff_t column_stride, ptrdiff_t rows,
                                      ptrdiff_t stride, ptrdiff_t n_features,
                                      const float *shift, double *zt) { return 1; }
#endif

#endif
