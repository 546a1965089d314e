"""Gaussian mixture fitted by EM, one compiled pass over the data per iteration."""

import math
import sys
import warnings
from numbers import Integral, Real
from time import time

import numpy as np
from scipy import linalg
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from ._parallel import single_threaded_blas
from ._passes import PassArguments, evaluate, needs_second_pass
from ._rows import InMemoryRows

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


def _is_dask_collection(X):
    """Whether X is a Dask array or DataFrame; never imports Dask (X could not be one)."""
    return "dask" in sys.modules and sys.modules["dask"].is_dask_collection(X)



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
    expected = {
        "full": (n_components, n_features, n_features),
        "tied": (n_features, n_features),
        "diag": (n_components, n_features),
        "spherical": (n_components,),
    }[covariance_type]
    _check_shape(precisions, expected, "%s precision" % covariance_type)
    if covariance_type in ("full", "tied"):
        for matrix in precisions.reshape(-1, n_features, n_features):
            if not (
                np.allclose(matrix, matrix.T) and np.all(np.linalg.eigvalsh(matrix) > 0.0)
            ):
                raise ValueError(
                    "'%s precision' should be symmetric, positive-definite" % covariance_type
                )
    elif np.any(precisions <= 0.0):
        raise ValueError("'%s precision' should be positive" % covariance_type)
    return precisions.astype(np.float64)


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
        n_features = matrices.shape[-1]
        identity = np.eye(n_features)
        factors = np.empty_like(matrices)
        for k, matrix in enumerate(matrices):
            try:
                lower = linalg.cholesky(matrix, lower=True)
            except (linalg.LinAlgError, ValueError):
                raise ValueError(_precision_error_message(dtype)) from None
            factors[k] = linalg.solve_triangular(lower, identity, lower=True).T
        return factors.reshape(covariances.shape)
    if not np.all(covariances > 0.0):
        raise ValueError(_precision_error_message(dtype))
    return 1.0 / np.sqrt(covariances)


def _precision_cholesky_from_precisions(precisions, covariance_type):
    """Upper-triangular U with U U^T = Lambda: U = J chol(J Lambda J) J, J the exchange."""
    if covariance_type in ("full", "tied"):
        matrices = precisions.reshape(-1, *precisions.shape[-2:])
        factors = np.stack(
            [np.linalg.cholesky(m[::-1, ::-1])[::-1, ::-1] for m in matrices]
        )
        return factors.reshape(precisions.shape)
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
    """
    nk = s0 + 10.0 * eps
    means = (s1 + s0[:, np.newaxis] * base) / nk[:, np.newaxis]
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


###############################################################################
# The estimator


class GaussianMixture(DensityMixin, BaseEstimator):
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
    feature_names_in_ : ndarray of shape (n_features_in_,)
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
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "covariance_type": [StrOptions(set(COVARIANCE_TYPES))],
        "tol": [Interval(Real, 0.0, None, closed="left")],
        "reg_covar": [Interval(Real, 0.0, None, closed="left")],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "init_params": [StrOptions({"kmeans", "random", "random_from_data", "k-means++"})],
        "weights_init": ["array-like", None],
        "means_init": ["array-like", None],
        "precisions_init": ["array-like", None],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "verbose_interval": [Interval(Integral, 1, None, closed="left")],
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
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval

    # -- fitting ----------------------------------------------------------------------------

    def fit(self, X, y=None, sample_weight=None):
        """Estimate the model parameters with the EM algorithm.

        Runs ``n_init`` initialisations of at most ``max_iter`` iterations each and keeps
        the one with the largest lower bound. With ``warm_start``, continues from the
        current parameters instead.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, float32 or float64 (float32 is kept, not copied). A memory map
            is read in place; a Dask array or DataFrame is fitted chunk by chunk on the
            Dask workers.
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; an integer weight is the same as repeating the row.

        Returns
        -------
        self : GaussianMixture
        """
        self._fit(X, sample_weight)
        return self

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit the model and return the most likely component of each row of X.

        ``fit_predict(X)`` equals ``fit(X).predict(X)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            A lazy Dask array when X is a Dask array or DataFrame.
        """
        rows = self._fit(X, sample_weight)
        # Labels from the stored parameters, so that fit_predict(X) == fit(X).predict(X).
        with single_threaded_blas():
            return rows.labels(self._pass_arguments(rows.dtype))

    def _fit(self, X, sample_weight):
        """EM on X; stores the best parameters and returns the rows it read.

        Allocates nothing of the size of X (not even labels), so that a memory-mapped X
        larger than RAM is fitted in memory independent of its number of rows.
        """
        self._validate_params()
        rows = self._rows_for_fit(X, sample_weight)
        inits = self._check_initial_parameters(rows.n_features)

        do_init = not (self.warm_start and hasattr(self, "converged_"))
        n_init = self.n_init if do_init else 1
        random_state = check_random_state(self.random_state)
        eps = float(np.finfo(rows.dtype).eps)

        max_lower_bound = -np.inf
        best_lower_bounds = []
        self.converged_ = False
        with single_threaded_blas():
            for init in range(n_init):
                self._print_verbose_msg_init_beg(init)
                if do_init:
                    params = self._initial_parameters(rows, random_state, inits)
                else:
                    params = self._current_parameters()
                lower_bound = -np.inf if do_init else self.lower_bound_
                current_lower_bounds = []

                if self.max_iter == 0:
                    best_params = params
                    best_n_iter = 0
                    continue
                converged = False
                for n_iter in range(1, self.max_iter + 1):
                    prev_lower_bound = lower_bound
                    params, lower_bound = self._em_step(rows, params, eps)
                    current_lower_bounds.append(lower_bound)
                    change = lower_bound - prev_lower_bound
                    self._print_verbose_msg_iter_end(n_iter, change)
                    if abs(change) < self.tol:
                        converged = True
                        break
                self._print_verbose_msg_init_end(lower_bound, converged)
                if lower_bound > max_lower_bound or max_lower_bound == -np.inf:
                    max_lower_bound = lower_bound
                    best_params = params
                    best_n_iter = n_iter
                    best_lower_bounds = current_lower_bounds
                    self.converged_ = converged

        if not self.converged_ and self.max_iter > 0:
            warnings.warn(
                "Best performing initialization did not converge. Try different init "
                "parameters, or increase max_iter, tol, or check for degenerate data.",
                ConvergenceWarning,
            )
        self._set_parameters(best_params, rows.dtype)
        self.n_iter_ = best_n_iter
        self.lower_bound_ = max_lower_bound
        self.lower_bounds_ = best_lower_bounds
        return rows

    def _rows_for_fit(self, X, sample_weight):
        """Validate the training data; the rows object the EM loop reads."""
        if _is_dask_collection(X):
            from ._dask import DaskRows

            return DaskRows.for_fit(self, X, sample_weight)
        X = validate_data(self, X, dtype=[np.float64, np.float32], ensure_min_samples=2)
        if X.shape[0] < self.n_components:
            raise ValueError(
                "Expected n_samples >= n_components but got n_components = "
                f"{self.n_components}, n_samples = {X.shape[0]}"
            )
        return InMemoryRows(X, self._check_sample_weight(sample_weight, X))

    def _check_sample_weight(self, sample_weight, X):
        if sample_weight is None:
            return None
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
        n_positive = int(np.count_nonzero(sample_weight))
        if n_positive < self.n_components:
            raise ValueError(
                "sample_weight has %d positive entries, but at least n_components = %d "
                "are needed; give more rows a positive weight or decrease n_components."
                % (n_positive, self.n_components)
            )
        return np.ascontiguousarray(sample_weight)

    def _check_initial_parameters(self, n_features):
        """Validated copies of the user's initial parameters; the estimator is not changed."""
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
        args = PassArguments(weights, means, chol, self.covariance_type, rows.dtype)
        s0, s1, s2, loglik = rows.statistics(args)
        lower_bound = loglik / rows.n_total
        if not np.isfinite(lower_bound):
            raise ValueError(
                "The log-likelihood of the data is not finite under the current model; "
                "scale the input data or increase reg_covar."
            )
        weights, means, covariances = _estimate_parameters(
            s0, s1, s2, args.base, self.covariance_type, self.reg_covar, eps
        )
        if needs_second_pass(s0, s1, s2, args.base, self.covariance_type, rows.dtype):
            # The means moved far compared with the new spread: the one-pass update would
            # lose more than half of its digits. Sum again around the new means.
            args = args.centred_on(means)
            s0, s1, s2, _ = rows.statistics(args)
            weights, means, covariances = _estimate_parameters(
                s0, s1, s2, args.base, self.covariance_type, self.reg_covar, eps
            )
        chol = _precision_cholesky_from_covariances(
            covariances, self.covariance_type, rows.dtype
        )
        return (weights, means, covariances, chol), lower_bound

    def _initial_parameters(self, rows, random_state, inits):
        """Parameters from the initial responsibilities and the user's initial values."""
        weights_init, means_init, precisions_init = inits
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
        """Number of free parameters of the model."""
        _, n_features = self.means_.shape
        if self.covariance_type == "full":
            cov_params = self.n_components * n_features * (n_features + 1) / 2.0
        elif self.covariance_type == "diag":
            cov_params = self.n_components * n_features
        elif self.covariance_type == "tied":
            cov_params = n_features * (n_features + 1) / 2.0
        else:
            cov_params = self.n_components
        mean_params = n_features * self.n_components
        return int(cov_params + mean_params + self.n_components - 1)

    # -- using the model --------------------------------------------------------------------

    def _pass_arguments(self, dtype):
        return PassArguments(
            self.weights_, self.means_, self.precisions_cholesky_, self.covariance_type, dtype
        )

    def _evaluate(self, X, labels=False, resp=False, log_prob=False):
        """Per-row outputs of the compiled evaluation pass (only those asked for)."""
        with single_threaded_blas():
            return evaluate(X, self._pass_arguments(X.dtype), labels, resp, log_prob)

    def _validate_for_use(self, X):
        check_is_fitted(self)
        return validate_data(self, X, reset=False, dtype=[np.float64, np.float32])

    def predict(self, X):
        """The most likely component of each row of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            A lazy Dask array when X is a Dask array or DataFrame.
        """
        return self._per_row(X, "predict", "labels")

    def predict_proba(self, X):
        """Posterior probability of each component for each row of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components)
            Rows sum to one; in the dtype of X. A lazy Dask array for Dask input.
        """
        return self._per_row(X, "predict_proba", "resp")

    def score_samples(self, X):
        """Log-likelihood log p(x) of each row of X under the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_prob : ndarray of shape (n_samples,)
            In the dtype of X. Low values flag rows the model finds unlikely. A lazy
            Dask array for Dask input.
        """
        return self._per_row(X, "score_samples", "log_prob")

    def _per_row(self, X, dask_function, output):
        """One per-row output of the model for X, ``output`` being "labels", "resp" or
        "log_prob" (in the dtype of X); for a Dask collection, the lazy version from the
        Dask module's ``dask_function``."""
        if _is_dask_collection(X):
            from . import _dask

            return getattr(_dask, dask_function)(self, X)
        X = self._validate_for_use(X)
        outputs = ("labels", "resp", "log_prob")
        result = self._evaluate(X, **{output: True})[outputs.index(output)]
        return result.astype(X.dtype, copy=False) if output == "log_prob" else result

    def score(self, X, y=None, sample_weight=None):
        """Mean log-likelihood of the rows of X, weighted by ``sample_weight`` if given.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        log_likelihood : float
        """
        if _is_dask_collection(X):
            from . import _dask

            return _dask.score(self, X, sample_weight)
        X = self._validate_for_use(X)
        log_prob = self._evaluate(X, log_prob=True)[2]
        if sample_weight is None:
            return float(np.mean(log_prob))
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
        return float(np.average(log_prob, weights=sample_weight))

    def _effective_n_samples(self, X, sample_weight):
        if sample_weight is None:
            return X.shape[0]
        return float(np.sum(_check_sample_weight(sample_weight, X, dtype=np.float64)))

    def bic(self, X, sample_weight=None):
        """Bayesian information criterion of the model on X; lower is better.

        ``-2 log L + n_parameters log n``, with n the number of rows (or the sum of
        ``sample_weight``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        bic : float
        """
        if _is_dask_collection(X):
            from . import _dask

            return _dask.bic(self, X, sample_weight)
        X = self._validate_for_use(X)
        n = self._effective_n_samples(X, sample_weight)
        return -2 * self.score(X, sample_weight=sample_weight) * n + (
            self._n_parameters() * math.log(n)
        )

    def aic(self, X, sample_weight=None):
        """Akaike information criterion of the model on X; lower is better.

        ``-2 log L + 2 n_parameters``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        aic : float
        """
        if _is_dask_collection(X):
            from . import _dask

            return _dask.aic(self, X, sample_weight)
        X = self._validate_for_use(X)
        n = self._effective_n_samples(X, sample_weight)
        return -2 * self.score(X, sample_weight=sample_weight) * n + 2 * self._n_parameters()

    def sample(self, n_samples=1):
        """Draw samples from the fitted mixture.

        Parameters
        ----------
        n_samples : int, default=1

        Returns
        -------
        X : ndarray of shape (n_samples, n_features), float64
        y : ndarray of shape (n_samples,)
            The component each sample was drawn from.
        """
        check_is_fitted(self)
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(
                "Invalid value for 'n_samples': %r . The sampling requires at least one "
                "sample." % (n_samples,)
            )
        _, n_features = self.means_.shape
        rng = check_random_state(self.random_state)
        weights = np.asarray(self.weights_, dtype=np.float64)
        counts = rng.multinomial(n_samples, weights / weights.sum())
        means = np.asarray(self.means_, dtype=np.float64)
        covariances = np.asarray(self.covariances_, dtype=np.float64)
        if self.covariance_type == "full":
            parts = [
                rng.multivariate_normal(mean, cov, int(count))
                for mean, cov, count in zip(means, covariances, counts)
            ]
        elif self.covariance_type == "tied":
            parts = [
                rng.multivariate_normal(mean, covariances, int(count))
                for mean, count in zip(means, counts)
            ]
        else:
            parts = [
                mean + rng.standard_normal(size=(count, n_features)) * np.sqrt(cov)
                for mean, cov, count in zip(means, covariances, counts)
            ]
        X = np.vstack(parts)
        y = np.concatenate(
            [np.full(int(count), k, dtype=np.int64) for k, count in enumerate(counts)]
        )
        return X, y

    # -- messages ---------------------------------------------------------------------------

    def _print_verbose_msg_init_beg(self, n_init):
        if self.verbose >= 1:
            print("Initialization %d" % n_init)
        if self.verbose >= 2:
            self._init_prev_time = time()
            self._iter_prev_time = self._init_prev_time

    def _print_verbose_msg_iter_end(self, n_iter, diff_ll):
        if n_iter % self.verbose_interval == 0:
            if self.verbose == 1:
                print("  Iteration %d" % n_iter)
            elif self.verbose >= 2:
                cur_time = time()
                print(
                    "  Iteration %d\t time lapse %.5fs\t ll change %.5f"
                    % (n_iter, cur_time - self._iter_prev_time, diff_ll)
                )
                self._iter_prev_time = cur_time

    def _print_verbose_msg_init_end(self, lb, init_has_converged):
        converged_msg = "converged" if init_has_converged else "did not converge"
        if self.verbose == 1:
            print(f"Initialization {converged_msg}.")
        elif self.verbose >= 2:
            t = time() - self._init_prev_time
            print(
                f"Initialization {converged_msg}. time lapse {t:.5f}s\t lower bound {lb:.5f}."
            )
