/* The marginal of a row with missing features for rows of type GMMFAST_T (see
   gmmfast/both_types.h and _missing_log_prob in src/_kernels.pyx for the algebra). */

/* One row, every component k side by side (index innermost, so that the loops over k
   vectorise without reassociating any sum):
     u_k = P_k^T (x - mu_k) from the row's product y with the factors (y[j K + k] when
       per_component, else y[j]) less the centres c[j K + k], from the first missing
       feature on (the rows M of P_k are zero before it);
     g_k = (P_k u_k)_M, each sum over j in order, with the rows of P_k from terms
       (Model.missing_terms: P_k[a, j] at (D D + a D + j) n + k, n = K or 1); for tied,
       with its one P, g_k = (P y)_M - (P c_k)_M, the second from the table after the
       blocks ((2D + 1) D + a K + k);
     L_k t_k = g_k and L_k^T e_k = -t_k with the pattern's factors (factor set, see
       gmmfast_factor_set: L, 1 / diag(L), log det Lambda_MM, each entry e at e n + k):
       e_k = E[x_M | x_O, k] - shift_M, into eps[a K + k];
     value[k] = 1/2 (t_k^T t_k - log det Lambda_MM + m log(2 pi)), what log p(x, k) of
       the row read with x_M = shift_M gains to become log p(x_O, k). (t_k^T t_k =
       ||u_k||^2 - ||u_k + P_kM^T e_k||^2 is a difference: a row whose x_M = shift_M lies
       r conditional standard deviations from its conditional mean loses about
       eps r^2 of log p, 1e-12 at r = 100.)
   u, t: scratch of D K numbers. Inlined, so that a constant per_component unrolls. */
GMMFAST_INLINE void GMMFAST_TYPED(gmmfast_marginal_row_of)(
        const GMMFAST_T *GMMFAST_RESTRICT y, const GMMFAST_T *GMMFAST_RESTRICT c,
        const double *GMMFAST_RESTRICT terms, const double *GMMFAST_RESTRICT factors,
        const int *GMMFAST_RESTRICT missing,
        ptrdiff_t m, ptrdiff_t n_features, ptrdiff_t n_components, int per_component,
        double *GMMFAST_RESTRICT u, double *GMMFAST_RESTRICT t, double *GMMFAST_RESTRICT eps,
        double *GMMFAST_RESTRICT value) {
    ptrdiff_t D = n_features, K = n_components, n = per_component ? K : 1;
    const double *reciprocal = factors + GMMFAST_FACTOR_RECIPROCAL(m, 0) * n;
    const double *log_det = factors + GMMFAST_FACTOR_LOG_DET(m) * n;
    if (per_component)
        for (ptrdiff_t j = missing[0]; j < D; j++) {
            double *uj = u + j * K;
            const GMMFAST_T *cj = c + j * K;
            for (ptrdiff_t k = 0; k < K; k++) uj[k] = (double) y[j * K + k] - (double) cj[k];
        }
    for (ptrdiff_t k = 0; k < K; k++) value[k] = 0.0;
    for (ptrdiff_t a = 0; a < m; a++) {
        double *ta = t + a * K;
        if (per_component) {
            /* t_a = sum_j P[M_a, j] u_j, GMMFAST_LANES components at a time, their sums
               held in registers across j. */
            const double *p = terms + (D * D + missing[a] * D) * n;
            ptrdiff_t k0 = 0;
            for (; k0 + GMMFAST_LANES <= K; k0 += GMMFAST_LANES) {
                double sum[GMMFAST_LANES];
                for (int l = 0; l < GMMFAST_LANES; l++) sum[l] = 0.0;
                for (ptrdiff_t j = missing[a]; j < D; j++) {
                    const double *uj = u + j * K + k0, *pj = p + j * n + k0;
                    for (int l = 0; l < GMMFAST_LANES; l++) sum[l] += pj[l] * uj[l];
                }
                for (int l = 0; l < GMMFAST_LANES; l++) ta[k0 + l] = sum[l];
            }
            for (; k0 < K; k0++) {
                double sum = 0.0;
                for (ptrdiff_t j = missing[a]; j < D; j++) sum += p[j * n + k0] * u[j * K + k0];
                ta[k0] = sum;
            }
        } else {
            double py = 0.0;
            const double *p = terms + D * D + missing[a] * D;
            const double *pc = terms + (2 * D + 1) * D + missing[a] * K;
            for (ptrdiff_t j = missing[a]; j < D; j++) py += p[j] * (double) y[j];
            for (ptrdiff_t k = 0; k < K; k++) ta[k] = py - pc[k];
        }
        for (ptrdiff_t b = 0; b < a; b++) {
            const double *f = factors + GMMFAST_FACTOR_L(a, b) * n;
            const double *tb = t + b * K;
            if (per_component)
                for (ptrdiff_t k = 0; k < K; k++) ta[k] -= f[k] * tb[k];
            else
                for (ptrdiff_t k = 0; k < K; k++) ta[k] -= f[0] * tb[k];
        }
        if (per_component)
            for (ptrdiff_t k = 0; k < K; k++) ta[k] *= reciprocal[a * K + k];
        else
            for (ptrdiff_t k = 0; k < K; k++) ta[k] *= reciprocal[a];
        for (ptrdiff_t k = 0; k < K; k++) value[k] += ta[k] * ta[k];
    }
    for (ptrdiff_t a = m - 1; a >= 0; a--) {
        double *ea = eps + a * K;
        for (ptrdiff_t k = 0; k < K; k++) ea[k] = -t[a * K + k];
        for (ptrdiff_t b = a + 1; b < m; b++) {
            const double *f = factors + GMMFAST_FACTOR_L(b, a) * n;
            const double *eb = eps + b * K;
            if (per_component)
                for (ptrdiff_t k = 0; k < K; k++) ea[k] -= f[k] * eb[k];
            else
                for (ptrdiff_t k = 0; k < K; k++) ea[k] -= f[0] * eb[k];
        }
        if (per_component)
            for (ptrdiff_t k = 0; k < K; k++) ea[k] *= reciprocal[a * K + k];
        else
            for (ptrdiff_t k = 0; k < K; k++) ea[k] *= reciprocal[a];
    }
    for (ptrdiff_t k = 0; k < K; k++)
        value[k] = 0.5 * (value[k] - log_det[per_component ? k : 0]
                          + (double) m * GMMFAST_LOG_2PI);
}

/* gmmfast_marginal_row_of for a full (per_component) or tied model (see
   GMMFAST_MARGINAL_CASES). */
GMMFAST_CLONES static void GMMFAST_TYPED(gmmfast_marginal_row)(
        const GMMFAST_T *y, const GMMFAST_T *c, const double *terms, const double *factors,
        const int *missing, ptrdiff_t m, ptrdiff_t n_features,
        ptrdiff_t n_components, int per_component, double *u, double *t, double *eps,
        double *value) {
    GMMFAST_MARGINAL_CASES(GMMFAST_TYPED(gmmfast_marginal_row_of));
}

/* The corrections of one component's sums for one listed row with missing features, with
   v = w_i r_ik, z the row less the shift (zero at the missing features), o the point the
   sums are taken around (NULL: the origin, tied's raw sums) and e_k at e[a e_stride]:
     s1_k += v e_k,   s2_k += v (delta e_k^T + e_k delta^T + e_k e_k^T),  delta = z - o,
   over the lower triangle (row-major): for each missing feature r, the entries (r, j) for
   j <= r, and (j, r) for the observed j > r (those of missing j > r come with row j).
   delta, dense, observed: scratch of D numbers each. */
GMMFAST_CLONES static void GMMFAST_TYPED(gmmfast_missing_moments)(
        const GMMFAST_T *GMMFAST_RESTRICT z, const GMMFAST_T *GMMFAST_RESTRICT o,
        const int *GMMFAST_RESTRICT missing, ptrdiff_t m, const double *GMMFAST_RESTRICT e,
        ptrdiff_t e_stride, double v, ptrdiff_t n_features, double *GMMFAST_RESTRICT delta,
        double *GMMFAST_RESTRICT dense, double *GMMFAST_RESTRICT observed,
        double *GMMFAST_RESTRICT s1, double *GMMFAST_RESTRICT s2) {
    ptrdiff_t D = n_features;
    for (ptrdiff_t j = 0; j < D; j++) {
        delta[j] = o != NULL ? (double) z[j] - (double) o[j] : (double) z[j];
        dense[j] = 0.0;
        observed[j] = 1.0;
    }
    for (ptrdiff_t a = 0; a < m; a++) {
        dense[missing[a]] = e[a * e_stride];
        observed[missing[a]] = 0.0;
    }
    for (ptrdiff_t a = 0; a < m; a++) {
        ptrdiff_t r = missing[a];
        double er = dense[r], w = delta[r] + er;
        double *row = s2 + r * D;
        s1[r] += v * er;
        for (ptrdiff_t j = 0; j <= r; j++) row[j] += v * (er * delta[j] + dense[j] * w);
        for (ptrdiff_t j = r + 1; j < D; j++) s2[j * D + r] += v * (er * delta[j] * observed[j]);
    }
}

/* The rows of one component's Gram matrix, sqrt(v_q) (z_i - o) for the listed rows i =
   bucket[q], begin <= q < end, one after another in scaled (see gmmfast_scaled_row),
   each completed at its missing features with the conditional means: sqrt(v_q)
   (e_ika - o_j) at j = missing feature a of row i (index[start[i] + a]), e_ika = E[x_j |
   x_O, k] - shift_j at eps[(start[i] + a) K] (k's own entry, eps already at it). Their
   Gram matrix is sum_i v_ik (x~_ik - o)(x~_ik - o)^T, x~_ik the row with its conditional
   means in the holes; the conditional covariances are added per pattern. */
GMMFAST_CLONES static void GMMFAST_TYPED(gmmfast_completed_rows)(
        const GMMFAST_T *GMMFAST_RESTRICT z, const GMMFAST_T *GMMFAST_RESTRICT o,
        ptrdiff_t n_features, ptrdiff_t n_components, const int *GMMFAST_RESTRICT bucket,
        const double *GMMFAST_RESTRICT value, ptrdiff_t begin, ptrdiff_t end,
        const int *GMMFAST_RESTRICT start, const int *GMMFAST_RESTRICT index,
        const double *GMMFAST_RESTRICT eps, GMMFAST_T *GMMFAST_RESTRICT scaled) {
    ptrdiff_t D = n_features, K = n_components;
    for (ptrdiff_t q = begin; q < end; q++) {
        ptrdiff_t i = bucket[q], first = start[i], m = start[i + 1] - first;
        GMMFAST_T *GMMFAST_RESTRICT out = scaled + (q - begin) * D;
        const double *e = eps + first * K;
        double root = sqrt(value[q]);
        GMMFAST_TYPED(gmmfast_scaled_row)(z + i * D, o, D, root, out);
        for (ptrdiff_t a = 0; a < m; a++) {
            ptrdiff_t j = index[first + a];
            out[j] = (GMMFAST_T) (root * (e[a * K] - (double) o[j]));
        }
    }
}

/* Diagonal and spherical models: the corrections of every component's sums for a block's
   rows with missing features, which were read as z_j = 0 (x_j = shift_j) and so added
   v (0 - o_kj) to s1 and v o_kj^2 to s2, where the conditional mean is c_jk (z
   coordinates) and the variance 1 / p_kj^2: with W_kj = sum over the listed (i, k) of
   v_ik absent_ij (absent: rows x stride, 1 where x_ij is missing, 0 at the other features
   and in the padding to stride, a multiple of GMMFAST_LANES; bucket, bucket_start,
   bucket_value: the listed terms of each component and their v = w_i r_ik),
     s1_kj += W_kj c_jk,   s2_kj += W_kj ((c_jk - o_kj)^2 - o_kj^2 + 1 / p_kj^2),
   (p_kj = p_k for spherical). W runs over the features GMMFAST_LANES at a time, each
   group's sums held in two vectors of partial sums, over the even and the odd listed
   terms, added at the end (two chains of additions that overlap). With ``entropy`` (NULL:
   not asked), it gains minus the entropy of the missing entries' conditional
   distributions, -sum_ik v_ik H_ik with H_ik = sum_{j in M_i} (1/2 (1 + log 2 pi) -
   log p_kj): sum_kj W_kj (log p_kj - 1/2 (1 + log 2 pi)). w: scratch of stride numbers. */
GMMFAST_CLONES static void GMMFAST_TYPED(gmmfast_missing_diag_sums)(
        const double *GMMFAST_RESTRICT absent, ptrdiff_t stride, ptrdiff_t n_features,
        ptrdiff_t n_components, int spherical, const int *GMMFAST_RESTRICT bucket,
        const int *GMMFAST_RESTRICT bucket_start, const double *GMMFAST_RESTRICT bucket_value,
        const GMMFAST_T *GMMFAST_RESTRICT centers, const GMMFAST_T *GMMFAST_RESTRICT offsets,
        const GMMFAST_T *GMMFAST_RESTRICT precision, double *GMMFAST_RESTRICT w,
        double *GMMFAST_RESTRICT s1, double *GMMFAST_RESTRICT s2,
        double *GMMFAST_RESTRICT entropy) {
    ptrdiff_t D = n_features, K = n_components;
    for (ptrdiff_t k = 0; k < K; k++) {
        for (ptrdiff_t j0 = 0; j0 < stride; j0 += GMMFAST_LANES) {
            double even[GMMFAST_LANES], odd[GMMFAST_LANES];
            ptrdiff_t q = bucket_start[k], end = bucket_start[k + 1];
            for (int l = 0; l < GMMFAST_LANES; l++) even[l] = odd[l] = 0.0;
            for (; q + 1 < end; q += 2) {
                const double *a = absent + (ptrdiff_t) bucket[q] * stride + j0;
                const double *b = absent + (ptrdiff_t) bucket[q + 1] * stride + j0;
                const double u = bucket_value[q], v = bucket_value[q + 1];
                for (int l = 0; l < GMMFAST_LANES; l++) {
                    even[l] += u * a[l];
                    odd[l] += v * b[l];
                }
            }
            if (q < end) {
                const double *a = absent + (ptrdiff_t) bucket[q] * stride + j0;
                const double u = bucket_value[q];
                for (int l = 0; l < GMMFAST_LANES; l++) even[l] += u * a[l];
            }
            for (int l = 0; l < GMMFAST_LANES; l++) w[j0 + l] = even[l] + odd[l];
        }
        for (ptrdiff_t j = 0; j < D; j++) {
            double c = (double) centers[j * K + k], o = (double) offsets[k * D + j];
            double p = spherical ? (double) precision[k] : (double) precision[j * K + k];
            s1[k * D + j] += w[j] * c;
            s2[k * D + j] += w[j] * ((c - o) * (c - o) - o * o + 1.0 / (p * p));
        }
        if (entropy != NULL) {
            double total = 0.0;
            for (ptrdiff_t j = 0; j < D; j++) {
                double p = spherical ? (double) precision[k] : (double) precision[j * K + k];
                total += w[j] * (log(p) - 0.5 * (1.0 + GMMFAST_LOG_2PI));
            }
            *entropy += total;
        }
    }
}
