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

/* Components k0 .. k0 + (vectors - 1) W + count - 1 of gmmfast_marginal_row_of
   (``vectors`` 1 or 2 vectors of W = GMMFAST_W lanes side by side, the last one's first
   ``count`` lanes; a constant, so that the loops over the vectors unroll and the two
   vectors' chains of operations overlap): g_a (u_k = y - c taken again for each missing
   feature: the same numbers, not kept; tied: (P y)_a from py[a]), t_a, the sum of
   squares, e_a and the row's correction. t: scratch of m K numbers. */
GMMFAST_WINLINE void GMMFAST_TYPED(gmmfast_marginal_lanes)(
        const GMMFAST_T *GMMFAST_RESTRICT y, const GMMFAST_T *GMMFAST_RESTRICT c,
        const double *GMMFAST_RESTRICT terms, const double *GMMFAST_RESTRICT factors,
        const int *GMMFAST_RESTRICT missing, ptrdiff_t m, ptrdiff_t n_features,
        ptrdiff_t n_components, int per_component, ptrdiff_t k0, int vectors,
        ptrdiff_t count, const double *GMMFAST_RESTRICT py, double *GMMFAST_RESTRICT t,
        double *GMMFAST_RESTRICT eps, double *GMMFAST_RESTRICT value) {
    ptrdiff_t D = n_features, K = n_components, n = per_component ? K : 1;
    ptrdiff_t kn = per_component ? k0 : 0;   /* where the lanes' precisions start */
    ptrdiff_t step = per_component ? GMMFAST_W : 0;   /* and from one vector to the next */
    const double *reciprocal = factors + GMMFAST_FACTOR_RECIPROCAL(m, 0) * n + kn;
    const double *log_det = factors + GMMFAST_FACTOR_LOG_DET(m) * n + kn;
    GMMFAST_VD total[2] = {{0}, {0}}, v[2];
    ptrdiff_t lanes[2] = {vectors > 1 ? GMMFAST_W : count, count};
#define GMMFAST_EACH for (int h = 0; h < vectors; h++)
    for (ptrdiff_t a = 0; a < m; a++) {
        if (per_component) {
            const double *p = terms + (D * D + missing[a] * D) * n + k0;
            GMMFAST_EACH v[h] = (GMMFAST_VD) {0};
            for (ptrdiff_t j = missing[a]; j < D; j++)
                GMMFAST_EACH {
                    ptrdiff_t at = j * K + k0 + h * GMMFAST_W;
                    v[h] += GMMFAST_WN(gmmfast_small_terms)(p + j * n + h * GMMFAST_W,
                                                            lanes[h])
                            * (GMMFAST_TYPED(gmmfast_lanes_of)(y + at, lanes[h])
                               - GMMFAST_TYPED(gmmfast_lanes_of)(c + at, lanes[h]));
                }
        } else {
            GMMFAST_EACH v[h] = py[a] - GMMFAST_WN(gmmfast_small_terms)(
                terms + (2 * D + 1) * D + missing[a] * K + k0 + h * GMMFAST_W, lanes[h]);
        }
        /* L t = g, row a: t_a = (g_a - sum_{b < a} L_ab t_b) / L_aa. */
        for (ptrdiff_t b = 0; b < a; b++)
            GMMFAST_EACH v[h] -= GMMFAST_TYPED(gmmfast_entry_lanes)(
                                     factors + GMMFAST_FACTOR_L(a, b) * n + kn + h * step,
                                     per_component, lanes[h])
                                 * GMMFAST_WN(gmmfast_small_terms)(
                                     t + b * K + k0 + h * GMMFAST_W, lanes[h]);
        GMMFAST_EACH {
            v[h] *= GMMFAST_TYPED(gmmfast_entry_lanes)(reciprocal + a * n + h * step,
                                                       per_component, lanes[h]);
            GMMFAST_WN(gmmfast_small_store)(t + a * K + k0 + h * GMMFAST_W, v[h], lanes[h]);
            total[h] += v[h] * v[h];
        }
    }
    for (ptrdiff_t a = m - 1; a >= 0; a--) {
        /* L^T e = -t, row a: e_a = (-t_a - sum_{b > a} L_ba e_b) / L_aa, L_ba at entry
           GMMFAST_FACTOR_L(b, a), which grows by b from one b to the next. */
        ptrdiff_t e = GMMFAST_FACTOR_L(a + 1, a);
        GMMFAST_EACH v[h] = -GMMFAST_WN(gmmfast_small_terms)(t + a * K + k0 + h * GMMFAST_W,
                                                             lanes[h]);
        for (ptrdiff_t b = a + 1; b < m; e += b, b++)
            GMMFAST_EACH v[h] -= GMMFAST_TYPED(gmmfast_entry_lanes)(
                                     factors + e * n + kn + h * step, per_component, lanes[h])
                                 * GMMFAST_WN(gmmfast_small_terms)(
                                     eps + b * K + k0 + h * GMMFAST_W, lanes[h]);
        GMMFAST_EACH {
            v[h] *= GMMFAST_TYPED(gmmfast_entry_lanes)(reciprocal + a * n + h * step,
                                                       per_component, lanes[h]);
            GMMFAST_WN(gmmfast_small_store)(eps + a * K + k0 + h * GMMFAST_W, v[h], lanes[h]);
        }
    }
    GMMFAST_EACH {
        v[h] = 0.5 * (total[h] - GMMFAST_TYPED(gmmfast_entry_lanes)(log_det + h * step,
                                                                    per_component, lanes[h])
                      + (double) m * GMMFAST_LOG_2PI);
        GMMFAST_WN(gmmfast_small_store)(value + k0 + h * GMMFAST_W, v[h], lanes[h]);
    }
#undef GMMFAST_EACH
}

/* The row's components two vectors at a time, then one, then the last lanes; tied:
   (P y)_M first, each sum over j in order, which all of them take (py: scratch of m
   numbers). */
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
    for (; k0 + 2 * GMMFAST_W <= K; k0 += 2 * GMMFAST_W)
        GMMFAST_TYPED(gmmfast_marginal_lanes)(y, c, terms, factors, missing, m, n_features,
                                              K, per_component, k0, 2, GMMFAST_W, py, t,
                                              eps, value);
    if (k0 + GMMFAST_W <= K) {
        GMMFAST_TYPED(gmmfast_marginal_lanes)(y, c, terms, factors, missing, m, n_features,
                                              K, per_component, k0, 1, GMMFAST_W, py, t,
                                              eps, value);
        k0 += GMMFAST_W;
    }
    if (k0 < K)
        GMMFAST_TYPED(gmmfast_marginal_lanes)(y, c, terms, factors, missing, m, n_features,
                                              K, per_component, k0, 1, K - k0, py, t, eps,
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
