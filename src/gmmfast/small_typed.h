/* The blocks of rows with few features held column by column for rows of type GMMFAST_T
 * (see gmmfast/small.h, which includes this once per type): zt[a * stride + i] = z_ia
 * with stride the rows rounded up to GMMFAST_LANES (the padding rows zero); the loops
 * over them are in gmmfast/small_lanes.h. */

#ifndef GMMFAST_CONTIGUOUS_COLUMNS
/* Whether rows of n_features items of ``size`` bytes lie one after the other (x
   C-contiguous). */
GMMFAST_INLINE int gmmfast_contiguous_rows(ptrdiff_t row_stride, ptrdiff_t column_stride,
                                           ptrdiff_t n_features, size_t size) {
    return column_stride == (ptrdiff_t) size && row_stride == n_features * (ptrdiff_t) size;
}
/* zt[a * stride + i] = x_ia - shift_a (of type T, stored as Out) for C-contiguous rows of
   n features, n a constant: the compiler then reads the rows as whole vectors and takes
   their features apart with shuffles, where the loop by columns reads one number at a
   time (measured on a block of 256 rows in the caches, AVX-512, float64: 3 features 0.143
   -> 0.071 us, 4 features 0.189 -> 0.095 us, 8 features 0.366 -> 0.230 us; 5 to 7
   features gained nothing, and keep the loop by columns). */
#define GMMFAST_CONTIGUOUS_COLUMNS(T, Out, n)                                             \
    for (ptrdiff_t i = 0; i < rows; i++)                                                 \
        for (ptrdiff_t a = 0; a < (n); a++) {                                            \
            T v;                                                                         \
            memcpy(&v, x + (i * (n) + a) * (ptrdiff_t) sizeof v, sizeof v);               \
            zt[a * stride + i] = (Out) (v - shift[a]);                                   \
        }
/* The body of gmmfast_small_columns_d / _f and gmmfast_small_wide_columns (their
   arguments by name): the rows of type T read into columns of type Out, by constant
   widths where they are contiguous, else column by column; the padding rows zero; returns
   whether an entry is NaN or infinite (any_nonfinite of the columns: x - shift is where x
   is, the shift being finite). */
#define GMMFAST_READ_COLUMNS(T, Out, any_nonfinite)                                       \
    int found = 0;                                                                       \
    int contiguous = gmmfast_contiguous_rows(row_stride, column_stride, n_features,       \
                                             sizeof(T));                                 \
    if (contiguous && n_features == 1) {                                                 \
        GMMFAST_CONTIGUOUS_COLUMNS(T, Out, 1)                                            \
    } else if (contiguous && n_features == 2) {                                          \
        GMMFAST_CONTIGUOUS_COLUMNS(T, Out, 2)                                            \
    } else if (contiguous && n_features == 3) {                                          \
        GMMFAST_CONTIGUOUS_COLUMNS(T, Out, 3)                                            \
    } else if (contiguous && n_features == 4) {                                          \
        GMMFAST_CONTIGUOUS_COLUMNS(T, Out, 4)                                            \
    } else if (contiguous && n_features == 8) {                                          \
        GMMFAST_CONTIGUOUS_COLUMNS(T, Out, 8)                                            \
    } else {                                                                             \
        for (ptrdiff_t a = 0; a < n_features; a++) {                                     \
            Out *GMMFAST_RESTRICT za = zt + a * stride;                                  \
            const char *xa = x + a * column_stride;                                      \
            const T sa = shift[a];                                                       \
            for (ptrdiff_t i = 0; i < rows; i++) {                                       \
                T v;                                                                     \
                memcpy(&v, xa + i * row_stride, sizeof v);                               \
                za[i] = (Out) (v - sa);                                                  \
            }                                                                            \
        }                                                                                \
    }                                                                                    \
    for (ptrdiff_t a = 0; a < n_features; a++) {                                         \
        Out *GMMFAST_RESTRICT za = zt + a * stride;                                      \
        for (ptrdiff_t i = rows; i < stride; i++) za[i] = (Out) 0;                       \
        found |= any_nonfinite(za, rows);                                                \
    }                                                                                    \
    return found;
#endif

/* zt (D x stride) = x - shift for a block of rows of x (row and column strides in bytes,
   any sign), zeros in the padding rows; returns whether any entry of x is NaN or infinite
   (exponent bits all ones), found as the rows are read. */
GMMFAST_CLONES static int GMMFAST_TYPED(gmmfast_small_columns)(
        const char *x, ptrdiff_t row_stride, ptrdiff_t column_stride, ptrdiff_t rows,
        ptrdiff_t stride, ptrdiff_t n_features, const GMMFAST_T *GMMFAST_RESTRICT shift,
        GMMFAST_T *GMMFAST_RESTRICT zt) {
    GMMFAST_READ_COLUMNS(GMMFAST_T, GMMFAST_T, GMMFAST_TYPED(gmmfast_any_nonfinite))
}

/* yt (D x stride) for tied covariances: y_i = z_i P with P the upper triangular factor
   (D x D), y_ij = sum_{a <= j} z_ia P_aj, adding a in order, in the rows' dtype (the
   product the pass of many features takes with BLAS). */
GMMFAST_CLONES static void GMMFAST_TYPED(gmmfast_small_tied_columns)(
        const GMMFAST_T *GMMFAST_RESTRICT zt, ptrdiff_t stride, ptrdiff_t n_features,
        const GMMFAST_T *GMMFAST_RESTRICT tied_precision, GMMFAST_T *GMMFAST_RESTRICT yt) {
    for (ptrdiff_t j = 0; j < n_features; j++) {
        GMMFAST_T *GMMFAST_RESTRICT y = yt + j * stride;
        for (ptrdiff_t i = 0; i < stride; i++) y[i] = (GMMFAST_T) 0;
        for (ptrdiff_t a = 0; a <= j; a++) {
            const GMMFAST_T p = tied_precision[a * n_features + j];
            const GMMFAST_T *GMMFAST_RESTRICT za = zt + a * stride;
            for (ptrdiff_t i = 0; i < stride; i++) y[i] += za[i] * p;
        }
    }
}
