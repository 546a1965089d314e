/* Passes over rows with few features (D <= GMMFAST_SMALL_FEATURES): a block is held
 * column by column (D x rows), so that every loop runs over the rows, GMMFAST_LANES at a
 * time, with the model's numbers of one component broadcast. For so few features a matrix
 * product per block costs more in its call than in its arithmetic, and listing the terms
 * that count costs more than taking all of them: every (i, k) is computed, and those
 * below 2^-64 (see gmmfast_column_cutoffs) are set to zero. The block by columns is in
 * gmmfast/small_typed.h (gmmfast_small_columns_d / _f and gmmfast_small_tied_columns_d /
 * _f), the vector loops over it in gmmfast/small_lanes.h, one version per vector width
 * (gmmfast/small_width.h), called through gmmfast_small_log_prob_d / _f (its
 * log-densities), gmmfast_small_labels_d / _f (its labels), gmmfast_small_moments_d / _f
 * (its sums) and gmmfast_small_transpose_d / _f (the responsibilities row by row); the
 * steps between them, over the rows of log-densities held component by component, are
 * here. The same versions hold the full log-densities' sums of squares by tiles, for any
 * number of features (gmmfast/log_density_lanes.h: gmmfast_sum_squares_tiles_d / _f and
 * gmmfast_sum_squares_tiles32_f). */
#ifndef GMMFAST_SMALL_H
#define GMMFAST_SMALL_H

#include "gmmfast/common.h"
#include "gmmfast/elementwise.h"
#include "gmmfast/rows.h"
#include "gmmfast/missing.h"
#include "gmmfast/log_density.h"

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

/* Vectors of 8, 4 and 2 float64 lanes (with the float32 and int64 vectors of as many
   lanes): each version of the loops takes the widest its processor holds in one register
   (see GMMFAST_SMALL_VERSIONS); a vector wider than the registers is kept in memory by
   GCC and moved lane by lane (measured: the AVX2 version 3 to 4.5 times slower with
   vectors of 8 lanes, see the README). */
typedef double gmmfast_vd8 __attribute__((vector_size(8 * sizeof(double))));
typedef float gmmfast_vf8 __attribute__((vector_size(8 * sizeof(float))));
typedef int64_t gmmfast_vl8 __attribute__((vector_size(8 * sizeof(int64_t))));
typedef double gmmfast_vd4 __attribute__((vector_size(4 * sizeof(double))));
typedef float gmmfast_vf4 __attribute__((vector_size(4 * sizeof(float))));
typedef int64_t gmmfast_vl4 __attribute__((vector_size(4 * sizeof(int64_t))));
typedef double gmmfast_vd2 __attribute__((vector_size(2 * sizeof(double))));
typedef float gmmfast_vf2 __attribute__((vector_size(2 * sizeof(float))));
typedef int64_t gmmfast_vl2 __attribute__((vector_size(2 * sizeof(int64_t))));
/* Twice as many float32 lanes as float64 ones (one register): the float32 sums of squares
   of gmmfast/log_density_lanes.h. */
typedef float gmmfast_vf16 __attribute__((vector_size(16 * sizeof(float))));

/* Lanes of two vectors of eight picked by index (0 .. 7 of a, 8 .. 15 of b). */
#if defined(__clang__)
#define GMMFAST_SHUFFLE(a, b, ...) __builtin_shufflevector((a), (b), __VA_ARGS__)
#else
#define GMMFAST_SHUFFLE(a, b, ...) __builtin_shuffle((a), (b), (gmmfast_vl8) {__VA_ARGS__})
#endif

/* The GMMFAST_LANES partial sums of a sum over the rows (row i in part[i mod
   GMMFAST_LANES]) added in a fixed order. */
GMMFAST_INLINE double gmmfast_small_lanes_sum(const double part[GMMFAST_LANES]) {
    return ((part[0] + part[1]) + (part[2] + part[3]))
           + ((part[4] + part[5]) + (part[6] + part[7]));
}

/* The versions of the vector loops (gmmfast/small_width.h): where the element-wise loops
   are built in versions for the loader to choose (GMMFAST_CLONES, gmmfast/variants.h:
   GCC, glibc, x86-64), three, for AVX-512F (8 lanes), AVX2 (4) and the baseline (2), the
   widest the processor runs taken at the first call (gmmfast_small_width); test builds
   that pin one version of the element-wise loops pin the same one here; elsewhere the
   baseline's (2 lanes, one register of SSE2 or NEON). */
#if GMMFAST_VARIANT == 0 && defined(__GNUC__) && !defined(__clang__) \
    && defined(__x86_64__) && defined(__GLIBC__)
#define GMMFAST_SMALL_VERSIONS 3
#elif GMMFAST_VARIANT == 3
#define GMMFAST_SMALL_ONLY 8
#elif GMMFAST_VARIANT == 2
#define GMMFAST_SMALL_ONLY 4
#else
#define GMMFAST_SMALL_ONLY 2
#endif

#if defined(GMMFAST_SMALL_VERSIONS) || GMMFAST_SMALL_ONLY == 8 || GMMFAST_SMALL_ONLY == 4
#include <immintrin.h>   /* (x86-64 only: these versions are built for it alone) */
#endif
#if defined(GMMFAST_SMALL_VERSIONS) || GMMFAST_SMALL_ONLY == 8
#define GMMFAST_W 8
#define GMMFAST_WN(name) name##_w8
#define GMMFAST_WTARGET __attribute__((target("avx512f")))
#include "gmmfast/small_width.h"
#undef GMMFAST_W
#undef GMMFAST_WN
#undef GMMFAST_WTARGET
#endif
#if defined(GMMFAST_SMALL_VERSIONS) || GMMFAST_SMALL_ONLY == 4
#define GMMFAST_W 4
#define GMMFAST_WN(name) name##_w4
#define GMMFAST_WTARGET __attribute__((target("avx2")))
#include "gmmfast/small_width.h"
#undef GMMFAST_W
#undef GMMFAST_WN
#undef GMMFAST_WTARGET
#endif
#if defined(GMMFAST_SMALL_VERSIONS) || GMMFAST_SMALL_ONLY == 2
#define GMMFAST_W 2
#define GMMFAST_WN(name) name##_w2
#define GMMFAST_WTARGET
#include "gmmfast/small_width.h"
#undef GMMFAST_W
#undef GMMFAST_WN
#undef GMMFAST_WTARGET
#endif

/* The vector width of the widest version of the loops the processor runs (see
   GMMFAST_SMALL_VERSIONS); the processor's answer is the same at every call. */
static int gmmfast_small_best_width(void) {
#ifdef GMMFAST_SMALL_VERSIONS
    static int width = 0;
    if (width == 0) {
        __builtin_cpu_init();
        width = __builtin_cpu_supports("avx512f") ? 8 : __builtin_cpu_supports("avx2") ? 4 : 2;
    }
    return width;
#else
    return GMMFAST_SMALL_ONLY;
#endif
}

/* Whether the version of ``width`` lanes is built and runs here. */
static int gmmfast_small_runs(int width) {
#ifdef GMMFAST_SMALL_VERSIONS
    return (width == 8 || width == 4 || width == 2) && width <= gmmfast_small_best_width();
#else
    return width == GMMFAST_SMALL_ONLY;
#endif
}

/* The width a test pins (one gmmfast_small_runs accepts), 0 for the widest. */
static int gmmfast_small_pinned = 0;
static void gmmfast_small_pin(int width) { gmmfast_small_pinned = width; }

static int gmmfast_small_width(void) {
    return gmmfast_small_pinned ? gmmfast_small_pinned : gmmfast_small_best_width();
}

/* name(arguments) of the version gmmfast_small_width chooses. */
#ifdef GMMFAST_SMALL_VERSIONS
#define GMMFAST_SMALL_CALL(name, arguments)                                               \
    switch (gmmfast_small_width()) {                                                     \
    case 8: name##_w8 arguments; break;                                                  \
    case 4: name##_w4 arguments; break;                                                  \
    default: name##_w2 arguments;                                                        \
    }
#elif GMMFAST_SMALL_ONLY == 8
#define GMMFAST_SMALL_CALL(name, arguments) name##_w8 arguments;
#elif GMMFAST_SMALL_ONLY == 4
#define GMMFAST_SMALL_CALL(name, arguments) name##_w4 arguments;
#else
#define GMMFAST_SMALL_CALL(name, arguments) name##_w2 arguments;
#endif

/* The loops the passes call, for both dtypes (see gmmfast/small_lanes.h for each): those
   of the model's log-densities, with their output's type, then the others. */
#define GMMFAST_SMALL_DENSITY_ENTRY(name, T, Out)                                         \
    static void name(const T *zt, const T *yt, ptrdiff_t rows, ptrdiff_t stride,          \
                     ptrdiff_t n_features, ptrdiff_t n_components, int code,              \
                     const T *precision, const T *centers, const double *log_norm,        \
                     Out *out) {                                                          \
        GMMFAST_SMALL_CALL(name, (zt, yt, rows, stride, n_features, n_components, code,   \
                                  precision, centers, log_norm, out))                     \
    }
#define GMMFAST_SMALL_ENTRIES(T, s)                                                       \
    GMMFAST_SMALL_DENSITY_ENTRY(gmmfast_small_log_prob_##s, T, double)                    \
    GMMFAST_SMALL_DENSITY_ENTRY(gmmfast_small_labels_##s, T, ptrdiff_t)                   \
    static void gmmfast_small_transpose_##s(const double *a, ptrdiff_t rows,             \
                                            ptrdiff_t n_components, T *out) {            \
        GMMFAST_SMALL_CALL(gmmfast_small_transpose_##s, (a, rows, n_components, out))     \
    }                                                                                    \
    static void gmmfast_small_moments_##s(                                               \
            const T *zt, const T *offsets, ptrdiff_t rows, ptrdiff_t stride,             \
            ptrdiff_t n_features, ptrdiff_t n_components, int code, const double *value, \
            double *s0, double *s1, double *s2) {                                        \
        GMMFAST_SMALL_CALL(gmmfast_small_moments_##s,                                    \
                           (zt, offsets, rows, stride, n_features, n_components, code,   \
                            value, s0, s1, s2))                                          \
    }                                                                                    \
    static void gmmfast_sum_squares_tiles_##s(                                           \
            const T *y, const double *c, ptrdiff_t rows, ptrdiff_t n_features,           \
            ptrdiff_t n_components, int by_component, const double *log_norm,           \
            double *log_prob) {                                                          \
        GMMFAST_SMALL_CALL(gmmfast_sum_squares_tiles_##s,                                \
                           (y, c, rows, n_features, n_components, by_component,          \
                            log_norm, log_prob))                                         \
    }
GMMFAST_SMALL_ENTRIES(double, d)
GMMFAST_SMALL_ENTRIES(float, f)
#undef GMMFAST_SMALL_ENTRIES
#undef GMMFAST_SMALL_DENSITY_ENTRY
#undef GMMFAST_SQUARES_SUMS
/* The full log-densities' float32 sums of squares of float32 rows (see
   gmmfast/log_density_lanes.h). */
static void gmmfast_sum_squares_tiles32_f(const float *y, const float *c, ptrdiff_t rows,
                                          ptrdiff_t n_features, ptrdiff_t n_components,
                                          int by_component, const double *log_norm,
                                          double *log_prob) {
    GMMFAST_SMALL_CALL(gmmfast_sum_squares_tiles32_f,
                       (y, c, rows, n_features, n_components, by_component, log_norm,
                        log_prob))
}

/* The marginal of a row with missing features (gmmfast_marginal_row_d / _f, the same
   arguments and numbers), in the version gmmfast_small_width chooses (see
   gmmfast/missing_lanes.h). */
#define GMMFAST_MARGINAL_CALL(s, arguments) \
    GMMFAST_SMALL_CALL(gmmfast_marginal_vectors_##s, arguments)
#else
#define GMMFAST_SMALL_FEATURES 0
#define GMMFAST_HAS_SMALL 0
/* Without vector types: the loops over K numbers of gmmfast/missing_typed.h. */
#define GMMFAST_MARGINAL_CALL(s, arguments) gmmfast_marginal_row_##s arguments;
#endif

#define GMMFAST_MARGINAL_ENTRY(T, s)                                                      \
    static void gmmfast_marginal_##s(                                                    \
            const T *y, const T *c, const double *terms, const double *factors,          \
            const int *missing, ptrdiff_t m, ptrdiff_t n_features, ptrdiff_t n_components, \
            int per_component, double *u, double *t, double *eps, double *value) {        \
        GMMFAST_MARGINAL_CALL(s, (y, c, terms, factors, missing, m, n_features,          \
                                  n_components, per_component, u, t, eps, value))        \
    }
GMMFAST_MARGINAL_ENTRY(double, d)
GMMFAST_MARGINAL_ENTRY(float, f)
#undef GMMFAST_MARGINAL_ENTRY
#undef GMMFAST_MARGINAL_CALL

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
/* The blocks by columns, once per rows' dtype. */
#define GMMFAST_T double
#define GMMFAST_TYPED(name) name##_d
#include "gmmfast/small_typed.h"
#undef GMMFAST_T
#undef GMMFAST_TYPED
#define GMMFAST_T float
#define GMMFAST_TYPED(name) name##_f
#include "gmmfast/small_typed.h"
#undef GMMFAST_T
#undef GMMFAST_TYPED

/* Float32 rows for the loops that take no arithmetic in the rows' dtype (diag and
   spherical log-densities, every sum): zt (D x stride, float64) = x - shift, the
   difference taken in float32 and converted (exactly), as gmmfast_small_load_d_f reads
   gmmfast_small_columns_f's columns, so that the float64 loops give the float32 ones'
   bits without a conversion per component; the rest as gmmfast_small_columns. */
GMMFAST_CLONES static int gmmfast_small_wide_columns(
        const char *x, ptrdiff_t row_stride, ptrdiff_t column_stride, ptrdiff_t rows,
        ptrdiff_t stride, ptrdiff_t n_features, const float *GMMFAST_RESTRICT shift,
        double *GMMFAST_RESTRICT zt) {
    GMMFAST_READ_COLUMNS(float, double, gmmfast_any_nonfinite_d)
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
/* The full log-densities' sums of squares: the scalar loops of the same numbers. */
#define GMMFAST_SQUARES_STUB(name, T, C, scalar)                                           \
    static void name(const T *y, const C *c, ptrdiff_t rows, ptrdiff_t n_features,        \
                     ptrdiff_t n_components, int by_component, const double *log_norm,    \
                     double *log_prob) {                                                  \
        scalar(y, c, rows, n_features, n_components, 1, by_component, log_norm, log_prob); \
    }
GMMFAST_SQUARES_STUB(gmmfast_sum_squares_tiles_d, double, double, gmmfast_sum_squares_d)
GMMFAST_SQUARES_STUB(gmmfast_sum_squares_tiles_f, float, double, gmmfast_sum_squares_w)
GMMFAST_SQUARES_STUB(gmmfast_sum_squares_tiles32_f, float, float, gmmfast_sum_squares_f)
#undef GMMFAST_SQUARES_STUB
static int gmmfast_small_best_width(void) { return 0; }
static int gmmfast_small_runs(int width) { return 0; }
static void gmmfast_small_pin(int width) {}
static int gmmfast_small_wide_columns(const char *x, ptrdiff_t row_stride,
                                      ptrdiff_t column_stride, ptrdiff_t rows,
                                      ptrdiff_t stride, ptrdiff_t n_features,
                                      const float *shift, double *zt) { return 1; }
#endif

#endif
