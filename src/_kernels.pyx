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
#     accumulated in float64 around the current means mu_k (never raw moments);
#   - evaluate_pass: labels, responsibilities and per-sample log-likelihood, each only if asked.
#
# Rows are cut into blocks that depend on (N, D, K) only; consecutive blocks form a fixed number
# of groups, each summed in block order into its own slot, and the slots are added in group
# order. The result is therefore bit-for-bit the same for any number of threads.

from cython cimport floating
from cython.parallel cimport parallel, prange
from libc.math cimport exp, log, sqrt, INFINITY
from libc.stdlib cimport free, malloc
from libc.string cimport memset
from scipy.linalg.cython_blas cimport dgemm, dsyrk, sgemm, ssyrk

import numpy as np

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    #define GMMFAST_OPENMP 1
    static int gmmfast_max_threads(void) { return omp_get_max_threads(); }
    #else
    #define GMMFAST_OPENMP 0
    static int gmmfast_max_threads(void) { return 1; }
    #endif
    """
    int GMMFAST_OPENMP
    int gmmfast_max_threads() noexcept nogil


# Covariance type codes shared with the Python layer.
COVARIANCE_CODES = {"full": 0, "tied": 1, "diag": 2, "spherical": 3}
cdef enum:
    FULL = 0
    TIED = 1
    DIAG = 2
    SPHERICAL = 3

# Rows per block; shrunk for full covariance so that the block's Z @ [P_1 .. P_K]
# product (rows x K*D) stays within a few hundred KiB of cache.
cdef int BLOCK_ROWS = 256
cdef int MIN_BLOCK_ROWS = 32
cdef Py_ssize_t FULL_PRODUCT_ELEMENTS = 1 << 16
# At most this many partial sums, and at most about this many bytes of them.
cdef Py_ssize_t MAX_GROUPS = 64
cdef Py_ssize_t MIN_GROUPS = 8
cdef Py_ssize_t GROUP_BYTES = 32 * 1024 * 1024


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
                                const floating *b, int ldb, floating *c, int ldc) noexcept nogil:
    """C (m x n) = A (m x k) @ B (k x n), all row-major."""
    cdef char trans = b'N'
    cdef floating one = 1.0
    cdef floating zero = 0.0
    if floating is float:
        sgemm(&trans, &trans, &n, &m, &k, &one, <float *> b, &ldb, <float *> a, &lda,
              &zero, c, &ldc)
    else:
        dgemm(&trans, &trans, &n, &m, &k, &one, <double *> b, &ldb, <double *> a, &lda,
              &zero, c, &ldc)


cdef inline void _gram_rowmajor(int m, int d, const floating *a, floating *c) noexcept nogil:
    """Lower triangle (row-major) of C (d x d) = A^T A for A (m x d) row-major."""
    cdef char uplo = b'U'
    cdef char trans = b'N'
    cdef floating one = 1.0
    cdef floating zero = 0.0
    # Column-major, A's memory is M = A^T (d x m); M M^T filled in its upper triangle,
    # which is the lower triangle of the row-major view.
    if floating is float:
        ssyrk(&uplo, &trans, &d, &m, &one, <float *> a, &d, &zero, c, &d)
    else:
        dsyrk(&uplo, &trans, &d, &m, &one, <double *> a, &d, &zero, c, &d)


# ---------------------------------------------------------------------------------------------
# The block worker.

cdef void _shifted_block(const floating[:, :] X, Py_ssize_t start, Py_ssize_t end,
                         const floating[::1] shift, floating *z) noexcept nogil:
    """z = X[start:end] - shift, row-major, whatever the strides of X."""
    cdef Py_ssize_t i, j, n_features = X.shape[1]
    for i in range(end - start):
        for j in range(n_features):
            z[i * n_features + j] = X[start + i, j] - shift[j]


cdef void _block_log_prob(
        const floating *z,                   # IN  rows x D, X - shift
        Py_ssize_t rows, Py_ssize_t n_features, Py_ssize_t n_components,
        int covariance_code,
        const floating[::1] precision,       # IN  stacked P_k: D x (K*D) | D x D | K*D | K
        const floating[:, ::1] centers,      # IN  (mu_k - shift) P_k for full/tied, else mu_k - shift
        const double[::1] log_norm,          # IN  log w_k + log det P_k - D/2 log(2 pi)
        floating *product,                   # TMP rows x (K*D) for full, rows x D for tied
        double *log_prob) noexcept nogil:    # OUT rows x K, log p(x_i, k)
    cdef Py_ssize_t i, k, j, width
    cdef double maha, diff, scale
    if covariance_code == FULL or covariance_code == TIED:
        # Z P for all components at once: Z @ [P_1 | P_2 | ... | P_K].
        width = n_features * n_components if covariance_code == FULL else n_features
        _gemm_rowmajor(<int> rows, <int> width, <int> n_features, z, <int> n_features,
                       &precision[0], <int> width, product, <int> width)
        for i in range(rows):
            for k in range(n_components):
                maha = 0.0
                if covariance_code == FULL:
                    for j in range(n_features):
                        diff = product[i * width + k * n_features + j] - centers[k, j]
                        maha = maha + diff * diff
                else:
                    for j in range(n_features):
                        diff = product[i * width + j] - centers[k, j]
                        maha = maha + diff * diff
                log_prob[i * n_components + k] = log_norm[k] - 0.5 * maha
    elif covariance_code == DIAG:
        for i in range(rows):
            for k in range(n_components):
                maha = 0.0
                for j in range(n_features):
                    diff = (z[i * n_features + j] - centers[k, j]) * precision[k * n_features + j]
                    maha = maha + diff * diff
                log_prob[i * n_components + k] = log_norm[k] - 0.5 * maha
    else:
        for i in range(rows):
            for k in range(n_components):
                maha = 0.0
                for j in range(n_features):
                    diff = z[i * n_features + j] - centers[k, j]
                    maha = maha + diff * diff
                scale = precision[k]
                log_prob[i * n_components + k] = log_norm[k] - 0.5 * maha * scale * scale


cdef inline double _normalise_row(double *row, Py_ssize_t n_components) noexcept nogil:
    """Turn log p(x, k) into responsibilities in place; return log p(x) = logsumexp_k."""
    cdef Py_ssize_t k
    cdef double top = -INFINITY, total = 0.0, log_total
    for k in range(n_components):
        if row[k] > top:
            top = row[k]
    if top == -INFINITY:
        # p(x) underflows for every component: hand the row to the nearest one.
        for k in range(n_components):
            row[k] = 0.0
        row[0] = 1.0
        return -INFINITY
    for k in range(n_components):
        total = total + exp(row[k] - top)
    log_total = top + log(total)
    for k in range(n_components):
        row[k] = exp(row[k] - log_total)
    return log_total


cdef void _accumulate_block(
        const floating *z,                   # IN  rows x D, X - shift
        Py_ssize_t rows, Py_ssize_t n_features, Py_ssize_t n_components,
        int covariance_code,
        const double *resp,                  # IN  rows x K responsibilities
        const double *weight,                # IN  rows sample weights, or NULL for ones
        const floating[:, ::1] offsets,      # IN  mu_k - shift
        floating *scaled,                    # TMP rows x D
        floating *gram,                      # TMP D x D
        double *s0, double *s1, double *s2) noexcept nogil:   # INOUT group sums
    cdef Py_ssize_t i, k, a, b, n_used
    cdef double v, diff, root
    cdef double *s2k
    for k in range(n_components):
        if covariance_code == FULL:
            s2k = s2 + k * n_features * n_features
        elif covariance_code == TIED:
            s2k = s2
        else:
            s2k = s2 + k * n_features
        n_used = 0
        for i in range(rows):
            v = resp[i * n_components + k]
            if weight != NULL:
                v = v * weight[i]
            if v == 0.0:
                continue
            s0[k] += v
            if covariance_code == FULL or covariance_code == TIED:
                # Row of sqrt(v) (x_i - mu_k) for the rank-rows update below.
                root = sqrt(v)
                for a in range(n_features):
                    diff = z[i * n_features + a] - offsets[k, a]
                    s1[k * n_features + a] += v * diff
                    scaled[n_used * n_features + a] = <floating> (root * diff)
                n_used += 1
            else:
                for a in range(n_features):
                    diff = z[i * n_features + a] - offsets[k, a]
                    s1[k * n_features + a] += v * diff
                    s2k[a] += v * diff * diff
        if n_used > 0:
            _gram_rowmajor(<int> n_used, <int> n_features, scaled, gram)
            for a in range(n_features):
                for b in range(a + 1):
                    s2k[a * n_features + b] += gram[a * n_features + b]
                    if b < a:
                        s2k[b * n_features + a] += gram[a * n_features + b]


# ---------------------------------------------------------------------------------------------
# The passes.

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
        const floating[:, ::1] centers,      # IN  K x D, see _block_log_prob
        const double[::1] log_norm,          # IN  K
        const floating[:, ::1] offsets,      # IN  K x D, mu_k - shift
        int covariance_code,
        double[::1] s0,                      # OUT K
        double[::1] s1,                      # OUT K*D
        double[::1] s2,                      # OUT see _s2_size
        int n_threads=0,
        const double[:, ::1] resp=None):     # IN  N x K: use these instead of the E-step
    """E-step and M-step sufficient statistics in one pass; returns sum_i w_i log p(x_i).

    With ``resp`` given, the log-densities are not computed and the statistics are those
    of the given responsibilities (the returned log-likelihood is then 0).
    """
    cdef Py_ssize_t n_samples = X.shape[0], n_features = X.shape[1]
    cdef Py_ssize_t n_components = offsets.shape[0]
    cdef Py_ssize_t rows, n_blocks, n_groups, g, blk, start, end, i, k, j
    cdef Py_ssize_t s1_size = n_components * n_features
    cdef Py_ssize_t s2_size = _s2_size(n_features, n_components, covariance_code)
    cdef Py_ssize_t width
    cdef bint given = resp is not None
    cdef bint weighted = sample_weight.shape[0] > 0
    cdef double ll
    cdef floating *z
    cdef floating *product
    cdef floating *scaled
    cdef floating *gram
    cdef double *log_prob
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

    with nogil, parallel(num_threads=n_threads):
        z = <floating *> malloc(rows * n_features * sizeof(floating))
        product = <floating *> malloc(rows * width * sizeof(floating))
        scaled = <floating *> malloc(rows * n_features * sizeof(floating))
        gram = <floating *> malloc(n_features * n_features * sizeof(floating))
        log_prob = <double *> malloc(rows * n_components * sizeof(double))
        for g in prange(n_groups, schedule='dynamic'):
            for blk in range(g * n_blocks // n_groups, (g + 1) * n_blocks // n_groups):
                start = blk * rows
                end = min(start + rows, n_samples)
                w = &sample_weight[start] if weighted else NULL
                _shifted_block(X, start, end, shift, z)
                if given:
                    for i in range(end - start):
                        for k in range(n_components):
                            log_prob[i * n_components + k] = resp[start + i, k]
                else:
                    _block_log_prob(z, end - start, n_features, n_components,
                                    covariance_code, precision, centers, log_norm,
                                    product, log_prob)
                    ll = 0.0
                    for i in range(end - start):
                        if weighted:
                            if w[i] != 0.0:
                                ll = ll + w[i] * _normalise_row(&log_prob[i * n_components],
                                                                n_components)
                            else:
                                _normalise_row(&log_prob[i * n_components], n_components)
                        else:
                            ll = ll + _normalise_row(&log_prob[i * n_components], n_components)
                    part_ll[g] += ll
                _accumulate_block(z, end - start, n_features, n_components, covariance_code,
                                  log_prob, w, offsets, scaled, gram,
                                  &part_s0[g, 0], &part_s1[g, 0], &part_s2[g, 0])
        free(z)
        free(product)
        free(scaled)
        free(gram)
        free(log_prob)

    # Ordered reduction over groups.
    s0[:] = 0.0
    s1[:] = 0.0
    s2[:] = 0.0
    ll = 0.0
    for g in range(n_groups):
        ll += part_ll[g]
        for k in range(n_components):
            s0[k] += part_s0[g, k]
        for j in range(s1_size):
            s1[j] += part_s1[g, j]
        for j in range(s2_size):
            s2[j] += part_s2[g, j]
    return ll


def evaluate_pass(
        const floating[:, :] X,              # IN  N x D, any strides
        const floating[::1] shift,           # IN  D
        const floating[::1] precision,       # IN  see _block_log_prob
        const floating[:, ::1] centers,      # IN  K x D
        const double[::1] log_norm,          # IN  K
        int covariance_code,
        Py_ssize_t[::1] labels,              # OUT N argmax_k log p(x, k), or empty
        floating[:, ::1] resp,               # OUT N x K responsibilities, or empty
        double[::1] log_prob_norm,           # OUT N log p(x), or empty
        int n_threads=0):
    """Per-sample outputs of the model; each output is written only if it is non-empty."""
    cdef Py_ssize_t n_samples = X.shape[0], n_features = X.shape[1]
    cdef Py_ssize_t n_components = centers.shape[0]
    cdef Py_ssize_t rows, n_blocks, n_groups, blk, start, end, i, k, best, width
    cdef bint want_labels = labels.shape[0] > 0
    cdef bint want_resp = resp.shape[0] > 0
    cdef bint want_norm = log_prob_norm.shape[0] > 0
    cdef double top, lpn
    cdef floating *z
    cdef floating *product
    cdef double *log_prob

    if n_samples == 0:
        return
    rows, n_blocks, n_groups = block_layout(n_samples, n_features, n_components,
                                            covariance_code)
    width = n_features * n_components if covariance_code == FULL else n_features
    n_threads = _resolve_threads(n_threads, n_blocks)

    with nogil, parallel(num_threads=n_threads):
        z = <floating *> malloc(rows * n_features * sizeof(floating))
        product = <floating *> malloc(rows * width * sizeof(floating))
        log_prob = <double *> malloc(rows * n_components * sizeof(double))
        for blk in prange(n_blocks, schedule='static'):
            start = blk * rows
            end = min(start + rows, n_samples)
            _shifted_block(X, start, end, shift, z)
            _block_log_prob(z, end - start, n_features, n_components, covariance_code,
                            precision, centers, log_norm, product, log_prob)
            for i in range(end - start):
                if want_labels:
                    best = 0
                    top = log_prob[i * n_components]
                    for k in range(1, n_components):
                        if log_prob[i * n_components + k] > top:
                            top = log_prob[i * n_components + k]
                            best = k
                    labels[start + i] = best
                if want_resp or want_norm:
                    lpn = _normalise_row(&log_prob[i * n_components], n_components)
                    if want_norm:
                        log_prob_norm[start + i] = lpn
                    if want_resp:
                        for k in range(n_components):
                            resp[start + i, k] = <floating> log_prob[i * n_components + k]
        free(z)
        free(product)
        free(log_prob)
