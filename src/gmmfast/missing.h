/* Rows with missing features: the marginal log-density of one row's observed features and
 * the conditional means of its missing ones, under every component of a full or tied model,
 * and their corrections of the sums (gmmfast/missing_typed.h, for float64 and float32 rows:
 * gmmfast_marginal_row_d / _f, gmmfast_missing_moments_d / _f; for diagonal and spherical
 * models gmmfast_missing_diag_sums_d / _f). */
#ifndef GMMFAST_MISSING_H
#define GMMFAST_MISSING_H

#include "gmmfast/common.h"
#include "gmmfast/moments.h"

#define GMMFAST_LOG_2PI 1.8378770664093453

/* Diagonal and spherical models of at most TINY_FEATURES features (src/_kernels.pyx; with
   more, the log-density product adds these terms itself, see _quadratic_log_prob): what
   each row's missing features add to its log p(x, k),
   the terms a_jk (Model.missing_terms, a_jk at j K + k) summed over them in order into
   sums[i K + k] (rows x K scratch), then added to log_prob[i i_stride + k k_stride]
   (component by component when the rows are contiguous, i_stride 1, row by row
   otherwise; a complete row adds zero). */
GMMFAST_CLONES static void gmmfast_missing_terms(
        const double *GMMFAST_RESTRICT terms, const int *GMMFAST_RESTRICT start,
        const int *GMMFAST_RESTRICT index, ptrdiff_t rows, ptrdiff_t n_components,
        ptrdiff_t i_stride, ptrdiff_t k_stride, double *GMMFAST_RESTRICT sums,
        double *GMMFAST_RESTRICT log_prob) {
    ptrdiff_t K = n_components;
    for (ptrdiff_t i = 0; i < rows; i++) {
        double *row = sums + i * K;
        for (ptrdiff_t k = 0; k < K; k++) row[k] = 0.0;
        for (ptrdiff_t q = start[i]; q < start[i + 1]; q++) {
            const double *a = terms + (ptrdiff_t) index[q] * K;
            for (ptrdiff_t k = 0; k < K; k++) row[k] += a[k];
        }
    }
    if (i_stride == 1)
        for (ptrdiff_t k = 0; k < K; k++) {
            double *column = log_prob + k * k_stride;
            for (ptrdiff_t i = 0; i < rows; i++) column[i] += sums[i * K + k];
        }
    else
        for (ptrdiff_t i = 0; i < rows; i++)
            for (ptrdiff_t k = 0; k < K; k++) log_prob[i * i_stride + k * k_stride] += sums[i * K + k];
}

/* Where the parts of a factor set of m missing features lie (its numbers e, each n
   precisions wide; see gmmfast_factor_set): L_ab (b < a), 1 / L_aa, log det Lambda_MM and
   (Lambda_MM^-1)_ab (b <= a), packed so that a set of m features takes m^2 + m + 1. */
/* Entry (a, b), b <= a, of a lower triangle packed by rows. */
#define GMMFAST_TRIANGLE(a, b) ((a) * ((a) + 1) / 2 + (b))
#define GMMFAST_FACTOR_L(a, b) GMMFAST_TRIANGLE((a) - 1, b)
#define GMMFAST_FACTOR_RECIPROCAL(m, a) (GMMFAST_TRIANGLE((m) - 1, 0) + (a))
#define GMMFAST_FACTOR_LOG_DET(m) GMMFAST_FACTOR_RECIPROCAL(m, m)
#define GMMFAST_FACTOR_INVERSE(m, a, b) (GMMFAST_FACTOR_LOG_DET(m) + 1 + GMMFAST_TRIANGLE(a, b))
/* The numbers a set of m features takes with its inverse; those read for each row (L,
   the reciprocals and the determinant) come first and take GMMFAST_FACTOR_INVERSE(m, 0, 0). */
#define GMMFAST_FACTOR_SIZE(m) ((m) * (m) + (m) + 1)

/* Lambda_MM^-1 = L^-T L^-1 for ``lanes`` precisions side by side, from the factor set of
   their lower Cholesky factors L (entry e of lane k at factor[e stride + k]; the entries
   below the diagonal and the reciprocals of the diagonal, see GMMFAST_FACTOR_L): the lower
   triangle, entry (a, b) (b <= a) of lane k at inverse[GMMFAST_TRIANGLE(a, b)
   inverse_stride + k]. L^-1 by forward substitution, column by column, in work (m^2 lanes numbers). */
GMMFAST_INLINE void gmmfast_factor_inverse_of(
        const double *GMMFAST_RESTRICT factor, ptrdiff_t stride, ptrdiff_t lanes, ptrdiff_t m,
        double *GMMFAST_RESTRICT inverse, ptrdiff_t inverse_stride,
        double *GMMFAST_RESTRICT work) {
    /* Column b of L^-1: L x = e_b, into work (entry a m + b). */
    for (ptrdiff_t b = 0; b < m; b++) {
        for (ptrdiff_t a = 0; a < b; a++)
            for (ptrdiff_t k = 0; k < lanes; k++) work[(a * m + b) * lanes + k] = 0.0;
        for (ptrdiff_t a = b; a < m; a++) {
            double *x = work + (a * m + b) * lanes;
            const double *raa = factor + GMMFAST_FACTOR_RECIPROCAL(m, a) * stride;
            for (ptrdiff_t k = 0; k < lanes; k++) x[k] = a == b ? 1.0 : 0.0;
            for (ptrdiff_t c = b; c < a; c++) {
                const double *f = factor + GMMFAST_FACTOR_L(a, c) * stride;
                const double *xc = work + (c * m + b) * lanes;
                for (ptrdiff_t k = 0; k < lanes; k++) x[k] -= f[k] * xc[k];
            }
            for (ptrdiff_t k = 0; k < lanes; k++) x[k] *= raa[k];
        }
    }
    /* (L^-T L^-1)_ab = sum_{c >= a} (L^-1)_ca (L^-1)_cb for b <= a. */
    for (ptrdiff_t a = 0; a < m; a++)
        for (ptrdiff_t b = 0; b <= a; b++) {
            double *out = inverse + GMMFAST_TRIANGLE(a, b) * inverse_stride;
            for (ptrdiff_t k = 0; k < lanes; k++) out[k] = 0.0;
            for (ptrdiff_t c = a; c < m; c++) {
                const double *xa = work + (c * m + a) * lanes, *xb = work + (c * m + b) * lanes;
                for (ptrdiff_t k = 0; k < lanes; k++) out[k] += xa[k] * xb[k];
            }
        }
}

/* gmmfast_factor_inverse_of of one precision: its factor set's entries stride apart, the
   lower triangle of its inverse packed by rows (GMMFAST_TRIANGLE) into inverse; work: m^2 numbers. */
GMMFAST_CLONES static void gmmfast_factor_inverse(const double *factor, ptrdiff_t stride,
                                                  ptrdiff_t m, double *inverse, double *work) {
    gmmfast_factor_inverse_of(factor, stride, 1, m, inverse, 1, work);
}

/* The body of gmmfast_marginal_row and of its vector versions: ``function`` (the loops of
   one row, inlined) called with their arguments, per_component a constant, and a full
   model's 8 or 16 components a constant too, so that every loop over them unrolls into
   one or two vectors (the same operations). */
#define GMMFAST_MARGINAL_CASES(function)                                                  \
    do {                                                                                  \
        if (per_component && n_components == 16)                                          \
            function(y, c, terms, factors, missing, m, n_features, 16, 1, u, t, eps,      \
                     value);                                                              \
        else if (per_component && n_components == 8)                                      \
            function(y, c, terms, factors, missing, m, n_features, 8, 1, u, t, eps,       \
                     value);                                                              \
        else if (per_component)                                                           \
            function(y, c, terms, factors, missing, m, n_features, n_components, 1, u, t, \
                     eps, value);                                                         \
        else                                                                              \
            function(y, c, terms, factors, missing, m, n_features, n_components, 0, u, t, \
                     eps, value);                                                         \
    } while (0)

/* The conditional covariances of one pattern of m missing features (``missing``) for all
   K components at once: acc[(M_a D + M_b) K + k] += weight[k] (Lambda_MM^-1)_ab of k, for
   b <= a, the inverse's lower triangle entry (a, b) of k at inverse[GMMFAST_TRIANGLE(a, b)
   K + k] (a kept factor set's, see GMMFAST_FACTOR_INVERSE); a component of weight zero
   adds nothing, whatever its inverse (as where the components are taken one by one). */
GMMFAST_CLONES static void gmmfast_add_conditional_covariance(
        double *GMMFAST_RESTRICT acc, ptrdiff_t n_features, ptrdiff_t n_components,
        const int *GMMFAST_RESTRICT missing, ptrdiff_t m, const double *GMMFAST_RESTRICT weight,
        const double *GMMFAST_RESTRICT inverse) {
    ptrdiff_t D = n_features, K = n_components;
    for (ptrdiff_t a = 0; a < m; a++)
        for (ptrdiff_t b = 0; b <= a; b++) {
            double *out = acc + ((ptrdiff_t) missing[a] * D + missing[b]) * K;
            const double *in = inverse + GMMFAST_TRIANGLE(a, b) * K;
            for (ptrdiff_t k = 0; k < K; k++)
                out[k] += weight[k] != 0.0 ? weight[k] * in[k] : 0.0;
        }
}

/* The factor set of one pattern of m missing features (``missing``, increasing) for n
   precisions side by side (K for full, 1 for tied; entry e of precision k at out[e n + k],
   so that every loop below runs over k and vectorises without changing any lane's order of
   operations), packed as GMMFAST_FACTOR_L and the macros after it say:
     L, the lower Cholesky factor of Lambda_MM, its entries below the diagonal, from the
       precisions' entries in ``terms`` (Model.missing_terms: Lambda_k[i, j] at (i D + j) n
       + k), and the reciprocals 1 / L_aa of its diagonal (L_ab = (Lambda_ab - sum_{c < b}
       L_ac L_bc) / L_bb is taken as that difference times 1 / L_bb);
     log det Lambda_MM = log prod_a (L_aa)^2 (one missing feature j: the table's log
       Lambda_jj at (2 D D + j) n + k);
     with ``with_inverse``, the lower triangle of Lambda_MM^-1 (see
       gmmfast_factor_inverse_of, ``work``: m^2 n numbers).
   The products of the determinant are taken in order from 1, before the logarithm. */
GMMFAST_CLONES static void gmmfast_factor_set(
        const double *GMMFAST_RESTRICT terms, ptrdiff_t n, const int *GMMFAST_RESTRICT missing,
        ptrdiff_t m, ptrdiff_t n_features, int with_inverse, double *GMMFAST_RESTRICT out,
        double *GMMFAST_RESTRICT work) {
    ptrdiff_t D = n_features;
    double *log_det = out + GMMFAST_FACTOR_LOG_DET(m) * n;
    if (m == 1) {
        const double *diagonal = terms + ((ptrdiff_t) missing[0] * D + missing[0]) * n;
        const double *log_diagonal = terms + (2 * D * D + missing[0]) * n;
        for (ptrdiff_t k = 0; k < n; k++) {
            out[k] = 1.0 / sqrt(diagonal[k]);
            log_det[k] = log_diagonal[k];
        }
    } else {
        /* The determinant's running product, in log_det until its logarithm is taken. */
        for (ptrdiff_t k = 0; k < n; k++) log_det[k] = 1.0;
        for (ptrdiff_t a = 0; a < m; a++)
            for (ptrdiff_t b = 0; b <= a; b++) {
                /* Lambda_ab - sum_{c < b} L_ac L_bc, in the place of L_ab, or of 1 / L_aa
                   for the diagonal. */
                double *f = out + (a == b ? GMMFAST_FACTOR_RECIPROCAL(m, a)
                                          : GMMFAST_FACTOR_L(a, b)) * n;
                const double *t = terms + ((ptrdiff_t) missing[a] * D + missing[b]) * n;
                for (ptrdiff_t k = 0; k < n; k++) f[k] = t[k];
                for (ptrdiff_t c = 0; c < b; c++) {
                    const double *fa = out + GMMFAST_FACTOR_L(a, c) * n;
                    const double *fb = out + GMMFAST_FACTOR_L(b, c) * n;
                    for (ptrdiff_t k = 0; k < n; k++) f[k] -= fa[k] * fb[k];
                }
                if (a == b) {
                    for (ptrdiff_t k = 0; k < n; k++) {
                        log_det[k] *= f[k];
                        f[k] = 1.0 / sqrt(f[k]);
                    }
                } else {
                    const double *rbb = out + GMMFAST_FACTOR_RECIPROCAL(m, b) * n;
                    for (ptrdiff_t k = 0; k < n; k++) f[k] *= rbb[k];
                }
            }
        for (ptrdiff_t k = 0; k < n; k++) log_det[k] = log(log_det[k]);
    }
    if (with_inverse)
        gmmfast_factor_inverse_of(out, n, n, m, out + GMMFAST_FACTOR_INVERSE(m, 0, 0) * n, n,
                                  work);
}

#define GMMFAST_TYPED_HEADER "gmmfast/missing_typed.h"
#include "gmmfast/both_types.h"

#endif
