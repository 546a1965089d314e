/* The exponential, the logarithm of sums of exponentials, and the row-wise loops built on
 * them: row maxima, normalisation of log-densities into responsibilities, weighted totals. */
#ifndef GMMFAST_ELEMENTWISE_H
#define GMMFAST_ELEMENTWISE_H

#include "gmmfast/common.h"

/* exp(x) for x <= 0 to about one ulp, without branches or calls so that loops over it
   vectorise: x = n ln2 + r with |r| <= ln2 / 2 (ln2 in two parts, so n ln2 is exact),
   exp(r) by its Taylor series to r^13 (remainder below 1e-17), and 2^n written into the
   exponent bits. Below -708 the result would be subnormal: 0 is returned. */
/* ln 2 in two parts: the first has 32 significant bits, so that n * GMMFAST_LN2_HI is
   exact for the integers n the exponential and logarithm meet. */
#define GMMFAST_LN2_HI 6.93147180369123816490e-01
#define GMMFAST_LN2_LO 1.90821492927058770002e-10

GMMFAST_INLINE double gmmfast_exp(double x) {
    const double shifter = 6755399441055744.0;  /* 1.5 * 2^52: adding it rounds to int */
    double xc = x < -708.0 ? -708.0 : x;
    double t = xc * 1.4426950408889634 + shifter;
    double n = t - shifter;
    double r = (xc - n * GMMFAST_LN2_HI) - n * GMMFAST_LN2_LO;
    /* exp(r) = 1 + (r + r^2 T(r)), T(r) = sum_{n=0}^{11} r^n / (n+2)!, T by Estrin's
       scheme (pairs, then pairs of pairs in r^2, r^4, r^8): the chain of dependent
       operations is a third as long as Horner's, so that many exponentials overlap;
       the leading terms 1 + r are added last, as in Horner's rule. */
    double r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
    double a0 = 1.0 / 2.0 + r * (1.0 / 6.0);
    double a1 = 1.0 / 24.0 + r * (1.0 / 120.0);
    double a2 = 1.0 / 720.0 + r * (1.0 / 5040.0);
    double a3 = 1.0 / 40320.0 + r * (1.0 / 362880.0);
    double a4 = 1.0 / 3628800.0 + r * (1.0 / 39916800.0);
    double a5 = 1.0 / 479001600.0 + r * (1.0 / 6227020800.0);
    double b0 = a0 + a1 * r2, b1 = a2 + a3 * r2, b2 = a4 + a5 * r2;
    double tail = (b0 + b1 * r4) + b2 * r8;
    double p = 1.0 + (r + r2 * tail);
    int64_t bits, shifter_bits;
    memcpy(&bits, &t, sizeof bits);
    memcpy(&shifter_bits, &shifter, sizeof shifter_bits);
    bits = (bits - shifter_bits + 1023) << 52;  /* the low bits of t hold n */
    double scale;
    memcpy(&scale, &bits, sizeof scale);
    return x < -708.0 ? 0.0 : p * scale;
}

/* log(x) for finite x >= 1 (a row's sum of exponentials, whose largest term is 1),
   without branches or calls: x = 2^e m with m in [sqrt(1/2), sqrt(2)), s = (m - 1) /
   (m + 1), log m = 2 atanh(s) = 2 s sum_n s^2n / (2n + 1) to n = 11 (|s| <= 0.172, the
   remainder below 1e-18 of the sum), the sum evaluated in s^2 by Estrin's scheme; then
   e ln2 + log m with ln2 in two parts. NaN and +inf are returned as they came. */
GMMFAST_INLINE double gmmfast_log_from_one(double x) {
    int64_t bits, mantissa, exponent;
    memcpy(&bits, &x, sizeof bits);
    /* The biased exponent into the low bits of 2^52 (a double, without an integer
       conversion, so that the loop vectorises with AVX-512F alone), then unbiased. */
    exponent = (bits >> 52) | 0x4330000000000000LL;
    mantissa = (bits & 0x000fffffffffffffLL) | 0x3ff0000000000000LL;
    double m, e;
    memcpy(&m, &mantissa, sizeof m);
    memcpy(&e, &exponent, sizeof e);
    e = e - (4503599627370496.0 + 1023.0);
    int big = m > 1.4142135623730951;
    m = big ? 0.5 * m : m;
    double n = big ? e + 1.0 : e;
    /* With f = m - 1 (exact) and s = f / (2 + f): log m = 2s + s R, R = sum_n 2 s^2n /
       (2n + 1) from n = 1, and 2s = f - f^2/2 + s f^2/2, so that the exact f leads. */
    double f = m - 1.0;
    double s = f / (2.0 + f), half_square = 0.5 * f * f;
    double u = s * s, u2 = u * u, u4 = u2 * u2, u8 = u4 * u4;
    double c0 = 1.0 / 3.0 + u * (1.0 / 5.0), c1 = 1.0 / 7.0 + u * (1.0 / 9.0);
    double c2 = 1.0 / 11.0 + u * (1.0 / 13.0), c3 = 1.0 / 15.0 + u * (1.0 / 17.0);
    double c4 = 1.0 / 19.0 + u * (1.0 / 21.0), c5 = 1.0 / 23.0;
    double d0 = c0 + c1 * u2, d1 = c2 + c3 * u2, d2 = c4 + c5 * u2;
    double series = 2.0 * u * ((d0 + d1 * u4) + d2 * u8);
    double log_m = f - (half_square - s * (half_square + series));
    double r = n * GMMFAST_LN2_HI + (n * GMMFAST_LN2_LO + log_m);
    return x <= 1.7976931348623157e308 ? r : x;  /* NaN and +inf as they came */
}

/* max_k row[k], GMMFAST_LANES comparisons at a time (the maximum does not depend on
   their order); -inf for a row of -inf. */
GMMFAST_INLINE double gmmfast_row_max(const double *row, ptrdiff_t n_components) {
    ptrdiff_t lanes_end = n_components - n_components % GMMFAST_LANES;
    double m = -INFINITY, part[GMMFAST_LANES];
    for (ptrdiff_t l = 0; l < GMMFAST_LANES; l++) part[l] = -INFINITY;
    for (ptrdiff_t k = 0; k < lanes_end; k += GMMFAST_LANES)
        for (ptrdiff_t l = 0; l < GMMFAST_LANES; l++)
            part[l] = row[k + l] > part[l] ? row[k + l] : part[l];
    for (ptrdiff_t l = 0; l < GMMFAST_LANES; l++) m = part[l] > m ? part[l] : m;
    for (ptrdiff_t k = lanes_end; k < n_components; k++) m = row[k] > m ? row[k] : m;
    return m;
}

/* Rows of log p(x, k) into responsibilities, in place; log p(x) of each row into
   log_total. With m = max_k log p(x, k): e_k = exp(log p(x, k) - m), r_k = e_k / sum e,
   log p(x) = m + log sum e. A row with p(x) = 0 for every k goes to its first
   component. The sum runs in GMMFAST_LANES interleaved partial sums added in a fixed
   order (then the remainder in order), so that it vectorises and every build of the
   loop adds the same numbers in the same order. */
GMMFAST_CLONES static void gmmfast_normalise_rows(double *log_prob, ptrdiff_t rows,
                                                  ptrdiff_t n_components,
                                                  double *log_total) {
    /* Each step runs over a chunk of rows before the next, so that the rows' chains of
       dependent operations (maximum, exponential, sum, division) overlap, and the
       exponentials, reciprocals and scalings run as single long loops. */
    ptrdiff_t lanes_end = n_components - n_components % GMMFAST_LANES;
    double top[GMMFAST_CHUNK_ROWS], total[GMMFAST_CHUNK_ROWS];
    double inverse[GMMFAST_CHUNK_ROWS];
    for (ptrdiff_t i0 = 0; i0 < rows; i0 += GMMFAST_CHUNK_ROWS) {
        ptrdiff_t n = rows - i0 < GMMFAST_CHUNK_ROWS ? rows - i0 : GMMFAST_CHUNK_ROWS;
        double *chunk = log_prob + i0 * n_components;
        for (ptrdiff_t i = 0; i < n; i++)
            top[i] = gmmfast_row_max(chunk + i * n_components, n_components);
        for (ptrdiff_t i = 0; i < n; i++) {
            double *row = chunk + i * n_components;
            /* -inf - -inf would be NaN: such a row gets e = 0 here and is fixed below. */
            double m = top[i] == -INFINITY ? 0.0 : top[i];
            for (ptrdiff_t k = 0; k < n_components; k++) row[k] = row[k] - m;
        }
        for (ptrdiff_t e = 0; e < n * n_components; e++) chunk[e] = gmmfast_exp(chunk[e]);
        for (ptrdiff_t i = 0; i < n; i++) {
            double *row = chunk + i * n_components;
            double part[GMMFAST_LANES], sum;
            if (top[i] == -INFINITY) {
                for (ptrdiff_t k = 0; k < n_components; k++) row[k] = 0.0;
                row[0] = 1.0;
            }
            for (ptrdiff_t l = 0; l < GMMFAST_LANES; l++) part[l] = 0.0;
            for (ptrdiff_t k = 0; k < lanes_end; k += GMMFAST_LANES)
                for (ptrdiff_t l = 0; l < GMMFAST_LANES; l++) part[l] += row[k + l];
            sum = ((part[0] + part[1]) + (part[2] + part[3]))
                  + ((part[4] + part[5]) + (part[6] + part[7]));
            for (ptrdiff_t k = lanes_end; k < n_components; k++) sum += row[k];
            total[i] = sum;
        }
        /* total >= 1 (the largest term is exp(0)), so its inverse is finite. */
        for (ptrdiff_t i = 0; i < n; i++) inverse[i] = 1.0 / total[i];
        for (ptrdiff_t i = 0; i < n; i++) {
            double *row = chunk + i * n_components;
            for (ptrdiff_t k = 0; k < n_components; k++) row[k] = row[k] * inverse[i];
        }
        /* A row with p(x) = 0 has total 1 from its one-hot row: log p(x) = -inf. */
        for (ptrdiff_t i = 0; i < n; i++)
            log_total[i0 + i] = top[i] + gmmfast_log_from_one(total[i]);
    }
}

/* sum_i w_i x_i (w = NULL for ones; rows with w_i = 0 add nothing, even where x_i is
   -inf), in GMMFAST_LANES partial sums added in a fixed order. */
GMMFAST_CLONES static double gmmfast_weighted_total(const double *x, const double *w,
                                                    ptrdiff_t n) {
    double part[GMMFAST_LANES], total;
    ptrdiff_t end = n - n % GMMFAST_LANES;
    for (ptrdiff_t l = 0; l < GMMFAST_LANES; l++) part[l] = 0.0;
    if (w == NULL) {
        for (ptrdiff_t i = 0; i < end; i += GMMFAST_LANES)
            for (ptrdiff_t l = 0; l < GMMFAST_LANES; l++) part[l] += x[i + l];
    } else {
        for (ptrdiff_t i = 0; i < end; i += GMMFAST_LANES)
            for (ptrdiff_t l = 0; l < GMMFAST_LANES; l++)
                part[l] += w[i + l] != 0.0 ? w[i + l] * x[i + l] : 0.0;
    }
    total = ((part[0] + part[1]) + (part[2] + part[3]))
            + ((part[4] + part[5]) + (part[6] + part[7]));
    for (ptrdiff_t i = end; i < n; i++)
        total += w == NULL ? x[i] : (w[i] != 0.0 ? w[i] * x[i] : 0.0);
    return total;
}

#endif
