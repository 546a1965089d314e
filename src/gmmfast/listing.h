/* The (row, component) terms that count: each component's rows with a responsibility above
 * 2^-64 listed into packed buckets (plain and AVX2), and the responsibilities of the listed
 * terms. */
#ifndef GMMFAST_LISTING_H
#define GMMFAST_LISTING_H

#include "gmmfast/common.h"
#include "gmmfast/elementwise.h"

/* The rows i of each component k with a_ik > cutoff_i (a_ik at a[i * i_stride + k *
   k_stride]), in order of k then i, into one bucket per component, packed one after
   another (room for rows * K): the rows of component k are bucket[start[k] :
   start[k + 1]]. Branch-free: every row is written and the count moves on only for
   those that count. */
GMMFAST_CLONES static void gmmfast_list_rows_plain(
        const double *GMMFAST_RESTRICT a, ptrdiff_t i_stride, ptrdiff_t k_stride,
        const double *GMMFAST_RESTRICT cutoff, ptrdiff_t rows, ptrdiff_t n_components,
        int *GMMFAST_RESTRICT bucket, int *GMMFAST_RESTRICT start) {
    ptrdiff_t n = 0;
    for (ptrdiff_t k = 0; k < n_components; k++) {
        const double *ak = a + k * k_stride;
        start[k] = (int) n;
        for (ptrdiff_t i = 0; i < rows; i++) {
            bucket[n] = (int) i;
            n += ak[i * i_stride] > cutoff[i];
        }
    }
    start[n_components] = (int) n;
}

/* The same for a component-major a (i_stride 1) with AVX2, where the processor has it:
   8 rows compared at once and the ones that count packed together by a permutation
   looked up from the 8-bit mask; the last rows mod 8 go through the plain loop. Each
   store of 8 stays inside the first (k + 1) rows entries. (An AVX-512 version with
   vpcompressd measured no faster.) Both list the same rows. */
#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#include <immintrin.h>
/* Row m of the table: the positions of the bits set in m, in order, then zeros. */
static int gmmfast_pack_table[256][8];
__attribute__((target("avx2"))) static void gmmfast_list_rows_avx2(
        const double *a, const double *cutoff, ptrdiff_t rows, ptrdiff_t n_components,
        int *bucket, int *start) {
    ptrdiff_t n = 0, lanes_end = rows - rows % 8;
    for (ptrdiff_t k = 0; k < n_components; k++) {
        const double *l = a + k * rows;
        start[k] = (int) n;
        for (ptrdiff_t i0 = 0; i0 < lanes_end; i0 += 8) {
            int g0 = _mm256_movemask_pd(_mm256_cmp_pd(
                _mm256_loadu_pd(l + i0), _mm256_loadu_pd(cutoff + i0), _CMP_GT_OQ));
            int g1 = _mm256_movemask_pd(_mm256_cmp_pd(
                _mm256_loadu_pd(l + i0 + 4), _mm256_loadu_pd(cutoff + i0 + 4),
                _CMP_GT_OQ));
            int g = g0 | (g1 << 4);
            __m256i is = _mm256_add_epi32(
                _mm256_loadu_si256((const __m256i *) gmmfast_pack_table[g]),
                _mm256_set1_epi32((int) i0));
            _mm256_storeu_si256((__m256i *) (bucket + n), is);
            n += __builtin_popcount((unsigned) g);
        }
        for (ptrdiff_t i = lanes_end; i < rows; i++) {
            bucket[n] = (int) i;
            n += l[i] > cutoff[i];
        }
    }
    start[n_components] = (int) n;
}
/* The table of gmmfast_list_rows_avx2 (once, at load time). */
static void gmmfast_fill_pack_table(void) {
    for (int m = 0; m < 256; m++) {
        int n = 0;
        for (int b = 0; b < 8; b++) gmmfast_pack_table[m][b] = 0;
        for (int b = 0; b < 8; b++)
            if ((m >> b) & 1) gmmfast_pack_table[m][n++] = b;
    }
}
/* Whether gmmfast_list_rows_avx2 can run here (never in the baseline test build). */
static int gmmfast_has_avx2(void) {
#if GMMFAST_VARIANT == 1
    return 0;
#else
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") ? 1 : 0;
#endif
}
#else
static void gmmfast_list_rows_avx2(const double *a, const double *cutoff,
                                   ptrdiff_t rows, ptrdiff_t n_components, int *bucket,
                                   int *start) {
    gmmfast_list_rows_plain(a, 1, rows, cutoff, rows, n_components, bucket, start);
}
static void gmmfast_fill_pack_table(void) {}
static int gmmfast_has_avx2(void) { return 0; }
#endif

/* a_ik for the listed rows i of each component k (a as in gmmfast_list_rows_plain). */
static void gmmfast_listed_values(const double *GMMFAST_RESTRICT a, ptrdiff_t i_stride,
                                  ptrdiff_t k_stride, ptrdiff_t n_components,
                                  const int *GMMFAST_RESTRICT bucket,
                                  const int *GMMFAST_RESTRICT start,
                                  double *GMMFAST_RESTRICT value) {
    for (ptrdiff_t k = 0; k < n_components; k++)
        for (ptrdiff_t q = start[k]; q < start[k + 1]; q++)
            value[q] = a[bucket[q] * i_stride + k * k_stride];
}

/* Where most responsibilities of a row are negligible, only the others are computed,
   from log-densities held component by component: l[k * rows + i] = log p(x_i, k).
   With m_i = max_k l_ik, r_ik = exp(l_ik - m_i) / sum_k exp(l_ik - m_i) is above 2^-64
   only if l_ik > m_i - 64 ln 2 (the sum is at least 1): the cutoff of row i for the
   listing. The sum over the listed components differs from the full sum by less than
   K 2^-64, below half an ulp of a sum >= 1, so it is the same number. (Listing a few
   more than needed changes nothing but the work.)
   top: m_i; shift: m_i, or 0 for a row with p(x_i, k) = 0 for every k, whose
   log p(x_i, 0) is set to 0 so that the row goes to its first component. The maxima
   run over the rows, GMMFAST_LANES or more at a time. */
GMMFAST_CLONES static void gmmfast_column_cutoffs(double *GMMFAST_RESTRICT log_prob,
                                                  ptrdiff_t rows,
                                                  ptrdiff_t n_components,
                                                  double *GMMFAST_RESTRICT top,
                                                  double *GMMFAST_RESTRICT shift,
                                                  double *GMMFAST_RESTRICT cutoff) {
    const double log_negligible = 44.361419555836500;  /* 64 ln 2, rounded down */
    for (ptrdiff_t i = 0; i < rows; i++) top[i] = log_prob[i];
    for (ptrdiff_t k = 1; k < n_components; k++) {
        const double *GMMFAST_RESTRICT l = log_prob + k * rows;
        for (ptrdiff_t i = 0; i < rows; i++) top[i] = l[i] > top[i] ? l[i] : top[i];
    }
    for (ptrdiff_t i = 0; i < rows; i++) {
        double m = top[i] == -INFINITY ? 0.0 : top[i];
        /* Below m however large |m| is (where m - 64 ln 2 would round to m), so that
           the most likely component is always listed. */
        double room = fabs(m) * 0x1p-50;
        log_prob[i] = top[i] == -INFINITY ? 0.0 : log_prob[i];
        shift[i] = m;
        cutoff[i] = m - (room > log_negligible ? room : log_negligible);
    }
}

/* For the listed rows of each component (see gmmfast_list_rows_*): value = w_i r_ik
   (w = NULL for ones) and log_total[i] = log p(x_i) = m_i + log sum_k exp(l_ik - m_i),
   each row's sum adding its components in order. total: rows of scratch. */
GMMFAST_CLONES static void gmmfast_listed_responsibilities(
        const double *GMMFAST_RESTRICT log_prob, const double *GMMFAST_RESTRICT top,
        const double *GMMFAST_RESTRICT shift, const double *GMMFAST_RESTRICT weight,
        ptrdiff_t rows, ptrdiff_t n_components, const int *GMMFAST_RESTRICT bucket,
        const int *GMMFAST_RESTRICT start, double *GMMFAST_RESTRICT value,
        double *GMMFAST_RESTRICT total, double *GMMFAST_RESTRICT log_total) {
    ptrdiff_t n = start[n_components];
    gmmfast_listed_values(log_prob, 1, rows, n_components, bucket, start, value);
    for (ptrdiff_t q = 0; q < n; q++) value[q] = gmmfast_exp(value[q] - shift[bucket[q]]);
    for (ptrdiff_t i = 0; i < rows; i++) total[i] = 0.0;
    for (ptrdiff_t q = 0; q < n; q++) total[bucket[q]] += value[q];
    /* A row with p(x_i) = 0 has total 1 from its one component: log p(x_i) = -inf. */
    for (ptrdiff_t i = 0; i < rows; i++)
        log_total[i] = top[i] + gmmfast_log_from_one(total[i]);
    /* total >= 1 (the largest term is exp(0)): each row's scale w_i / total is finite. */
    for (ptrdiff_t i = 0; i < rows; i++)
        total[i] = (weight == NULL ? 1.0 : weight[i]) / total[i];
    for (ptrdiff_t q = 0; q < n; q++) value[q] = value[q] * total[bucket[q]];
}

/* sum_i sum_k v_ik (l_ik - log p(x_i)) over the listed terms, with v_ik = w_i r_ik and
   l_ik = log p(x_i, k) as gmmfast_listed_responsibilities leaves them: r_ik (l_ik -
   log p(x_i)) = r_ik log r_ik, so this is sum_i w_i sum_k r_ik log r_ik up to the
   left-out terms (each r log r of them above -45 x 2^-64), added in list order. A term
   with v_ik = 0 adds nothing. */
static double gmmfast_listed_entropy(const double *GMMFAST_RESTRICT log_prob,
                                     const double *GMMFAST_RESTRICT log_total,
                                     ptrdiff_t rows, ptrdiff_t n_components,
                                     const int *GMMFAST_RESTRICT bucket,
                                     const int *GMMFAST_RESTRICT start,
                                     const double *GMMFAST_RESTRICT value) {
    double total = 0.0;
    for (ptrdiff_t k = 0; k < n_components; k++)
        for (ptrdiff_t q = start[k]; q < start[k + 1]; q++) {
            ptrdiff_t i = bucket[q];
            total += value[q] != 0.0 ? value[q] * (log_prob[k * rows + i] - log_total[i])
                                     : 0.0;
        }
    return total;
}

#endif
