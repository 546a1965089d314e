# Compiled passes over the rows of X for Gaussian mixtures.
#
# Two passes share one block worker that computes, for a block of rows,
#     log p(x_i, k) = log w_k + log det P_k - D/2 log(2 pi) - 1/2 ||(x_i - mu_k) P_k||^2
# where P_k is the Cholesky factor of the precision of component k (P P^T = Sigma^-1):
#   - statistics_pass: the E-step and the sufficient statistics of the M-step in one read of X,
#       s0[k]  = sum_i w_i r_ik
#       s1[k]  = sum_i w_i r_ik (x_i - mu_k)
#       s2[k]  = sum_i w_i r_ik (x_i - mu_k)(x_i - mu_k)^T   (its diagonal for diag/spherical,
#                                                            summed over k for tied)
#       loglik = sum_i w_i log sum_k p(x_i, k)
#     accumulated in float64 around the current means mu_k (never raw moments), over the
#     (i, k) with r_ik > 2^-64 only (the others cannot change a float64 sum);
#   - evaluate_pass: labels, responsibilities and per-sample log-likelihood, each only if asked.
#
# Rows are cut into blocks that depend on (N, D, K) only; consecutive blocks form a fixed number
# of groups, each summed in block order into its own slot, and the slots are added in group
# order. The result is therefore bit-for-bit the same for any number of threads.

from cython cimport floating
from cython.parallel cimport parallel, prange
from libc.math cimport sqrt
from libc.stdint cimport int64_t
from libc.stdlib cimport calloc, free, malloc
from scipy.linalg.cython_blas cimport dgemm, dsyrk, sgemm, ssyrk

import numpy as np

# The C helpers: src/gmmfast/*.h (see passes.h).
cdef extern from "gmmfast/passes.h":
    int GMMFAST_OPENMP
    int gmmfast_max_threads() noexcept nogil
    double gmmfast_exp(double) noexcept nogil
    double gmmfast_log_from_one(double) noexcept nogil
    void gmmfast_normalise_rows(double *log_prob, Py_ssize_t rows, Py_ssize_t n_components,
                                double *log_total) noexcept nogil
    void gmmfast_shifted_d(const char *x, Py_ssize_t row_stride, Py_ssize_t column_stride,
                           Py_ssize_t rows, Py_ssize_t n_features, const double *shift,
                           double *z) noexcept nogil
    void gmmfast_shifted_f(const char *x, Py_ssize_t row_stride, Py_ssize_t column_stride,
                           Py_ssize_t rows, Py_ssize_t n_features, const float *shift,
                           float *z) noexcept nogil
    double gmmfast_weighted_total(const double *x, const double *w, Py_ssize_t n) noexcept nogil
    int gmmfast_pair_listing() noexcept nogil
    void gmmfast_squares_d(const double *z, Py_ssize_t rows, Py_ssize_t n_features,
                           int spherical, double *squares) noexcept nogil
    void gmmfast_squares_f(const float *z, Py_ssize_t rows, Py_ssize_t n_features,
                           int spherical, double *squares) noexcept nogil
    void gmmfast_column_cutoffs(double *log_prob, Py_ssize_t rows, Py_ssize_t n_components,
                                double *top, double *shift, double *cutoff) noexcept nogil
    void gmmfast_list_rows_plain(const double *a, Py_ssize_t i_stride, Py_ssize_t k_stride,
                                 const double *cutoff, Py_ssize_t rows,
                                 Py_ssize_t n_components, int *bucket,
                                 int *start) noexcept nogil
    void gmmfast_list_rows_avx2(const double *a, const double *cutoff, Py_ssize_t rows,
                                Py_ssize_t n_components, int *bucket,
                                int *start) noexcept nogil
    void gmmfast_listed_values(const double *a, Py_ssize_t i_stride, Py_ssize_t k_stride,
                               Py_ssize_t n_components, const int *bucket, const int *start,
                               double *value) noexcept nogil
    void gmmfast_listed_responsibilities(const double *log_prob, const double *top,
                                         const double *shift, const double *weight,
                                         Py_ssize_t rows, Py_ssize_t n_components,
                                         const int *bucket, const int *start, double *value,
                                         double *total, double *log_total) noexcept nogil
    void gmmfast_diag_moments_d(const double *z, const double *offsets,
                                Py_ssize_t n_features, Py_ssize_t n_components,
                                const int *bucket, const double *value, const int *start,
                                double *s0, double *s1, double *s2) noexcept nogil
    void gmmfast_diag_moments_f(const float *z, const float *offsets,
                                Py_ssize_t n_features, Py_ssize_t n_components,
                                const int *bucket, const double *value, const int *start,
                                double *s0, double *s1, double *s2) noexcept nogil
    void gmmfast_sum_squares_d(const double *y, const double *c, Py_ssize_t rows,
                               Py_ssize_t n_features, Py_ssize_t n_components,
                               int per_component, int by_component, const double *log_norm,
                               double *log_prob) noexcept nogil
    void gmmfast_sum_squares_f(const float *y, const float *c, Py_ssize_t rows,
                               Py_ssize_t n_features, Py_ssize_t n_components,
                               int per_component, int by_component, const double *log_norm,
                               double *log_prob) noexcept nogil


def elementwise(str function, double[::1] x):
    """The passes' exponential ("exp") or logarithm of sums of exponentials ("log", for
    x >= 1), element-wise into a new array (for tests)."""
    if function not in ("exp", "log"):
        raise ValueError("function must be 'exp' or 'log', got %r" % (function,))
    cdef bint is_exp = function == "exp"
    out = np.empty(x.shape[0])
    cdef double[::1] view = out
    cdef Py_ssize_t i
    for i in range(x.shape[0]):
        view[i] = gmmfast_exp(x[i]) if is_exp else gmmfast_log_from_one(x[i])
    return out


# Covariance type codes shared with the Python layer.
COVARIANCE_CODES = {"full": 0, "tied": 1, "diag": 2, "spherical": 3}
cdef enum:
    FULL = 0
    TIED = 1
    DIAG = 2
    SPHERICAL = 3

# Rows per block (measured: 256 rows beat 32 to 128 for full covariance and match 512 for
# the others); shrunk only when the full-covariance product Z @ [P_1 .. P_K] (rows x K*D)
# would pass 8 MiB per thread.
cdef int BLOCK_ROWS = 256
cdef int MIN_BLOCK_ROWS = 32
cdef Py_ssize_t FULL_PRODUCT_ELEMENTS = 1 << 20
# At most this many partial sums, and at most about this many bytes of them.
cdef Py_ssize_t MAX_GROUPS = 64
cdef Py_ssize_t MIN_GROUPS = 8
cdef Py_ssize_t GROUP_BYTES = 32 * 1024 * 1024
# Up to this many features, products with the precision factors are plain loops, not BLAS.
cdef Py_ssize_t TINY_FEATURES = 4
# Entries of the second-moment sums per thread's share of the final reduction.
cdef Py_ssize_t REDUCTION_CHUNK = 4096
# The triangular product cuts the features into about TRIANGLE_BLOCKS column blocks of at
# least TRIANGLE_MIN_BLOCK features (measured on 16, 32 and 64 features).
cdef Py_ssize_t TRIANGLE_BLOCKS = 8
cdef Py_ssize_t TRIANGLE_MIN_BLOCK = 4
# Responsibilities at or below this add nothing to the sums (2^-64).
cdef double NEGLIGIBLE = 5.421010862427522e-20
# The listing of each component's rows that count, chosen once at load time: 1 AVX2 where
# the processor has it, 0 plain. Both give the same buckets (tools/compare_variants.sh).
cdef int PAIR_LISTING = gmmfast_pair_listing()


def pair_listing():
    """The listing of each component's rows that count in use: "avx2" or "plain"."""
    return "avx2" if PAIR_LISTING == 1 else "plain"


cdef inline void _list_rows(const double *a, Py_ssize_t i_stride, Py_ssize_t k_stride,
                            const double *cutoff, Py_ssize_t rows, Py_ssize_t n_components,
                            int *bucket, int *start) noexcept nogil:
    """Each component's rows i with a_ik above the row's cutoff, a_ik at a[i * i_stride +
    k * k_stride], into packed buckets (see gmmfast_list_rows_plain)."""
    if PAIR_LISTING == 1 and i_stride == 1:
        gmmfast_list_rows_avx2(a, cutoff, rows, n_components, bucket, start)
    else:
        gmmfast_list_rows_plain(a, i_stride, k_stride, cutoff, rows, n_components, bucket,
                                start)


def openmp_enabled():
    """Whether the compiled passes were built with OpenMP."""
    return bool(GMMFAST_OPENMP)


def max_threads():
    """Threads an OpenMP region would use now (OMP_NUM_THREADS, threadpoolctl limits)."""
    return gmmfast_max_threads()


def block_layout(Py_ssize_t n_samples, Py_ssize_t n_features, Py_ssize_t n_components,
                 int covariance_code):
    """Rows per block and number of partial-sum groups for this problem size.

    Depends on the sizes only, never on the number of threads.
    """
    cdef Py_ssize_t rows = BLOCK_ROWS
    cdef Py_ssize_t n_blocks, n_groups, stat_size
    if covariance_code == FULL:
        while rows > MIN_BLOCK_ROWS and rows * n_components * n_features > FULL_PRODUCT_ELEMENTS:
            rows //= 2
    n_blocks = max(1, (n_samples + rows - 1) // rows)
    stat_size = _s2_size(n_features, n_components, covariance_code)
    stat_size += n_components * (1 + n_features) + 1
    n_groups = min(MAX_GROUPS, max(MIN_GROUPS, GROUP_BYTES // (8 * stat_size)))
    n_groups = min(n_blocks, n_groups)
    return int(rows), int(n_blocks), int(n_groups)


cdef inline Py_ssize_t _s2_size(Py_ssize_t n_features, Py_ssize_t n_components,
                                int covariance_code) noexcept nogil:
    if covariance_code == FULL:
        return n_components * n_features * n_features
    if covariance_code == TIED:
        return n_features * n_features
    return n_components * n_features


# ---------------------------------------------------------------------------------------------
# BLAS on row-major arrays: a row-major matrix is the transpose of the same memory read
# column-major, so C = A B (row-major) is computed as C^T = B^T A^T (column-major).

cdef inline void _gemm_rowmajor(int m, int n, int k, const floating *a, int lda,
                                const floating *b, int ldb, floating *c,
                                int ldc) noexcept nogil:
    """C (m x n) = A (m x k) @ B (k x n), all row-major."""
    cdef char no = b'N'
    cdef floating one = 1.0
    cdef floating zero = 0.0
    if floating is float:
        sgemm(&no, &no, &n, &m, &k, &one, <float *> b, &ldb, <float *> a, &lda,
              &zero, c, &ldc)
    else:
        dgemm(&no, &no, &n, &m, &k, &one, <double *> b, &ldb, <double *> a, &lda,
              &zero, c, &ldc)


cdef inline void _gram_rowmajor(int m, int d, const floating *a, floating *c,
                                bint accumulate) noexcept nogil:
    """Lower triangle (row-major) of C (d x d) = A^T A, or C += A^T A, for A (m x d)."""
    cdef char uplo = b'U'
    cdef char trans = b'N'
    cdef floating one = 1.0
    cdef floating beta = 1.0 if accumulate else 0.0
    # Column-major, A's memory is M = A^T (d x m); M M^T filled in its upper triangle,
    # which is the lower triangle of the row-major view.
    if floating is float:
        ssyrk(&uplo, &trans, &d, &m, &one, <float *> a, &d, &beta, c, &d)
    else:
        dsyrk(&uplo, &trans, &d, &m, &one, <double *> a, &d, &beta, c, &d)


cdef inline Py_ssize_t _column_block(Py_ssize_t n_features) noexcept nogil:
    """Features per column block of the triangular product (see _triangular_product)."""
    if n_features <= 2 * TRIANGLE_MIN_BLOCK:
        return n_features
    return max(TRIANGLE_MIN_BLOCK, (n_features + TRIANGLE_BLOCKS - 1) // TRIANGLE_BLOCKS)


cdef void _triangular_product(const floating *z, Py_ssize_t rows, Py_ssize_t n_features,
                              Py_ssize_t per_feature, const floating *precision,
                              floating *product) noexcept nogil:
    """product = Z [P_1 | ... | P_K] (rows x D*K, column j*K + k), each P_k upper triangular.

    Output column j of P_k needs only rows a <= j of P_k. With the columns cut into blocks
    of features [j0, j1), block J is Z[:, :j1] @ precision[:j1, j0*K:j1*K]: one product per
    block over the rows that can be non-zero, about (n + 1) / 2n of the full product's
    multiplications for n blocks. per_feature is K (full) or 1 (tied).
    """
    cdef Py_ssize_t step = _column_block(n_features)
    cdef Py_ssize_t j0 = 0, j1
    cdef int width = <int> (n_features * per_feature)
    while j0 < n_features:
        j1 = min(j0 + step, n_features)
        _gemm_rowmajor(<int> rows, <int> ((j1 - j0) * per_feature), <int> j1, z,
                       <int> n_features, &precision[j0 * per_feature], width,
                       &product[j0 * per_feature], width)
        j0 = j1


# ---------------------------------------------------------------------------------------------
# The block worker.

cdef void _shifted_block(const floating[:, :] X, Py_ssize_t start, Py_ssize_t end,
                         const floating[::1] shift, floating *z) noexcept nogil:
    """z = X[start:end] - shift, row-major, whatever the strides of X."""
    cdef const char *first = <const char *> &X[start, 0]
    if floating is double:
        gmmfast_shifted_d(first, X.strides[0], X.strides[1], end - start, X.shape[1],
                          &shift[0], z)
    else:
        gmmfast_shifted_f(first, X.strides[0], X.strides[1], end - start, X.shape[1],
                          &shift[0], z)


cdef void _block_log_prob(
        const floating *z,                   # IN  rows x D, X - shift
        Py_ssize_t rows, Py_ssize_t n_features, Py_ssize_t n_components,
        int covariance_code,
        const floating[::1] precision,       # IN  full: D x (D*K), column j*K + k = P_k[:, j]
                                             #     tied: D x D; diag: D x K (p_k[j] at j*K + k);
                                             #     spherical: K
        const floating[:, ::1] centers,      # IN  D x K: (mu_k - shift) P_k for full/tied,
                                             #     else mu_k - shift, component innermost
        const double[::1] log_norm,          # IN  K: log w_k + log det P_k - D/2 log(2 pi)
        const double[:, ::1] quadratic,      # IN  diag: (2D+1) x K, spherical: (D+2) x K,
                                             #     else unused (see _quadratic_log_prob)
        bint by_component,                   # IN  log_prob K x rows instead
        floating *product,                   # TMP rows x (D*K) for full, rows x D for tied
        double *squares,                     # TMP rows x (2D+1)
        double *log_prob) noexcept nogil:    # OUT rows x K, log p(x_i, k) (K x rows if
                                             #     by_component)
    # Every inner loop runs over the components k (or, by component, over the rows i),
    # which are independent: the sums of squares over the features j build up in separate
    # accumulators, so the loop vectorises without reassociating any sum.
    cdef Py_ssize_t i, k, j, width
    cdef double diff, scale, c_kj, p_kj
    cdef double *acc
    cdef const floating *c
    cdef const floating *p
    cdef Py_ssize_t a
    cdef floating za
    cdef floating *out
    if (covariance_code == DIAG or covariance_code == SPHERICAL) and n_features > TINY_FEATURES:
        _quadratic_log_prob(z, rows, n_features, n_components, covariance_code, quadratic,
                            by_component, squares, log_prob)
        return
    if covariance_code == FULL or covariance_code == TIED:
        # Z P for all components at once: Z @ [P_1 | ... | P_K], columns interleaved by k.
        width = n_features * n_components if covariance_code == FULL else n_features
        if n_features > TINY_FEATURES:
            _triangular_product(z, rows, n_features, width // n_features, &precision[0],
                                product)
        else:
            # A few features: the same product in plain loops, cheaper than a BLAS call.
            for i in range(rows):
                out = &product[i * width]
                for k in range(width):
                    out[k] = 0.0
                for a in range(n_features):
                    za = z[i * n_features + a]
                    p = &precision[a * width]
                    for k in range(width):
                        out[k] += za * p[k]
        if floating is float:
            gmmfast_sum_squares_f(product, &centers[0, 0], rows, n_features, n_components,
                                  covariance_code == FULL, by_component, &log_norm[0],
                                  log_prob)
        else:
            gmmfast_sum_squares_d(product, &centers[0, 0], rows, n_features, n_components,
                                  covariance_code == FULL, by_component, &log_norm[0],
                                  log_prob)
        return
    if by_component:
        # A few features, diag or spherical: the same sums over j in the same order.
        for k in range(n_components):
            acc = &log_prob[k * rows]
            for i in range(rows):
                acc[i] = 0.0
            for j in range(n_features):
                c_kj = centers[j, k]
                p_kj = precision[j * n_components + k] if covariance_code == DIAG else 1.0
                for i in range(rows):
                    diff = (z[i * n_features + j] - c_kj) * p_kj
                    acc[i] += diff * diff
            p_kj = 1.0 if covariance_code == DIAG else precision[k]
            for i in range(rows):
                acc[i] = log_norm[k] - 0.5 * acc[i] * p_kj * p_kj
        return
    for i in range(rows):
        acc = &log_prob[i * n_components]
        for k in range(n_components):
            acc[k] = 0.0
        for j in range(n_features):
            c = &centers[j, 0]
            if covariance_code == DIAG:
                scale = z[i * n_features + j]
                p = &precision[j * n_components]
                for k in range(n_components):
                    diff = (scale - c[k]) * p[k]
                    acc[k] += diff * diff
            else:
                scale = z[i * n_features + j]
                for k in range(n_components):
                    diff = scale - c[k]
                    acc[k] += diff * diff
        if covariance_code == SPHERICAL:
            for k in range(n_components):
                acc[k] = log_norm[k] - 0.5 * acc[k] * precision[k] * precision[k]
        else:
            for k in range(n_components):
                acc[k] = log_norm[k] - 0.5 * acc[k]


cdef void _quadratic_log_prob(
        const floating *z, Py_ssize_t rows, Py_ssize_t n_features, Py_ssize_t n_components,
        int covariance_code, const double[:, ::1] quadratic, bint by_component,
        double *squares, double *log_prob) noexcept nogil:
    """Diagonal and spherical log-densities as one float64 matrix product.

    diag:      sum_j p_kj^2 (z_j - c_kj)^2 = [z^2, z] @ [p^2 ; -2 p^2 c] + sum_j p_kj^2 c_kj^2
    spherical: p_k^2 ||z - c_k||^2         = [|z|^2, z] @ [p^2 ; -2 p^2 c] + p_k^2 ||c_k||^2
    so that log p(x, k) = [z^2, z, 1] @ Q (or [|z|^2, z, 1] @ Q) with Q the matrix above
    times -1/2 and a last row log_norm_k - 1/2 (the constant); see quadratic_form.
    z is centred on the mixture's mean, so the expansion loses only digits of order
    eps (distance between components / their spread)^2, in float64.
    """
    cdef Py_ssize_t width = quadratic.shape[0]
    cdef char no = b'N', yes = b'T'
    cdef double one = 1.0, zero = 0.0
    cdef int m = <int> rows, n = <int> n_components, kk = <int> width
    if floating is double:
        gmmfast_squares_d(z, rows, n_features, covariance_code == SPHERICAL, squares)
    else:
        gmmfast_squares_f(z, rows, n_features, covariance_code == SPHERICAL, squares)
    # log_prob (rows x K) = squares (rows x width) @ quadratic (width x K), row-major;
    # by component, its transpose (K x rows), which column-major is the product itself.
    if by_component:
        dgemm(&yes, &yes, &m, &n, &kk, &one, squares, &kk, <double *> &quadratic[0, 0], &n,
              &zero, log_prob, &m)
    else:
        dgemm(&no, &no, &n, &m, &kk, &one, <double *> &quadratic[0, 0], &n, squares, &kk,
              &zero, log_prob, &n)


cdef inline Py_ssize_t _argmax(const double *row, Py_ssize_t n_components) noexcept nogil:
    """First k with the largest row[k]."""
    cdef Py_ssize_t k, best = 0
    for k in range(1, n_components):
        if row[k] > row[best]:
            best = k
    return best


cdef inline void _one_hot_row(double *row, Py_ssize_t n_components) noexcept nogil:
    """Responsibility one for the most likely component, zero for the others."""
    cdef Py_ssize_t k, best = _argmax(row, n_components)
    for k in range(n_components):
        row[k] = 0.0
    row[best] = 1.0


cdef inline void _diag_moments(const floating *z, const floating[:, ::1] offsets,
                               const int *bucket, const double *bucket_value,
                               const int *bucket_start, double *s0, double *s1,
                               double *s2) noexcept nogil:
    """s0, s1 and the diagonal of s2 from the pairs in buckets (see gmmfast_diag_moments)."""
    if floating is double:
        gmmfast_diag_moments_d(z, &offsets[0, 0], offsets.shape[1], offsets.shape[0],
                               bucket, bucket_value, bucket_start, s0, s1, s2)
    else:
        gmmfast_diag_moments_f(z, &offsets[0, 0], offsets.shape[1], offsets.shape[0],
                               bucket, bucket_value, bucket_start, s0, s1, s2)


cdef inline void _listed_e_step(double *log_prob, Py_ssize_t rows, Py_ssize_t n_components,
                                const double *weight, double *row_work, int *bucket,
                                double *bucket_value, int *bucket_start,
                                double *log_total) noexcept nogil:
    """The E-step of a block from its log-densities (K x rows, scratch after), over the
    responsibilities that count only: each component's rows with r_ik > 2^-64 are listed
    (see gmmfast_column_cutoffs) with their w_i r_ik, and only their exponentials are
    taken; log_total[i] = log p(x_i). row_work: 3 x rows."""
    gmmfast_column_cutoffs(log_prob, rows, n_components, row_work, row_work + rows,
                           row_work + 2 * rows)
    _list_rows(log_prob, 1, rows, row_work + 2 * rows, rows, n_components, bucket,
               bucket_start)
    gmmfast_listed_responsibilities(log_prob, row_work, row_work + rows, weight, rows,
                                    n_components, bucket, bucket_start, bucket_value,
                                    row_work + 2 * rows, log_total)


cdef void _block_statistics(
        const floating *z,                   # IN  rows x D, X - shift
        Py_ssize_t rows, Py_ssize_t n_features, Py_ssize_t n_components,
        int covariance_code,
        bint from_log_prob,                  # IN  what a holds
        double *a,                           # IN  K x rows log p(x_i, k) at [k, i], or rows x K
                                             #     responsibilities; scratch after
        const double *weight,                # IN  rows sample weights, or NULL for ones
        const floating[:, ::1] offsets,      # IN  K x D, o_k = mu_k - shift
        double *row_work,                    # TMP 3 x rows
        floating *scaled,                    # TMP rows x D
        floating *small,                     # TMP D x D
        double *tied_rows,                   # TMP rows x D
        double *diag_scratch,                # TMP K x D
        int *bucket,                         # TMP rows x K
        double *bucket_value,                # TMP rows x K
        int *bucket_start,                   # TMP K + 1
        double *log_total,                   # OUT rows, log p(x_i) (from log-densities only)
        double *s0, double *s1, double *s2) noexcept nogil:   # INOUT group sums
    # From log-densities, the E-step takes the responsibilities that count only (see
    # _listed_e_step); each of the others would add less than 2^-64 of its row's weight to
    # any sum. Given responsibilities are listed the same way, w_i r_ik against w_i 2^-64.
    # The sums are taken over the lists (see _bucket_moments).
    cdef double *cutoff = row_work
    cdef Py_ssize_t i, k
    if from_log_prob:
        _listed_e_step(a, rows, n_components, weight, row_work, bucket, bucket_value,
                       bucket_start, log_total)
    else:
        for i in range(rows):
            cutoff[i] = NEGLIGIBLE * (weight[i] if weight != NULL else 1.0)
            if weight != NULL:
                for k in range(n_components):
                    a[i * n_components + k] = a[i * n_components + k] * weight[i]
        _list_rows(a, n_components, 1, cutoff, rows, n_components, bucket, bucket_start)
        gmmfast_listed_values(a, n_components, 1, n_components, bucket, bucket_start,
                              bucket_value)
    _bucket_moments(z, rows, n_features, n_components, covariance_code, offsets, bucket,
                    bucket_value, bucket_start, scaled, small, tied_rows, diag_scratch,
                    row_work + rows, s0, s1, s2)


cdef void _bucket_moments(
        const floating *z,                   # IN  rows x D, X - shift
        Py_ssize_t rows, Py_ssize_t n_features, Py_ssize_t n_components,
        int covariance_code,
        const floating[:, ::1] offsets,      # IN  K x D, o_k = mu_k - shift
        const int *bucket,                   # IN  each component's rows (see _list_rows)
        const double *bucket_value,          # IN  their v_ik = w_i r_ik
        const int *bucket_start,             # IN  K + 1
        floating *scaled,                    # TMP rows x D
        floating *small,                     # TMP D x D
        double *tied_rows,                   # TMP rows x D
        double *diag_scratch,                # TMP K x D
        double *row_mass,                    # TMP rows
        double *s0, double *s1, double *s2) noexcept nogil:   # INOUT group sums
    # With v_ik = w_i r_ik and z_i = x_i - shift, over the listed (i, k) of each component
    # in order of i:
    #   s0_k += sum_i v_ik
    #   s1_k += sum_i v_ik (z_i - o_k)
    #   s2_k += sum_i v_ik (z_i - o_k)(z_i - o_k)^T               (around o_k, not raw moments)
    # For diag and spherical the diagonal of s2_k only, summed with s0_k and s1_k; for full,
    # s2_k is the Gram matrix of the rows sqrt(v_ik) (z_i - o_k); for tied, one Gram matrix
    # sum_i u_i z_i z_i^T with u_i = sum_k v_ik, which the reduction turns into sums around
    # o_k (see _tied_around_means).
    # The pairs with r_ik at or below 2^-64 are not listed: on separated clusters most
    # (i, k) are, and each would add less than 2^-64 of its row's weight -- nothing that
    # float64 sums of O(1) terms can hold.
    cdef Py_ssize_t i, k, a, b, q, n_used
    cdef double v, diff, root
    cdef double *s2k
    cdef const floating *o
    if covariance_code == DIAG or covariance_code == SPHERICAL:
        _diag_moments(z, offsets, bucket, bucket_value, bucket_start, s0, s1, s2)
        return
    # s0 and s1 in the same loop as a diagonal of s2 that is not needed (diag_scratch,
    # never read; measured: letting that loop skip s2 slows the diag and spherical pass).
    _diag_moments(z, offsets, bucket, bucket_value, bucket_start, s0, s1, diag_scratch)

    if covariance_code == TIED:
        for i in range(rows):
            row_mass[i] = 0.0
        for q in range(bucket_start[n_components]):
            row_mass[bucket[q]] += bucket_value[q]
        for i in range(rows):
            root = sqrt(row_mass[i])
            for a in range(n_features):
                tied_rows[i * n_features + a] = root * z[i * n_features + a]
        _gram_rowmajor(<int> rows, <int> n_features, tied_rows, s2, True)
        return

    if n_features <= TINY_FEATURES:
        # A few features: v (z - o)(z - o)^T term by term, the lower triangle.
        for k in range(n_components):
            o = &offsets[k, 0]
            s2k = s2 + k * n_features * n_features
            for q in range(bucket_start[k], bucket_start[k + 1]):
                i = bucket[q]
                v = bucket_value[q]
                for a in range(n_features):
                    diff = v * (z[i * n_features + a] - o[a])
                    for b in range(a + 1):
                        s2k[a * n_features + b] += diff * (z[i * n_features + b] - o[b])
        return

    for k in range(n_components):
        s2k = s2 + k * n_features * n_features
        o = &offsets[k, 0]
        n_used = 0
        for q in range(bucket_start[k], bucket_start[k + 1]):
            i = bucket[q]
            root = sqrt(bucket_value[q])
            for a in range(n_features):
                scaled[n_used * n_features + a] = <floating> (root * (z[i * n_features + a] - o[a]))
            n_used += 1
        if n_used == 0:
            continue
        if floating is double:
            _gram_rowmajor(<int> n_used, <int> n_features, scaled, s2k, True)
        else:
            # float32 rows: their Gram matrix in float32, added to the float64 sums.
            _gram_rowmajor(<int> n_used, <int> n_features, scaled, small, False)
            for a in range(n_features):
                for b in range(a + 1):
                    s2k[a * n_features + b] += small[a * n_features + b]


# ---------------------------------------------------------------------------------------------
# The passes.

cdef double _add_groups(const double[:, ::1] part_s0, const double[:, ::1] part_s1,
                        const double[::1] part_total, double[::1] s0, double[::1] s1):
    """s0 and s1 as the sums of the groups' partial sums, and the total of part_total,
    each adding the groups in order (the same bits whichever threads made the parts)."""
    cdef Py_ssize_t g, k, j
    cdef double total = 0.0
    s0[:] = 0.0
    s1[:] = 0.0
    for g in range(part_s0.shape[0]):
        total += part_total[g]
        for k in range(part_s0.shape[1]):
            s0[k] += part_s0[g, k]
        for j in range(part_s1.shape[1]):
            s1[j] += part_s1[g, j]
    return total


def _allocation_error():
    return MemoryError(
        "gmmfast could not allocate the working buffers of a pass (per thread, a few blocks "
        "of rows by components and features); free memory, or use fewer threads, "
        "components or features.")


cdef inline int _resolve_threads(int n_threads, Py_ssize_t n_units):
    if n_threads <= 0:
        n_threads = gmmfast_max_threads()
    if n_threads > n_units:
        n_threads = <int> n_units
    return max(1, n_threads)


def statistics_pass(
        const floating[:, :] X,              # IN  N x D, any strides
        const double[::1] sample_weight,     # IN  N, or empty for ones
        const floating[::1] shift,           # IN  D, a centre for the log-density products
        const floating[::1] precision,       # IN  see _block_log_prob
        const floating[:, ::1] centers,      # IN  D x K, see _block_log_prob
        const double[::1] log_norm,          # IN  K
        const double[:, ::1] quadratic,      # IN  see _block_log_prob
        const floating[:, ::1] offsets,      # IN  K x D, mu_k - shift
        int covariance_code,
        double[::1] s0,                      # OUT K
        double[::1] s1,                      # OUT K*D
        double[::1] s2,                      # OUT see _s2_size
        int n_threads=0,
        const double[:, ::1] resp=None,      # IN  N x K: use these instead of the E-step
        bint nearest=False):
    """E-step and M-step sufficient statistics in one pass; returns sum_i w_i log p(x_i).

    With ``resp`` given, the log-densities are not computed and the statistics are those
    of the given responsibilities. With ``nearest``, ``precision``, ``centers`` and
    ``log_norm`` describe a spherical model and each row's responsibility is one for its
    most likely component (with unit precisions and equal weights: the nearest centre, as
    in k-means). In both cases the returned log-likelihood is 0.
    """
    cdef Py_ssize_t n_samples = X.shape[0], n_features = X.shape[1]
    cdef Py_ssize_t n_components = offsets.shape[0]
    cdef Py_ssize_t rows, n_blocks, n_groups, g, blk, start, end, i, k, j, c, n_chunks
    cdef Py_ssize_t s1_size = n_components * n_features
    cdef Py_ssize_t s2_size = _s2_size(n_features, n_components, covariance_code)
    cdef Py_ssize_t width
    cdef bint given = resp is not None
    cdef bint weighted = sample_weight.shape[0] > 0
    cdef double ll
    cdef floating *z
    cdef floating *product
    cdef floating *scaled
    cdef floating *small
    cdef double *tied_rows
    cdef double *diag_scratch
    cdef double *squares
    cdef double *row_total
    cdef double *log_prob
    cdef int *bucket
    cdef int *bucket_start
    cdef double *bucket_value
    cdef double *row_work
    cdef const double *w

    if X.shape[0] == 0:
        raise ValueError("statistics_pass needs at least one row")
    rows, n_blocks, n_groups = block_layout(n_samples, n_features, n_components,
                                            covariance_code)
    width = n_features * n_components if covariance_code == FULL else n_features
    part_s0_arr = np.zeros((n_groups, n_components))
    part_s1_arr = np.zeros((n_groups, s1_size))
    part_s2_arr = np.zeros((n_groups, s2_size))
    part_ll_arr = np.zeros(n_groups)
    cdef double[:, ::1] part_s0 = part_s0_arr
    cdef double[:, ::1] part_s1 = part_s1_arr
    cdef double[:, ::1] part_s2 = part_s2_arr
    cdef double[::1] part_ll = part_ll_arr
    n_threads = _resolve_threads(n_threads, n_groups)

    failed_arr = np.zeros(1, dtype=np.intc)
    cdef int[::1] failed = failed_arr
    cdef bint ok
    with nogil, parallel(num_threads=n_threads):
        z = <floating *> malloc(rows * n_features * sizeof(floating))
        product = <floating *> malloc(rows * width * sizeof(floating))
        scaled = <floating *> malloc(rows * n_features * sizeof(floating))
        small = <floating *> malloc(n_features * n_features * sizeof(floating))
        tied_rows = <double *> malloc(rows * n_features * sizeof(double))
        diag_scratch = <double *> calloc(n_components * n_features, sizeof(double))
        squares = <double *> malloc(rows * (2 * n_features + 1) * sizeof(double))
        row_total = <double *> malloc(rows * sizeof(double))
        log_prob = <double *> malloc(rows * n_components * sizeof(double))
        bucket = <int *> malloc(rows * n_components * sizeof(int))
        bucket_start = <int *> malloc((n_components + 1) * sizeof(int))
        bucket_value = <double *> malloc(rows * n_components * sizeof(double))
        row_work = <double *> malloc(3 * rows * sizeof(double))
        # A buffer that could not be allocated: this thread skips its share and the
        # pass raises MemoryError after the region.
        ok = (z != NULL and product != NULL and scaled != NULL and small != NULL and
              tied_rows != NULL and diag_scratch != NULL and squares != NULL and
              row_total != NULL and log_prob != NULL and bucket != NULL and
              bucket_start != NULL and bucket_value != NULL and row_work != NULL)
        if not ok:
            failed[0] = 1
        for g in prange(n_groups, schedule='dynamic'):
            if not ok:
                continue
            for blk in range(g * n_blocks // n_groups, (g + 1) * n_blocks // n_groups):
                start = blk * rows
                end = min(start + rows, n_samples)
                w = &sample_weight[start] if weighted else NULL
                _shifted_block(X, start, end, shift, z)
                if given or nearest:
                    if given:
                        for i in range(end - start):
                            for k in range(n_components):
                                log_prob[i * n_components + k] = resp[start + i, k]
                    else:
                        _block_log_prob(z, end - start, n_features, n_components, SPHERICAL,
                                        precision, centers, log_norm, quadratic, False,
                                        product, squares, log_prob)
                        for i in range(end - start):
                            _one_hot_row(&log_prob[i * n_components], n_components)
                    _block_statistics(z, end - start, n_features, n_components,
                                      covariance_code, False, log_prob, w, offsets, row_work,
                                      scaled, small, tied_rows, diag_scratch, bucket,
                                      bucket_value, bucket_start, NULL,
                                      &part_s0[g, 0], &part_s1[g, 0], &part_s2[g, 0])
                else:
                    _block_log_prob(z, end - start, n_features, n_components,
                                    covariance_code, precision, centers, log_norm,
                                    quadratic, True, product, squares, log_prob)
                    _block_statistics(z, end - start, n_features, n_components,
                                      covariance_code, True, log_prob, w, offsets, row_work,
                                      scaled, small, tied_rows, diag_scratch, bucket,
                                      bucket_value, bucket_start, row_total,
                                      &part_s0[g, 0], &part_s1[g, 0], &part_s2[g, 0])
                    part_ll[g] += gmmfast_weighted_total(row_total, w, end - start)
        free(z)
        free(product)
        free(scaled)
        free(small)
        free(tied_rows)
        free(diag_scratch)
        free(squares)
        free(row_total)
        free(log_prob)
        free(bucket)
        free(bucket_start)
        free(bucket_value)
        free(row_work)
    if failed[0]:
        raise _allocation_error()

    # Ordered reduction over groups: every sum adds the groups in order, whichever thread
    # runs it. The second moments are split into chunks of entries across threads.
    ll = _add_groups(part_s0, part_s1, part_ll, s0, s1)
    s2[:] = 0.0
    n_chunks = (s2_size + REDUCTION_CHUNK - 1) // REDUCTION_CHUNK
    n_threads = _resolve_threads(n_threads, n_chunks)
    with nogil:
        for c in prange(n_chunks, schedule='static', num_threads=n_threads):
            for g in range(n_groups):
                for j in range(c * REDUCTION_CHUNK, min((c + 1) * REDUCTION_CHUNK, s2_size)):
                    s2[j] += part_s2[g, j]
    if covariance_code == FULL or covariance_code == TIED:
        # Only the lower triangles were summed; the matrices are symmetric.
        for k in range(s2_size // (n_features * n_features)):
            for i in range(n_features):
                for j in range(i):
                    s2[k * n_features * n_features + j * n_features + i] = \
                        s2[k * n_features * n_features + i * n_features + j]
    if covariance_code == TIED:
        _tied_around_means(s0, s1, s2, offsets)
    return ll


cdef void _tied_around_means(const double[::1] s0, const double[::1] s1, double[::1] s2,
                             const floating[:, ::1] offsets) noexcept nogil:
    """Turn G = sum_i u_i z_i z_i^T into sum_k sum_i v_ik (z_i - o_k)(z_i - o_k)^T.

    With T_k = sum_i v_ik z_i = s1_k + s0_k o_k, the difference is
        - sum_k (T_k o_k^T + o_k T_k^T - s0_k o_k o_k^T) = - sum_k (s1_k o_k^T + o_k s1_k^T
        + s0_k o_k o_k^T).
    """
    cdef Py_ssize_t k, a, b, n_features = offsets.shape[1]
    cdef double oa, ob
    for k in range(offsets.shape[0]):
        for a in range(n_features):
            oa = offsets[k, a]
            for b in range(n_features):
                ob = offsets[k, b]
                s2[a * n_features + b] -= (s1[k * n_features + a] * ob
                                           + oa * s1[k * n_features + b] + s0[k] * oa * ob)


def evaluate_pass(
        const floating[:, :] X,              # IN  N x D, any strides
        const floating[::1] shift,           # IN  D
        const floating[::1] precision,       # IN  see _block_log_prob
        const floating[:, ::1] centers,      # IN  D x K, see _block_log_prob
        const double[::1] log_norm,          # IN  K
        const double[:, ::1] quadratic,      # IN  see _block_log_prob
        int covariance_code,
        Py_ssize_t[::1] labels,              # OUT N argmax_k log p(x, k), or empty
        floating[:, ::1] resp,               # OUT N x K responsibilities, or empty
        double[::1] log_prob_norm,           # OUT N log p(x), or empty
        int n_threads=0):
    """Per-sample outputs of the model; each output is written only if it is non-empty."""
    cdef Py_ssize_t n_samples = X.shape[0], n_features = X.shape[1]
    cdef Py_ssize_t n_components = centers.shape[1]
    cdef Py_ssize_t rows, n_blocks, n_groups, blk, start, end, i, k, width
    cdef bint want_labels = labels.shape[0] > 0
    cdef bint want_resp = resp.shape[0] > 0
    cdef bint want_norm = log_prob_norm.shape[0] > 0
    # log p(x) alone from the terms that count, with the log-densities component by
    # component as in the fit pass; row by row otherwise (measured faster for labels and
    # responsibilities).
    cdef bint by_component = want_norm and not want_resp and not want_labels
    cdef floating *z
    cdef floating *product
    cdef double *squares
    cdef double *row_total
    cdef double *log_prob
    cdef double *row_work
    cdef int *bucket
    cdef int *bucket_start
    cdef double *bucket_value

    if n_samples == 0:
        return
    rows, n_blocks, n_groups = block_layout(n_samples, n_features, n_components,
                                            covariance_code)
    width = n_features * n_components if covariance_code == FULL else n_features
    n_threads = _resolve_threads(n_threads, n_blocks)

    failed_arr = np.zeros(1, dtype=np.intc)
    cdef int[::1] failed = failed_arr
    cdef bint ok
    with nogil, parallel(num_threads=n_threads):
        z = <floating *> malloc(rows * n_features * sizeof(floating))
        product = <floating *> malloc(rows * width * sizeof(floating))
        squares = <double *> malloc(rows * (2 * n_features + 1) * sizeof(double))
        row_total = <double *> malloc(rows * sizeof(double))
        log_prob = <double *> malloc(rows * n_components * sizeof(double))
        row_work = <double *> malloc(3 * rows * sizeof(double))
        bucket = <int *> malloc(rows * n_components * sizeof(int))
        bucket_start = <int *> malloc((n_components + 1) * sizeof(int))
        bucket_value = <double *> malloc(rows * n_components * sizeof(double))
        # A buffer that could not be allocated: this thread skips its share and the
        # pass raises MemoryError after the region.
        ok = (z != NULL and product != NULL and squares != NULL and row_total != NULL and
              log_prob != NULL and row_work != NULL and bucket != NULL and
              bucket_start != NULL and bucket_value != NULL)
        if not ok:
            failed[0] = 1
        for blk in prange(n_blocks, schedule='static'):
            if not ok:
                continue
            start = blk * rows
            end = min(start + rows, n_samples)
            _shifted_block(X, start, end, shift, z)
            _block_log_prob(z, end - start, n_features, n_components, covariance_code,
                            precision, centers, log_norm, quadratic, by_component, product,
                            squares, log_prob)
            if want_labels:
                for i in range(end - start):
                    labels[start + i] = _argmax(&log_prob[i * n_components], n_components)
            if by_component:
                # The sum over the terms that count is the sum over all of them (see
                # gmmfast_column_cutoffs).
                _listed_e_step(log_prob, end - start, n_components, NULL, row_work, bucket,
                               bucket_value, bucket_start, row_total)
            elif want_resp or want_norm:
                gmmfast_normalise_rows(log_prob, end - start, n_components, row_total)
            if want_norm:
                for i in range(end - start):
                    log_prob_norm[start + i] = row_total[i]
            if want_resp:
                # Every responsibility, however small.
                for i in range(end - start):
                    for k in range(n_components):
                        resp[start + i, k] = <floating> log_prob[i * n_components + k]
        free(z)
        free(product)
        free(squares)
        free(row_total)
        free(log_prob)
        free(row_work)
        free(bucket)
        free(bucket_start)
        free(bucket_value)
    if failed[0]:
        raise _allocation_error()


# ---------------------------------------------------------------------------------------------
# k-means: the nearest centre of every row, and the k-means++ potentials.
#
# Squared distances to the centres c_k, all taken around a shift (z = x - shift, in the data's
# dtype, then in float64): ||z - c_k||^2 term by term for a few features, otherwise the
# expansion ||z||^2 - 2 z.c_k + ||c_k||^2 with z.c_k from one product per block (rounded
# below zero at most by eps ||z||^2; clamped at zero). The same fixed blocks, groups and
# ordered reduction as the EM passes: bit-for-bit the same for any number of threads.

cdef extern from "gmmfast/kmeans.h" nogil:
    void gmmfast_nearest_update(const double *distance, Py_ssize_t rows, int64_t k,
                                double *nearest, int64_t *labels)
    void gmmfast_expand_distances(double *out, Py_ssize_t rows, Py_ssize_t n_centres,
                                  const double *row_norms, const double *centre_norms)

# Rows per block of the k-means passes (their products have few columns: larger blocks
# spread each BLAS call's fixed cost; measured 256 to 4096 rows).
cdef Py_ssize_t KMEANS_BLOCK_ROWS = 1024


def kmeans_layout(Py_ssize_t n_samples):
    """Rows per block, blocks and partial-sum groups of the k-means passes (sizes only)."""
    cdef Py_ssize_t n_blocks = max(1, (n_samples + KMEANS_BLOCK_ROWS - 1) // KMEANS_BLOCK_ROWS)
    return int(KMEANS_BLOCK_ROWS), int(n_blocks), int(min(MAX_GROUPS, n_blocks))


cdef void _float64_block(const floating[:, :] X, Py_ssize_t start, Py_ssize_t end,
                         const floating[::1] shift, floating *z, double *zd) noexcept nogil:
    """zd = X[start:end] - shift in float64, the difference rounded in the data's dtype."""
    cdef Py_ssize_t i, n = (end - start) * X.shape[1]
    if floating is double:
        _shifted_block(X, start, end, shift, zd)
    else:
        _shifted_block(X, start, end, shift, z)
        for i in range(n):
            zd[i] = z[i]


cdef inline double _weighted_sum(const double *x, const double *w,
                                 Py_ssize_t n) noexcept nogil:
    """sum_i w_i x_i (w NULL: ones) in four partial sums over i mod 4, added as
    (p0 + p1) + (p2 + p3); a zero weight adds nothing, even against x_i = inf."""
    cdef double p0 = 0.0, p1 = 0.0, p2 = 0.0, p3 = 0.0
    cdef Py_ssize_t i = 0
    if w == NULL:
        while i + 4 <= n:
            p0 += x[i]
            p1 += x[i + 1]
            p2 += x[i + 2]
            p3 += x[i + 3]
            i += 4
        if i < n:
            p0 += x[i]
        if i + 1 < n:
            p1 += x[i + 1]
        if i + 2 < n:
            p2 += x[i + 2]
    else:
        while i + 4 <= n:
            p0 += w[i] * x[i] if w[i] != 0.0 else 0.0
            p1 += w[i + 1] * x[i + 1] if w[i + 1] != 0.0 else 0.0
            p2 += w[i + 2] * x[i + 2] if w[i + 2] != 0.0 else 0.0
            p3 += w[i + 3] * x[i + 3] if w[i + 3] != 0.0 else 0.0
            i += 4
        if i < n:
            p0 += w[i] * x[i] if w[i] != 0.0 else 0.0
        if i + 1 < n:
            p1 += w[i + 1] * x[i + 1] if w[i + 1] != 0.0 else 0.0
        if i + 2 < n:
            p2 += w[i + 2] * x[i + 2] if w[i + 2] != 0.0 else 0.0
    return (p0 + p1) + (p2 + p3)


cdef void _block_distances(const double *z, Py_ssize_t rows, Py_ssize_t n_features,
                           Py_ssize_t n_centres, const double *centres,
                           const double *centre_norms, bint with_row_norms,
                           double *row_norms, double *out) noexcept nogil:
    """out[k, i] = ||z_i - c_k||^2 (K x rows, row-major: centre by centre).

    Without ``with_row_norms`` the expansion leaves out ||z_i||^2, which changes no row's
    nearest centre. centres is K x D; row_norms is scratch for ``rows`` numbers.
    """
    cdef Py_ssize_t i, j, k
    cdef double c_kj, diff
    cdef double *o
    cdef char no = b'N', yes = b'T'
    cdef double minus_two = -2.0, zero = 0.0
    cdef int m = <int> rows, n = <int> n_centres, kk = <int> n_features
    if n_features <= TINY_FEATURES:
        for k in range(n_centres):
            o = &out[k * rows]
            for i in range(rows):
                o[i] = 0.0
            for j in range(n_features):
                c_kj = centres[k * n_features + j]
                for i in range(rows):
                    diff = z[i * n_features + j] - c_kj
                    o[i] += diff * diff
        return
    # out (row-major K x rows) is column-major rows x K: -2 Z C^T, with z (row-major
    # rows x D) read as the column-major Z^T and centres (row-major K x D) as C^T.
    dgemm(&yes, &no, &m, &n, &kk, &minus_two, <double *> z, &kk, <double *> centres, &kk,
          &zero, out, &m)
    if with_row_norms:
        for i in range(rows):
            # ||z_i||^2 as the weighted sum of z_i with itself.
            row_norms[i] = _weighted_sum(&z[i * n_features], &z[i * n_features], n_features)
    gmmfast_expand_distances(out, rows, n_centres, row_norms if with_row_norms else NULL,
                             centre_norms)


cdef class _Centres:
    """Centres (K x D, around the shift) and their squared norms, as _block_distances
    reads them."""
    cdef public object rows_
    cdef public object norms

    def __init__(self, centres):
        self.rows_ = np.ascontiguousarray(centres, dtype=np.float64)
        self.norms = np.einsum("kd,kd->k", self.rows_, self.rows_)


def nearest_centre_pass(
        const floating[:, :] X,              # IN  N x D, any strides
        const double[::1] sample_weight,     # IN  N, or empty for ones
        const floating[::1] shift,           # IN  D
        centres,                             # IN  K x D float64, c_k - shift
        double[::1] s0,                      # OUT K, sum of w_i over the rows nearest c_k
        double[::1] s1,                      # OUT K*D, sum of w_i (x_i - shift) over them
        double[::1] distance,                # OUT N, ||x_i - c_nearest||^2, or empty
        bint with_inertia=False,
        int n_threads=0):
    """One Lloyd step's sums: each row to its nearest centre (the first of equals).

    Returns the inertia sum_i w_i ||x_i - c_nearest||^2 if ``with_inertia``, else 0.
    """
    cdef Py_ssize_t n_samples = X.shape[0], n_features = X.shape[1]
    cdef Py_ssize_t rows, n_blocks, n_groups, g, blk, start, end, i, j, k, label
    cdef bint weighted = sample_weight.shape[0] > 0
    cdef bint want_distance = distance.shape[0] > 0
    cdef bint full_distance = want_distance or with_inertia
    cdef double v, inertia
    cdef floating *z
    cdef double *zd
    cdef double *dist
    cdef double *acc
    cdef double *row
    cdef double *nearest
    cdef int64_t *labels

    layout = _Centres(centres)
    cdef const double[:, ::1] c_rows = layout.rows_
    cdef const double[::1] c_norms = layout.norms
    cdef Py_ssize_t n_centres = c_rows.shape[0]
    if n_samples == 0:
        raise ValueError("nearest_centre_pass needs at least one row")
    if c_rows.shape[1] != n_features or shift.shape[0] != n_features:
        raise ValueError("centres must be (n_centres, n_features) and shift (n_features,)")
    if s0.shape[0] != n_centres or s1.shape[0] != n_centres * n_features:
        raise ValueError("s0 must hold n_centres entries and s1 n_centres * n_features")
    if want_distance and distance.shape[0] != n_samples:
        raise ValueError("distance must have one entry per row")
    if weighted and sample_weight.shape[0] != n_samples:
        raise ValueError("sample_weight must have one entry per row")
    rows, n_blocks, n_groups = kmeans_layout(n_samples)
    part_s0_arr = np.zeros((n_groups, n_centres))
    part_s1_arr = np.zeros((n_groups, n_centres * n_features))
    part_inertia_arr = np.zeros(n_groups)
    cdef double[:, ::1] part_s0 = part_s0_arr
    cdef double[:, ::1] part_s1 = part_s1_arr
    cdef double[::1] part_inertia = part_inertia_arr
    n_threads = _resolve_threads(n_threads, n_groups)

    failed_arr = np.zeros(1, dtype=np.intc)
    cdef int[::1] failed = failed_arr
    cdef bint ok
    with nogil, parallel(num_threads=n_threads):
        z = <floating *> malloc(rows * n_features * sizeof(floating))
        zd = <double *> malloc(rows * n_features * sizeof(double))
        dist = <double *> malloc(rows * n_centres * sizeof(double))
        nearest = <double *> malloc(rows * sizeof(double))
        labels = <int64_t *> malloc(rows * sizeof(int64_t))
        # A buffer that could not be allocated: this thread skips its share and the
        # pass raises MemoryError after the region.
        ok = (z != NULL and zd != NULL and dist != NULL and nearest != NULL and labels != NULL)
        if not ok:
            failed[0] = 1
        for g in prange(n_groups, schedule='dynamic'):
            if not ok:
                continue
            for blk in range(g * n_blocks // n_groups, (g + 1) * n_blocks // n_groups):
                start = blk * rows
                end = min(start + rows, n_samples)
                _float64_block(X, start, end, shift, z, zd)
                _block_distances(zd, end - start, n_features, n_centres, &c_rows[0, 0],
                                 &c_norms[0], full_distance, nearest, dist)
                # The nearest centre across the rows, centre by centre (the first of
                # equals: only a strictly smaller distance replaces it).
                for i in range(end - start):
                    nearest[i] = dist[i]
                    labels[i] = 0
                for k in range(1, n_centres):
                    gmmfast_nearest_update(&dist[k * (end - start)], end - start, k,
                                           nearest, labels)
                for i in range(end - start):
                    label = labels[i]
                    v = sample_weight[start + i] if weighted else 1.0
                    part_s0[g, label] += v
                    acc = &part_s1[g, label * n_features]
                    for j in range(n_features):
                        acc[j] += v * zd[i * n_features + j]
                if want_distance:
                    for i in range(end - start):
                        distance[start + i] = nearest[i]
                if with_inertia:
                    part_inertia[g] += _weighted_sum(
                        nearest, &sample_weight[start] if weighted else NULL, end - start)
        free(z)
        free(zd)
        free(dist)
        free(nearest)
        free(labels)
    if failed[0]:
        raise _allocation_error()

    return _add_groups(part_s0, part_s1, part_inertia, s0, s1)


def seeding_pass(
        const floating[:, :] X,              # IN  N x D, any strides
        const double[::1] sample_weight,     # IN  N, or empty for ones
        const floating[::1] shift,           # IN  D
        candidates,                          # IN  T x D float64, c_t - shift
        floating[::1] closest,               # INOUT N, squared distance to the nearest seed
        double[:, ::1] block_mass,           # OUT T x n_blocks (see kmeans_layout)
        floating[:, ::1] minima,             # OUT T x N, the m_it, or 0 x 0
        Py_ssize_t seed=-1,                  # IN  a candidate t that becomes a seed, or -1
        int n_threads=0):
    """k-means++ masses of each candidate c_t: with m_it = min(closest_i, ||x_i - c_t||^2),
    block_mass[t, b] = sum_{i in block b} w_i m_it (in float64, in four partial sums over
    the rows; the distances rounded to the data's dtype first, as scikit-learn keeps them).

    Where asked, the m_it themselves for every t (``minima``), or those of the candidate
    ``seed`` written into ``closest`` (the candidate becomes a seed). Each m_it is computed
    alike whichever of these is asked.
    """
    cdef Py_ssize_t n_samples = X.shape[0], n_features = X.shape[1]
    cdef Py_ssize_t rows, n_blocks, n_groups, blk, start, end, i, t, n
    cdef bint weighted = sample_weight.shape[0] > 0
    cdef bint want_minima = minima.shape[0] > 0
    cdef floating d
    cdef floating *z
    cdef double *zd
    cdef double *dist
    cdef double *row
    cdef double *row_norms

    layout = _Centres(candidates)
    cdef const double[:, ::1] c_rows = layout.rows_
    cdef const double[::1] c_norms = layout.norms
    cdef Py_ssize_t n_candidates = c_rows.shape[0]
    if n_samples == 0:
        raise ValueError("seeding_pass needs at least one row")
    rows, n_blocks, n_groups = kmeans_layout(n_samples)
    if c_rows.shape[1] != n_features or shift.shape[0] != n_features:
        raise ValueError("candidates must be (n_candidates, n_features) and shift "
                         "(n_features,)")
    if closest.shape[0] != n_samples:
        raise ValueError("closest must have one entry per row")
    if block_mass.shape[0] != n_candidates or block_mass.shape[1] != n_blocks:
        raise ValueError("block_mass must be (n_candidates, n_blocks)")
    if want_minima and (minima.shape[0] != n_candidates or minima.shape[1] != n_samples):
        raise ValueError("minima must be (n_candidates, n_samples) or empty")
    if weighted and sample_weight.shape[0] != n_samples:
        raise ValueError("sample_weight must have one entry per row")
    if seed >= n_candidates:
        raise ValueError("seed must be the index of a candidate")
    n_threads = _resolve_threads(n_threads, n_blocks)

    failed_arr = np.zeros(1, dtype=np.intc)
    cdef int[::1] failed = failed_arr
    cdef bint ok
    with nogil, parallel(num_threads=n_threads):
        z = <floating *> malloc(rows * n_features * sizeof(floating))
        zd = <double *> malloc(rows * n_features * sizeof(double))
        dist = <double *> malloc(rows * n_candidates * sizeof(double))
        row_norms = <double *> malloc(rows * sizeof(double))
        # A buffer that could not be allocated: this thread skips its share and the
        # pass raises MemoryError after the region.
        ok = (z != NULL and zd != NULL and dist != NULL and row_norms != NULL)
        if not ok:
            failed[0] = 1
        for blk in prange(n_blocks, schedule='static'):
            if not ok:
                continue
            start = blk * rows
            end = min(start + rows, n_samples)
            n = end - start
            _float64_block(X, start, end, shift, z, zd)
            _block_distances(zd, n, n_features, n_candidates, &c_rows[0, 0], &c_norms[0],
                             True, row_norms, dist)
            for t in range(n_candidates):
                row = &dist[t * n]
                for i in range(n):
                    d = <floating> row[i]
                    row[i] = closest[start + i] if closest[start + i] < d else d
                block_mass[t, blk] = _weighted_sum(
                    row, &sample_weight[start] if weighted else NULL, n)
                if want_minima:
                    for i in range(n):
                        minima[t, start + i] = <floating> row[i]
            if seed >= 0:
                row = &dist[seed * n]
                for i in range(n):
                    closest[start + i] = <floating> row[i]
        free(z)
        free(zd)
        free(dist)
        free(row_norms)
    if failed[0]:
        raise _allocation_error()


