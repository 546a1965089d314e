"""The compiled passes, seen from the model's parameters.

The Python side of ``_kernels``: lays the parameters out as the passes read them and
allocates their outputs. Knows nothing of estimators.
"""

import copy
import math

import numpy as np

from . import _kernels

_LOG_2PI = math.log(2.0 * math.pi)
_EMPTY = np.empty(0)


def log_det_cholesky(precisions_cholesky, covariance_type, n_features):
    """log det P_k = sum_j log P_k[j, j] (a triangular factor's determinant)."""
    if covariance_type == "full":
        return np.sum(np.log(np.diagonal(precisions_cholesky, axis1=1, axis2=2)), axis=1)
    if covariance_type == "tied":
        return np.sum(np.log(np.diag(precisions_cholesky)))
    if covariance_type == "diag":
        return np.sum(np.log(precisions_cholesky), axis=1)
    return n_features * np.log(precisions_cholesky)


class PassArguments:
    """The model in the layout the compiled passes read, in the data's dtype: ``model``,
    the compiled passes' :class:`Model`, and ``offsets`` / ``base``, where the sums of the
    M-step are centred.

    ``log_offset`` (K,), if given, is added to every log p(x, k) of component k: an
    estimator whose E-step differs only by per-component constants passes them here.
    ``missing`` False: the passes will meet no missing (NaN) feature (rows known to hold
    none), and the model leaves out what the marginals need.

    For full and tied covariances the Mahalanobis term is ||(x - c) P_k - (mu_k - c) P_k||^2
    with c a common centre, so that one matrix product (x - c) [P_1 | ... | P_K] serves all
    components; for diag and spherical it is ||(x - c - (mu_k - c)) * p_k||^2. P_k is the
    upper-triangular Cholesky factor of the precision; the pass reads only its upper triangle.
    """

    def __init__(self, weights, means, precisions_cholesky, covariance_type, dtype,
                 log_offset=None, missing=True):
        n_components, n_features = means.shape
        weights = np.asarray(weights, dtype=np.float64)
        means = np.asarray(means, dtype=np.float64)
        chol = _upper_factors(np.asarray(precisions_cholesky, dtype=np.float64),
                              covariance_type)
        self.covariance_type = covariance_type
        self.n_components = n_components
        # sum_k w_k mu_k / sum_k w_k, the operations of np.average without its checks.
        column = weights[:, np.newaxis]
        self.shift = ((means * column).sum(axis=0) / column.sum(axis=0)).astype(dtype)
        offsets = means - self.shift
        self.offsets = np.ascontiguousarray(offsets, dtype=dtype)
        # Component index innermost (see src/_kernels.pyx): P_k[a, j] at [a, j*K + k],
        # centre j of component k at [j, k].
        if covariance_type == "full":
            precision = chol.transpose(1, 2, 0).reshape(n_features, -1)
            centers = np.einsum("kd,kde->ke", offsets, chol)
        elif covariance_type == "tied":
            precision = chol
            centers = offsets @ chol
        elif covariance_type == "diag":
            precision = chol.T
            centers = offsets
        else:
            precision = chol
            centers = offsets
        with np.errstate(divide="ignore"):
            log_weights = np.log(weights)
        log_norm = (
            log_weights
            + log_det_cholesky(chol, covariance_type, n_features)
            - 0.5 * n_features * _LOG_2PI
        )
        if log_offset is not None:
            log_norm = log_norm + np.asarray(log_offset, dtype=np.float64)
        self.model = _kernels.Model(
            covariance_type,
            self.shift,
            np.ascontiguousarray(precision, dtype=dtype).ravel(),
            np.ascontiguousarray(centers.T, dtype=dtype),
            np.ascontiguousarray(log_norm, dtype=np.float64),
            quadratic_form(chol, centers, covariance_type, log_norm),
            missing_terms(chol, centers, covariance_type, dtype) if missing else None,
        )
        # The points the statistics are centred on, as the compiled pass sees them.
        self.base = self.offsets.astype(np.float64) + self.shift.astype(np.float64)

    def centred_on(self, points):
        """The same model, with the statistics taken around ``points`` (K, D) instead."""
        other = copy.copy(self)
        other.offsets = np.ascontiguousarray(points - self.shift, dtype=self.shift.dtype)
        other.base = other.offsets.astype(np.float64) + self.shift.astype(np.float64)
        return other


def _upper_factors(chol, covariance_type):
    """The precision factors as the passes read them: upper triangular P with P P^T the
    precision. A factor F with entries below its diagonal (one set by hand, such as
    np.linalg.cholesky's lower factor of the precision) is replaced by the upper one of
    the same precision F F^T: with J the matrix that reverses the order of the features,
    P = J L J where L L^T = J F F^T J (the Cholesky factor taken in reversed order)."""
    if covariance_type not in ("full", "tied"):
        return chol
    if not np.any(np.tril(chol, -1)):
        return chol
    precision = chol @ np.swapaxes(chol, -1, -2)
    reversed_ = precision[..., ::-1, ::-1]
    return np.ascontiguousarray(np.linalg.cholesky(reversed_)[..., ::-1, ::-1])


def quadratic_form(precisions_cholesky, centres, covariance_type, log_norm):
    """Diagonal and spherical log-densities as one product with [z^2, z, 1] (or [|z|^2, z, 1]).

    log p(z, k) = log_norm_k - 1/2 sum_j p_kj^2 (z_j - c_kj)^2; expanding the square gives
    the (2D + 1, K) matrix (diag; (D + 2, K) for spherical) whose product with those rows is
    log p(z, k). For full and tied covariances, an empty placeholder.
    """
    n_components, n_features = centres.shape
    if covariance_type == "diag":
        p2 = precisions_cholesky**2
        matrix = np.vstack([p2.T, (-2.0 * p2 * centres).T])
        const = np.sum(p2 * centres**2, axis=1)
    elif covariance_type == "spherical":
        p2 = np.broadcast_to(precisions_cholesky**2, (n_components,))
        matrix = np.vstack([p2[np.newaxis, :], (-2.0 * p2[:, np.newaxis] * centres).T])
        const = p2 * np.sum(centres**2, axis=1)
    else:
        return np.empty((0, n_components))
    matrix = np.vstack([-0.5 * matrix, (log_norm - 0.5 * const)[np.newaxis, :]])
    return np.ascontiguousarray(matrix, dtype=np.float64)


def missing_terms(precisions_cholesky, centres, covariance_type, dtype=np.float64):
    """What the compiled passes need for the marginals of rows with missing features.

    diag and spherical: what each feature j adds to -log p(x, k) when it is read as
    x_j = shift_j (z_j = 0), a_jk = 1/2 p_kj^2 c_kj^2 - log p_kj + 1/2 log(2 pi), a (D, K)
    matrix: adding a_jk over a row's missing features gives the log-density of its observed
    features. full and tied: for each precision factor P_k (one for tied), the (2D + 1, D)
    block [Lambda_k; P_k; log diag(Lambda_k)] with Lambda_k = P_k P_k^T, whose rows and
    columns M give each pattern of missing features its marginal; as a ((2D + 1) D, K)
    matrix, the component index innermost. Tied adds P c_k, c_k the centres (K, D) as
    the pass reads them (in the data's dtype): a ((2D + 1) D + D K, 1) matrix.
    """
    n_components, n_features = centres.shape
    if covariance_type in ("full", "tied"):
        chol = np.asarray(precisions_cholesky, dtype=np.float64)
        if covariance_type == "tied":
            chol = chol[np.newaxis]
        precision = chol @ chol.transpose(0, 2, 1)
        log_diagonal = np.log(np.diagonal(precision, axis1=1, axis2=2))[:, np.newaxis, :]
        blocks = np.concatenate([precision, chol, log_diagonal], axis=1)
        blocks = blocks.reshape(len(chol), -1).T
        if covariance_type == "tied":
            # P c_k for every component (D, K): the part of (P u_k)_M that does not depend
            # on the row.
            projected = chol[0] @ np.asarray(centres, dtype=dtype).astype(np.float64).T
            blocks = np.concatenate([blocks, projected.reshape(-1, 1)])
        return np.ascontiguousarray(blocks)
    if covariance_type == "diag":
        p = precisions_cholesky
    else:
        p = np.broadcast_to(np.asarray(precisions_cholesky)[:, np.newaxis], centres.shape)
    terms = 0.5 * p**2 * centres**2 - np.log(p) + 0.5 * _LOG_2PI
    return np.ascontiguousarray(terms.T, dtype=np.float64)


def s2_shape(covariance_type, n_components, n_features):
    """Shape of the second-moment sums for a covariance type."""
    from ._covariance_shapes import second_moment_shape

    return second_moment_shape(covariance_type, n_components, n_features)


def statistics(X, sample_weight, args, n_threads=0, entropy=False, missing=False,
               patterns=None):
    """One E-step and the M-step's sums over the rows of X.

    Returns ``(s0, s1, s2, loglik)``: s0 (K,), s1 (K, D) and s2 taken around ``args.base``,
    and loglik = sum_i w_i log p(x_i), all float64; with ``entropy``, also
    sum_i w_i sum_k r_ik log r_ik as a fifth value. With ``missing``, the NaN entries of X
    are missing features: each row's log-likelihood is that of its observed features and
    the sums hold the conditional expectations of the missing ones (exact EM); the fifth
    value is then sum_i w_i E[log q(k, x_M | x_O)] over the component and the missing
    features together: it gains -sum_i w_i sum_k r_ik H_ik, H_ik the entropy of
    N(x_M; E[x_M | x_O, k], Cov[x_M | x_O, k]). ``patterns``: the rows' patterns of missing
    features (``_kernels.pattern_list(X)``, made once for the rows of a fit), whose factor
    sets are then made once per pass for all threads instead of by each thread that meets
    them; a list that leaves some of the rows' patterns out costs time, not digits.
    """
    n_features = X.shape[1]
    shape = s2_shape(args.covariance_type, args.n_components, n_features)
    s0, s1, s2, loglik, total_entropy = _kernels.e_step(
        X, sample_weight, args.model, args.offsets, n_threads, entropy, missing=missing,
        patterns=patterns,
    )
    sums = (s0, s1.reshape(args.n_components, n_features), s2.reshape(shape), loglik)
    return sums + (total_entropy,) if entropy else sums


def statistics_of_responsibilities(X, sample_weight, chunks, base, covariance_type,
                                   fill=None):
    """Sums s0, s1, s2 around ``base`` (K, D) for responsibilities given chunk by chunk.

    ``chunks`` yields ``(start, stop, resp)`` over consecutive rows of X, resp of shape
    (stop - start, K). Returns ``(s0, s1, s2, base)`` with ``base`` as the pass saw it.
    ``fill`` (D,): the value read in place of a NaN in each feature.
    """
    n_components, n_features = base.shape
    dtype = X.dtype
    shift = np.zeros(n_features, dtype=dtype)
    offsets = np.ascontiguousarray(base, dtype=dtype)
    shape = s2_shape(covariance_type, n_components, n_features)
    s0 = np.zeros(n_components)
    s1 = np.zeros((n_components, n_features))
    s2 = np.zeros(shape)
    for start, stop, resp in chunks:
        weight = None if sample_weight is None else sample_weight[start:stop]
        part0, part1, part2 = _kernels.moments_of_responsibilities(
            X[start:stop], weight, resp, shift, offsets, covariance_type, fill=fill
        )
        s0 += part0
        s1 += part1.reshape(s1.shape)
        s2 += part2.reshape(shape)
    return s0, s1, s2, offsets.astype(np.float64)


def nearest_layout(centres, base, dtype):
    """(shift, offsets, base as the pass sees it) of :func:`statistics_of_nearest`."""
    shift = centres.mean(axis=0).astype(dtype)
    offsets = np.ascontiguousarray(base - shift, dtype=dtype)
    return shift, offsets, offsets.astype(np.float64) + shift.astype(np.float64)


def statistics_of_nearest(X, sample_weight, centres, base, covariance_type, n_threads=0,
                          fill=None):
    """Sums s0, s1, s2 around ``base`` (K, D), each row given to its nearest centre (K, D).

    Returns ``(s0, s1, s2, base)`` with ``base`` as the pass saw it. The nearest centre is
    the most likely component of a spherical model with unit variances and equal weights.
    ``fill`` (D,): the value read in place of a NaN in each feature.
    """
    n_components, n_features = centres.shape
    dtype = X.dtype
    shift, offsets, base = nearest_layout(centres, base, dtype)
    local = centres - shift.astype(np.float64)
    log_norm = np.zeros(n_components)
    nearest = _kernels.Model(
        "spherical", shift, np.ones(n_components, dtype=dtype),
        np.ascontiguousarray(local.T, dtype=dtype), log_norm,
        quadratic_form(np.ones(n_components), local, "spherical", log_norm),
    )
    s0, s1, s2 = _kernels.moments_of_nearest(
        X, sample_weight, nearest, offsets, covariance_type, n_threads, fill=fill
    )
    shape = s2_shape(covariance_type, n_components, n_features)
    return s0, s1.reshape(n_components, n_features), s2.reshape(shape), base


def needs_second_pass(s0, s1, s2, base, covariance_type, dtype):
    """Whether sums taken around ``base`` would lose over half their digits in the M-step.

    The M-step moves the sums to the new means m = base + s1 / s0. Per feature j it adds
    s0_k d_kj^2 (d = m - base) to a variance sum s2_kjj - 2 s1_kj d_kj + s0_k d_kj^2; the
    relative rounding error of the variance is about the ratio of the two times the machine
    epsilon. Beyond 1 / sqrt(eps), the sums should be taken again around m.
    """
    eps = float(np.finfo(dtype).eps)
    d = s1 / (s0 + 10.0 * eps)[:, np.newaxis]
    correction = s0[:, np.newaxis] * d * d
    second = np.diagonal(s2, axis1=-2, axis2=-1) if covariance_type in ("full", "tied") else s2
    if covariance_type == "tied":
        correction = correction.sum(axis=0)
        result = second - (2.0 * s1 * d).sum(axis=0) + correction
    else:
        result = second - 2.0 * s1 * d + correction
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(correction > 0, correction / np.abs(result), 0.0)
    return not (np.all(np.isfinite(ratio)) and np.max(ratio, initial=0.0) <= eps**-0.5)


def evaluate(X, args, labels=False, resp=False, log_prob=False, n_threads=0, missing=False,
             filled=None, patterns=None):
    """Per-row outputs of the model (only those asked for): (labels, resp, log_prob).

    ``resp`` comes in the dtype of X, ``log_prob`` (log p(x)) in float64; outputs not
    asked for are empty arrays. With ``missing``, the NaN entries of X are missing
    features, marginalised out; ``filled`` (a C-contiguous copy of X, or None) then gets
    each of them replaced by its conditional mean under the model. ``patterns``: as
    :func:`statistics`'.
    """
    return _kernels.evaluate(X, args.model, labels, resp, log_prob, n_threads,
                             missing=missing, filled=filled, patterns=patterns)


def nearest_centre_sums(X, sample_weight, shift, centres, distances=False, inertia=False,
                        n_threads=0, fill=None):
    """Each row of X to its nearest centre: ``(s0, s1, distance, inertia)``.

    ``centres`` (K, D) and the sums are taken around ``shift`` (D,, in the dtype of X):
    s0[k] is the weight of the rows nearest centre k, s1[k] their weighted sum of x - shift,
    and with ``inertia`` their inertia sum_i w_i ||x_i - c_nearest||^2 (otherwise 0). With
    ``distances``, also each row's squared distance to its nearest centre (N floats);
    otherwise None. ``fill`` (D,): the value read in place of a NaN in each feature.
    """
    n_components, n_features = centres.shape
    s0 = np.empty(n_components)
    s1 = np.empty(n_components * n_features)
    distance = np.empty(X.shape[0] if distances else 0)
    total = _kernels.nearest_centre_pass(
        X, _EMPTY if sample_weight is None else sample_weight, shift, centres,
        s0, s1, distance, inertia, n_threads, fill,
    )
    return s0, s1.reshape(n_components, n_features), distance if distances else None, total


def seeding_masses(X, sample_weight, shift, candidates, closest, minima=None, seed=-1,
                   n_threads=0, fill=None):
    """k-means++: for each candidate c_t (T, D) around ``shift``, the sums over each block
    of rows of w_i min(closest_i, ||x_i - c_t||^2), (T, n_blocks); those minima into
    ``minima`` (T, N) if given, and with ``seed`` = t into ``closest`` (both in the dtype
    of X; ``fill``: the value read in place of a NaN in each feature)."""
    n_blocks = _kernels.kmeans_layout(X.shape[0])[1]
    block_mass = np.empty((candidates.shape[0], n_blocks))
    _kernels.seeding_pass(
        X, _EMPTY if sample_weight is None else sample_weight, shift, candidates,
        closest, block_mass, np.empty((0, 0), X.dtype) if minima is None else minima, seed,
        n_threads, fill,
    )
    return block_mass
