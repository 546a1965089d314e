/* The vector loops of the passes over few features, and the full log-densities' sums of
 * squares by tiles (gmmfast/log_density_lanes.h, any number of features), for one vector
 * width (see
 * gmmfast/small.h, which includes this once per version): GMMFAST_W lanes of float64 to a
 * vector (gmmfast_vd<W>), GMMFAST_WN(name) the version's name of a function, GMMFAST_WTARGET
 * the instructions it is compiled for. A chunk of GMMFAST_LANES rows is taken as
 * GMMFAST_LANES / GMMFAST_W vectors: every lane holds one row and does what the row's
 * scalar arithmetic does, and the sums over the rows keep GMMFAST_LANES partial sums (row
 * i into partial i mod GMMFAST_LANES) added in one fixed order, so that every width gives
 * the same bits. The marginals of rows with missing features (gmmfast/missing_lanes.h)
 * take the same vectors over the components. */

#if GMMFAST_W == 8
#define GMMFAST_VD gmmfast_vd8
#define GMMFAST_VF gmmfast_vf8
#define GMMFAST_VF2 gmmfast_vf16
#define GMMFAST_VL gmmfast_vl8
#elif GMMFAST_W == 4
#define GMMFAST_VD gmmfast_vd4
#define GMMFAST_VF gmmfast_vf4
#define GMMFAST_VF2 gmmfast_vf8
#define GMMFAST_VL gmmfast_vl4
#else
#define GMMFAST_VD gmmfast_vd2
#define GMMFAST_VF gmmfast_vf2
#define GMMFAST_VF2 gmmfast_vf4
#define GMMFAST_VL gmmfast_vl2
#endif

/* Inlined into the version's loops (and compiled for its instructions). */
#define GMMFAST_WINLINE GMMFAST_INLINE GMMFAST_WTARGET

/* mask ? a : b lane by lane (mask lanes all ones or all zeros, as comparisons give). */
GMMFAST_WINLINE GMMFAST_VD GMMFAST_WN(gmmfast_select)(GMMFAST_VL mask, GMMFAST_VD a,
                                                      GMMFAST_VD b) {
    return (GMMFAST_VD) (((GMMFAST_VL) a & mask) | ((GMMFAST_VL) b & ~mask));
}

/* The first ``count`` lanes of v into out. */
GMMFAST_WINLINE void GMMFAST_WN(gmmfast_small_store)(double *out, GMMFAST_VD v,
                                                     ptrdiff_t count) {
    if (count >= GMMFAST_W)
        memcpy(out, &v, sizeof v);
    else
        for (ptrdiff_t l = 0; l < count; l++) out[l] = v[l];
}

/* The ``count`` numbers from p on, zeros in the lanes past them. */
GMMFAST_WINLINE GMMFAST_VD GMMFAST_WN(gmmfast_small_terms)(const double *p, ptrdiff_t count) {
    GMMFAST_VD v = {0};
    if (count >= GMMFAST_W)
        memcpy(&v, p, sizeof v);
    else
        for (ptrdiff_t l = 0; l < count; l++) v[l] = p[l];
    return v;
}

/* Whether any lane of v is not zero. */
GMMFAST_WINLINE int GMMFAST_WN(gmmfast_small_any)(GMMFAST_VD v) {
    uint64_t bits[GMMFAST_W], any = 0;
    memcpy(bits, &v, sizeof bits);
    for (int l = 0; l < GMMFAST_W; l++) any |= bits[l] << 1;  /* +0 and -0 are zero */
    return any != 0;
}

/* v's lanes into the partial sums part[h W ..] of the rows of chunk offset h W. */
GMMFAST_WINLINE void GMMFAST_WN(gmmfast_small_partials)(GMMFAST_VD v, ptrdiff_t h,
                                                        double *part) {
    memcpy(part + h * GMMFAST_W, &v, sizeof v);
}

/* The tile t[k][l] = a[k * rows + l], k, l < W (W rows of W components held component
   by component, or W components of W rows held row by row) transposed into col[l][k] =
   t[k][l]: for eight lanes in three rounds of
   shuffles of pairs of vectors (single lanes, pairs of lanes, halves); for fewer, lane by
   lane. A copy: no rounding. */
GMMFAST_WINLINE void GMMFAST_WN(gmmfast_small_tile_transpose)(const double *a, ptrdiff_t rows,
                                                              GMMFAST_VD col[GMMFAST_W]) {
#if GMMFAST_W == 8
    GMMFAST_VD r[8], t[8], u[8];
    for (int k = 0; k < 8; k++) memcpy(&r[k], a + k * rows, sizeof r[k]);
    /* t[k], k even: lanes 0, 2, 4, 6 of r[k] and r[k + 1] interleaved; t[k + 1]: 1, 3, 5,
       7. */
    for (int k = 0; k < 8; k += 2) {
        t[k] = GMMFAST_SHUFFLE(r[k], r[k + 1], 0, 8, 2, 10, 4, 12, 6, 14);
        t[k + 1] = GMMFAST_SHUFFLE(r[k], r[k + 1], 1, 9, 3, 11, 5, 13, 7, 15);
    }
    /* u[g + e], g = 0 or 4, e < 4: lanes e and e + 4 of r[g .. g + 3]. */
    for (int g = 0; g < 8; g += 4)
        for (int p = 0; p < 2; p++) {
            u[g + p] = GMMFAST_SHUFFLE(t[g + p], t[g + 2 + p], 0, 1, 8, 9, 4, 5, 12, 13);
            u[g + 2 + p] = GMMFAST_SHUFFLE(t[g + p], t[g + 2 + p], 2, 3, 10, 11, 6, 7, 14, 15);
        }
    for (int e = 0; e < 4; e++) {
        col[e] = GMMFAST_SHUFFLE(u[e], u[4 + e], 0, 1, 2, 3, 8, 9, 10, 11);
        col[e + 4] = GMMFAST_SHUFFLE(u[e], u[4 + e], 4, 5, 6, 7, 12, 13, 14, 15);
    }
#else
    for (int l = 0; l < GMMFAST_W; l++)
        for (int k = 0; k < GMMFAST_W; k++) col[l][k] = a[k * rows + l];
#endif
}

/* The typed loops, once per rows' dtype, with GMMFAST_VT the vector of GMMFAST_W of them
   and GMMFAST_TO_D converting it to float64 (exactly); GMMFAST_SQUARES names the scalar
   sums of squares of the same numbers (gmmfast/log_density_lanes.h). */
#define GMMFAST_T double
#define GMMFAST_TYPED(name) GMMFAST_WN(name##_d)
#define GMMFAST_UNVERSIONED(name) name##_d
#define GMMFAST_VT GMMFAST_VD
#define GMMFAST_TO_D(v) (v)
#define GMMFAST_SQUARES(name) name##_d
#include "gmmfast/small_lanes.h"
#include "gmmfast/missing_lanes.h"
#include "gmmfast/log_density_lanes.h"
#undef GMMFAST_SQUARES
#undef GMMFAST_T
#undef GMMFAST_TYPED
#undef GMMFAST_UNVERSIONED
#undef GMMFAST_VT
#undef GMMFAST_TO_D
#define GMMFAST_T float
#define GMMFAST_TYPED(name) GMMFAST_WN(name##_f)
#define GMMFAST_UNVERSIONED(name) name##_f
#define GMMFAST_VT GMMFAST_VF
#if GMMFAST_W == 8
/* GCC 12 converts 8 float32 lanes held in a register to float64 in two halves through
   128-bit registers (measured: full float32 predict with 3 features 1.70 -> 1.32 ms on
   one thread); AVX-512F does it in one instruction, exactly as well. */
GMMFAST_WINLINE GMMFAST_VD gmmfast_float_lanes_w8(GMMFAST_VF v) {
    return (GMMFAST_VD) _mm512_cvtps_pd((__m256) v);
}
#define GMMFAST_TO_D(v) gmmfast_float_lanes_w8(v)
#else
#define GMMFAST_TO_D(v) __builtin_convertvector((v), GMMFAST_VD)
#endif
#define GMMFAST_SQUARES(name) name##_w
#define GMMFAST_FLOAT_SUMS 1
#include "gmmfast/small_lanes.h"
#include "gmmfast/missing_lanes.h"
#include "gmmfast/log_density_lanes.h"
#undef GMMFAST_FLOAT_SUMS
#undef GMMFAST_SQUARES
#undef GMMFAST_T
#undef GMMFAST_TYPED
#undef GMMFAST_UNVERSIONED
#undef GMMFAST_VT
#undef GMMFAST_TO_D

#undef GMMFAST_WINLINE
#undef GMMFAST_VD
#undef GMMFAST_VF
#undef GMMFAST_VF2
#undef GMMFAST_VL
