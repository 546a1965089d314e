/* The marginal of a row with missing features (gmmfast_marginal_row_of in
 * gmmfast/missing_typed.h, which states the algebra) for rows of type GMMFAST_T, with
 * vectors of GMMFAST_W components (see gmmfast/small_width.h, which includes this once per
 * type and width): the same operations lane by lane, so the same bits, each step's numbers
 * held in registers instead of arrays of K numbers. */

#if GMMFAST_W > 2

/* ``count`` numbers of type GMMFAST_T from p on as float64 lanes, zeros past them. */
GMMFAST_WINLINE GMMFAST_VD GMMFAST_TYPED(gmmfast_lanes_of)(const GMMFAST_T *p,
                                                          ptrdiff_t count) {
    GMMFAST_VD v = {0};
    if (count >= GMMFAST_W) return GMMFAST_TYPED(gmmfast_small_load_d)(p);
    for (ptrdiff_t l = 0; l < count; l++) v[l] = (double) p[l];
    return v;
}

/* The lanes' numbers of a factor-set entry f (see gmmfast_factor_set): one per component
   of a full model, the tied model's one number in every lane. */
GMMFAST_WINLINE GMMFAST_VD GMMFAST_TYPED(gmmfast_entry_lanes)(const double *f,
                                                             int per_component,
                                                             ptrdiff_t count) {
    GMMFAST_VD v;
    if (per_component) return GMMFAST_WN(gmmfast_small_terms)(f, count);
    for (int l = 0; l < GMMFAST_W; l++) v[l] = f[0];
    return v;
}

/* Components k0 .. k0 + count - 1 (count at most GMMFAST_W) of gmmfast_marginal_row_of:
   g_a (u_k = y - c taken again for each missing feature: the same numbers, not kept;
   tied: (P y)_a from py[a]), t_a, the sum of squares, e_a and the row's correction. t:
   scratch of m K numbers. */
GMMFAST_WINLINE void GMMFAST_TYPED(gmmfast_marginal_lanes)(
        const GMMFAST_T *GMMFAST_RESTRICT y, const GMMFAST_T *GMMFAST_RESTRICT c,
        const double *GMMFAST_RESTRICT terms, const double *GMMFAST_RESTRICT factors,
        const int *GMMFAST_RESTRICT missing, ptrdiff_t m, ptrdiff_t n_features,
        ptrdiff_t n_components, int per_component, ptrdiff_t k0, ptrdiff_t count,
        const double *GMMFAST_RESTRICT py, double *GMMFAST_RESTRICT t,
        double *GMMFAST_RESTRICT eps, double *GMMFAST_RESTRICT value) {
    ptrdiff_t D = n_features, K = n_components, n = per_component ? K : 1;
    ptrdiff_t kn = per_component ? k0 : 0;   /* where the lanes' precisions start */
    const double *reciprocal = factors + GMMFAST_FACTOR_RECIPROCAL(m, 0) * n + kn;
    const double *log_det = factors + GMMFAST_FACTOR_LOG_DET(m) * n + kn;
    GMMFAST_VD total = {0}, v;
    for (ptrdiff_t a = 0; a < m; a++) {
        if (per_component) {
            const double *p = terms + (D * D + missing[a] * D) * n + k0;
            v = (GMMFAST_VD) {0};
            for (ptrdiff_t j = missing[a]; j < D; j++)
                v += GMMFAST_WN(gmmfast_small_terms)(p + j * n, count)
                     * (GMMFAST_TYPED(gmmfast_lanes_of)(y + j * K + k0, count)
                        - GMMFAST_TYPED(gmmfast_lanes_of)(c + j * K + k0, count));
        } else {
            v = py[a] - GMMFAST_WN(gmmfast_small_terms)(
                            terms + (2 * D + 1) * D + missing[a] * K + k0, count);
        }
        /* L t = g, row a: t_a = (g_a - sum_{b < a} L_ab t_b) / L_aa. */
        for (ptrdiff_t b = 0; b < a; b++)
            v -= GMMFAST_TYPED(gmmfast_entry_lanes)(
                     factors + GMMFAST_FACTOR_L(a, b) * n + kn, per_component, count)
                 * GMMFAST_WN(gmmfast_small_terms)(t + b * K + k0, count);
        v *= GMMFAST_TYPED(gmmfast_entry_lanes)(reciprocal + a * n, per_component, count);
        GMMFAST_WN(gmmfast_small_store)(t + a * K + k0, v, count);
        total += v * v;
    }
    for (ptrdiff_t a = m - 1; a >= 0; a--) {
        /* L^T e = -t, row a: e_a = (-t_a - sum_{b > a} L_ba e_b) / L_aa, L_ba at entry
           GMMFAST_FACTOR_L(b, a), which grows by b from one b to the next. */
        ptrdiff_t e = GMMFAST_FACTOR_L(a + 1, a);
        v = -GMMFAST_WN(gmmfast_small_terms)(t + a * K + k0, count);
        for (ptrdiff_t b = a + 1; b < m; e += b, b++)
            v -= GMMFAST_TYPED(gmmfast_entry_lanes)(factors + e * n + kn, per_component,
                                                    count)
                 * GMMFAST_WN(gmmfast_small_terms)(eps + b * K + k0, count);
        v *= GMMFAST_TYPED(gmmfast_entry_lanes)(reciprocal + a * n, per_component, count);
        GMMFAST_WN(gmmfast_small_store)(eps + a * K + k0, v, count);
    }
    v = 0.5 * (total - GMMFAST_TYPED(gmmfast_entry_lanes)(log_det, per_component, count)
               + (double) m * GMMFAST_LOG_2PI);
    GMMFAST_WN(gmmfast_small_store)(value + k0, v, count);
}

/* The row's vectors of components one after the other; tied: (P y)_M first, each sum
   over j in order, which all of them take (py: scratch of m numbers). */
GMMFAST_WINLINE void GMMFAST_TYPED(gmmfast_marginal_lanes_of)(
        const GMMFAST_T *y, const GMMFAST_T *c, const double *terms, const double *factors,
        const int *missing, ptrdiff_t m, ptrdiff_t n_features, ptrdiff_t n_components,
        int per_component, double *py, double *t, double *eps, double *value) {
    ptrdiff_t k0 = 0, K = n_components, D = n_features;
    if (!per_component)
        for (ptrdiff_t a = 0; a < m; a++) {
            const double *p = terms + D * D + missing[a] * D;
            double sum = 0.0;
            for (ptrdiff_t j = missing[a]; j < D; j++) sum += p[j] * (double) y[j];
            py[a] = sum;
        }
    for (; k0 + GMMFAST_W <= K; k0 += GMMFAST_W)
        GMMFAST_TYPED(gmmfast_marginal_lanes)(y, c, terms, factors, missing, m, n_features,
                                              K, per_component, k0, GMMFAST_W, py, t, eps,
                                              value);
    if (k0 < K)
        GMMFAST_TYPED(gmmfast_marginal_lanes)(y, c, terms, factors, missing, m, n_features,
                                              K, per_component, k0, K - k0, py, t, eps,
                                              value);
}

/* gmmfast_marginal_row (the same arguments; u: tied's (P y)_M; see
   GMMFAST_MARGINAL_CASES). */
GMMFAST_WTARGET static void GMMFAST_TYPED(gmmfast_marginal_vectors)(
        const GMMFAST_T *y, const GMMFAST_T *c, const double *terms, const double *factors,
        const int *missing, ptrdiff_t m, ptrdiff_t n_features, ptrdiff_t n_components,
        int per_component, double *u, double *t, double *eps, double *value) {
    GMMFAST_MARGINAL_CASES(GMMFAST_TYPED(gmmfast_marginal_lanes_of));
}

#else

/* Two lanes, the baseline's vectors, are slower here than the loops over K numbers
   (measured 111 against 92 ns per row of 16 components): that version takes those. */
GMMFAST_WTARGET static void GMMFAST_TYPED(gmmfast_marginal_vectors)(
        const GMMFAST_T *y, const GMMFAST_T *c, const double *terms, const double *factors,
        const int *missing, ptrdiff_t m, ptrdiff_t n_features, ptrdiff_t n_components,
        int per_component, double *u, double *t, double *eps, double *value) {
    GMMFAST_UNVERSIONED(gmmfast_marginal_row)(y, c, terms, factors, missing, m, n_features,
                                              n_components, per_component, u, t, eps,
                                              value);
}

#endif
