"""BayesianGaussianMixture on rows with missing values (NaN).

The reference is a plain NumPy variational EM that handles each row on its own, with the
missing entries as latent variables of the mean-field posterior q(Z, X_M) q(pi) q(mu,
Lambda): the E-step's log rho_ik is the log-density of the row's observed features under
N(m_k, C_k) (C_k = E[Lambda_k]^-1, from a Cholesky factor of its block C_OO) plus the
per-component constant of the complete-data E-step (taken from scikit-learn's own E-step);
q(x_M | k) is the Gaussian conditional of N(m_k, C_k) (from the Schur complement of C_OO).
The M-step is scikit-learn's, fed with the expected sums, and the lower bound is
scikit-learn's plus the entropy of q(x_M | Z).
"""

import numpy as np
import pytest
from scipy.special import logsumexp
from sklearn.mixture import BayesianGaussianMixture as SkBayesianGaussianMixture
from threadpoolctl import threadpool_limits

from gmmfast import BayesianGaussianMixture, GaussianMixture

from helpers import (
    COVARIANCE_TYPES,
    DTYPES,
    full_covariances,
    ignore_convergence,
    make_blobs_data,
    with_holes,
)

PRIOR_TYPES = ["dirichlet_process", "dirichlet_distribution"]
LOG_2PI = np.log(2.0 * np.pi)
POSTERIOR = ("weight_concentration_", "mean_precision_", "means_", "degrees_of_freedom_",
             "covariances_", "precisions_cholesky_")
PRIORS = ("weight_concentration_prior_", "mean_precision_prior_", "mean_prior_",
          "degrees_of_freedom_prior_", "covariance_prior_")


@pytest.fixture(scope="module")
def holes():
    X = make_blobs_data(n_samples=3000, n_features=4, n_components=3, random_state=3)
    return with_holes(X, 0.25)


def _as_float64(value):
    if isinstance(value, tuple):
        return tuple(np.asarray(v, dtype=np.float64) for v in value)
    return np.asarray(value, dtype=np.float64)


def _scikit_learn_model(model):
    """A scikit-learn estimator holding ``model``'s priors and posterior in float64."""
    sk = SkBayesianGaussianMixture(
        n_components=model.n_components, covariance_type=model.covariance_type,
        weight_concentration_prior_type=model.weight_concentration_prior_type,
        reg_covar=model.reg_covar,
    )
    for name in PRIORS + POSTERIOR:
        setattr(sk, name, _as_float64(getattr(model, name)))
    sk.n_features_in_ = model.n_features_in_
    return sk


def _covariances_of(sk, n_features):
    """The covariances C_k of a scikit-learn estimator's posterior, as (K, D, D)."""
    return full_covariances(sk.covariances_, sk.covariance_type, sk.n_components, n_features)


def _log_gaussian(x, mean, covariance):
    chol = np.linalg.cholesky(covariance)
    y = np.linalg.solve(chol, x - mean)
    return -0.5 * len(x) * LOG_2PI - np.log(np.diag(chol)).sum() - 0.5 * y @ y


def reference_e_step(sk, X, w):
    """(s0, sums of E[x], sums of E[x x^T], sum_i w_i E[log q(z_i, x_iM)]) of one exact
    variational E-step under the posterior ``sk`` holds."""
    n_samples, n_features = X.shape
    K = sk.n_components
    covs = _covariances_of(sk, n_features)
    means = sk.means_
    # The complete-data E-step is log N(x; m_k, C_k) + c_k: c_k from scikit-learn's.
    x0 = means.mean(axis=0)
    constant = sk._estimate_weighted_log_prob(x0[np.newaxis])[0] - np.array(
        [_log_gaussian(x0, means[k], covs[k]) for k in range(K)])
    s0 = np.zeros(K)
    s1 = np.zeros((K, n_features))
    s2 = np.zeros((K, n_features, n_features))
    negative_entropy = 0.0
    for i in range(n_samples):
        x = X[i]
        miss = np.isnan(x)
        obs = ~miss
        log_rho = constant.copy()
        expected = np.empty((K, n_features))
        conditional = np.zeros((K, n_features, n_features))
        entropy = np.zeros(K)
        for k in range(K):
            mu, sigma = means[k], covs[k]
            expected[k] = np.where(miss, mu, x)
            if obs.any():
                s_oo = sigma[np.ix_(obs, obs)]
                log_rho[k] += _log_gaussian(x[obs], mu[obs], s_oo)
                gain = np.linalg.solve(s_oo, sigma[np.ix_(obs, miss)]).T
                expected[k][miss] = mu[miss] + gain @ (x[obs] - mu[obs])
                schur = sigma[np.ix_(miss, miss)] - gain @ sigma[np.ix_(obs, miss)]
            else:
                schur = sigma
            if miss.any():
                conditional[k][np.ix_(miss, miss)] = schur
                entropy[k] = (0.5 * miss.sum() * (1.0 + LOG_2PI)
                              + 0.5 * np.linalg.slogdet(schur)[1])
        log_r = log_rho - logsumexp(log_rho)
        v = w[i] * np.exp(log_r)
        negative_entropy += np.sum(v * (log_r - entropy))
        s0 += v
        s1 += v[:, None] * expected
        s2 += v[:, None, None] * (np.einsum("ka,kb->kab", expected, expected) + conditional)
    return s0, s1, s2, negative_entropy


def reference_m_step(sk, sums, covariance_type, eps):
    """scikit-learn's M-step from the expected sums; returns the lower bound: its bound
    without the responsibilities' entropy, less the E-step's expected log q(Z, X_M)."""
    s0, s1, s2, negative_entropy = sums
    nk = s0 + 10.0 * eps
    xk = s1 / nk[:, None]
    scatter = (s2 - np.einsum("ka,kb->kab", s1, xk) - np.einsum("ka,kb->kab", xk, s1)
               + s0[:, None, None] * np.einsum("ka,kb->kab", xk, xk))
    n_features = s1.shape[1]
    reg = sk.reg_covar
    if covariance_type == "full":
        sk_ = scatter / nk[:, None, None] + reg * np.eye(n_features)
    elif covariance_type == "tied":
        sk_ = ((s2.sum(axis=0) - np.einsum("k,ka,kb->ab", nk, xk, xk)) / nk.sum()
               + reg * np.eye(n_features))
    else:
        sk_ = np.diagonal(scatter, axis1=1, axis2=2) / nk[:, None] + reg
        if covariance_type == "spherical":
            sk_ = sk_.mean(axis=1)
    sk._estimate_weights(nk)
    sk._estimate_means(nk, xk)
    sk._estimate_precisions(nk, xk, sk_)
    rest = sk._compute_lower_bound(np.zeros((1, sk.n_components)), None)
    return -negative_entropy + float(np.ravel(rest)[0])


def reference_fit(model, X, w, n_iter):
    """n_iter reference iterations from ``model``'s posterior: (lower bounds, scikit-learn
    estimator holding the last posterior)."""
    sk = _scikit_learn_model(model)
    X = np.asarray(X, dtype=np.float64)
    eps = float(np.finfo(model.means_.dtype).eps)
    bounds = []
    for _ in range(n_iter):
        sums = reference_e_step(sk, X, w)
        bounds.append(reference_m_step(sk, sums, model.covariance_type, eps))
    return bounds, sk


def _fit(X, n_iter, sample_weight=None, **kwargs):
    with ignore_convergence():
        return BayesianGaussianMixture(max_iter=n_iter, tol=0.0, **kwargs).fit(
            X, sample_weight=sample_weight)


@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_variational_em_equals_the_numpy_reference(holes, covariance_type, dtype, prior_type):
    X = holes[:700].astype(dtype)
    w = np.random.default_rng(5).uniform(0.5, 2.0, len(X))
    kwargs = dict(n_components=3, covariance_type=covariance_type, random_state=0,
                  weight_concentration_prior_type=prior_type)
    start = _fit(X, 0, w, **kwargs)
    ours = _fit(X, 4, w, **kwargs)
    bounds, sk = reference_fit(start, X, w, 4)
    rtol = 1e-9 if dtype == np.float64 else 2e-4
    np.testing.assert_allclose(ours.lower_bounds_, bounds, rtol=rtol)
    for name in POSTERIOR:
        got, expected = _as_float64(getattr(ours, name)), _as_float64(getattr(sk, name))
        if isinstance(got, tuple):
            got, expected = np.concatenate(got), np.concatenate(expected)
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol * np.abs(expected).max(),
                                   err_msg=name)
    assert ours.means_.dtype == dtype


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_lower_bounds_never_decrease(holes, covariance_type):
    model = _fit(holes, 40, n_components=5, covariance_type=covariance_type, random_state=2)
    bounds = np.asarray(model.lower_bounds_)
    assert np.all(np.diff(bounds) > -1e-9 * np.abs(bounds[1:]))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_outputs_of_rows_with_missing_values(holes, covariance_type):
    """predict_proba and score_samples of a row with holes are those of the E-step
    (the reference's normalised rho and log sum rho); a row with no observed feature gets
    softmax(c_k) and log sum exp(c_k)."""
    model = _fit(holes, 10, n_components=3, covariance_type=covariance_type, random_state=0)
    sk = _scikit_learn_model(model)
    rows = holes[:40]
    covs = _covariances_of(sk, 4)
    x0 = sk.means_.mean(axis=0)
    constant = sk._estimate_weighted_log_prob(x0[np.newaxis])[0] - np.array(
        [_log_gaussian(x0, sk.means_[k], covs[k]) for k in range(3)])
    expected = np.empty((len(rows), 3))
    for i, x in enumerate(rows):
        obs = ~np.isnan(x)
        expected[i] = constant + [
            _log_gaussian(x[obs], sk.means_[k][obs], covs[k][np.ix_(obs, obs)])
            if obs.any() else 0.0 for k in range(3)]
    np.testing.assert_allclose(model.score_samples(rows), logsumexp(expected, axis=1),
                               rtol=1e-10)
    np.testing.assert_allclose(model.predict_proba(rows),
                               np.exp(expected - logsumexp(expected, axis=1)[:, None]),
                               rtol=1e-8, atol=1e-12)
    np.testing.assert_array_equal(model.predict(rows), np.argmax(expected, axis=1))


def test_priors_from_rows_with_missing_values(holes):
    model = _fit(holes, 1, n_components=3, covariance_type="full", random_state=0)
    np.testing.assert_allclose(model.mean_prior_, np.nanmean(holes, axis=0), rtol=1e-12)
    np.testing.assert_allclose(np.diag(model.covariance_prior_),
                               np.nanvar(holes, axis=0, ddof=1), rtol=1e-10)
    assert np.all(np.linalg.eigvalsh(model.covariance_prior_) > 0)
    diag = _fit(holes, 1, n_components=3, covariance_type="diag", random_state=0)
    np.testing.assert_allclose(diag.covariance_prior_, np.nanvar(holes, axis=0, ddof=1),
                               rtol=1e-10)
    spherical = _fit(holes, 1, n_components=3, covariance_type="spherical", random_state=0)
    assert spherical.covariance_prior_ == pytest.approx(
        np.nanvar(holes, axis=0, ddof=1).mean(), rel=1e-10)


def test_prior_of_a_feature_observed_once_is_an_error(holes):
    X = holes.copy()
    X[:, 2] = np.nan
    X[10, 2] = 1.0
    with pytest.raises(ValueError, match="covariance_prior"):
        BayesianGaussianMixture(n_components=2).fit(X)
    # A given covariance prior needs no observed variance.
    with ignore_convergence():
        BayesianGaussianMixture(n_components=2, covariance_prior=np.eye(4), max_iter=2).fit(X)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_complete_rows_give_the_same_fit(covariance_type):
    """Without NaN the fit is that of before (the complete-data path); a NaN-free model's
    bound equals scikit-learn's."""
    X = make_blobs_data(n_samples=2000, n_features=4, n_components=3, random_state=1)
    kwargs = dict(n_components=3, covariance_type=covariance_type, max_iter=5, tol=0.0,
                  random_state=0)
    with ignore_convergence():
        ours = BayesianGaussianMixture(**kwargs).fit(X)
        ref = SkBayesianGaussianMixture(**kwargs).fit(X)
    np.testing.assert_allclose(ours.lower_bounds_, np.ravel(ref.lower_bounds_), rtol=1e-9)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_fit_with_missing_values_is_thread_count_independent(holes, covariance_type, dtype):
    X = np.vstack([holes] * 4).astype(dtype)
    fits = []
    for n_threads in (1, 2, 3):
        with threadpool_limits(n_threads, user_api="openmp"):
            fits.append(_fit(X, 5, n_components=3, covariance_type=covariance_type,
                             random_state=0))
    for other in fits[1:]:
        assert other.lower_bounds_ == fits[0].lower_bounds_
        for name in ("means_", "covariances_", "weights_"):
            assert np.array_equal(getattr(other, name), getattr(fits[0], name))


def test_integer_weights_equal_repeated_rows(holes):
    X = holes[:900]
    counts = np.random.default_rng(4).integers(1, 4, len(X))
    kwargs = dict(n_components=3, covariance_type="full", random_state=0)
    weighted = _fit(X, 6, counts.astype(float), init_params="random_from_data", **kwargs)
    start = _fit(X, 0, counts.astype(float), init_params="random_from_data", **kwargs)
    # The same start on the repeated rows: the weighted fit's initial posterior.
    repeated = np.repeat(X, counts, axis=0)
    bounds, sk = reference_fit(start, repeated, np.ones(len(repeated)), 6)
    np.testing.assert_allclose(weighted.lower_bounds_, bounds, rtol=1e-9)
    np.testing.assert_allclose(weighted.means_, sk.means_, rtol=1e-9)


def test_recovers_the_mixture_of_complete_data():
    """30 % of the entries missing completely at random: the posterior's means land near
    those of the fit to the complete rows, and the unneeded components are switched off."""
    X = make_blobs_data(n_samples=6000, n_features=5, n_components=3, random_state=7)
    holey = with_holes(X, 0.3, seed=3)
    kwargs = dict(n_components=6, covariance_type="full", random_state=0, max_iter=300)
    complete = BayesianGaussianMixture(**kwargs).fit(X)
    missing = BayesianGaussianMixture(**kwargs).fit(holey)
    assert np.sum(missing.weights_ > 0.05) == 3

    def active(m):
        order = np.argsort(-m.weights_)[:3]
        means = m.means_[order]
        return means[np.lexsort(means.T[::-1])]

    np.testing.assert_allclose(active(missing), active(complete), atol=0.15)
    # Held-out complete rows: nearly the complete fit's log-likelihood.
    test = make_blobs_data(n_samples=3000, n_features=5, n_components=3, random_state=7)
    assert missing.score(test) > complete.score(test) - 0.05


def test_dask_fit_with_missing_values_equals_in_memory_fit(holes):
    da = pytest.importorskip("dask.array")
    dask = pytest.importorskip("dask")
    chunks = ((1000, 700, 900, 400), (4,))
    w = np.random.default_rng(2).uniform(0.5, 2.0, len(holes))
    kwargs = dict(n_components=3, covariance_type="full", random_state=0)
    with dask.config.set(scheduler="threads"):
        ours = _fit(da.from_array(holes, chunks=chunks), 8,
                    da.from_array(w, chunks=chunks[0]), **kwargs)
        lazy = ours.score_samples(da.from_array(holes, chunks=chunks)).compute()
    ref = _fit(holes, 8, w, **kwargs)
    np.testing.assert_allclose(ours.covariance_prior_, ref.covariance_prior_, rtol=1e-10)
    np.testing.assert_allclose(ours.lower_bounds_, ref.lower_bounds_, rtol=1e-9)
    np.testing.assert_allclose(ours.means_, ref.means_, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(lazy, ref.score_samples(holes), rtol=1e-9, atol=1e-12)


def test_infinity_is_still_an_error(holes):
    X = holes.copy()
    X[5, 1] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        BayesianGaussianMixture(n_components=2).fit(X)


def test_gaussian_and_variational_mixtures_agree_on_the_marginals(holes):
    """With a vague prior and many rows, the variational posterior's means are close to
    the maximum-likelihood means of exact EM on the same rows with holes."""
    kwargs = dict(covariance_type="diag", random_state=0, max_iter=200, tol=1e-8)
    em = GaussianMixture(3, **kwargs).fit(holes)
    vb = BayesianGaussianMixture(n_components=3, mean_precision_prior=1e-3,
                                 weight_concentration_prior_type="dirichlet_distribution",
                                 weight_concentration_prior=1.0, **kwargs).fit(holes)

    def ordered(means):
        return means[np.lexsort(means.T[::-1])]

    np.testing.assert_allclose(ordered(vb.means_), ordered(em.means_), atol=0.05)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_condition_is_the_e_step_model_given_some_features(holes, covariance_type):
    """The conditional mixture's weights are predict_proba of the row with the other
    features missing, its means the Gaussian conditionals of N(m_k, C_k); the imputer with
    the variational mixture fills a row with their weighted mean."""
    from gmmfast import GaussianMixtureImputer

    model = _fit(holes, 20, n_components=4, covariance_type=covariance_type, random_state=0)
    a = np.array([0.5, -1.0])
    given = model.condition(a, features=[2, 0])
    row = np.full((1, 4), np.nan)
    row[0, [2, 0]] = a
    np.testing.assert_allclose(given.weights_, model.predict_proba(row)[0], rtol=1e-9,
                               atol=1e-15)
    covs = _covariances_of(_scikit_learn_model(model), 4)
    for k in range(4):
        sigma = covs[k]
        expected = model.means_[k, [1, 3]] + sigma[np.ix_([1, 3], [2, 0])] @ np.linalg.solve(
            sigma[np.ix_([2, 0], [2, 0])], a - model.means_[k, [2, 0]])
        np.testing.assert_allclose(given.means_[k], expected, rtol=1e-9, atol=1e-12)
    assert isinstance(given, GaussianMixture) and given.n_features_in_ == 2
    imputer = GaussianMixtureImputer(
        BayesianGaussianMixture(n_components=4, covariance_type=covariance_type,
                                max_iter=20, tol=0.0, random_state=0))
    with ignore_convergence():
        filled = imputer.fit(holes).transform(row)
    np.testing.assert_allclose(filled[0, [1, 3]], given.weights_ @ given.means_, rtol=1e-9)
    drawn = GaussianMixtureImputer(imputer.estimator, sample_posterior=True, random_state=0)
    with ignore_convergence():
        assert np.isfinite(drawn.fit_transform(holes)).all()
