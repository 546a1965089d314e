"""Missing values filled in from a Gaussian mixture fitted to the incomplete rows."""

import numpy as np
from scipy import linalg
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted, validate_data

from ._gaussian_mixture import GaussianMixture
from ._parallel import single_threaded_blas
from ._passes import evaluate

# Rows drawn at a time by sample_posterior (their responsibilities are held in memory).
DRAW_ROWS = 1 << 16


class GaussianMixtureImputer(TransformerMixin, BaseEstimator):
    """Impute missing values (NaN) from a Gaussian mixture fitted to the incomplete data.

    ``fit`` fits the mixture (``estimator``, a :class:`GaussianMixture` by default) to the
    rows with their holes, by exact EM: each row counts through the density of its observed
    features. ``transform`` fills each missing entry of a row with its conditional mean
    under the mixture given the row's observed features,
    ``sum_k r_ik E[x_M | x_O, k]`` with ``r_ik`` the responsibilities of the observed
    features -- or, with ``sample_posterior``, with a draw from that conditional
    distribution. Rows without a missing value are returned as they are. Setting some
    columns to NaN and transforming predicts them from the others (mixture regression).

    Parameters
    ----------
    estimator : GaussianMixture, MiniBatchGaussianMixture or BayesianGaussianMixture, \
default=None
        The mixture to fit (cloned); ``None`` means ``GaussianMixture()``: one Gaussian,
        the classic EM imputation. More components follow clusters and non-linear
        relations between the features; the variational mixture chooses how many it
        uses (its conditionals are those of ``predict_proba``'s model, see
        :meth:`BayesianGaussianMixture.condition`).
    sample_posterior : bool, default=False
        Fill with a draw from the conditional distribution instead of its mean (for
        multiple imputation): a component drawn by the row's responsibilities, then the
        missing features from that component's conditional Gaussian.
    random_state : int, RandomState instance or None, default=None
        The draws of ``sample_posterior``.

    Attributes
    ----------
    estimator_ : GaussianMixture, MiniBatchGaussianMixture or BayesianGaussianMixture
        The fitted mixture.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Only when X has feature names that are all strings.

    Examples
    --------
    >>> import numpy as np
    >>> from gmmfast import GaussianMixture, GaussianMixtureImputer
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=2000)
    >>> X = np.column_stack([x, 2 * x + 0.1 * rng.normal(size=2000)])
    >>> X[:5, 1] = np.nan
    >>> imputer = GaussianMixtureImputer(GaussianMixture(2, random_state=0)).fit(X)
    >>> filled = imputer.transform(X)
    >>> bool(np.allclose(filled[:5, 1], 2 * X[:5, 0], atol=0.3))
    True
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict_proba", "condition"]), None],
        "sample_posterior": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator=None, *, sample_posterior=False, random_state=None):
        self.estimator = estimator
        self.sample_posterior = sample_posterior
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def fit(self, X, y=None, sample_weight=None):
        """Fit the mixture to X, NaN marking its missing values.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self
        """
        self._validate_params()
        X = validate_data(self, X, dtype=[np.float64, np.float32], ensure_all_finite="allow-nan",
                          ensure_min_samples=2)
        estimator = GaussianMixture() if self.estimator is None else self.estimator
        self.estimator_ = clone(estimator).fit(X, sample_weight=sample_weight)
        return self

    def transform(self, X):
        """X with each missing entry filled in from the mixture.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_features)
            A new array in the dtype of X (float32 or float64); X is not changed.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32],
                          ensure_all_finite="allow-nan")
        filled = np.array(X, order="C", copy=True)
        missing = np.isnan(filled)
        if not missing.any():
            return filled
        if self.sample_posterior:
            self._draw(filled, missing)
            return filled
        with single_threaded_blas():
            evaluate(X, self.estimator_._evaluation_arguments(X.dtype), missing=True,
                     filled=filled)
        return filled

    def _draw(self, filled, missing):
        """Each row's missing features drawn from their conditional distribution given the
        observed ones (see sample_posterior), one pattern of missing features at a time."""
        rng = check_random_state(self.random_state)
        model = self.estimator_
        rows = np.flatnonzero(missing.any(axis=1))
        means = np.asarray(model.means_, dtype=np.float64)
        n_components, n_features = means.shape
        covariances = _full_covariances(model, n_features)
        for start in range(0, len(rows), DRAW_ROWS):
            chunk = rows[start:start + DRAW_ROWS]
            resp = model.predict_proba(filled[chunk])
            # A component per row, by its responsibilities.
            cumulative = np.cumsum(resp, axis=1)
            u = rng.uniform(size=len(chunk)) * cumulative[:, -1]
            components = np.minimum((cumulative < u[:, None]).sum(axis=1), n_components - 1)
            patterns, which = np.unique(missing[chunk], axis=0, return_inverse=True)
            which = which.ravel()
            for p, pattern in enumerate(patterns):
                miss, obs = np.flatnonzero(pattern), np.flatnonzero(~pattern)
                for k in range(n_components):
                    members = chunk[(which == p) & (components == k)]
                    if len(members) == 0:
                        continue
                    sigma = covariances[k]
                    mean = np.broadcast_to(means[k, miss], (len(members), len(miss))).copy()
                    conditional = sigma[np.ix_(miss, miss)]
                    if len(obs):
                        factor = linalg.cho_factor(sigma[np.ix_(obs, obs)], lower=True)
                        gain = linalg.cho_solve(factor, sigma[np.ix_(obs, miss)])
                        mean += (filled[np.ix_(members, obs)] - means[k, obs]) @ gain
                        conditional = conditional - sigma[np.ix_(miss, obs)] @ gain
                    root = linalg.cholesky(conditional, lower=True)
                    noise = rng.standard_normal(size=(len(members), len(miss)))
                    filled[np.ix_(members, miss)] = mean + noise @ root.T

    def set_output(self, *, transform=None):
        """The container ``transform`` and ``fit_transform`` return.

        Parameters
        ----------
        transform : {"default", "pandas", "polars"}, default=None
            "default": NumPy arrays; "pandas" or "polars": DataFrames with the feature
            names; None: leave it as it is.

        Returns
        -------
        self
        """
        return super().set_output(transform=transform)

    def get_feature_names_out(self, input_features=None):
        """The feature names of the output: those of the input.

        Parameters
        ----------
        input_features : array-like of str, default=None

        Returns
        -------
        ndarray of str
        """
        check_is_fitted(self)
        return _check_feature_names_in(self, input_features)


def _full_covariances(model, n_features):
    """Each component's covariance as a full matrix (K, D, D), float64."""
    covariances = np.asarray(model.covariances_, dtype=np.float64)
    n_components = np.asarray(model.weights_).shape[0]
    if model.covariance_type == "full":
        return covariances
    if model.covariance_type == "tied":
        return np.broadcast_to(covariances, (n_components, n_features, n_features))
    if model.covariance_type == "diag":
        return np.array([np.diag(c) for c in covariances])
    return np.array([np.eye(n_features) * c for c in covariances])

