"""Variational Bayesian Gaussian mixture, on the Gaussian mixture's compiled pass.

The variational E-step is the Gaussian log-density under the expected precisions plus one
constant per component (expected log-weight, expected log-determinant, mean uncertainty),
so it is the Gaussian mixture's statistics pass with those constants as ``log_offset``. The
M-step updates the Dirichlet (or stick-breaking Beta), Gaussian and Wishart factors of the
posterior from the pass's sums s0, s1, s2, all K x D x D numbers.

Notation: n_k, x_k, S_k the weighted count, mean and covariance (plus reg_covar) of the
responsibilities of component k; kappa_k, m_k, nu_k, Psi_k the mean precision, mean,
degrees of freedom and inverse scale of the posterior of (mu_k, Lambda_k), with
Lambda_k ~ Wishart(Psi_k^-1, nu_k), subscript 0 for the priors (Psi_0 the covariance
prior). The stored covariance is C_k = Psi_k / nu_k = E[Lambda_k]^-1, and P_k its precision
factor, P_k P_k^T = E[Lambda_k].
"""

import math
from numbers import Real

import numpy as np
from scipy.special import betaln, digamma, gammaln
from sklearn.utils import check_array
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import BaseMixture
from ._covariance_shapes import COVARIANCE_TYPES
from ._gaussian_mixture import (
    GaussianMixture,
    _check_finite_log_likelihood,
    _check_positive,
    _check_positive_definite,
    _check_shape,
    _conditioned,
    _estimate_parameters,
    _m_step_from_sums,
    _precision_cholesky_from_covariances,
    _precisions_from_cholesky,
    _sample_gaussians,
    conditional_parameters,
)
from ._passes import PassArguments, log_det_cholesky
from ._rows import kmeans_statistics

PRIOR_TYPES = ("dirichlet_process", "dirichlet_distribution")

###############################################################################
# Checks of user-given priors (scikit-learn's wording)


def _checked_mean_prior(mean_prior, n_features):
    mean_prior = check_array(mean_prior, dtype=[np.float64, np.float32], ensure_2d=False)
    _check_shape(mean_prior, (n_features,), "means")
    return mean_prior


def _checked_degrees_of_freedom_prior(degrees_of_freedom_prior, n_features):
    if degrees_of_freedom_prior is None:
        return n_features
    if degrees_of_freedom_prior > n_features - 1.0:
        return degrees_of_freedom_prior
    raise ValueError(
        "The parameter 'degrees_of_freedom_prior' should be greater than %d, but got %.3f."
        % (n_features - 1, degrees_of_freedom_prior)
    )


def _checked_covariance_prior(covariance_prior, covariance_type, n_features):
    """The user's Wishart scale prior: (D, D) positive definite for full and tied, (D,)
    positive for diag; a spherical one is a number, taken as given."""
    if covariance_type == "spherical":
        return covariance_prior
    prior = check_array(covariance_prior, dtype=[np.float64, np.float32], ensure_2d=False)
    if covariance_type in ("full", "tied"):
        expected = (n_features, n_features)
    else:
        expected = (n_features,)
    _check_shape(prior, expected, "%s covariance_prior" % covariance_type)
    if covariance_type == "diag":
        _check_positive(prior, covariance_type)
    else:
        _check_positive_definite(prior, covariance_type)
    return prior


###############################################################################
# Priors from the data


def _data_priors(rows, covariance_type, covariance=True):
    """(mean, covariance) of the rows, the default mean and covariance priors.

    mean = sum_i w_i x_i / n and covariance = sum_i w_i (x_i - mean)(x_i - mean)^T / (n - 1)
    with n = sum_i w_i (NumPy's ``mean`` and ``cov`` of the rows with integer weights as
    repeats); its diagonal for 'diag', the mean of the diagonal for 'spherical' (None
    without ``covariance``: the mean prior alone is asked for). One pass around the first
    row, a second around the mean if the first would lose digits; nothing of the size of
    the data is allocated.

    Rows with missing values (NaN) are read with each missing entry filled by its feature's
    observed mean, so that the mean is that of the observed entries; the filled entries
    add nothing to the scatter, so feature j's row and column of the covariance are then
    scaled by sqrt((n - 1) / (n_j - 1)), n_j the weight of its observed entries: its
    variance becomes that of its observed entries, and the matrix stays positive definite.
    """
    pass_type = "full" if covariance_type in ("full", "tied") else "diag"
    first = np.asarray(rows.first_row(), dtype=np.float64)[np.newaxis, :]
    s0, s1, s2, base = kmeans_statistics(rows, first, pass_type)
    n = float(s0[0])
    _, mean, scatter = _estimate_parameters(s0, s1, s2, base, pass_type, 0.0, 0.0)
    if not covariance:
        return mean[0], None
    if not n > 1.0:
        raise ValueError(
            "The default covariance_prior is the covariance of the rows, with denominator "
            "sum(sample_weight) - 1 = %g; give covariance_prior, or weights that sum to "
            "more than 1." % (n - 1.0)
        )
    covariance = scatter[0] * (n / (n - 1.0))
    if rows.fill is not None:
        covariance = _observed_scale(covariance, rows.observed, n)
    if covariance_type == "spherical":
        covariance = covariance.mean()
    return mean[0], covariance


def _observed_scale(covariance, observed, n):
    """The covariance of rows whose missing entries were filled by their feature's mean,
    feature j's row and column scaled by sqrt((n - 1) / (n_j - 1)), n_j = ``observed[j]``
    the weight of its observed entries: its diagonal becomes the observed variances."""
    if not np.all(observed > 1.0):
        j = int(np.flatnonzero(~(observed > 1.0))[0])
        raise ValueError(
            "The default covariance_prior is the covariance of the observed entries; "
            "feature %d has observed weight %g, 1 or less. Give covariance_prior, or more "
            "observed values of that feature." % (j, observed[j])
        )
    scale = np.sqrt((n - 1.0) / (observed - 1.0))
    if covariance.ndim == 2:
        return covariance * scale[:, np.newaxis] * scale[np.newaxis, :]
    return covariance * scale**2


###############################################################################
# The variational factors


def _weight_concentration(nk, prior, prior_type):
    """Posterior of the weights: Dirichlet(prior + n_k), or for the stick-breaking process
    Beta(1 + n_k, prior + sum_{j > k} n_j) per stick, as a pair of arrays."""
    if prior_type == "dirichlet_process":
        return (1.0 + nk, prior + np.hstack((np.cumsum(nk[::-1])[-2::-1], 0.0)))
    return prior + nk


def _expected_log_weights(weight_concentration, prior_type):
    """E[log pi_k]: psi(a_k) - psi(sum a) for a Dirichlet; for the sticks v_k ~ Beta(a, b),
    E[log v_k] + sum_{j < k} E[log (1 - v_j)]."""
    if prior_type == "dirichlet_process":
        a, b = weight_concentration
        digamma_sum = digamma(a + b)
        log_rest = np.hstack((0.0, np.cumsum(digamma(b) - digamma_sum)[:-1]))
        return digamma(a) - digamma_sum + log_rest
    return digamma(weight_concentration) - digamma(np.sum(weight_concentration))


def _weights_from_concentration(weight_concentration, prior_type):
    """E[pi_k]: a_k / sum a; for the sticks, E[v_k] prod_{j < k} E[1 - v_j], normalised."""
    if prior_type == "dirichlet_process":
        a, b = weight_concentration
        total = a + b
        weights = a / total * np.hstack((1.0, np.cumprod((b / total)[:-1])))
        return weights / np.sum(weights)
    return weight_concentration / np.sum(weight_concentration)


def _log_weights_normaliser(weight_concentration, prior_type):
    """log of the normalising constant of the weights' posterior (Dirichlet, or the
    product of the sticks' Beta densities)."""
    if prior_type == "dirichlet_process":
        return -np.sum(betaln(*weight_concentration))
    return gammaln(np.sum(weight_concentration)) - np.sum(gammaln(weight_concentration))


def _expected_log_det(degrees_of_freedom, n_features):
    """E[log det Lambda_k] + log det Psi_k = D log 2 + sum_{j < D} psi((nu_k - j) / 2)."""
    nu = np.atleast_1d(degrees_of_freedom)
    halves = 0.5 * (nu - np.arange(n_features)[:, np.newaxis])
    return n_features * math.log(2.0) + np.sum(digamma(halves), axis=0)


def _log_wishart_normaliser(degrees_of_freedom, log_det_scale_cholesky, n_features):
    """log of each Wishart's normalising constant, without its log pi term:
    -(nu_k / 2 log det Psi_k^-1 + nu_k D / 2 log 2 + sum_{j < D} log Gamma((nu_k - j) / 2)),
    given 1/2 log det Psi_k^-1 = log det P_k - D / 2 log nu_k."""
    nu = np.atleast_1d(degrees_of_freedom)
    halves = 0.5 * (nu - np.arange(n_features)[:, np.newaxis])
    return -(
        nu * log_det_scale_cholesky
        + nu * n_features * 0.5 * math.log(2.0)
        + np.sum(gammaln(halves), axis=0)
    )


def _wishart_scale(nk, xk, sk, mean_precision, priors, covariance_type):
    """(nu_k, C_k = Psi_k / nu_k) of the precisions' posteriors: nu_k = nu_0 + n_k and
        Psi_k = Psi_0 + n_k S_k + n_k kappa_0 / kappa_k (x_k - m_0)(x_k - m_0)^T,
    its diagonal for 'diag' and the mean of the diagonal for 'spherical'; 'tied' shares
    one nu = nu_0 + n / K and one Psi from the summed scatter (n / K per component)."""
    _, mean_prior, dof_prior, covariance_prior, mean_precision_prior = priors
    n_components = nk.shape[0]
    diff = xk - mean_prior
    shrink = mean_precision_prior / mean_precision
    if covariance_type == "full":
        dof = dof_prior + nk
        outer = diff[:, :, np.newaxis] * diff[:, np.newaxis, :]
        scale = (
            covariance_prior
            + nk[:, np.newaxis, np.newaxis] * sk
            + (nk * shrink)[:, np.newaxis, np.newaxis] * outer
        )
        return dof, scale / dof[:, np.newaxis, np.newaxis]
    if covariance_type == "tied":
        mean_count = nk.sum() / n_components
        dof = dof_prior + mean_count
        scale = (
            covariance_prior
            + sk * mean_count
            + mean_precision_prior / n_components * np.dot((nk / mean_precision) * diff.T, diff)
        )
        return dof, scale / dof
    dof = dof_prior + nk
    if covariance_type == "diag":
        scale = covariance_prior + nk[:, np.newaxis] * (sk + shrink[:, np.newaxis] * diff**2)
        return dof, scale / dof[:, np.newaxis]
    scale = covariance_prior + nk * (sk + shrink * np.mean(diff**2, axis=1))
    return dof, scale / dof


def _posterior(nk, xk, sk, priors, covariance_type, prior_type, dtype):
    """The variational M-step: (weight_concentration, mean_precision, means,
    degrees_of_freedom, covariances, precisions_cholesky) from n_k, x_k, S_k.

    kappa_k = kappa_0 + n_k, m_k = (kappa_0 m_0 + n_k x_k) / kappa_k; the weights and the
    Wishart factors as in :func:`_weight_concentration` and :func:`_wishart_scale`.
    """
    weight_prior, mean_prior, _, _, mean_precision_prior = priors
    weight_concentration = _weight_concentration(nk, weight_prior, prior_type)
    mean_precision = mean_precision_prior + nk
    means = (
        mean_precision_prior * mean_prior + nk[:, np.newaxis] * xk
    ) / mean_precision[:, np.newaxis]
    dof, covariances = _wishart_scale(nk, xk, sk, mean_precision, priors, covariance_type)
    chol = _precision_cholesky_from_covariances(covariances, covariance_type, dtype)
    return weight_concentration, mean_precision, means, dof, covariances, chol


def _log_offset(params, covariance_type, prior_type, n_features):
    """The E-step's per-component constants c_k, log rho_ik = log N(x_i | m_k, C_k) + c_k:
        c_k = E[log pi_k] + 1/2 (E[log det Lambda_k] + log det Psi_k) - D/2 log nu_k
              - D / (2 kappa_k),
    since log det Psi_k = D log nu_k - log det E[Lambda_k] (N(x | m_k, C_k) holds the
    1/2 log det E[Lambda_k]) and E[(x - mu_k)^T Lambda_k (x - mu_k)] =
    D / kappa_k + (x - m_k)^T E[Lambda_k] (x - m_k)."""
    weight_concentration, mean_precision, _, dof, _, _ = params
    nu = np.broadcast_to(dof, mean_precision.shape)
    return (
        _expected_log_weights(weight_concentration, prior_type)
        - 0.5 * n_features * np.log(nu)
        + 0.5 * (_expected_log_det(nu, n_features) - n_features / mean_precision)
    )


def _lower_bound(entropy, params, covariance_type, prior_type, n_features):
    """scikit-learn's evidence lower bound, up to its constants:
        -sum_i w_i sum_k r_ik log r_ik - sum_k log B(W_k, nu_k) - log C(weights)
        - D/2 sum_k log kappa_k,
    with the responsibilities of the E-step and the factors of the M-step that followed."""
    weight_concentration, mean_precision, _, dof, _, chol = params
    n_components = mean_precision.shape[0]
    log_det = log_det_cholesky(chol, covariance_type, n_features) - 0.5 * n_features * np.log(
        dof
    )
    log_wishart = np.sum(_log_wishart_normaliser(dof, log_det, n_features))
    if covariance_type == "tied":
        log_wishart = n_components * log_wishart
    return float(
        -entropy
        - log_wishart
        - _log_weights_normaliser(weight_concentration, prior_type)
        - 0.5 * n_features * np.sum(np.log(mean_precision))
    )


###############################################################################
# The estimator


class BayesianGaussianMixture(BaseMixture):
    """Variational Bayesian estimation of a Gaussian mixture.

    The same model, parameters and results as
    :class:`sklearn.mixture.BayesianGaussianMixture`: a Dirichlet-process (truncated
    stick-breaking) or Dirichlet prior on the weights, a Gaussian-Wishart prior on each
    component's mean and precision, fitted by variational inference. The prior can switch
    off the components the data does not need (their ``weights_`` tend to zero). Each
    iteration is one compiled, multi-threaded pass over X (the Gaussian mixture's, with one
    constant per component), allocating nothing of the size of X. ``fit`` also takes
    ``sample_weight``.

    Parameters
    ----------
    n_components : int, default=1
        The largest number of mixture components; the prior may leave some unused.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
        'full': each component has its own covariance matrix; 'tied': all share one;
        'diag': each has its own diagonal covariance; 'spherical': each has its own
        single variance.
    tol : float, default=1e-3
        Iterations stop when the gain in the lower bound is below this.
    reg_covar : float, default=1e-6
        Added to the diagonal of the components' empirical covariances.
    max_iter : int, default=100
        The number of iterations to perform.
    n_init : int, default=1
        The number of initialisations; the one with the largest lower bound is kept.
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}, default='kmeans'
        How the responsibilities are initialised: k-means labels, k-means++ seeds,
        uniform random responsibilities, or random data points as means.
    weight_concentration_prior_type : {'dirichlet_process', 'dirichlet_distribution'}, \
default='dirichlet_process'
        The prior on the weights: a Dirichlet process (stick-breaking) or a Dirichlet
        distribution.
    weight_concentration_prior : float or None, default=None
        The concentration gamma of the weights' prior (> 0); smaller values favour fewer
        active components. None: ``1 / n_components``.
    mean_precision_prior : float or None, default=None
        The precision kappa_0 of the means' prior (> 0); larger values pull the means
        towards ``mean_prior``. None: 1.
    mean_prior : array-like of shape (n_features,), default=None
        The mean of the means' prior. None: the (weighted) mean of X.
    degrees_of_freedom_prior : float or None, default=None
        The degrees of freedom of the precisions' Wishart prior (> n_features - 1).
        None: n_features.
    covariance_prior : float or array-like, default=None
        The covariance prior of the Wishart: (n_features, n_features) for 'full' and
        'tied', (n_features,) for 'diag', a float for 'spherical'. None: the covariance
        of X (its diagonal for 'diag', the mean variance for 'spherical'), with integer
        sample weights counted as repeated rows.
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
        The expected weights under their posterior.
    means_ : ndarray of shape (n_components, n_features)
    covariances_ : ndarray, shaped by ``covariance_type``
        The Wishart scales normalised by the degrees of freedom.
    precisions_ : ndarray, shaped by ``covariance_type``
    precisions_cholesky_ : ndarray, shaped by ``covariance_type``
        Factors P with P P^T equal to the precision.
    converged_ : bool
    n_iter_ : int
        Iterations of the best initialisation.
    lower_bound_ : float
        Lower bound on the model evidence (up to constants) of the best initialisation.
    lower_bounds_ : list of float
        The lower bound at each iteration of the best initialisation.
    weight_concentration_prior_ : float
        The weights' prior concentration used.
    weight_concentration_ : ndarray of shape (n_components,) or tuple of two
        The weights' posterior: Dirichlet parameters, or for 'dirichlet_process' the two
        parameter arrays of the sticks' Beta distributions.
    mean_precision_prior_ : float
    mean_precision_ : ndarray of shape (n_components,)
        The precisions kappa_k of the means' posteriors.
    mean_prior_ : ndarray of shape (n_features,)
    degrees_of_freedom_prior_ : float
    degrees_of_freedom_ : ndarray of shape (n_components,), or a float for 'tied'
        The degrees of freedom of the precisions' posteriors.
    covariance_prior_ : float or ndarray
        The Wishart covariance prior used, shaped as ``covariance_prior``.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Defined only when X has feature names that are all strings.

    See Also
    --------
    gmmfast.GaussianMixture : the Gaussian mixture fitted by EM.
    sklearn.mixture.BayesianGaussianMixture : the reference implementation.

    Notes
    -----
    Unlike :class:`gmmfast.GaussianMixture`, there is no ``bic`` or ``aic``: the lower
    bound is not a maximum likelihood. ``score_samples`` is the log of the sum over k of
    exp(log-density plus the per-component constants of the E-step), as in scikit-learn.

    NaN in X marks a missing value (scikit-learn refuses NaN): the variational posterior
    takes the missing entries as latent variables, q(Z, X_M) q(pi) q(mu, Lambda). A row's
    E-step term is the log-density of its observed features under N(m_k, C_k) plus the
    per-component constants, the M-step reads the conditional moments of its missing
    features, and the lower bound adds their conditional entropy; ``score_samples`` and
    ``predict_proba`` use the observed features (a row with none gets the constants
    alone). The default mean and covariance priors are those of the observed entries.
    Infinity is an error.

    One difference from scikit-learn, at initialisation only (as for
    :class:`gmmfast.GaussianMixture`): with ``covariance_type='tied'`` and
    ``init_params`` 'k-means++' or 'random_from_data', the initial scatter is that of the
    seed rows; scikit-learn adds the raw second moment X^T X of every row.

    Examples
    --------
    >>> import numpy as np
    >>> from gmmfast import BayesianGaussianMixture
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [4, 2], [12, 4], [10, 7]])
    >>> bgm = BayesianGaussianMixture(n_components=2, random_state=42).fit(X)
    >>> bgm.means_.round(2)
    array([[2.5 , 2.29],
           [8.46, 4.52]])
    >>> bgm.predict([[0, 0], [9, 3]])
    array([0, 1])
    >>> hasattr(bgm, "bic")
    False
    """

    _parameter_constraints: dict = {
        **BaseMixture._parameter_constraints,
        "covariance_type": [StrOptions(set(COVARIANCE_TYPES))],
        "weight_concentration_prior_type": [StrOptions(set(PRIOR_TYPES))],
        "weight_concentration_prior": [None, Interval(Real, 0.0, None, closed="neither")],
        "mean_precision_prior": [None, Interval(Real, 0.0, None, closed="neither")],
        "mean_prior": [None, "array-like"],
        "degrees_of_freedom_prior": [None, Interval(Real, 0.0, None, closed="neither")],
        "covariance_prior": [
            None,
            "array-like",
            Interval(Real, 0.0, None, closed="neither"),
        ],
    }

    def __init__(
        self,
        *,
        n_components=1,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weight_concentration_prior_type="dirichlet_process",
        weight_concentration_prior=None,
        mean_precision_prior=None,
        mean_prior=None,
        degrees_of_freedom_prior=None,
        covariance_prior=None,
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
        self.weight_concentration_prior_type = weight_concentration_prior_type
        self.weight_concentration_prior = weight_concentration_prior
        self.mean_precision_prior = mean_precision_prior
        self.mean_prior = mean_prior
        self.degrees_of_freedom_prior = degrees_of_freedom_prior
        self.covariance_prior = covariance_prior

    def __sklearn_tags__(self):
        # NaN marks a missing value: fitted by exact variational inference over the
        # missing entries, marginalised in the outputs.
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    # -- the priors -------------------------------------------------------------------------

    def _given_priors(self, n_features):
        """The user's priors, validated, with the defaults that need no data; None for the
        mean and covariance priors that come from the data."""
        weight = self.weight_concentration_prior
        mean_precision = self.mean_precision_prior
        mean = covariance = None
        if self.mean_prior is not None:
            mean = _checked_mean_prior(self.mean_prior, n_features)
        dof = _checked_degrees_of_freedom_prior(self.degrees_of_freedom_prior, n_features)
        if self.covariance_prior is not None:
            covariance = _checked_covariance_prior(
                self.covariance_prior, self.covariance_type, n_features
            )
        return (
            1.0 / self.n_components if weight is None else weight,
            mean,
            dof,
            covariance,
            1.0 if mean_precision is None else mean_precision,
        )

    def _rows_for_fit(self, X, sample_weight, kmeans_centres=None):
        """The validated rows; sets the prior attributes (a pass over the rows for a mean
        or covariance prior taken from the data)."""
        rows = super()._rows_for_fit(X, sample_weight, kmeans_centres)
        # Checked before any pass by _check_parameters (through rows_for).
        weight, mean, dof, covariance, mean_precision = self._checked_priors
        if mean is None or covariance is None:
            data_mean, data_covariance = _data_priors(rows, self.covariance_type,
                                                       covariance is None)
            dtype = rows.dtype
            if mean is None:
                mean = data_mean.astype(dtype)
            if covariance is None:
                covariance = np.asarray(data_covariance, dtype=dtype)[()]
        self.weight_concentration_prior_ = weight
        self.mean_prior_ = mean
        self.degrees_of_freedom_prior_ = dof
        self.covariance_prior_ = covariance
        self.mean_precision_prior_ = mean_precision
        return rows

    def _priors(self):
        """(gamma, m_0, nu_0, W_0, kappa_0) in float64, as the M-step reads them."""
        return (
            float(self.weight_concentration_prior_),
            np.asarray(self.mean_prior_, dtype=np.float64),
            float(self.degrees_of_freedom_prior_),
            np.asarray(self.covariance_prior_, dtype=np.float64),
            float(self.mean_precision_prior_),
        )

    # -- the hooks of BaseMixture ----------------------------------------------------------

    def _check_parameters(self, n_features):
        """The user's priors: shapes and values, checked once per fit; the validated
        values serve this fit (the user's arrays are not changed)."""
        self._checked_priors = self._given_priors(n_features)

    def _initial_parameters(self, rows, random_state):
        """The factors of the M-step from the initial responsibilities."""
        s0, s1, s2, base = rows.initial_statistics(
            self.init_params, self.n_components, self.covariance_type, random_state
        )
        eps = float(np.finfo(rows.dtype).eps)
        _, xk, sk = _estimate_parameters(
            s0, s1, s2, base, self.covariance_type, self.reg_covar, eps, n_total=rows.n_total
        )
        return self._posterior(s0 + 10.0 * eps, xk, sk, rows.dtype)

    def _em_step(self, rows, params, eps):
        """One variational E-step and M-step: the new factors and the lower bound of the
        E-step's responsibilities with the new factors."""
        args = self._model_arguments(params, rows.dtype)
        s0, s1, s2, loglik, entropy = rows.statistics(args, entropy=True)
        _check_finite_log_likelihood(loglik)
        _, xk, sk = _m_step_from_sums(
            rows, args, (s0, s1, s2), self.covariance_type, self.reg_covar, eps
        )
        params = self._posterior(s0 + 10.0 * eps, xk, sk, rows.dtype)
        lower_bound = _lower_bound(
            entropy, params, self.covariance_type, self.weight_concentration_prior_type,
            rows.n_features,
        )
        return params, lower_bound

    def _posterior(self, nk, xk, sk, dtype):
        return _posterior(
            nk, xk, sk, self._priors(), self.covariance_type,
            self.weight_concentration_prior_type, dtype,
        )

    def _model_arguments(self, params, dtype):
        """The model of the E-step: unit weights, the means and precision factors, and the
        per-component constants of :func:`_log_offset`."""
        _, _, means, _, _, chol = params
        offset = _log_offset(
            params, self.covariance_type, self.weight_concentration_prior_type,
            means.shape[1],
        )
        return PassArguments(
            np.ones(means.shape[0]), means, chol, self.covariance_type, dtype,
            log_offset=offset,
        )

    # -- parameters -------------------------------------------------------------------------

    def _current_parameters(self):
        weight_concentration = self.weight_concentration_
        if self.weight_concentration_prior_type == "dirichlet_process":
            weight_concentration = tuple(
                np.asarray(p, dtype=np.float64) for p in weight_concentration
            )
        else:
            weight_concentration = np.asarray(weight_concentration, dtype=np.float64)
        return (weight_concentration,) + tuple(
            np.asarray(p, dtype=np.float64)
            for p in (
                self.mean_precision_,
                self.means_,
                self.degrees_of_freedom_,
                self.covariances_,
                self.precisions_cholesky_,
            )
        )

    def _set_parameters(self, params, dtype):
        weight_concentration, mean_precision, means, dof, covariances, chol = params
        prior_type = self.weight_concentration_prior_type
        weights = _weights_from_concentration(weight_concentration, prior_type)
        if prior_type == "dirichlet_process":
            self.weight_concentration_ = tuple(
                np.asarray(p, dtype=dtype) for p in weight_concentration
            )
        else:
            self.weight_concentration_ = np.asarray(weight_concentration, dtype=dtype)
        self.weights_ = weights.astype(dtype)
        self.mean_precision_ = np.asarray(mean_precision, dtype=dtype)
        self.means_ = np.asarray(means, dtype=dtype)
        # A number for 'tied' (one Wishart), as in scikit-learn.
        self.degrees_of_freedom_ = np.asarray(dof, dtype=dtype)[()]
        self.covariances_ = np.asarray(covariances, dtype=dtype)
        self.precisions_cholesky_ = np.asarray(chol, dtype=dtype)
        self.precisions_ = _precisions_from_cholesky(
            self.precisions_cholesky_, self.covariance_type
        )

    def _pass_arguments(self, dtype):
        return self._model_arguments(self._current_parameters(), dtype)

    def condition(self, values, features):
        """The mixture of the other features given the values of some: p(x_B | x_A = a).

        Under the model the E-step and ``predict_proba`` use (component k: the Gaussian
        N(m_k, C_k) of the expected precision, with the E-step's constant c_k in place of
        a log-weight), conditioning on x_A = a gives a Gaussian mixture over the remaining
        features B with weights exp(c_k) N(a; m_kA, C_kAA) (normalised), means
        m_kB + C_kBA C_kAA^-1 (a - m_kA) and covariances C_kBB - C_kBA C_kAA^-1 C_kAB,
        returned as a fitted :class:`GaussianMixture` (see
        :meth:`GaussianMixture.condition`). :class:`GaussianMixtureImputer` fills many rows
        at once from the same conditionals.

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
            covariance type.

        Examples
        --------
        >>> import numpy as np
        >>> from gmmfast import BayesianGaussianMixture
        >>> rng = np.random.default_rng(0)
        >>> x = rng.uniform(-3, 3, 2000)
        >>> X = np.column_stack([x, np.sin(x) + 0.1 * rng.normal(size=2000)])
        >>> bgm = BayesianGaussianMixture(n_components=10, random_state=0).fit(X)
        >>> given = bgm.condition([1.0], features=[0])
        >>> round(float(given.weights_ @ given.means_[:, 0]), 1)   # about sin(1)
        0.8
        """
        check_is_fitted(self)
        log_weights = _log_offset(self._current_parameters(), self.covariance_type,
                                  self.weight_concentration_prior_type, self.means_.shape[1])
        parameters, kept = conditional_parameters(self, log_weights, values, features)
        result = GaussianMixture(self.n_components, covariance_type=self.covariance_type,
                                 reg_covar=self.reg_covar, random_state=self.random_state)
        result._set_parameters(parameters, self.means_.dtype)
        return _conditioned(result, self, kept)

    def _sample_components(self, random_state, counts):
        return _sample_gaussians(
            random_state, counts, self.means_, self.covariances_, self.covariance_type
        )
