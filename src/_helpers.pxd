# The C helpers of the compiled passes (src/gmmfast/*.h), declared once.
#
# Functions with _d / _f suffixes come from one definition for float64 and float32 rows
# (gmmfast/both_types.h).

from libc.stdint cimport int64_t


cdef extern from "gmmfast/passes.h" nogil:
    int GMMFAST_OPENMP
    int gmmfast_max_threads()

    # gmmfast/elementwise.h
    double gmmfast_exp(double x)
    double gmmfast_log_from_one(double x)
    void gmmfast_normalise_rows(double *log_prob, Py_ssize_t rows, Py_ssize_t n_components,
                                double *log_total)
    double gmmfast_weighted_total(const double *x, const double *w, Py_ssize_t n)

    # gmmfast/rows.h
    void gmmfast_shifted_d(const char *x, Py_ssize_t row_stride, Py_ssize_t column_stride,
                           Py_ssize_t rows, Py_ssize_t n_features, const double *shift,
                           double *z)
    void gmmfast_shifted_f(const char *x, Py_ssize_t row_stride, Py_ssize_t column_stride,
                           Py_ssize_t rows, Py_ssize_t n_features, const float *shift,
                           float *z)
    void gmmfast_squares_d(const double *z, Py_ssize_t rows, Py_ssize_t n_features,
                           int spherical, double *squares, Py_ssize_t ld)
    void gmmfast_squares_f(const float *z, Py_ssize_t rows, Py_ssize_t n_features,
                           int spherical, double *squares, Py_ssize_t ld)
    void gmmfast_observed_sums_d(const char *x, Py_ssize_t row_stride,
                                 Py_ssize_t column_stride, Py_ssize_t rows,
                                 Py_ssize_t n_features, const double *w, double *sum,
                                 double *weight, int64_t *counts)
    void gmmfast_observed_sums_f(const char *x, Py_ssize_t row_stride,
                                 Py_ssize_t column_stride, Py_ssize_t rows,
                                 Py_ssize_t n_features, const double *w, double *sum,
                                 double *weight, int64_t *counts)
    int gmmfast_any_nonfinite_d(const double *z, Py_ssize_t n)
    int gmmfast_any_nonfinite_f(const float *z, Py_ssize_t n)
    Py_ssize_t gmmfast_mark_missing_d(double *z, Py_ssize_t rows, Py_ssize_t n_features,
                                      int *start, int *index, double *absent,
                                      Py_ssize_t absent_stride, double *indicator,
                                      Py_ssize_t indicator_stride)
    Py_ssize_t gmmfast_mark_missing_f(float *z, Py_ssize_t rows, Py_ssize_t n_features,
                                      int *start, int *index, double *absent,
                                      Py_ssize_t absent_stride, double *indicator,
                                      Py_ssize_t indicator_stride)

    # gmmfast/listing.h
    void gmmfast_fill_pack_table()
    int gmmfast_has_avx2()
    void gmmfast_column_cutoffs(double *log_prob, Py_ssize_t rows, Py_ssize_t n_components,
                                double *top, double *shift, double *cutoff)
    void gmmfast_list_rows_plain(const double *a, Py_ssize_t i_stride, Py_ssize_t k_stride,
                                 const double *cutoff, Py_ssize_t rows,
                                 Py_ssize_t n_components, int *bucket, int *start)
    void gmmfast_list_rows_avx2(const double *a, const double *cutoff, Py_ssize_t rows,
                                Py_ssize_t n_components, int *bucket, int *start)
    void gmmfast_listed_values(const double *a, Py_ssize_t i_stride, Py_ssize_t k_stride,
                               Py_ssize_t n_components, const int *bucket, const int *start,
                               double *value)
    void gmmfast_listed_responsibilities(const double *log_prob, const double *top,
                                         const double *shift, const double *weight,
                                         Py_ssize_t rows, Py_ssize_t n_components,
                                         const int *bucket, const int *start, double *value,
                                         double *total, double *log_total)
    double gmmfast_listed_entropy(const double *log_prob, const double *log_total,
                                  Py_ssize_t rows, Py_ssize_t n_components,
                                  const int *bucket, const int *start, const double *value)

    # gmmfast/moments.h
    void gmmfast_diag_moments_d(const double *z, const double *offsets,
                                Py_ssize_t n_features, Py_ssize_t n_components,
                                const int *bucket, const double *value, const int *start,
                                double *s0, double *s1, double *s2)
    void gmmfast_diag_moments_f(const float *z, const float *offsets,
                                Py_ssize_t n_features, Py_ssize_t n_components,
                                const int *bucket, const double *value, const int *start,
                                double *s0, double *s1, double *s2)
    void gmmfast_scaled_rows_d(const double *z, const double *o, Py_ssize_t n_features,
                               const int *bucket, const double *value, Py_ssize_t begin,
                               Py_ssize_t end, double *scaled)
    void gmmfast_scaled_rows_f(const float *z, const float *o, Py_ssize_t n_features,
                               const int *bucket, const double *value, Py_ssize_t begin,
                               Py_ssize_t end, float *scaled)

    # gmmfast/log_density.h
    void gmmfast_sum_squares_d(const double *y, const double *c, Py_ssize_t rows,
                               Py_ssize_t n_features, Py_ssize_t n_components,
                               int per_component, int by_component, const double *log_norm,
                               double *log_prob)
    void gmmfast_sum_squares_f(const float *y, const float *c, Py_ssize_t rows,
                               Py_ssize_t n_features, Py_ssize_t n_components,
                               int per_component, int by_component, const double *log_norm,
                               double *log_prob)
    void gmmfast_sum_squares_w(const float *y, const double *c, Py_ssize_t rows,
                               Py_ssize_t n_features, Py_ssize_t n_components,
                               int per_component, int by_component, const double *log_norm,
                               double *log_prob)

    # gmmfast/kmeans.h
    void gmmfast_nearest_update(const double *distance, Py_ssize_t rows, int64_t k,
                                double *nearest, int64_t *labels)
    void gmmfast_expand_distances(double *out, Py_ssize_t rows, Py_ssize_t n_centres,
                                  const double *row_norms, const double *centre_norms)

    # gmmfast/small.h
    int GMMFAST_SMALL_FEATURES
    int gmmfast_small_best_width()
    int gmmfast_small_runs(int width)
    void gmmfast_small_pin(int width)
    Py_ssize_t gmmfast_small_stride(Py_ssize_t rows)
    void gmmfast_dense_responsibilities(const double *log_prob, const double *top,
                                        const double *shift, const double *cutoff,
                                        const double *weight, Py_ssize_t rows,
                                        Py_ssize_t n_components, double *value,
                                        double *total, double *log_total)
    double gmmfast_dense_entropy(const double *log_prob, const double *log_total,
                                 Py_ssize_t rows, Py_ssize_t n_components,
                                 const double *value)
    void gmmfast_column_normalise(double *log_prob, Py_ssize_t rows, Py_ssize_t n_components,
                                  int responsibilities, double *top, double *total,
                                  double *log_total)
    int gmmfast_small_columns_d(const char *x, Py_ssize_t row_stride, Py_ssize_t column_stride,
                                Py_ssize_t rows, Py_ssize_t stride, Py_ssize_t n_features,
                                const double *shift, double *zt)
    int gmmfast_small_columns_f(const char *x, Py_ssize_t row_stride, Py_ssize_t column_stride,
                                Py_ssize_t rows, Py_ssize_t stride, Py_ssize_t n_features,
                                const float *shift, float *zt)
    int gmmfast_small_wide_columns(const char *x, Py_ssize_t row_stride,
                                   Py_ssize_t column_stride, Py_ssize_t rows,
                                   Py_ssize_t stride, Py_ssize_t n_features,
                                   const float *shift, double *zt)
    void gmmfast_small_tied_columns_d(const double *zt, Py_ssize_t stride,
                                      Py_ssize_t n_features, const double *tied_precision,
                                      double *yt)
    void gmmfast_small_tied_columns_f(const float *zt, Py_ssize_t stride,
                                      Py_ssize_t n_features, const float *tied_precision,
                                      float *yt)
    void gmmfast_small_log_prob_d(const double *zt, const double *yt, Py_ssize_t rows,
                                  Py_ssize_t stride, Py_ssize_t n_features,
                                  Py_ssize_t n_components, int code, const double *precision,
                                  const double *centers, const double *log_norm,
                                  double *log_prob)
    void gmmfast_small_log_prob_f(const float *zt, const float *yt, Py_ssize_t rows,
                                  Py_ssize_t stride, Py_ssize_t n_features,
                                  Py_ssize_t n_components, int code, const float *precision,
                                  const float *centers, const double *log_norm,
                                  double *log_prob)
    void gmmfast_small_labels_d(const double *zt, const double *yt, Py_ssize_t rows,
                                Py_ssize_t stride, Py_ssize_t n_features,
                                Py_ssize_t n_components, int code, const double *precision,
                                const double *centers, const double *log_norm,
                                Py_ssize_t *labels)
    void gmmfast_small_labels_f(const float *zt, const float *yt, Py_ssize_t rows,
                                Py_ssize_t stride, Py_ssize_t n_features,
                                Py_ssize_t n_components, int code, const float *precision,
                                const float *centers, const double *log_norm,
                                Py_ssize_t *labels)
    void gmmfast_small_transpose_d(const double *a, Py_ssize_t rows, Py_ssize_t n_components,
                                   double *out)
    void gmmfast_small_transpose_f(const double *a, Py_ssize_t rows, Py_ssize_t n_components,
                                   float *out)
    void gmmfast_small_moments_d(const double *zt, const double *offsets, Py_ssize_t rows,
                                 Py_ssize_t stride, Py_ssize_t n_features,
                                 Py_ssize_t n_components, int code, const double *value,
                                 double *s0, double *s1, double *s2)
    void gmmfast_small_moments_f(const float *zt, const float *offsets, Py_ssize_t rows,
                                 Py_ssize_t stride, Py_ssize_t n_features,
                                 Py_ssize_t n_components, int code, const double *value,
                                 double *s0, double *s1, double *s2)
    void gmmfast_sum_squares_tiles_d(const double *y, const double *c, Py_ssize_t rows,
                                     Py_ssize_t n_features, Py_ssize_t n_components,
                                     int by_component, const double *log_norm,
                                     double *log_prob)
    void gmmfast_sum_squares_tiles_f(const float *y, const double *c, Py_ssize_t rows,
                                     Py_ssize_t n_features, Py_ssize_t n_components,
                                     int by_component, const double *log_norm,
                                     double *log_prob)
    void gmmfast_sum_squares_tiles32_f(const float *y, const float *c, Py_ssize_t rows,
                                       Py_ssize_t n_features, Py_ssize_t n_components,
                                       int by_component, const double *log_norm,
                                       double *log_prob)

    # gmmfast/missing.h
    void gmmfast_prefetch(const void *p, size_t bytes)   # gmmfast/common.h
    void *gmmfast_aligned_malloc(size_t bytes)   # gmmfast/common.h
    void gmmfast_aligned_free(void *p)   # gmmfast/common.h
    double GMMFAST_LOG_2PI                           # log(2 pi)
    # Where the parts of a factor set lie (macros; see gmmfast_factor_set).
    Py_ssize_t GMMFAST_TRIANGLE(Py_ssize_t a, Py_ssize_t b)
    Py_ssize_t GMMFAST_FACTOR_LOG_DET(Py_ssize_t m)
    Py_ssize_t GMMFAST_FACTOR_INVERSE(Py_ssize_t m, Py_ssize_t a, Py_ssize_t b)
    Py_ssize_t GMMFAST_FACTOR_SIZE(Py_ssize_t m)
    void gmmfast_factor_inverse(const double *factor, Py_ssize_t stride, Py_ssize_t m,
                                double *inverse, double *work)
    void gmmfast_factor_set(const double *terms, Py_ssize_t n, const int *missing,
                            Py_ssize_t m, Py_ssize_t n_features, int with_inverse,
                            double *out, double *work)
    void gmmfast_missing_terms(const double *terms, const int *start, const int *index,
                               Py_ssize_t rows, Py_ssize_t n_components, Py_ssize_t i_stride,
                               Py_ssize_t k_stride, double *sums, double *log_prob)
    void gmmfast_marginal_d(const double *y, const double *c, const double *terms,
                            const double *factors, const int *missing, Py_ssize_t m,
                            Py_ssize_t n_features, Py_ssize_t n_components,
                            int per_component, double *u, double *t, double *eps,
                            double *correction)
    void gmmfast_marginal_f(const float *y, const float *c, const double *terms,
                            const double *factors, const int *missing, Py_ssize_t m,
                            Py_ssize_t n_features, Py_ssize_t n_components,
                            int per_component, double *u, double *t, double *eps,
                            double *correction)
    void gmmfast_missing_diag_sums_d(const double *absent, Py_ssize_t stride,
                                     Py_ssize_t n_features,
                                     Py_ssize_t n_components, int spherical,
                                     const int *bucket, const int *bucket_start,
                                     const double *bucket_value, const double *centers,
                                     const double *offsets, const double *precision,
                                     double *w, double *s1, double *s2, double *entropy)
    void gmmfast_missing_diag_sums_f(const double *absent, Py_ssize_t stride,
                                     Py_ssize_t n_features,
                                     Py_ssize_t n_components, int spherical,
                                     const int *bucket, const int *bucket_start,
                                     const double *bucket_value, const float *centers,
                                     const float *offsets, const float *precision,
                                     double *w, double *s1, double *s2, double *entropy)
    void gmmfast_add_conditional_covariance(double *acc, Py_ssize_t n_features,
                                            Py_ssize_t n_components, const int *missing,
                                            Py_ssize_t m, const double *weight,
                                            const double *inverse)
    void gmmfast_completed_rows_d(const double *z, const double *o, Py_ssize_t n_features,
                                  Py_ssize_t n_components, const int *bucket,
                                  const double *value, Py_ssize_t begin, Py_ssize_t end,
                                  const int *start, const int *index, const double *eps,
                                  double *scaled)
    void gmmfast_completed_rows_f(const float *z, const float *o, Py_ssize_t n_features,
                                  Py_ssize_t n_components, const int *bucket,
                                  const double *value, Py_ssize_t begin, Py_ssize_t end,
                                  const int *start, const int *index, const double *eps,
                                  float *scaled)
    void gmmfast_missing_moments_d(const double *z, const double *o, const int *missing,
                                   Py_ssize_t m, const double *e, Py_ssize_t e_stride,
                                   double v, Py_ssize_t n_features, double *delta,
                                   double *dense, double *observed, double *s1, double *s2)
    void gmmfast_missing_moments_f(const float *z, const float *o, const int *missing,
                                   Py_ssize_t m, const double *e, Py_ssize_t e_stride,
                                   double v, Py_ssize_t n_features, double *delta,
                                   double *dense, double *observed, double *s1, double *s2)
