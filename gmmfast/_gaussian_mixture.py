"""Gaussian mixture fitted by EM, one compiled pass over the data per iteration."""

import numpy as np
from scipy import linalg
from scipy.special import logsumexp
from sklearn.base import clone
from sklearn.utils import check_array
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import BaseMixture, InformationCriteriaMixin
from ._covariance_shapes import COVARIANCE_TYPES, covariance_shape, n_covariance_parameters
from ._passes import PassArguments, needs_second_pass

###############################################################################
# Checks of user-given parameters (scikit-learn's wording)


def _check_shape(param, param_shape, name):
    if param.shape != param_shape:
        raise ValueError(
            "The parameter '%s' should have the shape of %s, but got %s"
            % (name, param_shape, param.shape)
        )


def _check_weights(weights, n_components):
    weights = check_array(
        weights, dtype=[np.float64, np.float32], ensure_2d=False, input_name="weights_init"
    )
    _check_shape(weights, (n_components,), "weights")
    if np.any(weights < 0.0) or np.any(weights > 1.0):
        raise ValueError(
            "The parameter 'weights' should be in the range [0, 1], but got max value "
            "%.5f, min value %.5f" % (np.min(weights), np.max(weights))
        )
    atol = 1e-6 if weights.dtype == np.float32 else 1e-8
    if not np.allclose(np.abs(1.0 - np.sum(weights)), 0.0, atol=atol):
        raise ValueError(
            "The parameter 'weights' should be normalized, but got sum(weights) = %.5f"
            % np.sum(weights)
        )
    return weights.astype(np.float64)


def _check_means(means, n_components, n_features):
    means = check_array(
        means, dtype=[np.float64, np.float32], ensure_2d=False, input_name="means_init"
    )
    _check_shape(means, (n_components, n_features), "means")
    return means.astype(np.float64)


def _check_precisions(precisions, covariance_type, n_components, n_features):
    precisions = check_array(
        precisions,
        dtype=[np.float64, np.float32],
        ensure_2d=False,
        allow_nd=covariance_type == "full",
        input_name="precisions_init",
    )
    expected = covariance_shape(covariance_type, n_components, n_features)
    _check_shape(precisions, expected, "%s precision" % covariance_type)
    if covariance_type in ("full", "tied"):
        _check_positive_definite(precisions, covariance_type)
    else:
        _check_positive(precisions, covariance_type)
    return precisions.astype(np.float64)


def _check_positive_definite(matrices, covariance_type):
    """Every (D, D) matrix of ``matrices`` symmetric with positive eigenvalues."""
    n_features = matrices.shape[-1]
    stack = matrices.reshape(-1, n_features, n_features)
    # All matrices at once: np.allclose of each with its transpose, then the eigenvalues
    # of each (its lower triangle), as a loop over them would test them.
    if not (np.isclose(stack, stack.transpose(0, 2, 1)).all()
            and (np.linalg.eigvalsh(stack) > 0.0).all()):
        raise ValueError(
            "'%s precision' should be symmetric, positive-definite" % covariance_type
        )


def _check_positive(values, covariance_type):
    if np.any(values <= 0.0):
        raise ValueError("'%s precision' should be positive" % covariance_type)


def _check_finite_log_likelihood(value):
    if not np.isfinite(value):
        raise ValueError(
            "The log-likelihood of the data is not finite under the current model; "
            "scale the input data or increase reg_covar."
        )


###############################################################################
# Covariances, precisions and their Cholesky factors


def _precision_error_message(dtype):
    message = (
        "Fitting the mixture model failed because some components have ill-defined "
        "empirical covariance (for instance caused by singleton or collapsed samples). "
        "Try to decrease the number of components, increase reg_covar, or scale the "
        "input data."
    )
    if dtype == np.float32:
        message += (
            " The numerical accuracy can also be improved by passing float64 data "
            "instead of float32."
        )
    return message


def _precision_cholesky_from_covariances(covariances, covariance_type, dtype):
    """P with P P^T = Sigma^-1: P = L^-T for the lower Cholesky factor L of Sigma."""
    if covariance_type in ("full", "tied"):
        matrices = covariances.reshape(-1, *covariances.shape[-2:])
        if not np.isfinite(matrices).all():
            raise ValueError(_precision_error_message(dtype))
        n_features = matrices.shape[-1]
        identity = np.eye(n_features, dtype=matrices.dtype)
        factors = np.empty_like(matrices)
        # LAPACK's potrf and trtrs called directly, as scipy.linalg.cholesky and
        # solve_triangular call them (the same bits), without their checks of each matrix:
        # they cost more than the factorisations of a few small matrices, once per EM step.
        potrf, trtrs = linalg.get_lapack_funcs(("potrf", "trtrs"), (matrices,))
        for k, matrix in enumerate(matrices):
            lower, info = potrf(matrix, lower=1, clean=1)
            if info == 0:
                inverse, info = trtrs(lower, identity, lower=1)
            if info != 0:
                raise ValueError(_precision_error_message(dtype))
            factors[k] = inverse.T
        return factors.reshape(covariances.shape)
    if not np.all(covariances > 0.0):
        raise ValueError(_precision_error_message(dtype))
    return 1.0 / np.sqrt(covariances)


def _precision_cholesky_from_precisions(precisions, covariance_type):
    """Upper-triangular U with U U^T = Lambda: U = J chol(J Lambda J) J, J the exchange."""
    if covariance_type in ("full", "tied"):
        matrices = precisions.reshape(-1, *precisions.shape[-2:])
        factors = np.linalg.cholesky(matrices[:, ::-1, ::-1])[:, ::-1, ::-1]
        return np.ascontiguousarray(factors).reshape(precisions.shape)
    return np.sqrt(precisions)


def _precisions_from_cholesky(precisions_cholesky, covariance_type):
    """Lambda = P P^T."""
    if covariance_type == "full":
        return np.matmul(precisions_cholesky, precisions_cholesky.transpose(0, 2, 1))
    if covariance_type == "tied":
        return precisions_cholesky @ precisions_cholesky.T
    return precisions_cholesky**2


def _covariances_from_precisions(precisions, covariance_type):
    if covariance_type in ("full", "tied"):
        return np.linalg.inv(precisions)
    return 1.0 / precisions


###############################################################################
# The M-step


def _estimate_parameters(s0, s1, s2, base, covariance_type, reg_covar, eps, n_total=None):
    """The M-step from sums taken around ``base`` (one point per component).

    With d_k = m_k - b_k, the new mean m_k = b_k + s1_k / n_k and
        sum_i v_ik (x_i - m_k)(x_i - m_k)^T = s2_k - s1_k d_k^T - d_k s1_k^T + s0_k d_k d_k^T,
    exact whatever b_k is, and free of cancellation when b_k is close to m_k.

    A component with s0_k = 0 (no responsibility above 2^-64 on any row: the passes list
    none of its terms) keeps the point its sums were taken around, b_k (its previous mean in
    EM), with covariance reg_covar I and weight 10 eps / n. scikit-learn's formula would put
    it at (sum_i r_ik x_i) / (sum_i r_ik + 10 eps): the origin when every r_ik underflows,
    otherwise somewhere between the origin and its rows' weighted mean; a point that depends
    on where the origin is.
    """
    nk = s0 + 10.0 * eps
    means = np.where(
        (s0 > 0)[:, np.newaxis], (s1 + s0[:, np.newaxis] * base) / nk[:, np.newaxis], base
    )
    d = means - base
    n_features = means.shape[1]
    if covariance_type in ("full", "tied"):
        cross = s1[:, :, np.newaxis] * d[:, np.newaxis, :]
        scatter = (
            s0[:, np.newaxis, np.newaxis] * d[:, :, np.newaxis] * d[:, np.newaxis, :]
            - cross
            - cross.transpose(0, 2, 1)
        )
        if covariance_type == "full":
            covariances = (s2 + scatter) / nk[:, np.newaxis, np.newaxis]
            covariances[:, np.arange(n_features), np.arange(n_features)] += reg_covar
        else:
            covariances = (s2 + scatter.sum(axis=0)) / nk.sum()
            covariances.flat[:: n_features + 1] += reg_covar
    else:
        covariances = (s2 - 2.0 * s1 * d + s0[:, np.newaxis] * d * d) / nk[:, np.newaxis]
        covariances += reg_covar
        if covariance_type == "spherical":
            covariances = covariances.mean(axis=1)
    weights = nk / (nk.sum() if n_total is None else n_total)
    return weights, means, covariances


def _m_step_from_sums(rows, args, sums, covariance_type, reg_covar, eps):
    """(weights, means, covariances) of the M-step from the E-step's ``sums`` (s0, s1, s2)
    taken under the model ``args``.

    If the means moved far compared with the new spread, the one-pass update would lose
    more than half of its digits (see :func:`needs_second_pass`): the sums of the same
    responsibilities are taken again around the new means.
    """
    s0, s1, s2 = sums
    weights, means, covariances = _estimate_parameters(
        s0, s1, s2, args.base, covariance_type, reg_covar, eps
    )
    if needs_second_pass(s0, s1, s2, args.base, covariance_type, rows.dtype):
        args = args.centred_on(means)
        s0, s1, s2, _ = rows.statistics(args)
        weights, means, covariances = _estimate_parameters(
            s0, s1, s2, args.base, covariance_type, reg_covar, eps
        )
    return weights, means, covariances


def conditional_parameters(model, log_weights, values, features):
    """The parameters of p(x_B | x_A = a) for a fitted mixture ``model`` (its means_ and
    covariances_) whose component k has log-weight ``log_weights[k]``: ``((weights,
    means, covariances, precisions_cholesky), b)`` with b the indices of the features B
    (see :meth:`GaussianMixture.condition`); ValueError/TypeError for bad ``values`` or
    ``features``.

    The new log-weights are log_weights_k + log N(a; mu_kA, Sigma_kAA), normalised.
    """
    n_features = model.means_.shape[1]
    features = np.asarray(features)
    if features.ndim != 1 or features.dtype.kind not in "iu":
        raise TypeError("features must be a 1-D array of feature indices (integers)")
    values = np.asarray(values, dtype=np.float64)
    if values.shape != features.shape:
        raise ValueError(
            f"values must have one entry per given feature: {features.shape[0]} "
            f"features but values of shape {values.shape}"
        )
    if not np.all(np.isfinite(values)):
        raise ValueError("values must be finite")
    if len(np.unique(features)) != len(features) or np.any(features < 0) or np.any(
        features >= n_features
    ):
        raise ValueError(
            f"features must be distinct indices in [0, {n_features}), got "
            f"{features.tolist()}"
        )
    if len(features) == n_features:
        raise ValueError("at least one feature must be left to condition on the others")
    given = np.zeros(n_features, dtype=bool)
    given[features] = True
    a, b = np.asarray(features), np.flatnonzero(~given)
    means = np.asarray(model.means_, dtype=np.float64)
    covariances = np.asarray(model.covariances_, dtype=np.float64)
    n_components = len(log_weights)
    if model.covariance_type in ("full", "tied"):
        full = covariances if model.covariance_type == "full" else covariances[None]
        log_weights = np.array(log_weights, dtype=np.float64)
        new_means = np.empty((n_components, len(b)))
        new_covariances = np.empty((len(full), len(b), len(b)))
        for k in range(n_components):
            sigma = full[k if model.covariance_type == "full" else 0]
            factor = linalg.cho_factor(sigma[np.ix_(a, a)], lower=True)
            d = values - means[k, a]
            solved = linalg.cho_solve(factor, d)
            log_weights[k] += (-0.5 * len(a) * np.log(2 * np.pi)
                               - np.log(np.diag(factor[0])).sum() - 0.5 * d @ solved)
            new_means[k] = means[k, b] + sigma[np.ix_(b, a)] @ solved
            if model.covariance_type == "full" or k == 0:
                gain = linalg.cho_solve(factor, sigma[np.ix_(a, b)])
                index = k if model.covariance_type == "full" else 0
                new_covariances[index] = sigma[np.ix_(b, b)] - sigma[np.ix_(b, a)] @ gain
        if model.covariance_type == "tied":
            new_covariances = new_covariances[0]
    else:
        variances = (covariances if model.covariance_type == "diag"
                     else np.repeat(covariances[:, None], n_features, axis=1))
        d = values - means[:, a]
        log_weights = log_weights - 0.5 * np.sum(
            np.log(2 * np.pi * variances[:, a]) + d**2 / variances[:, a], axis=1)
        new_means = means[:, b]
        new_covariances = (variances[:, b] if model.covariance_type == "diag"
                           else covariances.copy())
    log_weights -= logsumexp(log_weights)
    new_weights = np.exp(log_weights)
    chol = _precision_cholesky_from_covariances(
        new_covariances, model.covariance_type, np.float64
    )
    return (new_weights, new_means, new_covariances, chol), b


def _conditioned(result, model, kept):
    """``result``, the conditional mixture of ``model`` over its features ``kept``,
    marked as fitted over them."""
    result.n_features_in_ = len(kept)
    if hasattr(model, "feature_names_in_"):
        result.feature_names_in_ = model.feature_names_in_[kept]
    result.converged_ = True
    result.n_iter_ = 0
    return result


def _sample_gaussians(random_state, counts, means, covariances, covariance_type):
    """``counts[k]`` draws from each N(mu_k, Sigma_k); diagonal and spherical ones as
    mu_k + sqrt(s_k) z."""
    n_features = means.shape[1]
    means = np.asarray(means, dtype=np.float64)
    covariances = np.asarray(covariances, dtype=np.float64)
    if covariance_type == "full":
        return [
            random_state.multivariate_normal(mean, cov, int(count))
            for mean, cov, count in zip(means, covariances, counts)
        ]
    if covariance_type == "tied":
        return [
            random_state.multivariate_normal(mean, covariances, int(count))
            for mean, count in zip(means, counts)
        ]
    return [
        mean + random_state.standard_normal(size=(count, n_features)) * np.sqrt(cov)
        for mean, cov, count in zip(means, covariances, counts)
    ]


###############################################################################
# The estimator


class GaussianMixture(InformationCriteriaMixin, BaseMixture):
    """Gaussian mixture model fitted by expectation-maximisation.

    The same model, parameters and results as :class:`sklearn.mixture.GaussianMixture`,
    computed by a compiled, multi-threaded pass that reads X once per EM iteration and
    allocates nothing of the size of X. ``fit`` also takes ``sample_weight``.

    Parameters
    ----------
    n_components : int, default=1
        The number of mixture components.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
        'full': each component has its own covariance matrix; 'tied': all share one;
        'diag': each has its own diagonal covariance; 'spherical': each has its own
        single variance.
    tol : float, default=1e-3
        EM stops when the gain in the lower bound (the mean log-likelihood) is below this.
    reg_covar : float, default=1e-6
        Added to the diagonal of the covariances, so that they stay positive definite.
    max_iter : int, default=100
        The number of EM iterations to perform.
    n_init : int, default=1
        The number of initialisations; the best result is kept.
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}, default='kmeans'
        How the responsibilities are initialised: k-means labels, k-means++ seeds,
        uniform random responsibilities, or random data points as means.
    weights_init : array-like of shape (n_components,), default=None
        Initial weights.
    means_init : array-like of shape (n_components, n_features), default=None
        Initial means.
    precisions_init : array-like, default=None
        Initial precisions (inverse covariances), shaped by ``covariance_type``:
        (n_components,) spherical, (n_features, n_features) tied,
        (n_components, n_features) diag, (n_components, n_features, n_features) full.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation and :meth:`sample`.
    warm_start : bool, default=False
        If True, each ``fit`` starts from the previous solution and ``n_init`` is ignored.
    verbose : int, default=0
        1 prints the initialisation and each ``verbose_interval`` iteration; 2 adds the
        change of the lower bound and timings.
    verbose_interval : int, default=10
        Iterations between two messages.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
    means_ : ndarray of shape (n_components, n_features)
    covariances_ : ndarray, shaped by ``covariance_type``
    precisions_ : ndarray, shaped by ``covariance_type``
    precisions_cholesky_ : ndarray, shaped by ``covariance_type``
        Factors P with P P^T equal to the precision.
    converged_ : bool
    n_iter_ : int
        EM iterations of the best initialisation.
    lower_bound_ : float
        Mean log-likelihood of the best initialisation before its last M-step.
    lower_bounds_ : list of float
        The lower bound at each iteration of the best initialisation.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Defined only when X has feature names that are all strings.

    See Also
    --------
    sklearn.mixture.GaussianMixture : the reference implementation.

    Notes
    -----
    One difference from scikit-learn, at initialisation only: with
    ``covariance_type='tied'`` and ``init_params`` 'k-means++' or 'random_from_data', the
    initial tied covariance is that of the seed rows (``reg_covar`` times the identity), as
    for the other covariance types; scikit-learn adds the raw second moment X^T X of every
    row, which depends on where the origin is.

    Examples
    --------
    >>> import numpy as np
    >>> from gmmfast import GaussianMixture
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]])
    >>> gm = GaussianMixture(n_components=2, random_state=0).fit(X)
    >>> gm.means_
    array([[10.,  2.],
           [ 1.,  2.]])
    >>> gm.predict([[0, 0], [12, 3]])
    array([1, 0])
    """

    _parameter_constraints: dict = {
        **BaseMixture._parameter_constraints,
        "covariance_type": [StrOptions(set(COVARIANCE_TYPES))],
        "weights_init": ["array-like", None],
        "means_init": ["array-like", None],
        "precisions_init": ["array-like", None],
    }

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weights_init=None,
        means_init=None,
        precisions_init=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
    ):
        super().__init__(
            n_components=n_components,
            tol=tol,
            reg_covar=reg_covar,
            max_iter=max_iter,
            n_init=n_init,
            init_params=init_params,
            random_state=random_state,
            warm_start=warm_start,
            verbose=verbose,
            verbose_interval=verbose_interval,
        )
        self.covariance_type = covariance_type
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init

    def __sklearn_tags__(self):
        # NaN marks a missing value: fitted by exact EM, marginalised in the outputs.
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    # -- the hooks of BaseMixture ----------------------------------------------------------

    def _check_parameters(self, n_features):
        """The user's initial parameters: shapes and values, checked once per fit; the
        validated copies are kept for this fit's initialisations (the user's arrays are not
        changed)."""
        self._initial_values = self._given_initial_parameters(n_features)

    def _given_initial_parameters(self, n_features):
        """Validated float64 copies of weights_init, means_init, precisions_init (or None)."""
        weights = means = precisions = None
        if self.weights_init is not None:
            weights = _check_weights(self.weights_init, self.n_components)
        if self.means_init is not None:
            means = _check_means(self.means_init, self.n_components, n_features)
        if self.precisions_init is not None:
            precisions = _check_precisions(
                self.precisions_init, self.covariance_type, self.n_components, n_features
            )
        return weights, means, precisions

    def _em_step(self, rows, params, eps):
        """One E-step and M-step; returns the new parameters and the old ones' lower bound."""
        weights, means, _, chol = params
        args = PassArguments(weights, means, chol, self.covariance_type, rows.dtype,
                             missing=rows.missing is not False)
        s0, s1, s2, loglik = rows.statistics(args)
        lower_bound = loglik / rows.n_total
        _check_finite_log_likelihood(lower_bound)
        weights, means, covariances = _m_step_from_sums(
            rows, args, (s0, s1, s2), self.covariance_type, self.reg_covar, eps
        )
        chol = _precision_cholesky_from_covariances(
            covariances, self.covariance_type, rows.dtype
        )
        return (weights, means, covariances, chol), lower_bound

    def _initial_parameters(self, rows, random_state):
        """Parameters from the initial responsibilities and the user's initial values."""
        weights_init, means_init, precisions_init = self._initial_values
        weights = means = covariances = None
        if weights_init is None or means_init is None or precisions_init is None:
            s0, s1, s2, base = rows.initial_statistics(
                self.init_params, self.n_components, self.covariance_type, random_state
            )
            weights, means, covariances = _estimate_parameters(
                s0, s1, s2, base, self.covariance_type, self.reg_covar,
                float(np.finfo(rows.dtype).eps), n_total=rows.n_total,
            )
        if weights_init is not None:
            weights = weights_init
        if means_init is not None:
            means = means_init
        if precisions_init is None:
            chol = _precision_cholesky_from_covariances(
                covariances, self.covariance_type, rows.dtype
            )
        else:
            chol = _precision_cholesky_from_precisions(precisions_init, self.covariance_type)
            covariances = _covariances_from_precisions(precisions_init, self.covariance_type)
        return weights, means, covariances, chol

    # -- parameters -------------------------------------------------------------------------

    def _current_parameters(self):
        return tuple(
            np.asarray(p, dtype=np.float64)
            for p in (self.weights_, self.means_, self.covariances_, self.precisions_cholesky_)
        )

    def _set_parameters(self, params, dtype):
        weights, means, covariances, chol = (np.asarray(p, dtype=dtype) for p in params)
        self.weights_ = weights
        self.means_ = means
        self.covariances_ = covariances
        self.precisions_cholesky_ = chol
        self.precisions_ = _precisions_from_cholesky(chol, self.covariance_type)

    def _n_parameters(self):
        """Number of free parameters of the model: covariances, means, K - 1 weights."""
        _, n_features = self.means_.shape
        cov_params = n_covariance_parameters(
            self.covariance_type, self.n_components, n_features
        )
        mean_params = n_features * self.n_components
        return int(cov_params + mean_params + self.n_components - 1)

    def _pass_arguments(self, dtype):
        return PassArguments(
            self.weights_, self.means_, self.precisions_cholesky_, self.covariance_type, dtype
        )

    def _sample_components(self, random_state, counts):
        return _sample_gaussians(
            random_state, counts, self.means_, self.covariances_, self.covariance_type
        )

    # -- conditioning -----------------------------------------------------------------------

    def condition(self, values, features):
        """The mixture of the other features given the values of some: p(x_B | x_A = a).

        Mixture regression: conditioned on x_A = a, a Gaussian mixture is again a Gaussian
        mixture over the remaining features B, with weights w_k N(a; mu_kA, Sigma_kAA)
        (normalised), means mu_kB + Sigma_kBA Sigma_kAA^-1 (a - mu_kA) and covariances
        Sigma_kBB - Sigma_kBA Sigma_kAA^-1 Sigma_kAB. Its ``means_`` weighted by its
        ``weights_`` are E[x_B | x_A = a]; it can ``sample``, ``score_samples`` and
        ``predict`` like any fitted mixture. For many rows at once,
        :class:`GaussianMixtureImputer` fills the features B of each row (set to NaN) with
        their conditional means in one pass.

        Parameters
        ----------
        values : array-like of shape (n_given,)
            The values a of the given features.
        features : array-like of shape (n_given,)
            The indices of the given features A (distinct, in any order, values in the same
            order).

        Returns
        -------
        GaussianMixture
            A fitted mixture over the other features, in their order, with the same
            covariance type (tied stays tied: the conditional covariance is shared; diag and
            spherical features are independent within a component, so only the weights
            change).

        Examples
        --------
        >>> import numpy as np
        >>> from gmmfast import GaussianMixture
        >>> rng = np.random.default_rng(0)
        >>> x = rng.uniform(-3, 3, 2000)
        >>> X = np.column_stack([x, np.sin(x) + 0.1 * rng.normal(size=2000)])
        >>> gm = GaussianMixture(8, random_state=0).fit(X)
        >>> given = gm.condition([1.0], features=[0])
        >>> given.n_features_in_
        1
        >>> round(float(given.weights_ @ given.means_[:, 0]), 1)   # about sin(1)
        0.8
        """
        check_is_fitted(self)
        weights = np.asarray(self.weights_, dtype=np.float64)
        with np.errstate(divide="ignore"):
            log_weights = np.log(weights)
        parameters, kept = conditional_parameters(self, log_weights, values, features)
        result = clone(self)
        result._set_parameters(parameters, self.means_.dtype)
        return _conditioned(result, self, kept)
