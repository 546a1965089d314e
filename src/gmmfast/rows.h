/* Blocks of rows as the passes read them: x - shift in the data's dtype, and the rows
 * [z^2, z, 1] of the diagonal and spherical log-density product (gmmfast/rows_typed.h,
 * for float64 and float32 rows: gmmfast_shifted_d / _f, gmmfast_squares_d / _f), and the
 * missing entries of a block (gmmfast_mark_missing_d / _f). */
#ifndef GMMFAST_ROWS_H
#define GMMFAST_ROWS_H

#include "gmmfast/common.h"

#if defined(_MSC_VER)
#include <intrin.h>
#endif

/* The index of the lowest set bit of a non-zero mask. */
GMMFAST_INLINE ptrdiff_t gmmfast_lowest_bit(uint64_t mask) {
#if defined(_MSC_VER)
    unsigned long index;
    _BitScanForward64(&index, mask);
    return (ptrdiff_t) index;
#else
    return (ptrdiff_t) __builtin_ctzll(mask);
#endif
}

/* The number of set bits of a mask. */
GMMFAST_INLINE ptrdiff_t gmmfast_bit_count(uint64_t mask) {
#if defined(_MSC_VER)
    return (ptrdiff_t) __popcnt64(mask);
#else
    return (ptrdiff_t) __builtin_popcountll(mask);
#endif
}

#define GMMFAST_TYPED_HEADER "gmmfast/rows_typed.h"
#include "gmmfast/both_types.h"

#endif
