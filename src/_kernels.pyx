# Compiled passes over the rows of X for Gaussian mixtures.
#
# Every pass runs through one block driver (_drive): the rows are cut into fixed blocks,
# each thread works on whole blocks with its own scratch buffers (allocated and checked in
# one place, _allocate), and sums are kept per group of consecutive blocks, added in block
# order into the group's slot; the slots are then added in group order. The blocks and
# groups depend on (N, D, K) only, so every result is bit-for-bit the same for any number
# of threads.
#
# The mixture's log-density, described by a Model (built once per EM step), is
#     log p(x_i, k) = log_norm_k - 1/2 ||(x_i - mu_k) P_k||^2
# where P_k is the Cholesky factor of the precision of component k (P P^T = Sigma^-1) and
# log_norm_k = log w_k + log det P_k - D/2 log(2 pi) plus any per-component constant the
# estimator adds. The purposes of a pass, one entry each:
#   - e_step: the E-step and the sufficient statistics of the M-step in one read of X,
#       s0[k]  = sum_i w_i r_ik
#       s1[k]  = sum_i w_i r_ik (x_i - o_k)
#       s2[k]  = sum_i w_i r_ik (x_i - o_k)(x_i - o_k)^T   (its diagonal for diag/spherical,
#                                                          summed over k for tied)
#       loglik = sum_i w_i log sum_k p(x_i, k)
#       and, when asked, sum_i w_i sum_k r_ik log r_ik,
#     accumulated in float64 around given points o_k (the current means; never raw
#     moments), over the (i, k) with r_ik > 2^-64 only: the others add less than 2^-64 of
#     their row's weight to any sum (see _block_statistics for what this means for a
#     component all of whose responsibilities are below it);
#   - moments_of_responsibilities, moments_of_nearest: the same sums for responsibilities
#     given, or one-hot on each row's most likely component of a model (its nearest
#     centre);
#   - evaluate: labels, responsibilities and per-sample log-likelihood, each only if asked;
#   - nearest_centre_pass, seeding_pass: the k-means steps (at the end of this file).

from cython cimport floating
from cython.parallel cimport parallel, prange
from libc.math cimport log, sqrt
from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memset

from _blas cimport Lower, NoTrans, Trans, gemm, syrk
from _helpers cimport *

import numpy as np


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
# Gram matrices of at most this many multiply-adds as general products (see _gram).
cdef Py_ssize_t SMALL_GRAM = 1000000
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
# Rows with missing features, without a pattern list (see TABLE_PATTERNS): each thread
# keeps the factor sets (see _pattern_factors) of the first patterns it meets with at most
# CACHE_MISSING missing features, up to CACHE_PATTERNS patterns and CACHE_BYTES, over the
# blocks of a pass; a set holds m^2 + m + 1 numbers per precision for m missing features
# (GMMFAST_FACTOR_SIZE), one after the other in the order the patterns come. The rows of a
# block take the part of a set they read PREFETCH_PATTERNS patterns ahead (see
# _missing_log_prob).
cdef Py_ssize_t CACHE_MISSING = 4
cdef Py_ssize_t CACHE_PATTERNS = 4096
cdef Py_ssize_t CACHE_BYTES = 8 * 1024 * 1024
# Rows in memory can come with the list of their patterns (pattern_list, made once for
# the rows of a fit, whose patterns do not change from one iteration to the next): each
# E-step or evaluation pass then makes the set of each listed pattern once, for all
# threads, before the blocks (up to TABLE_BYTES of sets). Where that covers every pattern
# of the rows (of at most CACHE_MISSING missing features) the threads keep no cache of
# their own; otherwise they keep, as without a list, the sets of the other patterns they
# meet.
cdef Py_ssize_t TABLE_PATTERNS = 65536
cdef Py_ssize_t TABLE_BYTES = 32 * 1024 * 1024
cdef Py_ssize_t PREFETCH_PATTERNS = 4
# Rows per block of the k-means passes (their products have few columns: larger blocks
# spread each BLAS call's fixed cost; measured 256 to 4096 rows).
cdef Py_ssize_t KMEANS_BLOCK_ROWS = 1024

# The listing of each component's rows that count (see _list_rows): the AVX2 one where
# the processor has it, chosen once at load time; both list the same rows.
gmmfast_fill_pack_table()
cdef bint HAS_AVX2 = gmmfast_has_avx2()
# The version of the vector loops over few features (see small_widths), asked once here,
# before any pass's threads ask it.
gmmfast_small_best_width()


def row_listing():
    """The listing of each component's rows that count used by default: "avx2" or
    "plain"."""
    return "avx2" if HAS_AVX2 else "plain"


def small_widths():
    """The vector widths (float64 lanes) of the versions of the loops over few features
    (and of the full log-densities' sums of squares by tiles) that this processor runs,
    the one taken by default first; empty where the compiler has no vector types. Every
    version gives the same bits."""
    return [w for w in (8, 4, 2) if gmmfast_small_runs(w)] if gmmfast_small_best_width() else []


def pin_small_width(int width):
    """For tests: the loops over few features (and the sums of squares by tiles) run the
    version of ``width`` lanes (one of small_widths()), or the default one with 0, until
    pinned again."""
    if width != 0 and not gmmfast_small_runs(width):
        raise ValueError("no version of %d lanes runs here; small_widths() lists those that "
                         "do" % width)
    gmmfast_small_pin(width)


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


def kmeans_layout(Py_ssize_t n_samples):
    """Rows per block, blocks and partial-sum groups of the k-means passes (sizes only)."""
    cdef Py_ssize_t n_blocks = max(1, (n_samples + KMEANS_BLOCK_ROWS - 1) // KMEANS_BLOCK_ROWS)
    return int(KMEANS_BLOCK_ROWS), int(n_blocks), int(min(MAX_GROUPS, n_blocks))


cdef inline Py_ssize_t _s2_size(Py_ssize_t n_features, Py_ssize_t n_components,
                                int covariance_code) noexcept nogil:
    if covariance_code == FULL:
        return n_components * n_features * n_features
    if covariance_code == TIED:
        return n_features * n_features
    return n_components * n_features


def _covariance_code(str covariance_type):
    if covariance_type not in COVARIANCE_CODES:
        raise ValueError("covariance_type must be one of %s, got %r"
                         % (sorted(COVARIANCE_CODES), covariance_type))
    return COVARIANCE_CODES[covariance_type]


# ---------------------------------------------------------------------------------------------
# The model the passes read.

cdef class Model:
    """A mixture's log-density as the passes read it, in the rows' dtype.

    log p(x, k) = log_norm_k - 1/2 ||(x - shift) P_k - centers_k||^2 for full and tied
    covariances (centers_k = (mu_k - shift) P_k), log_norm_k - 1/2 ||((x - shift) -
    centers_k) * p_k||^2 for diag and spherical (centers_k = mu_k - shift), with the
    component index innermost:

    - ``precision``: full D x (D*K), column j*K + k = P_k[:, j] (upper triangle read);
      tied D x D; diag D x K (p_k[j] at j*K + k); spherical K;
    - ``centers``: D x K;
    - ``log_norm``: K, float64, every per-component constant of log p(x, k);
    - ``quadratic``: diag (2D + 1) x K, spherical (D + 2) x K, float64: the same
      log-density as one product with [z^2, z, 1] (or [|z|^2, z, 1]); see
      _quadratic_log_prob. Empty for full and tied;
    - ``missing_terms``: float64, what the marginals of rows with missing features need
      (see _missing_log_prob); empty when not given. diag and spherical: D x K, a_jk =
      1/2 p_kj^2 c_jk^2 - log p_kj + 1/2 log(2 pi), what feature j adds to -log p(x, k)
      when it is read as x_j = shift_j, so that adding a_jk over the missing features of a
      row gives the log-density of its observed features. full and tied: (2D + 1) D x K
      (one column for tied), the component index innermost: the precision Lambda_k =
      P_k P_k^T (D x D), then P_k (D x D), then the logarithms of Lambda_k's diagonal;
      tied then adds P c_k (D x K, at a K + k), c_k its centres as ``centers`` holds them.

    Shapes and dtypes are checked here, once; the passes read the arrays without checks.
    """
    cdef readonly str covariance_type
    cdef readonly int code
    cdef readonly Py_ssize_t n_features, n_components
    cdef readonly object dtype, shift, precision, centers, log_norm, quadratic, missing_terms
    cdef readonly object quadratic_missing     # see __init__
    cdef readonly object centers64             # the centres in float64 (a copy for float32)
    cdef readonly object wide                  # float32 diag, spherical: float64 precisions

    def __init__(self, str covariance_type, shift, precision, centers, log_norm,
                 quadratic=None, missing_terms=None):
        self.code = _covariance_code(covariance_type)
        self.covariance_type = covariance_type
        shift = np.ascontiguousarray(shift)
        if shift.ndim != 1 or shift.dtype not in (np.float32, np.float64):
            raise TypeError("shift must be a float32 or float64 vector")
        self.dtype = shift.dtype
        self.shift = shift
        self.n_features = shift.shape[0]
        self.centers = _checked_array(centers, self.dtype, "centers")
        if self.centers.ndim != 2 or self.centers.shape[0] != self.n_features:
            raise ValueError("centers must be (n_features, n_components)")
        self.n_components = self.centers.shape[1]
        D, K = self.n_features, self.n_components
        size = {FULL: D * D * K, TIED: D * D, DIAG: D * K, SPHERICAL: K}[self.code]
        self.precision = _checked_array(precision, self.dtype, "precision").ravel()
        if self.precision.shape[0] != size:
            raise ValueError("precision must hold %d numbers for %s covariances of %d "
                             "features and %d components" % (size, covariance_type, D, K))
        # Exact float64 copies of a float32 model's numbers: the full and tied sums of
        # squares of blocks with missing entries take c_jk in float64 (see
        # _block_log_prob), the float64 loops of few features read float32 diag and
        # spherical models (see Job.wide).
        self.centers64 = np.ascontiguousarray(self.centers, dtype=np.float64)
        self.wide = None
        if self.dtype == np.float32 and (self.code == DIAG or self.code == SPHERICAL):
            self.wide = self.precision.astype(np.float64)
        self.log_norm = _checked_array(log_norm, np.float64, "log_norm")
        if self.log_norm.shape != (K,):
            raise ValueError("log_norm must be (n_components,)")
        width = {DIAG: 2 * D + 1, SPHERICAL: D + 2}.get(self.code, 0)
        if quadratic is None:
            quadratic = np.empty((width, K))
        self.quadratic = _checked_array(quadratic, np.float64, "quadratic")
        if self.quadratic.shape != (width, K):
            raise ValueError("quadratic must be (%d, n_components) for %s covariances"
                             % (width, covariance_type))
        if self.code == DIAG or self.code == SPHERICAL:
            terms_shape = (D, K)
        elif self.code == FULL:
            terms_shape = ((2 * D + 1) * D, K)
        else:
            terms_shape = ((2 * D + 1) * D + D * K, 1)
        if missing_terms is None:
            missing_terms = np.empty((0, terms_shape[1]))
        self.missing_terms = _checked_array(missing_terms, np.float64, "missing_terms")
        if self.missing_terms.shape[0] > 0:
            if self.missing_terms.size != terms_shape[0] * terms_shape[1]:
                raise ValueError("missing_terms must hold %d x %d numbers for %s covariances"
                                 % (terms_shape + (covariance_type,)))
            self.missing_terms = self.missing_terms.reshape(terms_shape)
        else:
            self.missing_terms = self.missing_terms.reshape(0, terms_shape[1])
        # Diagonal and spherical models with missing_terms: [quadratic; missing_terms; 0]
        # ((width + D8) x K, D8 the features rounded up to 8), the product's matrix with
        # the terms a_jk below it, so that a block with missing entries takes the
        # log-densities of its rows' observed features in the same product, over
        # [z^2, z, 1, absent] (see _quadratic_log_prob); its first rows are ``quadratic``.
        self.quadratic_missing = None
        if (self.code == DIAG or self.code == SPHERICAL) and self.missing_terms.shape[0] > 0:
            extended = np.zeros((width + gmmfast_small_stride(D), K))
            extended[:width] = self.quadratic
            extended[width:width + D] = self.missing_terms
            self.quadratic_missing = extended



def _checked_array(values, dtype, name):
    values = np.asarray(values)
    if values.dtype != dtype:
        raise TypeError("%s must be %s, like the rows, got %s"
                        % (name, np.dtype(dtype), values.dtype))
    return np.ascontiguousarray(values)


# What a block needs of a Model, as raw pointers (data in the rows' dtype where void).
cdef struct Density:
    int code
    const void *precision
    const void *centers                 # D x K
    const double *centers64             # the same in float64 (see Model.centers64)
    const double *log_norm              # K
    const double *quadratic             # width x K (Model.quadratic), or (width + D8) x K
                                        # (Model.quadratic_missing) when absent_rows
    int quadratic_rows                  # width
    int absent_rows                     # D8 with Model.quadratic_missing, else 0
    const double *missing_terms         # see Model, or NULL


cdef _widen(Job *job, Model model, offsets):
    """Few features, float32 rows, a diag or spherical model: the job reads the rows as
    float64 columns (Job.wide). Returns the float64 offsets it points to (kept alive by the
    caller), or None."""
    if not job.small or model.wide is None:
        return None
    cdef const double[::1] precision = model.wide
    cdef const double[:, ::1] centers = model.centers64
    cdef const double[:, ::1] view
    job.wide = True
    job.wide_precision = &precision[0]
    job.wide_centers = &centers[0, 0]
    if offsets is None:
        return None
    wide_offsets = np.ascontiguousarray(offsets, dtype=np.float64)
    view = wide_offsets
    job.wide_offsets = &view[0, 0]
    return wide_offsets


cdef Density _density(Model model, floating kind):
    """The model's arrays for a pass over rows of ``kind``'s type (checked here)."""
    cdef Density d
    cdef const floating[::1] precision = model.precision
    cdef const floating[:, ::1] centers = model.centers
    cdef const double[:, ::1] centers64 = model.centers64
    cdef const double[::1] log_norm = model.log_norm
    cdef const double[:, ::1] quadratic = model.quadratic
    cdef const double[:, ::1] missing_terms = model.missing_terms
    d.code = model.code
    d.precision = &precision[0]
    d.centers = &centers[0, 0]
    d.centers64 = &centers64[0, 0]
    d.log_norm = &log_norm[0]
    cdef const double[:, ::1] quadratic_missing
    d.quadratic = &quadratic[0, 0] if quadratic.shape[0] > 0 else NULL
    d.quadratic_rows = <int> quadratic.shape[0]
    d.absent_rows = 0
    if model.quadratic_missing is not None:
        quadratic_missing = model.quadratic_missing
        d.quadratic = &quadratic_missing[0, 0]
        d.absent_rows = <int> (quadratic_missing.shape[0] - quadratic.shape[0])
    d.missing_terms = &missing_terms[0, 0] if missing_terms.shape[0] > 0 else NULL
    return d


# ---------------------------------------------------------------------------------------------
# Products with the precision factors.

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
        gemm(NoTrans, NoTrans, <int> rows, <int> ((j1 - j0) * per_feature),
             <int> j1, <floating> 1.0, z, <int> n_features, &precision[j0 * per_feature],
             width, <floating> 0.0, &product[j0 * per_feature], width)
        j0 = j1


# ---------------------------------------------------------------------------------------------
# Log-densities of a block.

cdef void _block_log_prob(
        const floating *z,                   # IN  rows x D, X - shift
        Py_ssize_t rows, Py_ssize_t n_features, Py_ssize_t n_components,
        const Density *m,                    # IN  the model (see Model)
        bint by_component,                   # IN  log_prob K x rows instead
        floating *product,                   # TMP rows x (D*K) for full, rows x D for tied
        double *squares,                     # TMP rows x ld (see _squares_stride)
        Py_ssize_t ld,
        bint marginals,                      # IN  a block with missing features: diag,
                                             #     spherical: the product takes the
                                             #     marginals of its rows (see
                                             #     _quadratic_log_prob); float32 full, tied:
                                             #     the sums of squares in float64
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
    cdef int code = m.code
    cdef const floating *precision = <const floating *> m.precision
    cdef const floating *centers = <const floating *> m.centers
    cdef const double *log_norm = m.log_norm
    if (code == DIAG or code == SPHERICAL) and n_features > TINY_FEATURES:
        _quadratic_log_prob(z, rows, n_features, n_components, code, m, by_component,
                            squares, ld, marginals, log_prob)
        return
    if code == FULL or code == TIED:
        # Z P for all components at once: Z @ [P_1 | ... | P_K], columns interleaved by k.
        width = n_features * n_components if code == FULL else n_features
        if n_features > TINY_FEATURES:
            _triangular_product(z, rows, n_features, width // n_features, precision,
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
        # Full: the same numbers by vectors of components (see gmmfast_sum_squares_tiles_d
        # and gmmfast_sum_squares_tiles32_f).
        if floating is float and marginals:
            # Rows with missing features: their marginals take away most of this sum
            # (see _missing_log_prob), so it is taken in float64, as exact as the product.
            if code == FULL:
                gmmfast_sum_squares_tiles_f(product, m.centers64, rows, n_features,
                                            n_components, by_component, log_norm, log_prob)
            else:
                gmmfast_sum_squares_w(product, m.centers64, rows, n_features, n_components,
                                      False, by_component, log_norm, log_prob)
        elif floating is float and code == FULL:
            gmmfast_sum_squares_tiles32_f(product, centers, rows, n_features, n_components,
                                          by_component, log_norm, log_prob)
        elif floating is float:
            gmmfast_sum_squares_f(product, centers, rows, n_features, n_components, False,
                                  by_component, log_norm, log_prob)
        elif code == FULL:
            gmmfast_sum_squares_tiles_d(product, centers, rows, n_features, n_components,
                                        by_component, log_norm, log_prob)
        else:
            gmmfast_sum_squares_d(product, centers, rows, n_features, n_components, False,
                                  by_component, log_norm, log_prob)
        return
    if by_component:
        # A few features, diag or spherical: the same sums over j in the same order.
        for k in range(n_components):
            acc = &log_prob[k * rows]
            for i in range(rows):
                acc[i] = 0.0
            for j in range(n_features):
                c_kj = centers[j * n_components + k]
                p_kj = precision[j * n_components + k] if code == DIAG else 1.0
                for i in range(rows):
                    diff = (z[i * n_features + j] - c_kj) * p_kj
                    acc[i] += diff * diff
            p_kj = 1.0 if code == DIAG else precision[k]
            for i in range(rows):
                acc[i] = log_norm[k] - 0.5 * acc[i] * p_kj * p_kj
        return
    for i in range(rows):
        acc = &log_prob[i * n_components]
        for k in range(n_components):
            acc[k] = 0.0
        for j in range(n_features):
            c = &centers[j * n_components]
            if code == DIAG:
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
        if code == SPHERICAL:
            for k in range(n_components):
                acc[k] = log_norm[k] - 0.5 * acc[k] * precision[k] * precision[k]
        else:
            for k in range(n_components):
                acc[k] = log_norm[k] - 0.5 * acc[k]


cdef void _quadratic_log_prob(
        const floating *z, Py_ssize_t rows, Py_ssize_t n_features, Py_ssize_t n_components,
        int code, const Density *m, bint by_component, double *squares, Py_ssize_t ld,
        bint marginals, double *log_prob) noexcept nogil:
    """Diagonal and spherical log-densities as one float64 matrix product.

    diag:      sum_j p_kj^2 (z_j - c_kj)^2 = [z^2, z] @ [p^2 ; -2 p^2 c] + sum_j p_kj^2 c_kj^2
    spherical: p_k^2 ||z - c_k||^2         = [|z|^2, z] @ [p^2 ; -2 p^2 c] + p_k^2 ||c_k||^2
    so that log p(x, k) = [z^2, z, 1] @ Q (or [|z|^2, z, 1] @ Q) with Q the matrix above
    times -1/2 and a last row log_norm_k - 1/2 (the constant); see quadratic_form.
    z is centred on the mixture's mean, so the expansion loses only digits of order
    eps (distance between components / their spread)^2, in float64.

    With ``marginals`` (a block with missing entries, read as z_j = 0; see
    _product_marginals), each row of squares goes on with the indicator of its missing
    features (1 where x_ij is missing, written there by gmmfast_mark_missing; zeros to D8)
    and Q with the terms a_jk (Model.quadratic_missing): the product adds a_jk over each
    row's missing features, which turns log p(x, k) into the log-density of its observed
    features.
    squares: rows x ld, ld at least the product's width.
    """
    cdef int width = m.quadratic_rows, n = <int> n_components
    if marginals:
        width += m.absent_rows
    if floating is double:
        gmmfast_squares_d(z, rows, n_features, code == SPHERICAL, squares, ld)
    else:
        gmmfast_squares_f(z, rows, n_features, code == SPHERICAL, squares, ld)
    # log_prob (rows x K) = squares (rows x width) @ Q (width x K); by component, its
    # transpose Q^T squares^T (K x rows).
    if by_component:
        gemm(Trans, Trans, n, <int> rows, width, 1.0, m.quadratic, n, squares,
             <int> ld, 0.0, log_prob, <int> rows)
    else:
        gemm(NoTrans, NoTrans, <int> rows, n, width, 1.0, squares, <int> ld,
             m.quadratic, n, 0.0, log_prob, n)


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


# ---------------------------------------------------------------------------------------------
# The sums of a block.

cdef inline void _list_rows(bint avx2, const double *a, Py_ssize_t i_stride,
                            Py_ssize_t k_stride, const double *cutoff, Py_ssize_t rows,
                            Py_ssize_t n_components, int *bucket, int *start) noexcept nogil:
    """Each component's rows i with a_ik above the row's cutoff, a_ik at a[i * i_stride +
    k * k_stride], into packed buckets (see gmmfast_list_rows_plain); with ``avx2`` (and
    i_stride 1) by the AVX2 listing, which lists the same rows."""
    if avx2 and i_stride == 1:
        gmmfast_list_rows_avx2(a, cutoff, rows, n_components, bucket, start)
    else:
        gmmfast_list_rows_plain(a, i_stride, k_stride, cutoff, rows, n_components, bucket,
                                start)


cdef inline void _diag_moments(const floating *z, const floating *offsets,
                               Py_ssize_t n_features, Py_ssize_t n_components,
                               const int *bucket, const double *bucket_value,
                               const int *bucket_start, double *s0, double *s1,
                               double *s2) noexcept nogil:
    """s0, s1 and the diagonal of s2 from the pairs in buckets (see gmmfast_diag_moments)."""
    if floating is double:
        gmmfast_diag_moments_d(z, offsets, n_features, n_components, bucket, bucket_value,
                               bucket_start, s0, s1, s2)
    else:
        gmmfast_diag_moments_f(z, offsets, n_features, n_components, bucket, bucket_value,
                               bucket_start, s0, s1, s2)


cdef inline void _gram(int m, int d, const floating *a, floating *c,
                       bint accumulate) noexcept nogil:
    """Lower triangle (row-major) of C (d x d) = A^T A, or C += A^T A, for A (m x d); the
    upper triangle is scratch.

    Up to SMALL_GRAM multiply-adds (d * d * m) both triangles as a general product, twice
    the multiplications of one triangle and still faster: a BLAS packs the operands of a
    triangular product at every call, and runs a small general product without (OpenBLAS's
    small-matrix kernels; measured, 300,000 x 16, K=16, full, one thread: the pass 27 -> 22
    ms in float32, 36 -> 32 ms in float64; the triangle alone is faster from 64 x 64 x 256,
    tied with 64 features)."""
    cdef floating beta = 1.0 if accumulate else 0.0
    if <Py_ssize_t> d * d * m <= SMALL_GRAM:
        gemm(Trans, NoTrans, d, d, m, <floating> 1.0, a, d, a, d, beta, c, d)
    else:
        syrk(Lower, Trans, d, m, <floating> 1.0, a, d, beta, c, d)


cdef void _bucket_moments(
        const floating *z,                   # IN  rows x D, X - shift
        Py_ssize_t rows, Py_ssize_t n_features, Py_ssize_t n_components,
        int code,                            # IN  covariance type of the sums
        const floating *offsets,             # IN  K x D, o_k = mu_k - shift
        const int *bucket,                   # IN  each component's rows (see _list_rows)
        const double *bucket_value,          # IN  their v_ik = w_i r_ik
        const int *bucket_start,             # IN  K + 1
        floating *scaled,                    # TMP rows x D
        floating *small,                     # TMP D x D
        double *tied_rows,                   # TMP rows x D (rows x K x D with holes)
        double *diag_scratch,                # TMP K x D
        double *row_mass,                    # TMP rows
        const int *miss_start,               # IN  the rows' missing features and their
        const int *miss_index,               #     conditional means (see _mark_missing,
        const double *eps,                   #     _missing_log_prob) where the rows are
                                             #     completed (_completed_rows), or NULL
        double *s0, double *s1, double *s2) noexcept nogil:   # INOUT group sums
    # With v_ik = w_i r_ik and z_i = x_i - shift, over the listed (i, k) of each component
    # in order of i:
    #   s0_k += sum_i v_ik
    #   s1_k += sum_i v_ik (z_i - o_k)
    #   s2_k += sum_i v_ik (z_i - o_k)(z_i - o_k)^T               (around o_k, not raw moments)
    # For diag and spherical the diagonal of s2_k only, summed with s0_k and s1_k; for full,
    # s2_k is the Gram matrix of the rows sqrt(v_ik) (z_i - o_k); for tied, one Gram matrix
    # sum_i u_i z_i z_i^T with u_i = sum_k v_ik, which the reduction turns into sums around
    # o_k (see _tied_around_means). With missing features (miss_start): the Gram
    # matrices' rows completed with the conditional means (full: gmmfast_completed_rows;
    # tied: a row per listed (i, k), v_ik x~_ik x~_ik^T); the rest of the corrections in
    # _missing_moments.
    cdef Py_ssize_t i, k, a, b, q, n_used, first, m
    cdef double v, diff, root
    cdef double *out
    cdef double *s2k
    cdef const floating *o
    if code == DIAG or code == SPHERICAL:
        _diag_moments(z, offsets, n_features, n_components, bucket, bucket_value,
                      bucket_start, s0, s1, s2)
        return
    # s0 and s1 in the same loop as a diagonal of s2 that is not needed (diag_scratch,
    # never read; measured: letting that loop skip s2 slows the diag and spherical pass).
    _diag_moments(z, offsets, n_features, n_components, bucket, bucket_value, bucket_start,
                  s0, s1, diag_scratch)

    if code == TIED:
        for i in range(rows):
            row_mass[i] = 0.0
        for q in range(bucket_start[n_components]):
            row_mass[bucket[q]] += bucket_value[q]
        n_used = 0
        for i in range(rows):
            if miss_start != NULL and miss_start[i + 1] > miss_start[i]:
                continue  # a row per listed (i, k) below
            root = sqrt(row_mass[i])
            out = &tied_rows[n_used * n_features]
            for a in range(n_features):
                out[a] = root * z[i * n_features + a]
            n_used += 1
        if miss_start != NULL:
            # Rows with missing features: sqrt(v_ik) x~_ik, the row completed with the
            # conditional means of component k, e_ik at eps[(miss_start[i] + a) K + k].
            for k in range(n_components):
                for q in range(bucket_start[k], bucket_start[k + 1]):
                    i = bucket[q]
                    first = miss_start[i]
                    m = miss_start[i + 1] - first
                    if m == 0:
                        continue
                    root = sqrt(bucket_value[q])
                    out = &tied_rows[n_used * n_features]
                    for a in range(n_features):
                        out[a] = root * z[i * n_features + a]
                    for a in range(m):
                        out[miss_index[first + a]] = root * eps[(first + a) * n_components
                                                                + k]
                    n_used += 1
        _gram(<int> n_used, <int> n_features, tied_rows, s2, True)
        return

    if n_features <= TINY_FEATURES:
        # A few features: v (z - o)(z - o)^T term by term, the lower triangle.
        for k in range(n_components):
            o = &offsets[k * n_features]
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
        o = &offsets[k * n_features]
        n_used = bucket_start[k + 1] - bucket_start[k]
        if n_used == 0:
            continue
        if floating is double and miss_start != NULL:
            gmmfast_completed_rows_d(z, o, n_features, n_components, bucket, bucket_value,
                                     bucket_start[k], bucket_start[k + 1], miss_start,
                                     miss_index, eps + k, scaled)
        elif floating is double:
            gmmfast_scaled_rows_d(z, o, n_features, bucket, bucket_value, bucket_start[k],
                                  bucket_start[k + 1], scaled)
        elif miss_start != NULL:
            gmmfast_completed_rows_f(z, o, n_features, n_components, bucket, bucket_value,
                                     bucket_start[k], bucket_start[k + 1], miss_start,
                                     miss_index, eps + k, scaled)
        else:
            gmmfast_scaled_rows_f(z, o, n_features, bucket, bucket_value, bucket_start[k],
                                  bucket_start[k + 1], scaled)
        if floating is double:
            _gram(<int> n_used, <int> n_features, scaled, s2k, True)
        else:
            # float32 rows: their Gram matrix in float32, added to the float64 sums.
            _gram(<int> n_used, <int> n_features, scaled, small, False)
            for a in range(n_features):
                for b in range(a + 1):
                    s2k[a * n_features + b] += small[a * n_features + b]


# ---------------------------------------------------------------------------------------------
# The block driver: one pass of any purpose over the blocks of rows.

cdef enum Purpose:
    E_STEP = 0        # log-densities, listed responsibilities, sums and log-likelihood
    GIVEN = 1         # sums of given responsibilities
    NEAREST = 2       # sums of one-hot responsibilities on each row's most likely component
    EVALUATE = 3      # per-row labels, responsibilities, log p(x)
    LLOYD = 4         # k-means: the sums of each row's nearest centre
    SEEDING = 5       # k-means++: candidates' potentials


cdef struct Job:
    int purpose
    Py_ssize_t n_samples, n_features, n_components, rows, n_blocks, n_groups
    int by_group                        # prange over groups (sums) or over blocks
    const char *x                       # the rows: x[i, j] at x + i * row_stride + j *
    Py_ssize_t row_stride, column_stride  # column_stride (bytes, any sign)
    const void *shift                   # D: z = x - shift (rows' dtype)
    const double *weight                # N sample weights, or NULL for ones
    int avx2                            # the AVX2 listing
    int small                           # few features: blocks held column by column
                                        # (gmmfast/small.h) where they have no NaN
    # Few features, float32 rows, diag or spherical: the columns held in float64 and read
    # by the float64 loops, with the model's arrays and the offsets in float64 (see
    # gmmfast_small_wide_columns); the same numbers as the float32 loops give.
    int wide
    const double *wide_precision
    const double *wide_centers
    const double *wide_offsets
    # Rows with NaN (missing features): with ``marginal`` (E_STEP, EVALUATE) each row's
    # missing features are marginalised out (see _mark_missing); otherwise, with ``fill``
    # (D, x coordinates, rows' dtype), a NaN in feature j is read as fill_j. Neither: the
    # rows are known to hold no NaN and are not looked at for one.
    int marginal
    const void *fill
    # E_STEP, EVALUATE with a pattern list (see TABLE_PATTERNS): the keys of the listed
    # patterns whose sets fit in TABLE_BYTES (m, then the m missing features; CACHE_MISSING
    # + 1 ints each), their hash slots (table_mask + 1 of them, -1 where empty) and each
    # one's factor set, with its inverse, at table_pool + table_offset[p]; NULL slots: no
    # list.
    # table_complete: every pattern of at most CACHE_MISSING missing features of the rows
    # has its set there (the threads then keep no cache of their own).
    const int *table_keys
    const int *table_slots
    Py_ssize_t table_mask
    const double *table_pool
    const int64_t *table_offset
    int table_complete
    # EVALUATE of rows not looked at for NaN or infinity: a block with one sets *found
    # and is skipped (the caller then looks at the rows and evaluates them again).
    int *found
    # The log-density (E_STEP, NEAREST, EVALUATE) and the sums (E_STEP, GIVEN, NEAREST).
    Density density
    int sums_code                       # covariance type of the sums
    const void *offsets                 # K x D, o_k = mu_k - shift (rows' dtype)
    Py_ssize_t s1_size, s2_size
    double *part_s0                     # n_groups x K
    double *part_s1                     # n_groups x s1_size
    double *part_s2                     # n_groups x s2_size
    double *part_total                  # n_groups: log-likelihood or inertia
    double *part_entropy                # n_groups, or NULL: not asked
    const double *resp                  # GIVEN: N x K
    # EVALUATE: each output, or NULL
    Py_ssize_t *labels
    void *resp_out                      # N x K (rows' dtype)
    double *log_prob_out
    void *filled_out                    # N x D (rows' dtype): each missing entry's
                                        # conditional mean written in, or NULL
    # LLOYD, SEEDING: centres (K x D, float64, around the shift) and their squared norms
    const double *centres
    const double *centre_norms
    double *distance                    # LLOYD: N nearest squared distances, or NULL
    int with_inertia
    void *closest                       # SEEDING: N (rows' dtype)
    double *block_mass                  # SEEDING: T x n_blocks
    void *minima                        # SEEDING: T x N (rows' dtype), or NULL
    Py_ssize_t seed


# One thread's scratch buffers (those its purpose needs; the others NULL).
cdef struct Scratch:
    bint ok                             # every buffer asked for was allocated
    void *z                             # rows x D (rows' dtype)
    void *product                       # rows x width
    void *scaled                        # rows x D
    void *small                         # D x D
    double *tied_rows                   # rows x D (rows x K x D where _completed_rows)
    double *diag_scratch                # K x D
    double *squares                     # rows x _squares_stride(job)
    double *row_total                   # rows
    double *log_prob                    # rows x K
    double *row_work                    # 4 x rows
    void *zt                            # D x stride (rows' dtype; stride: rows rounded
                                        # up to 8): the block by columns
    void *yt                            # D x stride: tied, z P by columns
    double *dense                       # K x rows: every v_ik = w_i r_ik of a block
    int *bucket                         # rows x K
    int *bucket_start                   # K + 1
    double *bucket_value                # rows x K
    double *zd                          # rows x D (k-means, float64)
    double *dist                        # rows x K (k-means)
    double *nearest                     # rows
    int64_t *nearest_label              # rows
    # Rows with missing features (marginal): see _mark_missing.
    int *miss_start                     # rows + 1
    int *miss_index                     # rows x D + 4 (see gmmfast_mark_missing)
    double *absent                      # rows x gmmfast_small_stride(D): 1 where x_ij
                                        # is missing, 0 elsewhere (diag, spherical sums;
                                        # see gmmfast_missing_diag_sums). The product's
                                        # copy in s.squares (_indicator) has rows three
                                        # times as far apart, which the sums, reading it
                                        # once per component, measured 3.7x slower on.
    int *pattern_of                     # rows
    int *pattern_first                  # rows
    int *pattern_next                   # rows
    int *pattern_table                  # PATTERN_SLOTS(rows): hash slots of the patterns
    double *eps                         # the block's missing entries x K (full, tied;
                                        # see _missing_log_prob)
    double *pattern_weight              # rows x K
    double *lam                         # 3 x D x D
    double *factors                     # K x (D^2 + D + 1) (one for tied): a pattern's
                                        # factor set (see _factor_set)
    const double **pattern_set          # rows: each pattern's kept factor set (the
                                        # pass's list or the thread's cache), or NULL
                                        # (made again in s.factors where read; see
                                        # _missing_log_prob)
    double *inverse_work                # CACHE_MISSING^2 x K (one for tied): L^-1 of a
                                        # factor set's inverse
    double *cond_cov                    # D x D x K, full: the group's conditional
                                        # covariance terms (see _missing_moments), entry
                                        # (a, b) of k at (a D + b) K + k, zero where unused
    bint cond_cov_used                  # whether cond_cov holds any since its last add
    # The thread's cache of factor sets, kept over the blocks of a pass (full, tied).
    double *cache_pool                  # cache_size numbers: the sets one after the other
    int *cache_keys                     # capacity x (CACHE_MISSING + 2): each set's m,
                                        # where it starts in the pool, its features
    int *cache_slots                    # 2 x capacity, rounded up to a power of two
    Py_ssize_t cache_capacity           # sets at most
    Py_ssize_t cache_size               # numbers in the pool
    Py_ssize_t cache_count              # sets kept
    Py_ssize_t cache_used               # numbers of the pool they take
    double *lanes                       # (2 D + 1) x K, at least 3 D and D rounded up
                                        # to 8


cdef inline bint _product_marginals(const Job *job) noexcept nogil:
    """Whether the log-density product takes the marginals of rows with missing features:
    a diagonal or spherical model with their terms (Density.absent_rows), rows read with
    their missing features marginalised, more than TINY_FEATURES features (fewer take no
    product; gmmfast_missing_terms adds the terms instead)."""
    return (job.marginal and job.density.absent_rows > 0
            and job.n_features > TINY_FEATURES)


cdef inline bint _completed_rows(const Job *job) noexcept nogil:
    """Whether the second moments of rows with missing features come from their rows
    completed with the conditional means (see _bucket_moments), with the marginals: full
    covariances taken as Gram matrices (more than TINY_FEATURES features), and tied."""
    return job.marginal and (
        (job.sums_code == FULL and job.density.code == FULL
         and job.n_features > TINY_FEATURES)
        or (job.sums_code == TIED and job.density.code == TIED))


cdef inline Py_ssize_t _squares_stride(const Job *job) noexcept nogil:
    """The row stride of s.squares: the rows [z^2, z, 1] (or [|z|^2, z, 1]) of the diagonal
    and spherical product, then, where the product takes the marginals, the indicator of
    the missing features, padded with zeros to a multiple of 8 (see _quadratic_log_prob);
    2D + 1 without a product."""
    if _product_marginals(job):
        return job.density.quadratic_rows + job.density.absent_rows
    if job.density.quadratic_rows > 0:
        return job.density.quadratic_rows
    return 2 * job.n_features + 1


cdef inline double *_indicator(const Job *job, Scratch *s) noexcept nogil:
    """Where gmmfast_mark_missing writes the block's indicator of missing entries for the
    product (rows x _squares_stride(job), in s.squares after the product's own columns),
    or NULL."""
    if _product_marginals(job):
        return s.squares + job.density.quadratic_rows
    return NULL


cdef inline void *_take(size_t count, size_t size, bint zeroed, bint *ok) noexcept nogil:
    """count items of size bytes (at least one item), from a cache line on (see
    gmmfast_aligned_malloc; released by _release); ok becomes false if not allocated, or
    if count * size does not fit in a size_t."""
    cdef void *p = NULL
    cdef size_t n = max(count, 1)
    if n <= (<size_t> -1) // size:
        p = gmmfast_aligned_malloc(n * size)
    if p == NULL:
        ok[0] = False
    elif zeroed:
        memset(p, 0, n * size)
    return p


cdef Scratch _allocate(const Job *job, size_t item) noexcept nogil:
    """The scratch buffers of one thread for job's purpose; ``ok`` false if any failed
    (then the thread skips its share and the pass raises MemoryError after the region)."""
    cdef Scratch scratch
    cdef Scratch *s = &scratch
    cdef bint ok = True
    cdef size_t rows = job.rows, D = job.n_features, K = job.n_components
    cdef size_t width = D * K if job.density.code == FULL else D
    cdef size_t n_factors
    cdef Py_ssize_t slot
    memset(s, 0, sizeof(Scratch))
    s.z = _take(rows * D, item, False, &ok)
    if job.purpose == LLOYD or job.purpose == SEEDING:
        s.zd = <double *> _take(rows * D, sizeof(double), False, &ok)
        s.dist = <double *> _take(rows * K, sizeof(double), False, &ok)
        s.nearest = <double *> _take(rows, sizeof(double), False, &ok)
        if job.purpose == LLOYD:
            s.nearest_label = <int64_t *> _take(rows, sizeof(int64_t), False, &ok)
        s.ok = ok
        return scratch
    if job.small:
        # Blocks held column by column are padded to whole chunks of rows.
        rows = gmmfast_small_stride(rows)
        s.zt = _take(rows * D, sizeof(double) if job.wide else item, False, &ok)
        s.yt = _take(rows * D, item, False, &ok)
        s.dense = <double *> _take(rows * K, sizeof(double), False, &ok)
    s.product = _take(rows * width, item, False, &ok)
    # Zeroed: the padding of the indicator of missing entries is never written.
    s.squares = <double *> _take(rows * _squares_stride(job), sizeof(double), job.marginal,
                                 &ok)
    s.row_total = <double *> _take(rows, sizeof(double), False, &ok)
    s.log_prob = <double *> _take(rows * K, sizeof(double), False, &ok)
    s.row_work = <double *> _take(4 * rows, sizeof(double), False, &ok)
    s.bucket = <int *> _take(rows * K, sizeof(int), False, &ok)
    s.bucket_start = <int *> _take(K + 1, sizeof(int), False, &ok)
    s.bucket_value = <double *> _take(rows * K, sizeof(double), False, &ok)
    if job.marginal:
        s.miss_start = <int *> _take(rows + 1, sizeof(int), False, &ok)
        s.miss_index = <int *> _take(rows * D + 4, sizeof(int), False, &ok)
        if job.purpose != EVALUATE and (job.density.code == DIAG
                                        or job.density.code == SPHERICAL):
            # Zeroed: the padding past D is never written.
            s.absent = <double *> _take(rows * gmmfast_small_stride(D), sizeof(double),
                                        True, &ok)
        s.pattern_of = <int *> _take(rows, sizeof(int), False, &ok)
        s.pattern_first = <int *> _take(rows, sizeof(int), False, &ok)
        s.pattern_next = <int *> _take(rows, sizeof(int), False, &ok)
        s.pattern_table = <int *> _take(_pattern_slots(rows), sizeof(int), False, &ok)
        s.pattern_weight = <double *> _take(rows * K, sizeof(double), False, &ok)
        s.lam = <double *> _take(3 * D * D, sizeof(double), False, &ok)
        s.lanes = <double *> _take(max((2 * D + 1) * K, 3 * D, gmmfast_small_stride(D)),
                                   sizeof(double), False, &ok)
        if job.density.code == FULL or job.density.code == TIED:
            s.eps = <double *> _take(rows * K * D, sizeof(double), False, &ok)
            n_factors = K if job.density.code == FULL else 1
            s.factors = <double *> _take(n_factors * GMMFAST_FACTOR_SIZE(D), sizeof(double),
                                         False, &ok)
            s.inverse_work = <double *> _take(n_factors * CACHE_MISSING * CACHE_MISSING,
                                              sizeof(double), False, &ok)
            s.pattern_set = <const double **> _take(rows, sizeof(double *), False, &ok)
            if job.density.code == FULL and job.purpose != EVALUATE:
                s.cond_cov = <double *> _take(D * D * K, sizeof(double), True, &ok)
            if not job.table_complete:
                s.cache_capacity = CACHE_PATTERNS
                s.cache_size = min(CACHE_BYTES // sizeof(double), CACHE_PATTERNS * n_factors
                                   * GMMFAST_FACTOR_SIZE(CACHE_MISSING))
                s.cache_pool = <double *> _take(s.cache_size, sizeof(double), False, &ok)
                s.cache_keys = <int *> _take(s.cache_capacity * (CACHE_MISSING + 2),
                                             sizeof(int), False, &ok)
                s.cache_slots = <int *> _take(_pattern_slots(s.cache_capacity), sizeof(int),
                                              False, &ok)
                if s.cache_slots != NULL:
                    for slot in range(_pattern_slots(s.cache_capacity)):
                        s.cache_slots[slot] = -1
    if job.purpose != EVALUATE:
        s.scaled = _take(rows * D, item, False, &ok)
        s.small = _take(D * D, item, False, &ok)
        # (Tied with holes: a row for each listed (i, k) of the rows with missing
        # features, see _bucket_moments.)
        s.tied_rows = <double *> _take(rows * D * (K if _completed_rows(job) else 1),
                                       sizeof(double), False, &ok)
        s.diag_scratch = <double *> _take(K * D, sizeof(double), True, &ok)
    s.ok = ok
    return scratch


cdef void _release(Scratch *s) noexcept nogil:
    gmmfast_aligned_free(s.z)
    gmmfast_aligned_free(s.product)
    gmmfast_aligned_free(s.scaled)
    gmmfast_aligned_free(s.small)
    gmmfast_aligned_free(s.tied_rows)
    gmmfast_aligned_free(s.diag_scratch)
    gmmfast_aligned_free(s.squares)
    gmmfast_aligned_free(s.row_total)
    gmmfast_aligned_free(s.log_prob)
    gmmfast_aligned_free(s.row_work)
    gmmfast_aligned_free(s.zt)
    gmmfast_aligned_free(s.yt)
    gmmfast_aligned_free(s.dense)
    gmmfast_aligned_free(s.bucket)
    gmmfast_aligned_free(s.bucket_start)
    gmmfast_aligned_free(s.bucket_value)
    gmmfast_aligned_free(s.zd)
    gmmfast_aligned_free(s.dist)
    gmmfast_aligned_free(s.nearest)
    gmmfast_aligned_free(s.nearest_label)
    gmmfast_aligned_free(s.miss_start)
    gmmfast_aligned_free(s.miss_index)
    gmmfast_aligned_free(s.absent)
    gmmfast_aligned_free(s.pattern_of)
    gmmfast_aligned_free(s.pattern_first)
    gmmfast_aligned_free(s.pattern_next)
    gmmfast_aligned_free(s.pattern_table)
    gmmfast_aligned_free(s.eps)
    gmmfast_aligned_free(s.pattern_weight)
    gmmfast_aligned_free(s.lam)
    gmmfast_aligned_free(s.factors)
    gmmfast_aligned_free(s.inverse_work)
    gmmfast_aligned_free(s.cond_cov)
    gmmfast_aligned_free(s.pattern_set)
    gmmfast_aligned_free(s.cache_pool)
    gmmfast_aligned_free(s.cache_keys)
    gmmfast_aligned_free(s.cache_slots)
    gmmfast_aligned_free(s.lanes)


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


cdef int _drive(const Job *job, int n_threads, floating kind) except -1:
    """Runs job over every block: with by_group, each group's blocks in order on one
    thread (its sums into its own slot); otherwise block by block. ``kind`` only selects
    the rows' dtype."""
    cdef Scratch s
    cdef Py_ssize_t g, blk, b
    failed_arr = np.zeros(1, dtype=np.intc)
    cdef int[::1] failed = failed_arr
    n_threads = _resolve_threads(n_threads, job.n_groups if job.by_group else job.n_blocks)
    with nogil, parallel(num_threads=n_threads):
        s = _allocate(job, sizeof(floating))
        if not s.ok:
            failed[0] = 1
        if job.by_group:
            for g in prange(job.n_groups, schedule='dynamic'):
                if s.ok:
                    for blk in range(g * job.n_blocks // job.n_groups,
                                     (g + 1) * job.n_blocks // job.n_groups):
                        _block(job, &s, g, blk, <floating *> s.z)
                    _end_group(job, &s, g)
        else:
            for b in prange(job.n_blocks, schedule='static'):
                if s.ok:
                    _block(job, &s, 0, b, <floating *> s.z)
                    _end_group(job, &s, 0)
        _release(&s)
    if failed[0]:
        raise _allocation_error()
    return 0


cdef void _end_group(const Job *job, Scratch *s, Py_ssize_t g) noexcept nogil:
    """What the thread keeps over a group's blocks, added to the group's sums: the
    conditional covariance terms of full covariances (s.cond_cov, lower triangles), which
    it leaves zero."""
    cdef Py_ssize_t k, a, b, D = job.n_features, K = job.n_components
    cdef double *s2k
    cdef double *c
    if not s.cond_cov_used:
        return
    for a in range(D):
        for b in range(a + 1):
            c = &s.cond_cov[(a * D + b) * K]
            for k in range(K):
                s2k = job.part_s2 + g * job.s2_size + k * D * D
                s2k[a * D + b] += c[k]
                c[k] = 0.0
    s.cond_cov_used = False


cdef inline void _prefetch_next(const Job *job, Py_ssize_t end, Py_ssize_t n,
                                Py_ssize_t itemsize) noexcept nogil:
    """Asks for the rows after a block (the next block's, at most n) while it is computed,
    where X is C-contiguous (rows of ``itemsize`` numbers one after the other, forwards:
    neither gaps nor a reversed view, whose byte count would be negative)."""
    if (job.column_stride == itemsize and job.row_stride == job.n_features * itemsize
            and end < job.n_samples):
        gmmfast_prefetch(job.x + end * job.row_stride,
                         min(n, job.n_samples - end) * job.row_stride)


cdef void _block(const Job *job, Scratch *s, Py_ssize_t g, Py_ssize_t blk,
                 floating *z) noexcept nogil:
    """The work of job's purpose on block blk (of group g)."""
    cdef Py_ssize_t start = blk * job.rows
    cdef Py_ssize_t end = min(start + job.rows, job.n_samples)
    cdef Py_ssize_t n = end - start, K = job.n_components, i, k
    cdef const double *w = job.weight + start if job.weight != NULL else NULL
    if job.purpose == LLOYD or job.purpose == SEEDING:
        _kmeans_block(job, s, g, blk, start, n, w, z)
        return
    if job.small and job.fill == NULL:
        # Few features: the block by columns, unless it has a NaN (or an infinity).
        if not _small_columns(job, s, start, n, z):
            _prefetch_next(job, end, n, sizeof(floating))
            _small_block(job, s, g, start, n, w, z)
            return
        if job.found != NULL:
            job.found[0] = 1
            return
    _shifted(job, start, n, z)
    _prefetch_next(job, end, n, sizeof(floating))
    cdef Py_ssize_t n_patterns = 0
    if job.found != NULL and _any_nonfinite(z, n * job.n_features):
        job.found[0] = 1
        return
    if job.marginal:
        n_patterns = _mark_missing(job, s, n, z)
    elif job.fill != NULL:
        _filled(job, n, z)
    if job.purpose == EVALUATE:
        _evaluate_block(job, s, start, n, z, n_patterns)
        return
    if job.purpose == E_STEP:
        _block_log_prob(z, n, job.n_features, K, &job.density, True,
                        <floating *> s.product, s.squares, _squares_stride(job),
                        n_patterns > 0, s.log_prob)
        if n_patterns > 0:
            _missing_log_prob(job, s, n, n_patterns, True, z)
    elif job.purpose == GIVEN:
        for i in range(n):
            for k in range(K):
                s.log_prob[i * K + k] = job.resp[(start + i) * K + k]
    else:
        _block_log_prob(z, n, job.n_features, K, &job.density, False,
                        <floating *> s.product, s.squares, _squares_stride(job), False,
                        s.log_prob)
        for i in range(n):
            _one_hot_row(&s.log_prob[i * K], K)
    _block_statistics(job, s, g, n, w, z, n_patterns > 0)
    if n_patterns > 0:
        _missing_moments(job, s, g, n, n_patterns, z)


cdef inline bint _small_columns(const Job *job, Scratch *s, Py_ssize_t start,
                                Py_ssize_t rows, const floating *kind) noexcept nogil:
    """s.zt = the block's x - shift by columns (and s.yt for tied); whether it has a NaN or
    an infinity (then s.zt is not to be used). ``kind`` only selects the rows' dtype."""
    cdef Py_ssize_t stride = gmmfast_small_stride(rows), D = job.n_features
    cdef const char *x = job.x + start * job.row_stride
    cdef bint found
    if floating is double:
        found = gmmfast_small_columns_d(x, job.row_stride, job.column_stride, rows, stride, D,
                                        <const double *> job.shift, <double *> s.zt)
        if not found and job.density.code == TIED:
            gmmfast_small_tied_columns_d(<double *> s.zt, stride, D,
                                         <const double *> job.density.precision,
                                         <double *> s.yt)
    elif job.wide:
        found = gmmfast_small_wide_columns(x, job.row_stride, job.column_stride, rows, stride,
                                           D, <const float *> job.shift, <double *> s.zt)
    else:
        found = gmmfast_small_columns_f(x, job.row_stride, job.column_stride, rows, stride, D,
                                        <const float *> job.shift, <float *> s.zt)
        if not found and job.density.code == TIED:
            gmmfast_small_tied_columns_f(<float *> s.zt, stride, D,
                                         <const float *> job.density.precision,
                                         <float *> s.yt)
    return found


cdef void _small_block(const Job *job, Scratch *s, Py_ssize_t g, Py_ssize_t start,
                       Py_ssize_t rows, const double *weight,
                       const floating *kind) noexcept nogil:
    """The E-step or the evaluation of a block of few features and no NaN, held column by
    column (gmmfast/small.h). The E-step takes the responsibilities of _block_statistics
    for every (i, k), zero for the terms left out, and its sums over all of them: the same
    sums up to the order of their additions. The block is s.zt (and s.yt) as
    _small_columns left it; ``kind`` only selects the rows' dtype."""
    cdef Py_ssize_t K = job.n_components, D = job.n_features, i, k
    cdef Py_ssize_t stride = gmmfast_small_stride(rows)
    cdef int code = job.density.code
    cdef const floating *precision = <const floating *> job.density.precision
    cdef const floating *centers = <const floating *> job.density.centers
    cdef floating *zt = <floating *> s.zt
    cdef floating *yt = <floating *> s.yt
    cdef double *lp = s.log_prob
    cdef double *work = s.row_work
    cdef floating *resp = <floating *> job.resp_out
    cdef const double *wide_zt = <const double *> s.zt
    if job.purpose == EVALUATE and job.labels != NULL:
        # Labels straight from the log-densities, chunk by chunk (none are stored).
        if floating is double:
            gmmfast_small_labels_d(zt, yt, rows, stride, D, K, code, precision, centers,
                                   job.density.log_norm, job.labels + start)
        elif job.wide:
            gmmfast_small_labels_d(wide_zt, NULL, rows, stride, D, K, code,
                                   job.wide_precision, job.wide_centers,
                                   job.density.log_norm, job.labels + start)
        else:
            gmmfast_small_labels_f(zt, yt, rows, stride, D, K, code, precision, centers,
                                   job.density.log_norm, job.labels + start)
        if resp == NULL and job.log_prob_out == NULL:
            return
    if floating is double:
        gmmfast_small_log_prob_d(zt, yt, rows, stride, D, K, code, precision, centers,
                                 job.density.log_norm, lp)
    elif job.wide:
        gmmfast_small_log_prob_d(wide_zt, NULL, rows, stride, D, K, code, job.wide_precision,
                                 job.wide_centers, job.density.log_norm, lp)
    else:
        gmmfast_small_log_prob_f(zt, yt, rows, stride, D, K, code, precision, centers,
                                 job.density.log_norm, lp)
    if job.purpose == EVALUATE:
        if resp != NULL or job.log_prob_out != NULL:
            gmmfast_column_normalise(lp, rows, K, resp != NULL, work, work + rows,
                                     s.row_total)
        if job.log_prob_out != NULL:
            for i in range(rows):
                job.log_prob_out[start + i] = s.row_total[i]
        if resp != NULL:
            if floating is double:
                gmmfast_small_transpose_d(lp, rows, K, resp + start * K)
            else:
                gmmfast_small_transpose_f(lp, rows, K, resp + start * K)
        return
    cdef double *s0 = job.part_s0 + g * K
    cdef double *s1 = job.part_s1 + g * job.s1_size
    cdef double *s2 = job.part_s2 + g * job.s2_size
    gmmfast_column_cutoffs(lp, rows, K, work, work + rows, work + 2 * rows)
    gmmfast_dense_responsibilities(lp, work, work + rows, work + 2 * rows, weight, rows, K,
                                   s.dense, work + 3 * rows, s.row_total)
    job.part_total[g] += gmmfast_weighted_total(s.row_total, weight, rows)
    if job.part_entropy != NULL:
        job.part_entropy[g] += gmmfast_dense_entropy(lp, s.row_total, rows, K, s.dense)
    if floating is double:
        gmmfast_small_moments_d(zt, <const double *> job.offsets, rows, stride, D, K,
                                job.sums_code, s.dense, s0, s1, s2)
    elif job.wide:
        gmmfast_small_moments_d(wide_zt, job.wide_offsets, rows, stride, D, K, job.sums_code,
                                s.dense, s0, s1, s2)
    else:
        gmmfast_small_moments_f(zt, <const float *> job.offsets, rows, stride, D, K,
                                job.sums_code, s.dense, s0, s1, s2)


cdef inline bint _any_nonfinite(const floating *z, Py_ssize_t n) noexcept nogil:
    if floating is double:
        return gmmfast_any_nonfinite_d(z, n)
    return gmmfast_any_nonfinite_f(z, n)


cdef inline void _shifted(const Job *job, Py_ssize_t start, Py_ssize_t rows,
                          floating *z) noexcept nogil:
    """z = x - shift for rows start .. start + rows - 1, row-major."""
    if floating is double:
        gmmfast_shifted_d(job.x + start * job.row_stride, job.row_stride, job.column_stride,
                          rows, job.n_features, <const double *> job.shift, z)
    else:
        gmmfast_shifted_f(job.x + start * job.row_stride, job.row_stride, job.column_stride,
                          rows, job.n_features, <const float *> job.shift, z)


cdef inline void _listed_e_step(const Job *job, Scratch *s, Py_ssize_t rows,
                                const double *weight) noexcept nogil:
    """The E-step of a block from its log-densities (s.log_prob, K x rows), over the
    responsibilities that count only: each component's rows with r_ik > 2^-64 are listed
    (see gmmfast_column_cutoffs) with their w_i r_ik (s.bucket_value), and only their
    exponentials are taken; s.row_total[i] = log p(x_i). s.row_work: the rows' maxima,
    their shifts and their cutoffs, then scratch."""
    cdef double *work = s.row_work
    gmmfast_column_cutoffs(s.log_prob, rows, job.n_components, work, work + rows,
                           work + 2 * rows)
    _list_rows(job.avx2, s.log_prob, 1, rows, work + 2 * rows, rows, job.n_components,
               s.bucket, s.bucket_start)
    gmmfast_listed_responsibilities(s.log_prob, work, work + rows, weight, rows,
                                    job.n_components, s.bucket, s.bucket_start,
                                    s.bucket_value, work + 2 * rows, s.row_total)


cdef void _block_statistics(const Job *job, Scratch *s, Py_ssize_t g, Py_ssize_t rows,
                            const double *weight, const floating *z,
                            bint holes) noexcept nogil:
    """The sums of a block into group g's slots, from s.log_prob: K x rows log-densities
    (E_STEP) or rows x K responsibilities (scratch after).

    From log-densities, the E-step takes the responsibilities that count only: each
    component's rows with r_ik > 2^-64 are listed (see gmmfast_column_cutoffs) with their
    v_ik = w_i r_ik, and only their exponentials are taken. Given responsibilities are
    listed the same way, w_i r_ik against w_i 2^-64. The sums are taken over the lists
    (see _bucket_moments). On separated clusters most (i, k) are left out, and each would
    add less than 2^-64 of its row's weight -- nothing that a float64 sum of O(1) terms
    can hold. A component all of whose responsibilities are left out gets s0 = s1 = s2 =
    0 where its exact sums would be below 2^-64 of the rows' total weight; the M-step
    then keeps it where its sums were centred (its previous mean).
    """
    cdef Py_ssize_t K = job.n_components, i, k
    cdef double *a = s.log_prob
    cdef double *work = s.row_work
    cdef double *s0 = job.part_s0 + g * K
    cdef double *s1 = job.part_s1 + g * job.s1_size
    cdef double *s2 = job.part_s2 + g * job.s2_size
    cdef bint completed = holes and _completed_rows(job)
    if job.purpose == E_STEP:
        _listed_e_step(job, s, rows, weight)
        job.part_total[g] += gmmfast_weighted_total(s.row_total, weight, rows)
        if job.part_entropy != NULL:
            job.part_entropy[g] += gmmfast_listed_entropy(a, s.row_total, rows, K, s.bucket,
                                                          s.bucket_start, s.bucket_value)
    else:
        for i in range(rows):
            work[i] = NEGLIGIBLE * (weight[i] if weight != NULL else 1.0)
            if weight != NULL:
                for k in range(K):
                    a[i * K + k] = a[i * K + k] * weight[i]
        _list_rows(job.avx2, a, K, 1, work, rows, K, s.bucket, s.bucket_start)
        gmmfast_listed_values(a, K, 1, K, s.bucket, s.bucket_start, s.bucket_value)
    _bucket_moments(z, rows, job.n_features, K, job.sums_code, <const floating *> job.offsets,
                    s.bucket, s.bucket_value, s.bucket_start, <floating *> s.scaled,
                    <floating *> s.small, s.tied_rows, s.diag_scratch, work + rows,
                    s.miss_start if completed else NULL, s.miss_index, s.eps, s0, s1, s2)


cdef void _evaluate_block(const Job *job, Scratch *s, Py_ssize_t start, Py_ssize_t rows,
                          const floating *z, Py_ssize_t n_patterns) noexcept nogil:
    """Labels, responsibilities, log p(x) and filled rows of a block, those asked for."""
    cdef Py_ssize_t K = job.n_components, i, k
    cdef floating *resp = <floating *> job.resp_out
    # log p(x) alone from the terms that count, with the log-densities component by
    # component as in the fit pass; row by row otherwise (measured faster for labels and
    # responsibilities).
    cdef bint by_component = (job.log_prob_out != NULL and job.resp_out == NULL
                              and job.labels == NULL and job.filled_out == NULL)
    _block_log_prob(z, rows, job.n_features, K, &job.density, by_component,
                    <floating *> s.product, s.squares, _squares_stride(job), n_patterns > 0,
                    s.log_prob)
    if n_patterns > 0:
        _missing_log_prob(job, s, rows, n_patterns, by_component, z)
    if job.labels != NULL:
        for i in range(rows):
            job.labels[start + i] = _argmax(&s.log_prob[i * K], K)
    if by_component:
        # The sum over the terms that count is the sum over all of them (see
        # gmmfast_column_cutoffs).
        _listed_e_step(job, s, rows, NULL)
    elif resp != NULL or job.log_prob_out != NULL or job.filled_out != NULL:
        gmmfast_normalise_rows(s.log_prob, rows, K, s.row_total)
    if job.filled_out != NULL and n_patterns > 0:
        _fill_conditional_means(job, s, start, rows, z)
    if job.log_prob_out != NULL:
        for i in range(rows):
            job.log_prob_out[start + i] = s.row_total[i]
    if resp != NULL:
        # Every responsibility, however small.
        for i in range(rows):
            for k in range(K):
                resp[(start + i) * K + k] = <floating> s.log_prob[i * K + k]


# ---------------------------------------------------------------------------------------------
# Rows with missing features (NaN), marginalised out.
#
# A row i with missing features M and observed features O has, under component k,
#     log p(x_O, k) = log w_k + log N(x_O; mu_O, Sigma_OO)
# and the M-step reads its conditional expectations given x_O,
#     E[x_M | x_O, k] = mu_M + Sigma_MO Sigma_OO^-1 (x_O - mu_O),
#     Cov[x_M | x_O, k] = Sigma_MM - Sigma_MO Sigma_OO^-1 Sigma_OM.
# With Lambda = Sigma^-1 = P P^T, both come from the precision's block Lambda_MM (size |M|,
# small when few features are missing) instead of a factorisation of Sigma_OO: with the
# missing features read as x_M = shift_M and d = x - mu,
#     d_O^T Sigma_OO^-1 d_O = d^T Lambda d - g^T Lambda_MM^-1 g,     g = (Lambda d)_M = (P u)_M,
# where u = P^T d is what the pass already has (the row's product with the factor, less the
# centre); log det Sigma_OO = log det Sigma + log det Lambda_MM; the conditional mean is
# x_M = shift_M + e with e = -Lambda_MM^-1 g, and the conditional covariance Lambda_MM^-1.
# So the pass runs unchanged on the rows with zeros (in z = x - shift) at the missing
# entries, then, for those rows only, corrects their log-densities,
#     log p(x_O, k) += 1/2 g^T Lambda_MM^-1 g - 1/2 log det Lambda_MM + |M|/2 log(2 pi)
# (gmmfast_marginal_row, which says what the difference costs in rounding), and their sums,
# with delta = z - o_k (full; z for tied, whose sums are raw and centred later) and
# v_ik = w_i r_ik:
#     s1_k += v e_k,   s2_k += v (delta e_k^T + e_k delta^T + e_k e_k^T + Lambda_MM^-1),
# that is, the sums of the row completed with its conditional means, x~_ik = z with e_k at
# its missing features (delta + e_k = x~_ik - o_k), plus the conditional covariance. Full
# (above TINY_FEATURES features) and tied take v (x~ - o)(x~ - o)^T from the Gram matrices
# themselves, their rows completed (see _bucket_moments); the others add the three terms
# (gmmfast_missing_moments). The factor of Lambda_MM depends only on the row's pattern of
# missing features (and on k for full covariances): made once per pass for the patterns a
# fit lists, otherwise kept by each thread for those it meets, or made where met (see
# _pattern_factors and TABLE_PATTERNS); the covariance term is added once per pattern of a
# block as (sum of its v_ik) Lambda_MM^-1 (full: into a thread accumulator that the
# group's sums take after its last block, see _end_group). Diagonal and spherical
# covariances need no factor: the missing features' terms of log p(x, k) are taken out
# (Model.missing_terms; by the log-density product itself above TINY_FEATURES features,
# see _quadratic_log_prob), and E[x_j | x_O, k] = mu_kj, Var = 1 / p_kj^2
# (gmmfast_missing_diag_sums).

cdef inline Py_ssize_t _pattern_slots(Py_ssize_t rows) noexcept nogil:
    """Hash slots for the patterns of a block: a power of two at least twice the rows."""
    cdef Py_ssize_t slots = 16
    while slots < 2 * rows:
        slots *= 2
    return slots


cdef void _filled(const Job *job, Py_ssize_t rows, floating *z) noexcept nogil:
    """z_ij = fill_j - shift_j where x_ij is NaN (z = x - shift is NaN there)."""
    cdef const floating *fill = <const floating *> job.fill
    cdef const floating *shift = <const floating *> job.shift
    cdef Py_ssize_t i, j, D = job.n_features
    for i in range(rows * D):
        if z[i] != z[i]:
            j = i % D
            z[i] = fill[j] - shift[j]


cdef Py_ssize_t _mark_missing(const Job *job, Scratch *s, Py_ssize_t rows,
                              floating *z) noexcept nogil:
    """Lists each row's missing features (NaN in z) and sets them to zero (x = shift; see
    gmmfast_mark_missing).

    Row i's missing features, in increasing order, are miss_index[miss_start[i] ..
    miss_start[i + 1]] (not listed where nothing reads them: the E-step of a diagonal or
    spherical model whose product takes the marginals, see _quadratic_log_prob, and whose
    sums read s.absent). For full and tied covariances the rows with missing features are
    grouped by pattern: pattern_of[i] (-1 for a complete row), and each pattern's rows
    from pattern_first[p] along pattern_next (-1 ends). Returns the number of patterns
    (full, tied) or of rows with missing features (diag, spherical): zero when the block
    is complete.
    """
    cdef Py_ssize_t i, j, q, count = 0, n_missing_rows = 0, D = job.n_features
    cdef Py_ssize_t n_patterns = 0, slots, slot, p, m, a
    cdef bint same
    cdef int *start = s.miss_start
    cdef int *index = s.miss_index
    if job.purpose == E_STEP and _product_marginals(job):
        index = NULL
    if floating is double:
        n_missing_rows = gmmfast_mark_missing_d(z, rows, D, start, index, s.absent,
                                                gmmfast_small_stride(D), _indicator(job, s),
                                                _squares_stride(job))
    else:
        n_missing_rows = gmmfast_mark_missing_f(z, rows, D, start, index, s.absent,
                                                gmmfast_small_stride(D), _indicator(job, s),
                                                _squares_stride(job))
    if n_missing_rows == 0 or job.density.code == DIAG or job.density.code == SPHERICAL:
        return n_missing_rows
    slots = _pattern_slots(rows)
    for slot in range(slots):
        s.pattern_table[slot] = -1
    for i in range(rows):
        s.pattern_of[i] = -1
        m = start[i + 1] - start[i]
        if m == 0:
            continue
        # Open addressing on the pattern's hash.
        slot = <Py_ssize_t> (_pattern_hash(&index[start[i]], m) & <uint64_t> (slots - 1))
        while True:
            p = s.pattern_table[slot]
            if p < 0:
                p = n_patterns
                n_patterns += 1
                s.pattern_table[slot] = <int> p
                s.pattern_first[p] = <int> i
                s.pattern_next[i] = -1
                break
            q = s.pattern_first[p]
            same = start[q + 1] - start[q] == m
            a = 0
            while same and a < m:
                same = index[start[q] + a] == index[start[i] + a]
                a += 1
            if same:
                s.pattern_next[i] = s.pattern_first[p]
                s.pattern_first[p] = <int> i
                break
            slot = (slot + 1) & (slots - 1)
        s.pattern_of[i] = <int> p
    return n_patterns


cdef inline uint64_t _pattern_hash(const int *missing, Py_ssize_t m) noexcept nogil:
    """FNV-1a over a pattern's missing features."""
    cdef uint64_t h = 1469598103934665603ULL
    cdef Py_ssize_t a
    for a in range(m):
        h = (h ^ <uint64_t> missing[a]) * 1099511628211ULL
    return h


cdef Py_ssize_t _key_slot(const int *keys, Py_ssize_t key_size, Py_ssize_t first,
                          const int *slots, Py_ssize_t mask, const int *missing,
                          Py_ssize_t m) noexcept nogil:
    """The hash slot of a pattern of m missing features in a table of patterns (pattern e:
    its m at keys[e * key_size], its features from keys[e * key_size + first] on; slots:
    mask + 1 of them, -1 where empty), by open addressing on its hash: the slot that
    holds it, or the empty slot where it would go."""
    cdef Py_ssize_t slot = <Py_ssize_t> (_pattern_hash(missing, m) & <uint64_t> mask)
    cdef Py_ssize_t e, a
    cdef bint same
    while True:
        e = slots[slot]
        if e < 0:
            return slot
        same = keys[e * key_size] == m
        a = 0
        while same and a < m:
            same = keys[e * key_size + first + a] == missing[a]
            a += 1
        if same:
            return slot
        slot = (slot + 1) & mask


cdef Py_ssize_t _pattern_slot_mask(Py_ssize_t n) noexcept nogil:
    """Hash slots (less one: a mask) for a list of n patterns: at least twice as many."""
    return _pattern_slots(n) - 1


def pattern_list(const floating[:, :] X, Py_ssize_t capacity=-1):
    """The distinct patterns of missing (NaN) features of the rows of X with 1 to
    CACHE_MISSING of them, in the order they first come, at most ``capacity`` (default
    TABLE_PATTERNS): an (n, CACHE_MISSING + 1) int32 array, each row m and the m features
    (ascending), -1 after them. Rows with more missing features are not listed."""
    cdef Py_ssize_t N = X.shape[0], D = X.shape[1], key_size = CACHE_MISSING + 1
    cdef Py_ssize_t i, j, m, e, n = 0, mask
    cdef int missing[8]
    if capacity < 0:
        capacity = TABLE_PATTERNS
    capacity = min(capacity, N)
    keys_arr = np.full((capacity, key_size), -1, dtype=np.intc)
    mask = _pattern_slot_mask(capacity)
    slots_arr = np.full(mask + 1, -1, dtype=np.intc)
    cdef int[:, ::1] keys = keys_arr
    cdef int[::1] slots = slots_arr
    cdef Py_ssize_t slot
    with nogil:
        for i in range(N):
            if n >= capacity:
                break
            m = 0
            for j in range(D):
                if X[i, j] != X[i, j]:
                    if m < CACHE_MISSING + 1:
                        missing[m] = <int> j
                    m += 1
            if m == 0 or m > CACHE_MISSING:
                continue
            slot = _key_slot(&keys[0, 0], key_size, 1, &slots[0], mask, missing, m)
            if slots[slot] >= 0:
                continue
            keys[n, 0] = <int> m
            for j in range(m):
                keys[n, 1 + j] = missing[j]
            slots[slot] = <int> n
            n += 1
    return keys_arr[:n].copy()


cdef object _listed_sets(Job *job, Model model, bint missing, patterns, int n_threads):
    """_pattern_sets where a pass uses them: rows with missing features, full or tied
    covariances and a list of patterns; otherwise None."""
    if (missing and patterns is not None and len(patterns)
            and (model.code == FULL or model.code == TIED)):
        return _pattern_sets(job, patterns, n_threads)
    return None


cdef object _pattern_sets(Job *job, patterns, int n_threads):
    """Each listed pattern's factor set with its inverse (see _pattern_factors), made once
    for all threads, up to TABLE_BYTES of them; the arrays that hold them (kept alive by
    the caller while the job runs), their places set in job."""
    cdef const int[:, ::1] keys = np.ascontiguousarray(patterns, dtype=np.intc)
    if keys.shape[1] != CACHE_MISSING + 1:
        raise ValueError("a pattern list has %d numbers per pattern" % (CACHE_MISSING + 1))
    cdef Py_ssize_t n_factors = job.n_components if job.density.code == FULL else 1
    cdef Py_ssize_t n = 0, total = 0, size, m, p, a, low, mask
    cdef Py_ssize_t limit = TABLE_BYTES // sizeof(double)
    offset_arr = np.empty(keys.shape[0], dtype=np.int64)
    cdef int64_t[::1] offset = offset_arr
    for p in range(keys.shape[0]):
        # m in 1 .. CACHE_MISSING, then m ascending features of the rows.
        m = keys[p, 0]
        valid = 1 <= m <= CACHE_MISSING
        low = 0
        for a in range(1, m + 1 if valid else 1):
            valid = low <= keys[p, a] < job.n_features
            if not valid:
                break
            low = keys[p, a] + 1
        if not valid:
            raise ValueError("a pattern list's pattern %d is not a pattern of missing "
                             "features of these rows' (1 to %d distinct features, "
                             "ascending)" % (p, CACHE_MISSING))
        size = GMMFAST_FACTOR_SIZE(m) * n_factors
        if total + size > limit:
            break
        offset[p] = total
        total += size
        n += 1
    if n == 0:
        return None
    # (A list of TABLE_PATTERNS patterns may have been cut short.)
    complete = n == keys.shape[0] and n < TABLE_PATTERNS
    pool_arr = np.empty(total, dtype=np.float64)
    cdef double[::1] pool = pool_arr
    mask = _pattern_slot_mask(n)
    slots_arr = np.full(mask + 1, -1, dtype=np.intc)
    cdef int[::1] slots = slots_arr
    for p in range(n):
        slots[_key_slot(&keys[0, 0], CACHE_MISSING + 1, 1, &slots[0], mask, &keys[p, 1],
                        keys[p, 0])] = <int> p
    failed_arr = np.zeros(1, dtype=np.intc)
    cdef int[::1] failed = failed_arr
    cdef double *work
    n_threads = _resolve_threads(n_threads, n)
    with nogil, parallel(num_threads=n_threads):
        work = <double *> malloc(n_factors * CACHE_MISSING * CACHE_MISSING * sizeof(double))
        if work == NULL:
            failed[0] = 1
        for p in prange(n, schedule='dynamic', chunksize=16):
            if work != NULL:
                gmmfast_factor_set(job.density.missing_terms, n_factors, &keys[p, 1],
                                   keys[p, 0], job.n_features, True, &pool[offset[p]],
                                   work)
        free(work)
    if failed[0]:
        raise _allocation_error()
    job.table_keys = &keys[0, 0]
    job.table_slots = &slots[0]
    job.table_mask = mask
    job.table_pool = &pool[0]
    job.table_offset = &offset[0]
    job.table_complete = complete
    return (keys, slots_arr, pool_arr, offset_arr)


cdef void _factor_set(const Job *job, Scratch *s, const int *missing, Py_ssize_t m,
                      bint with_inverse, double *out) noexcept nogil:
    """A pattern's factor set, for each precision k (K for full, one for tied; k
    innermost, entry e of k at e n + k, n the number of precisions): the factor L of
    Lambda_MM (below its diagonal), the reciprocals of its diagonal, log det Lambda_MM
    and, ``with_inverse`` (m at most CACHE_MISSING), the lower triangle of Lambda_MM^-1;
    see gmmfast_factor_set for where each lies."""
    cdef Py_ssize_t n = job.n_components if job.density.code == FULL else 1
    gmmfast_factor_set(job.density.missing_terms, n, missing, m, job.n_features,
                       with_inverse, out, s.inverse_work)


cdef const double *_pattern_factors(const Job *job, Scratch *s, const int *missing,
                                    Py_ssize_t m) noexcept nogil:
    """The factor set of a pattern (see _factor_set): the pass's own if the pattern is
    listed (see TABLE_PATTERNS); otherwise from the thread's cache, or made and kept
    there, with the inverse, while it has room (patterns of at most CACHE_MISSING missing
    features), or made in s.factors without the inverse. Whichever way, the same
    numbers."""
    cdef Py_ssize_t slot, e, a
    cdef Py_ssize_t n_factors = job.n_components if job.density.code == FULL else 1
    cdef Py_ssize_t key_size = CACHE_MISSING + 2
    cdef Py_ssize_t size = GMMFAST_FACTOR_SIZE(m) * n_factors
    cdef double *entry
    if job.table_slots != NULL and m <= CACHE_MISSING:
        e = job.table_slots[_key_slot(job.table_keys, CACHE_MISSING + 1, 1, job.table_slots,
                                      job.table_mask, missing, m)]
        if e >= 0:
            return job.table_pool + job.table_offset[e]
    if m > CACHE_MISSING or s.cache_pool == NULL:
        _factor_set(job, s, missing, m, False, s.factors)
        return s.factors
    # The thread's cache: pattern e's m, the place of its set in the pool, its features.
    slot = _key_slot(s.cache_keys, key_size, 2, s.cache_slots,
                     _pattern_slot_mask(s.cache_capacity), missing, m)
    e = s.cache_slots[slot]
    if e >= 0:
        return s.cache_pool + s.cache_keys[e * key_size + 1]
    if s.cache_count >= s.cache_capacity or s.cache_used + size > s.cache_size:
        _factor_set(job, s, missing, m, False, s.factors)
        return s.factors
    e = s.cache_count
    s.cache_count += 1
    s.cache_slots[slot] = <int> e
    s.cache_keys[e * key_size] = <int> m
    s.cache_keys[e * key_size + 1] = <int> s.cache_used
    for a in range(m):
        s.cache_keys[e * key_size + 2 + a] = missing[a]
    entry = s.cache_pool + s.cache_used
    s.cache_used += size
    _factor_set(job, s, missing, m, True, entry)
    return entry


cdef inline void _prefetch_set(const Job *job, Scratch *s, Py_ssize_t p,
                               Py_ssize_t n_patterns, bint inverse) noexcept nogil:
    """Starts fetching into the caches the part of pattern p's factor set (if p is one of
    the block's patterns and its set is kept: the pass's list, the thread's cache) that its
    rows read (L, 1 / diag L, log det Lambda_MM) or, with ``inverse``, that its sums read:
    a block's patterns are mostly each its own, their sets in a cache of megabytes, read
    once or twice per block."""
    cdef Py_ssize_t r, m, begin, end
    cdef Py_ssize_t n = job.n_components if job.density.code == FULL else 1
    if p >= n_patterns or s.pattern_set[p] == NULL:
        return
    r = s.pattern_first[p]
    m = s.miss_start[r + 1] - s.miss_start[r]
    begin = GMMFAST_FACTOR_INVERSE(m, 0, 0) if inverse else 0
    end = GMMFAST_FACTOR_SIZE(m) if inverse else GMMFAST_FACTOR_INVERSE(m, 0, 0)
    gmmfast_prefetch(s.pattern_set[p] + begin * n, (end - begin) * n * sizeof(double))


cdef void _missing_log_prob(const Job *job, Scratch *s, Py_ssize_t rows,
                            Py_ssize_t n_patterns, bint by_component,
                            const floating *z) noexcept nogil:
    """log p(x_i, k) of the block's rows with missing features (s.log_prob, K x rows
    by_component, else rows x K) turned into those of their observed features; for full
    and tied covariances also each row's e_k = E[x_M | x_O, k] - shift_M into s.eps
    (row i, its a-th missing feature, component k at (miss_start[i] + a) K + k; see
    gmmfast_marginal_row)."""
    cdef Py_ssize_t K = job.n_components, D = job.n_features
    cdef Py_ssize_t k, p, r, m
    cdef Py_ssize_t i_stride = 1 if by_component else K
    cdef Py_ssize_t k_stride = rows if by_component else 1
    cdef double *lp = s.log_prob
    cdef const double *terms = job.density.missing_terms
    cdef const floating *centers = <const floating *> job.density.centers
    cdef const floating *product = <const floating *> s.product
    cdef bint full = job.density.code == FULL
    cdef Py_ssize_t width = D * K if full else D
    cdef const int *missing
    cdef const double *factors
    cdef double *u = s.lanes
    cdef double *t = s.lanes + D * K
    cdef double *value = s.lanes + 2 * D * K
    if job.density.code == DIAG or job.density.code == SPHERICAL:
        if _product_marginals(job):
            return  # added by the product (see _quadratic_log_prob)
        # (pattern_weight, rows x K, is free here: diagonal models have no patterns.)
        gmmfast_missing_terms(terms, s.miss_start, s.miss_index, rows, K, i_stride, k_stride,
                              s.pattern_weight, lp)
        return
    # The factor sets of all the block's patterns first (kept for the sums, see
    # _missing_moments), then the rows pattern by pattern.
    for p in range(n_patterns):
        r = s.pattern_first[p]
        m = s.miss_start[r + 1] - s.miss_start[r]
        factors = _pattern_factors(job, s, &s.miss_index[s.miss_start[r]], m)
        s.pattern_set[p] = NULL if factors == s.factors else factors
    for p in range(n_patterns):
        r = s.pattern_first[p]
        missing = &s.miss_index[s.miss_start[r]]
        m = s.miss_start[r + 1] - s.miss_start[r]
        factors = s.pattern_set[p]
        if factors == NULL:
            factors = _pattern_factors(job, s, missing, m)
        _prefetch_set(job, s, p + PREFETCH_PATTERNS, n_patterns, False)
        while r >= 0:
            if floating is double:
                gmmfast_marginal_d(product + r * width, centers, terms, factors, missing, m,
                                   D, K, full, u, t, s.eps + s.miss_start[r] * K, value)
            else:
                gmmfast_marginal_f(product + r * width, centers, terms, factors, missing, m,
                                   D, K, full, u, t, s.eps + s.miss_start[r] * K, value)
            for k in range(K):
                lp[r * i_stride + k * k_stride] += value[k]
            r = s.pattern_next[r]


cdef void _missing_moments(const Job *job, Scratch *s, Py_ssize_t g, Py_ssize_t rows,
                           Py_ssize_t n_patterns, const floating *z) noexcept nogil:
    """The corrections of the sums of group g for the block's rows with missing features
    (see the section's comment), over the listed (i, k) and their v_ik; for full models
    the conditional covariances into the thread's s.cond_cov, which _end_group adds to
    the group's sums after its last block."""
    cdef Py_ssize_t K = job.n_components, D = job.n_features
    cdef Py_ssize_t i, k, q, a, b, p, r, m
    cdef double v, weight
    cdef double *s1 = job.part_s1 + g * job.s1_size
    cdef double *s2 = job.part_s2 + g * job.s2_size
    cdef double *s1k
    cdef double *s2k
    cdef const floating *offsets = <const floating *> job.offsets
    cdef const floating *centers = <const floating *> job.density.centers
    cdef const floating *precision = <const floating *> job.density.precision
    cdef int code = job.sums_code
    cdef bint full = code == FULL
    cdef const int *missing
    cdef const double *e
    cdef double *delta = s.lanes
    cdef double *dense = s.lanes + D
    cdef double *observed = s.lanes + 2 * D
    cdef const floating *o
    cdef const double *factors
    cdef double *inverse = s.lam + D * D
    cdef double *entropy = job.part_entropy + g if job.part_entropy != NULL else NULL
    cdef double log_det, c_ab
    cdef Py_ssize_t n
    cdef bint completed = _completed_rows(job)
    if code == DIAG or code == SPHERICAL:
        # (s.lanes holds the features rounded up to 8 numbers.)
        if floating is double:
            gmmfast_missing_diag_sums_d(s.absent, gmmfast_small_stride(D), D, K,
                                        code == SPHERICAL, s.bucket, s.bucket_start,
                                        s.bucket_value, centers, offsets, precision,
                                        s.lanes, s1, s2, entropy)
        else:
            gmmfast_missing_diag_sums_f(s.absent, gmmfast_small_stride(D), D, K,
                                        code == SPHERICAL, s.bucket, s.bucket_start,
                                        s.bucket_value, centers, offsets, precision,
                                        s.lanes, s1, s2, entropy)
        return
    for q in range(n_patterns * K):
        s.pattern_weight[q] = 0.0
    for k in range(K):
        s1k = s1 + k * D
        s2k = s2 + k * D * D if full else s2
        for q in range(s.bucket_start[k], s.bucket_start[k + 1]):
            i = s.bucket[q]
            m = s.miss_start[i + 1] - s.miss_start[i]
            if m == 0:
                continue
            v = s.bucket_value[q]
            missing = &s.miss_index[s.miss_start[i]]
            e = &s.eps[s.miss_start[i] * K + k]
            s.pattern_weight[s.pattern_of[i] * K + k] += v
            if completed:
                # s2 from the completed rows (_bucket_moments); s1_k += v e_k.
                for a in range(m):
                    s1k[missing[a]] += v * e[a * K]
                continue
            o = &offsets[k * D] if full else NULL
            if floating is double:
                gmmfast_missing_moments_d(&z[i * D], o, missing, m, e, K, v, D, delta, dense,
                                          observed, s1k, s2k)
            else:
                gmmfast_missing_moments_f(&z[i * D], o, missing, m, e, K, v, D, delta, dense,
                                          observed, s1k, s2k)
    # The conditional covariances: (sum of the pattern's v_ik) Lambda_MM^-1 once per pattern;
    # full: into the group's s.cond_cov (see _end_group), every component at once from a
    # kept set.
    for p in range(n_patterns):
        _prefetch_set(job, s, p + PREFETCH_PATTERNS, n_patterns, True)
        r = s.pattern_first[p]
        missing = &s.miss_index[s.miss_start[r]]
        m = s.miss_start[r + 1] - s.miss_start[r]
        factors = NULL
        if full:
            s.cond_cov_used = True
            if s.pattern_set[p] != NULL:
                gmmfast_add_conditional_covariance(
                    s.cond_cov, D, K, missing, m, &s.pattern_weight[p * K],
                    s.pattern_set[p] + GMMFAST_FACTOR_INVERSE(m, 0, 0) * K)
                if entropy == NULL:
                    continue
        for k in range(K if full else 1):
            if full:
                weight = s.pattern_weight[p * K + k]
            else:
                weight = 0.0
                for q in range(K):
                    weight += s.pattern_weight[p * K + q]
            if weight == 0.0:
                continue
            if factors == NULL:
                # The set _missing_log_prob found, or made again (not kept).
                factors = s.pattern_set[p]
                if factors == NULL:
                    factors = _pattern_factors(job, s, missing, m)
            n = K if full else 1
            if entropy != NULL:
                # Minus the entropy of N(e, Lambda_MM^-1) for each of the pattern's terms:
                # sum v (1/2 log det Lambda_MM - m/2 (1 + log 2 pi)).
                log_det = factors[GMMFAST_FACTOR_LOG_DET(m) * n + k]
                entropy[0] += weight * (0.5 * log_det - 0.5 * m * (1.0 + GMMFAST_LOG_2PI))
            if full and factors != s.factors:
                continue  # added above
            if factors == s.factors:
                # Not kept: its inverse, for this component only.
                gmmfast_factor_inverse(factors + k, n, m, inverse, s.lam)
            for a in range(m):
                for b in range(a + 1):
                    c_ab = (inverse[GMMFAST_TRIANGLE(a, b)] if factors == s.factors
                            else factors[GMMFAST_FACTOR_INVERSE(m, a, b)])
                    if full:
                        s.cond_cov[(missing[a] * D + missing[b]) * K + k] += weight * c_ab
                    else:
                        s2[missing[a] * D + missing[b]] += weight * c_ab


cdef void _fill_conditional_means(const Job *job, Scratch *s, Py_ssize_t start,
                                  Py_ssize_t rows, const floating *z) noexcept nogil:
    """Each missing entry of the block's rows in job.filled_out replaced by its conditional
    mean under the mixture, shift_j + sum_k r_ik e_ikj (s.log_prob: rows x K
    responsibilities)."""
    cdef Py_ssize_t K = job.n_components, D = job.n_features, i, k, j, q
    cdef floating *out = <floating *> job.filled_out
    cdef const floating *shift = <const floating *> job.shift
    cdef const floating *centers = <const floating *> job.density.centers
    cdef bint factored = job.density.code == FULL or job.density.code == TIED
    cdef double total
    for i in range(rows):
        for q in range(s.miss_start[i], s.miss_start[i + 1]):
            j = s.miss_index[q]
            total = 0.0
            for k in range(K):
                if factored:
                    total += s.log_prob[i * K + k] * s.eps[q * K + k]
                else:
                    total += s.log_prob[i * K + k] * <double> centers[j * K + k]
            out[(start + i) * D + j] = <floating> (<double> shift[j] + total)


# ---------------------------------------------------------------------------------------------
# The passes of the mixtures.

cdef Job _job(int purpose, const floating[:, :] X, sample_weight, const floating[::1] shift,
              Py_ssize_t n_components, listing, missing=None):
    """A job over the rows of X (N x D, any strides) in the blocks of block_layout (or of
    kmeans_layout for the k-means purposes).

    ``missing``: None (the rows hold no NaN), True (E_STEP, EVALUATE: NaN features are
    marginalised out) or a vector (D, rows' dtype, kept alive by the caller): NaN in
    feature j is read as its entry j."""
    cdef Job job
    cdef const double[::1] w
    cdef const floating[::1] fill
    if X.shape[0] == 0:
        raise ValueError("a pass needs at least one row")
    if shift.shape[0] != X.shape[1]:
        raise ValueError("the model has %d features but the rows %d"
                         % (shift.shape[0], X.shape[1]))
    memset(&job, 0, sizeof(Job))
    job.purpose = purpose
    job.n_samples = X.shape[0]
    job.n_features = X.shape[1]
    job.n_components = n_components
    job.x = <const char *> &X[0, 0]
    job.row_stride = X.strides[0]
    job.column_stride = X.strides[1]
    job.shift = &shift[0]
    job.small = (X.shape[1] <= GMMFAST_SMALL_FEATURES
                 and (purpose == E_STEP or purpose == EVALUATE))
    if missing is True:
        if purpose != E_STEP and purpose != EVALUATE:
            raise ValueError("only the E-step and the evaluation marginalise missing features")
        job.marginal = True
    elif missing is not None:
        fill = missing
        if fill.shape[0] != X.shape[1]:
            raise ValueError("the fill vector must have one entry per feature")
        job.fill = &fill[0]
    if sample_weight is not None and len(sample_weight) > 0:
        w = sample_weight
        if w.shape[0] != X.shape[0]:
            raise ValueError("sample_weight must have one entry per row")
        job.weight = &w[0]
    if listing is None:
        job.avx2 = HAS_AVX2
    elif listing in ("avx2", "plain"):
        job.avx2 = listing == "avx2" and HAS_AVX2
    else:
        raise ValueError("listing must be 'avx2', 'plain' or None, got %r" % (listing,))
    return job


cdef _weights_of(sample_weight):
    """A float64 contiguous view of the weights (kept alive by the caller), or None."""
    if sample_weight is None or len(sample_weight) == 0:
        return None
    return np.ascontiguousarray(sample_weight, dtype=np.float64)


cdef tuple _moments_pass(Job *job, const floating[:, :] X, const floating[:, ::1] offsets,
                         int sums_code, int n_threads, bint with_entropy):
    """Runs a job of the sums' purposes; returns (s0, s1, s2, total, entropy)."""
    cdef Py_ssize_t K = job.n_components, D = job.n_features
    if offsets.shape[0] != K or offsets.shape[1] != D:
        raise ValueError("offsets must be (n_components, n_features) = (%d, %d)" % (K, D))
    job.sums_code = sums_code
    job.offsets = &offsets[0, 0]
    job.s1_size = K * D
    job.s2_size = _s2_size(D, K, sums_code)
    job.rows, job.n_blocks, job.n_groups = block_layout(job.n_samples, D, K, sums_code)
    job.by_group = True
    part_s0_arr = np.zeros((job.n_groups, K))
    part_s1_arr = np.zeros((job.n_groups, job.s1_size))
    part_s2_arr = np.zeros((job.n_groups, job.s2_size))
    part_total_arr = np.zeros(job.n_groups)
    part_entropy_arr = np.zeros(job.n_groups)
    cdef double[:, ::1] part_s0 = part_s0_arr
    cdef double[:, ::1] part_s1 = part_s1_arr
    cdef double[:, ::1] part_s2 = part_s2_arr
    cdef double[::1] part_total = part_total_arr
    cdef double[::1] part_entropy = part_entropy_arr
    job.part_s0 = &part_s0[0, 0]
    job.part_s1 = &part_s1[0, 0]
    job.part_s2 = &part_s2[0, 0]
    job.part_total = &part_total[0]
    job.part_entropy = &part_entropy[0] if with_entropy else NULL
    _drive(job, n_threads, <floating> 0)

    s0_arr = np.empty(K)
    s1_arr = np.empty(job.s1_size)
    s2_arr = np.zeros(job.s2_size)
    cdef double[::1] s0 = s0_arr
    cdef double[::1] s1 = s1_arr
    cdef double[::1] s2 = s2_arr
    total = _add_groups(part_s0, part_s1, part_total, s0, s1)
    cdef double entropy = 0.0
    cdef Py_ssize_t g
    if with_entropy:
        for g in range(job.n_groups):
            entropy += part_entropy[g]
    _add_second_moments(part_s2, s2, n_threads)
    cdef Py_ssize_t k, i, j
    if sums_code == FULL or sums_code == TIED:
        # Only the lower triangles were summed; the matrices are symmetric.
        for k in range(job.s2_size // (D * D)):
            for i in range(D):
                for j in range(i):
                    s2[k * D * D + j * D + i] = s2[k * D * D + i * D + j]
    if sums_code == TIED:
        _tied_around_means(s0, s1, s2, offsets)
    return s0_arr, s1_arr, s2_arr, total, entropy


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


cdef void _add_second_moments(const double[:, ::1] part_s2, double[::1] s2, int n_threads):
    """s2 += the groups' partial sums in group order, entry by entry; the entries are cut
    into chunks of REDUCTION_CHUNK shared among threads."""
    cdef Py_ssize_t size = s2.shape[0], c, g, j
    cdef Py_ssize_t n_chunks = (size + REDUCTION_CHUNK - 1) // REDUCTION_CHUNK
    n_threads = _resolve_threads(n_threads, n_chunks)
    with nogil:
        for c in prange(n_chunks, schedule='static', num_threads=n_threads):
            for g in range(part_s2.shape[0]):
                for j in range(c * REDUCTION_CHUNK, min((c + 1) * REDUCTION_CHUNK, size)):
                    s2[j] += part_s2[g, j]


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


cdef _check_missing_terms(Model model, bint missing):
    if missing and model.missing_terms.shape[0] == 0:
        raise ValueError("missing features need the model's missing_terms")


cdef _fill_of(fill, shift):
    """The fill vector in the rows' dtype (kept alive by the caller), or None."""
    if fill is None:
        return None
    return np.ascontiguousarray(fill, dtype=np.asarray(shift).dtype)


cdef _check_dtype(Model model, const floating[:, :] X):
    if floating is float:
        rows_dtype = np.dtype(np.float32)
    else:
        rows_dtype = np.dtype(np.float64)
    if model.dtype != rows_dtype:
        raise TypeError("the model is %s but the rows are %s; build the model in the "
                        "rows' dtype" % (model.dtype, rows_dtype))


def e_step(const floating[:, :] X, sample_weight, Model model,
           const floating[:, ::1] offsets, int n_threads=0, bint entropy=False,
           listing=None, bint missing=False, patterns=None):
    """The E-step and the M-step's sums in one pass over the rows of X (N x D, any
    strides): ``(s0, s1, s2, loglik, entropy)``.

    s0 (K,), s1 (K*D,) and s2 (see block_layout's sizes) are taken around the points
    ``offsets`` + shift (``offsets``: K x D in the rows' dtype, o_k = mu_k - shift);
    loglik = sum_i w_i log p(x_i); with ``entropy``, also sum_i w_i sum_k r_ik log r_ik
    over the responsibilities that count (0.0 otherwise, at no cost). ``listing`` ("avx2"
    or "plain", for tests) overrides the listing of the terms that count. With
    ``missing``, NaN entries are missing features, marginalised out (the model needs its
    missing_terms); without, X must hold no NaN. With both, the entropy is that of each
    row's component and missing features together, q(k, x_M) = r_ik N(x_M; E[x_M | x_O,
    k], Lambda_k,MM^-1): it also gains -sum_i w_i sum_k r_ik H_ik, with H_ik =
    |M_i|/2 (1 + log 2 pi) - 1/2 log det Lambda_k,MM the entropy of the conditional.
    ``patterns`` (with ``missing``; full and tied, otherwise unused): pattern_list(X), the
    rows' patterns, whose factor sets are then made once per pass for all threads; the
    same numbers.
    """
    _check_dtype(model, X)
    _check_missing_terms(model, missing)
    weights = _weights_of(sample_weight)
    cdef const floating[::1] shift = model.shift
    cdef Job job = _job(E_STEP, X, weights, shift, model.n_components, listing,
                        True if missing else None)
    job.density = _density(model, <floating> 0)
    wide_offsets = _widen(&job, model, offsets)
    sets = _listed_sets(&job, model, missing, patterns, n_threads)
    s0, s1, s2, loglik, total_entropy = _moments_pass(&job, X, offsets, model.code,
                                                      n_threads, entropy)
    return s0, s1, s2, loglik, total_entropy


def moments_of_responsibilities(const floating[:, :] X, sample_weight, resp,
                                const floating[::1] shift, const floating[:, ::1] offsets,
                                str covariance_type, int n_threads=0, listing=None,
                                fill=None):
    """The sums s0, s1, s2 (as e_step's) of responsibilities ``resp`` (N x K) given for the
    rows of X: ``(s0, s1, s2)``. The rows are read as X - shift; with ``fill`` (D, rows'
    dtype), a NaN in feature j as fill_j."""
    cdef const double[:, ::1] r = np.ascontiguousarray(resp, dtype=np.float64)
    if r.shape[0] != X.shape[0] or r.shape[1] != offsets.shape[0]:
        raise ValueError("resp must be (n_samples, n_components)")
    weights = _weights_of(sample_weight)
    fill = _fill_of(fill, shift)
    cdef Job job = _job(GIVEN, X, weights, shift, offsets.shape[0], listing, fill)
    job.resp = &r[0, 0]
    job.density.code = _covariance_code(covariance_type)
    s0, s1, s2, _, _ = _moments_pass(&job, X, offsets, job.density.code, n_threads, False)
    return s0, s1, s2


def moments_of_nearest(const floating[:, :] X, sample_weight, Model model,
                       const floating[:, ::1] offsets, str covariance_type, int n_threads=0,
                       listing=None, fill=None):
    """The sums s0, s1, s2 (as e_step's, for ``covariance_type``) with each row's
    responsibility one for its most likely component under ``model`` (a spherical model
    with unit precisions and equal weights: the nearest centre): ``(s0, s1, s2)``. With
    ``fill`` (D, rows' dtype), a NaN in feature j is read as fill_j."""
    _check_dtype(model, X)
    weights = _weights_of(sample_weight)
    cdef const floating[::1] shift = model.shift
    fill = _fill_of(fill, shift)
    cdef Job job = _job(NEAREST, X, weights, shift, model.n_components, listing, fill)
    job.density = _density(model, <floating> 0)
    cdef int sums_code = _covariance_code(covariance_type)
    s0, s1, s2, _, _ = _moments_pass(&job, X, offsets, sums_code, n_threads, False)
    return s0, s1, s2


def evaluate(const floating[:, :] X, Model model, bint labels=False, bint resp=False,
             bint log_prob=False, int n_threads=0, listing=None, missing=False,
             filled=None, patterns=None):
    """Per-row outputs of the model, those asked for: ``(labels, resp, log_prob)``.

    ``missing``: False (X holds no NaN), True (see below) or None: X has not been looked
    at, and None is returned, after at most one pass, if it holds a NaN or an infinity.

    labels (N,) intp, argmax_k log p(x, k); resp (N, K) in the rows' dtype; log_prob (N,)
    float64, log p(x). Outputs not asked for are empty arrays. With ``missing``, NaN
    entries are missing features, marginalised out (each row's outputs are those of its
    observed features), and ``filled`` (N x D, C-contiguous, rows' dtype, or None), a copy
    of X, gets each missing entry replaced by its conditional mean under the mixture,
    sum_k r_ik E[x_j | x_O, k]. ``patterns`` (with ``missing`` True): as e_step's.
    """
    _check_dtype(model, X)
    cdef bint unknown = missing is None
    missing = bool(missing)
    _check_missing_terms(model, missing)
    cdef floating[:, ::1] filled_view
    if filled is not None:
        if not missing:
            raise ValueError("filled rows need missing=True")
        filled_view = filled
        if filled_view.shape[0] != X.shape[0] or filled_view.shape[1] != X.shape[1]:
            raise ValueError("filled must have the shape of X")
    cdef Py_ssize_t N = X.shape[0], K = model.n_components
    out_labels = np.empty(N if labels else 0, dtype=np.intp)
    out_resp = np.empty((int(N), int(K)) if resp else (0, 0), dtype=model.dtype)
    out_log_prob = np.empty(N if log_prob else 0)
    if N == 0 or not (labels or resp or log_prob or filled is not None):
        return out_labels, out_resp, out_log_prob
    cdef Py_ssize_t[::1] label_view = out_labels
    cdef floating[:, ::1] resp_view = out_resp
    cdef double[::1] log_prob_view = out_log_prob
    cdef const floating[::1] shift = model.shift
    cdef Job job = _job(EVALUATE, X, None, shift, K, listing, True if missing else None)
    job.density = _density(model, <floating> 0)
    _widen(&job, model, None)
    job.rows, job.n_blocks, job.n_groups = block_layout(N, X.shape[1], K, model.code)
    job.filled_out = &filled_view[0, 0] if filled is not None else NULL
    job.labels = &label_view[0] if labels else NULL
    job.resp_out = &resp_view[0, 0] if resp else NULL
    job.log_prob_out = &log_prob_view[0] if log_prob else NULL
    sets = _listed_sets(&job, model, missing is True, patterns, n_threads)
    found_arr = np.zeros(1, dtype=np.intc)
    cdef int[::1] found = found_arr
    if unknown:
        job.found = &found[0]
    _drive(&job, n_threads, <floating> 0)
    if found[0]:
        return None
    return out_labels, out_resp, out_log_prob


# ---------------------------------------------------------------------------------------------
# k-means: the nearest centre of every row, and the k-means++ potentials.
#
# Squared distances to the centres c_k, all taken around a shift (z = x - shift, in the data's
# dtype, then in float64): ||z - c_k||^2 term by term for a few features, otherwise the
# expansion ||z||^2 - 2 z.c_k + ||c_k||^2 with z.c_k from one product per block (rounded
# below zero at most by eps ||z||^2; clamped at zero). The same driver, fixed blocks, groups
# and ordered reduction as the mixtures' passes: bit-for-bit the same for any number of
# threads.

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
    # out = -2 C Z^T (K x rows), then the norms added.
    gemm(NoTrans, Trans, <int> n_centres, <int> rows, <int> n_features, -2.0,
         centres, <int> n_features, z, <int> n_features, 0.0, out, <int> rows)
    if with_row_norms:
        for i in range(rows):
            # ||z_i||^2 as the weighted sum of z_i with itself.
            row_norms[i] = _weighted_sum(&z[i * n_features], &z[i * n_features], n_features)
    gmmfast_expand_distances(out, rows, n_centres, row_norms if with_row_norms else NULL,
                             centre_norms)


cdef void _kmeans_block(const Job *job, Scratch *s, Py_ssize_t g, Py_ssize_t blk,
                        Py_ssize_t start, Py_ssize_t n, const double *w,
                        floating *z) noexcept nogil:
    """A k-means step on a block: the sums of each row's nearest centre (LLOYD), or the
    candidates' potentials (SEEDING); see nearest_centre_pass and seeding_pass."""
    cdef Py_ssize_t i, j, k, t, D = job.n_features, K = job.n_components
    cdef double v
    cdef double *acc
    cdef double *row
    cdef floating d
    cdef floating *closest = <floating *> job.closest
    cdef floating *minima = <floating *> job.minima
    cdef bint full_distance = job.distance != NULL or job.with_inertia
    # z - shift in float64, the difference rounded in the data's dtype.
    if floating is double:
        _shifted(job, start, n, s.zd)
        if job.fill != NULL:
            _filled(job, n, s.zd)
    else:
        _shifted(job, start, n, z)
        if job.fill != NULL:
            _filled(job, n, z)
        for i in range(n * D):
            s.zd[i] = z[i]
    if job.purpose == LLOYD:
        _block_distances(s.zd, n, D, K, job.centres, job.centre_norms, full_distance,
                         s.nearest, s.dist)
        # The nearest centre across the rows, centre by centre (the first of equals: only
        # a strictly smaller distance replaces it).
        for i in range(n):
            s.nearest[i] = s.dist[i]
            s.nearest_label[i] = 0
        for k in range(1, K):
            gmmfast_nearest_update(&s.dist[k * n], n, k, s.nearest, s.nearest_label)
        for i in range(n):
            k = s.nearest_label[i]
            v = w[i] if w != NULL else 1.0
            job.part_s0[g * K + k] += v
            acc = &job.part_s1[g * job.s1_size + k * D]
            for j in range(D):
                acc[j] += v * s.zd[i * D + j]
        if job.distance != NULL:
            for i in range(n):
                job.distance[start + i] = s.nearest[i]
        if job.with_inertia:
            job.part_total[g] += _weighted_sum(s.nearest, w, n)
        return
    _block_distances(s.zd, n, D, K, job.centres, job.centre_norms, True, s.nearest, s.dist)
    for t in range(K):
        row = &s.dist[t * n]
        for i in range(n):
            d = <floating> row[i]
            row[i] = closest[start + i] if closest[start + i] < d else d
        job.block_mass[t * job.n_blocks + blk] = _weighted_sum(row, w, n)
        if minima != NULL:
            for i in range(n):
                minima[t * job.n_samples + start + i] = <floating> row[i]
    if job.seed >= 0:
        row = &s.dist[job.seed * n]
        for i in range(n):
            closest[start + i] = <floating> row[i]


cdef class _Centres:
    """Centres (K x D, around the shift) and their squared norms, as _block_distances
    reads them."""
    cdef public object rows_
    cdef public object norms

    def __init__(self, centres, Py_ssize_t n_features):
        self.rows_ = np.ascontiguousarray(centres, dtype=np.float64)
        if self.rows_.ndim != 2 or self.rows_.shape[1] != n_features:
            raise ValueError("centres must be (n_centres, n_features) with the rows' "
                             "%d features" % n_features)
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
        int n_threads=0,
        fill=None):                          # IN  D, or None: NaN in feature j read as fill_j
    """One Lloyd step's sums: each row to its nearest centre (the first of equals).

    Returns the inertia sum_i w_i ||x_i - c_nearest||^2 if ``with_inertia``, else 0.
    """
    layout = _Centres(centres, X.shape[1])
    cdef const double[:, ::1] c_rows = layout.rows_
    cdef const double[::1] c_norms = layout.norms
    cdef Py_ssize_t n_centres = c_rows.shape[0], n_features = X.shape[1]
    fill = _fill_of(fill, shift)
    cdef Job job = _job(LLOYD, X, sample_weight, shift, n_centres, None, fill)
    if s0.shape[0] != n_centres or s1.shape[0] != n_centres * n_features:
        raise ValueError("s0 must hold n_centres entries and s1 n_centres * n_features")
    if distance.shape[0] > 0 and distance.shape[0] != X.shape[0]:
        raise ValueError("distance must have one entry per row")
    job.rows, job.n_blocks, job.n_groups = kmeans_layout(X.shape[0])
    job.by_group = True
    job.centres = &c_rows[0, 0]
    job.centre_norms = &c_norms[0]
    job.distance = &distance[0] if distance.shape[0] > 0 else NULL
    job.with_inertia = with_inertia
    job.s1_size = n_centres * n_features
    part_s0_arr = np.zeros((job.n_groups, n_centres))
    part_s1_arr = np.zeros((job.n_groups, job.s1_size))
    part_inertia_arr = np.zeros(job.n_groups)
    cdef double[:, ::1] part_s0 = part_s0_arr
    cdef double[:, ::1] part_s1 = part_s1_arr
    cdef double[::1] part_inertia = part_inertia_arr
    job.part_s0 = &part_s0[0, 0]
    job.part_s1 = &part_s1[0, 0]
    job.part_total = &part_inertia[0]
    _drive(&job, n_threads, <floating> 0)
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
        int n_threads=0,
        fill=None):                          # IN  D, or None: NaN in feature j read as fill_j
    """k-means++ masses of each candidate c_t: with m_it = min(closest_i, ||x_i - c_t||^2),
    block_mass[t, b] = sum_{i in block b} w_i m_it (in float64, in four partial sums over
    the rows; the distances rounded to the data's dtype first, as scikit-learn keeps them).

    Where asked, the m_it themselves for every t (``minima``), or those of the candidate
    ``seed`` written into ``closest`` (the candidate becomes a seed). Each m_it is computed
    alike whichever of these is asked.
    """
    layout = _Centres(candidates, X.shape[1])
    cdef const double[:, ::1] c_rows = layout.rows_
    cdef const double[::1] c_norms = layout.norms
    cdef Py_ssize_t n_candidates = c_rows.shape[0], n_samples = X.shape[0]
    fill = _fill_of(fill, shift)
    cdef Job job = _job(SEEDING, X, sample_weight, shift, n_candidates, None, fill)
    job.rows, job.n_blocks, job.n_groups = kmeans_layout(n_samples)
    if closest.shape[0] != n_samples:
        raise ValueError("closest must have one entry per row")
    if block_mass.shape[0] != n_candidates or block_mass.shape[1] != job.n_blocks:
        raise ValueError("block_mass must be (n_candidates, n_blocks)")
    if minima.shape[0] > 0 and (minima.shape[0] != n_candidates
                                or minima.shape[1] != n_samples):
        raise ValueError("minima must be (n_candidates, n_samples) or empty")
    if seed >= n_candidates:
        raise ValueError("seed must be the index of a candidate")
    job.by_group = False
    job.centres = &c_rows[0, 0]
    job.centre_norms = &c_norms[0]
    job.closest = &closest[0]
    job.block_mass = &block_mass[0, 0]
    job.minima = &minima[0, 0] if minima.shape[0] > 0 else NULL
    job.seed = seed
    _drive(&job, n_threads, <floating> 0)


# ---------------------------------------------------------------------------------------------
# The rows' missing and non-finite entries.

# Rows per chunk of scan_rows (its sums are added chunk by chunk, in order).
cdef Py_ssize_t SCAN_ROWS = 4096


cdef void _observed_chunk(const floating[:, :] X, Py_ssize_t start, Py_ssize_t rows,
                          const double *wp, double *part_sum, double *part_weight,
                          int64_t *counts) noexcept nogil:
    """The sums of scan_rows over rows start .. start + rows - 1 of X (see
    gmmfast_observed_sums)."""
    cdef const char *x = <const char *> &X[start, 0]
    if floating is double:
        gmmfast_observed_sums_d(x, X.strides[0], X.strides[1], rows, X.shape[1],
                                wp + start if wp != NULL else NULL, part_sum, part_weight,
                                counts)
    else:
        gmmfast_observed_sums_f(x, X.strides[0], X.strides[1], rows, X.shape[1],
                                wp + start if wp != NULL else NULL, part_sum, part_weight,
                                counts)


def scan_rows(const floating[:, :] X, sample_weight=None, int n_threads=0):
    """X (N x D, any strides) looked at for NaN and infinity: ``(n_missing, n_infinite,
    sums, weights)``.

    n_missing counts the NaN entries and n_infinite the infinite ones; where there is one,
    for each feature j, sums[j] = sum_i w_i x_ij and weights[j] = sum_i w_i over the rows
    where x_ij is finite (float64; w_i = 1 without weights), in chunks of rows added in
    order (the same bits for any number of threads). Each chunk is tested in one vectorised
    test of its bits, and summed at once if it has a NaN or an infinity; only if some chunk
    has one are the others read again for their sums (without either, sums and weights are
    zeros). One read of X when every chunk, or none, has one.
    """
    cdef Py_ssize_t N = X.shape[0], D = X.shape[1]
    cdef Py_ssize_t n_chunks = max(1, (N + SCAN_ROWS - 1) // SCAN_ROWS)
    weights_arr = _weights_of(sample_weight)
    cdef const double[::1] w
    cdef const double *wp = NULL
    if weights_arr is not None:
        w = weights_arr
        if w.shape[0] != N:
            raise ValueError("sample_weight must have one entry per row")
        wp = &w[0]
    part_sum_arr = np.zeros((n_chunks, D))
    part_weight_arr = np.zeros((n_chunks, D))
    counts_arr = np.zeros((n_chunks, 2), dtype=np.int64)
    cdef double[:, ::1] part_sum = part_sum_arr
    cdef double[:, ::1] part_weight = part_weight_arr
    cdef int64_t[:, ::1] counts = counts_arr
    cdef Py_ssize_t c, i, j
    cdef double x
    flagged_arr = np.zeros(n_chunks, dtype=np.intc)
    cdef int[::1] flagged = flagged_arr
    cdef bint contiguous = (X.strides[1] == sizeof(floating)
                            and X.strides[0] == D * <Py_ssize_t> sizeof(floating))
    cdef Py_ssize_t start, rows
    if N > 0 and D > 0:
        n_threads = _resolve_threads(n_threads, n_chunks)
        with nogil:
            for c in prange(n_chunks, schedule='static', num_threads=n_threads):
                start = c * SCAN_ROWS
                rows = min(start + SCAN_ROWS, N) - start
                if contiguous:
                    flagged[c] = _any_nonfinite(&X[start, 0], rows * D)
                else:
                    for i in range(start, start + rows):
                        for j in range(D):
                            x = X[i, j]
                            if x - x != 0.0:
                                flagged[c] = 1
                if flagged[c]:
                    # Summed now, while the chunk is in the cache.
                    _observed_chunk(X, start, rows, wp, &part_sum[c, 0], &part_weight[c, 0],
                                    &counts[c, 0])
    if N > 0 and D > 0 and flagged_arr.any():
        # The chunks without a NaN or an infinity, read again for their sums.
        with nogil:
            for c in prange(n_chunks, schedule='static', num_threads=n_threads):
                if not flagged[c]:
                    start = c * SCAN_ROWS
                    rows = min(start + SCAN_ROWS, N) - start
                    _observed_chunk(X, start, rows, wp, &part_sum[c, 0], &part_weight[c, 0],
                                    &counts[c, 0])
    sums = np.zeros(D)
    weights = np.zeros(D)
    for c in range(n_chunks):
        sums += part_sum_arr[c]
        weights += part_weight_arr[c]
    totals = counts_arr.sum(axis=0)
    return int(totals[0]), int(totals[1]), sums, weights
