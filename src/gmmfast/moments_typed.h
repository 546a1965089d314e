/* The moment sums for rows of type GMMFAST_T (see gmmfast/both_types.h). */

/* The first and diagonal second moments of one component around its offset o, for the
   GMMFAST_LANES features a0 .. a0 + GMMFAST_LANES - 1 over its listed rows
   bucket[begin:end] with values v: f[a] += sum_q v_q (z_ia - o_a), s[a] += sum_q v_q
   (z_ia - o_a)^2, adding the rows in order. The sums stay in vector registers over all
   the rows. */
GMMFAST_INLINE void GMMFAST_TYPED(gmmfast_diag_moments_run)(
        const GMMFAST_T *GMMFAST_RESTRICT z, ptrdiff_t n_features,
        const GMMFAST_T *GMMFAST_RESTRICT o, const int *GMMFAST_RESTRICT bucket,
        const double *GMMFAST_RESTRICT value, ptrdiff_t begin, ptrdiff_t end, ptrdiff_t a0,
        double *GMMFAST_RESTRICT f, double *GMMFAST_RESTRICT s) {
    double af[GMMFAST_LANES], as[GMMFAST_LANES], ok[GMMFAST_LANES];
    for (ptrdiff_t l = 0; l < GMMFAST_LANES; l++) {
        af[l] = f[a0 + l];
        as[l] = s[a0 + l];
        ok[l] = (double) o[a0 + l];
    }
    for (ptrdiff_t q = begin; q < end; q++) {
        ptrdiff_t i = bucket[q];
        const double v = value[q];
        const GMMFAST_T *GMMFAST_RESTRICT zi = z + i * n_features + a0;
        for (ptrdiff_t l = 0; l < GMMFAST_LANES; l++) {
            double diff = (double) zi[l] - ok[l];
            double weighted = v * diff;
            af[l] += weighted;
            as[l] += weighted * diff;
        }
    }
    for (ptrdiff_t l = 0; l < GMMFAST_LANES; l++) {
        f[a0 + l] = af[l];
        s[a0 + l] = as[l];
    }
}

/* Zeroth, first and diagonal second moments around each component's offset o_k, for
   the pairs (i, k) of a block in buckets by component (see gmmfast_list_rows_plain):
   s0[k] += v_ik, s1[k, a] += v_ik (z_ia - o_ka), s2[k, a] += v_ik (z_ia - o_ka)^2, each
   sum adding its rows in order: GMMFAST_LANES features at a time, then the last
   D mod GMMFAST_LANES features one by one (the same sums in the same order). */
GMMFAST_CLONES static void GMMFAST_TYPED(gmmfast_diag_moments)(
        const GMMFAST_T *GMMFAST_RESTRICT z, const GMMFAST_T *GMMFAST_RESTRICT offsets,
        ptrdiff_t n_features, ptrdiff_t n_components, const int *GMMFAST_RESTRICT bucket,
        const double *GMMFAST_RESTRICT value, const int *GMMFAST_RESTRICT start,
        double *GMMFAST_RESTRICT s0, double *GMMFAST_RESTRICT s1,
        double *GMMFAST_RESTRICT s2) {
    ptrdiff_t lanes_end = n_features - n_features % GMMFAST_LANES;
    for (ptrdiff_t k = 0; k < n_components; k++) {
        ptrdiff_t begin = start[k], end = start[k + 1];
        double mass = 0.0;
        if (begin == end) continue;
        for (ptrdiff_t q = begin; q < end; q++) mass += value[q];
        s0[k] += mass;
        const GMMFAST_T *o = offsets + k * n_features;
        double *f = s1 + k * n_features;
        double *s = s2 + k * n_features;
        ptrdiff_t a0;
        for (a0 = 0; a0 < lanes_end; a0 += GMMFAST_LANES)
            GMMFAST_TYPED(gmmfast_diag_moments_run)(z, n_features, o, bucket, value, begin,
                                                     end, a0, f, s);
        for (; a0 < n_features; a0++) {
            double af = f[a0], as = s[a0], oa = (double) o[a0];
            for (ptrdiff_t q = begin; q < end; q++) {
                double diff = (double) z[bucket[q] * n_features + a0] - oa;
                double weighted = value[q] * diff;
                af += weighted;
                as += weighted * diff;
            }
            f[a0] = af;
            s[a0] = as;
        }
    }
}

/* One row root (z_i - o): z_ia - o_a in the rows' type, its product with root in
   float64, rounded to it. */
GMMFAST_INLINE void GMMFAST_TYPED(gmmfast_scaled_row)(
        const GMMFAST_T *GMMFAST_RESTRICT zi, const GMMFAST_T *GMMFAST_RESTRICT o,
        ptrdiff_t n_features, double root, GMMFAST_T *GMMFAST_RESTRICT out) {
    for (ptrdiff_t a = 0; a < n_features; a++) {
        GMMFAST_T diff = zi[a] - o[a];
        out[a] = (GMMFAST_T) (root * (double) diff);
    }
}

/* The rows sqrt(v_q) (z_i - o) of the listed rows i = bucket[q], begin <= q < end, one
   after another into scaled (whose Gram matrix is the component's second moment around
   o; see gmmfast_scaled_row). */
GMMFAST_CLONES static void GMMFAST_TYPED(gmmfast_scaled_rows)(
        const GMMFAST_T *GMMFAST_RESTRICT z, const GMMFAST_T *GMMFAST_RESTRICT o,
        ptrdiff_t n_features, const int *GMMFAST_RESTRICT bucket,
        const double *GMMFAST_RESTRICT value, ptrdiff_t begin, ptrdiff_t end,
        GMMFAST_T *GMMFAST_RESTRICT scaled) {
    for (ptrdiff_t q = begin; q < end; q++)
        GMMFAST_TYPED(gmmfast_scaled_row)(z + (ptrdiff_t) bucket[q] * n_features, o,
                                          n_features, sqrt(value[q]),
                                          scaled + (q - begin) * n_features);
}
