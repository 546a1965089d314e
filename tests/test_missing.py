"""Missing values (NaN): exact EM for incomplete data, marginal outputs, initialisation.

The reference is a plain NumPy EM that handles each row on its own: the marginal density of
its observed features (from a Cholesky factor of Sigma_OO) and the conditional mean and
covariance of its missing ones, from which the M-step's expected sums are formed.
"""

import numpy as np
import pytest
from scipy.special import logsumexp
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from gmmfast import (
    BayesianGaussianMixture,
    GaussianMixture,
    MiniBatchGaussianMixture,
    _kernels,
    _passes,
)
from gmmfast._passes import PassArguments, statistics

from helpers import (
    COVARIANCE_TYPES,
    DTYPES,
    full_covariances,
    ignore_convergence,
    make_blobs_data,
    with_holes,
)

N_SAMPLES = 3000


def reference_e_step(X, w, weights, means, covariances, covariance_type):
    """(s0, sums of E[x], sums of E[x x^T], log-likelihood) of one exact E-step."""
    n_samples, n_features = X.shape
    n_components = len(weights)
    covs = full_covariances(covariances, covariance_type, n_components, n_features)
    w = np.ones(n_samples) if w is None else w
    s0 = np.zeros(n_components)
    s1 = np.zeros((n_components, n_features))
    s2 = np.zeros((n_components, n_features, n_features))
    total = 0.0
    for i in range(n_samples):
        x = X[i]
        miss = np.isnan(x)
        obs = ~miss
        log_p = np.empty(n_components)
        expected = np.empty((n_components, n_features))
        conditional = np.zeros((n_components, n_features, n_features))
        for k in range(n_components):
            mu, sigma = means[k], covs[k]
            expected[k] = np.where(miss, mu, x)
            log_p[k] = np.log(weights[k])
            if obs.any():
                s_oo = sigma[np.ix_(obs, obs)]
                chol = np.linalg.cholesky(s_oo)
                d = x[obs] - mu[obs]
                y = np.linalg.solve(chol, d)
                log_p[k] += (-0.5 * obs.sum() * np.log(2 * np.pi)
                             - np.log(np.diag(chol)).sum() - 0.5 * y @ y)
                gain = np.linalg.solve(s_oo, sigma[np.ix_(obs, miss)]).T
                expected[k][miss] = mu[miss] + gain @ d
                conditional[k][np.ix_(miss, miss)] = (
                    sigma[np.ix_(miss, miss)] - gain @ sigma[np.ix_(obs, miss)])
            else:
                conditional[k] = sigma
        log_total = logsumexp(log_p)
        total += w[i] * log_total
        v = w[i] * np.exp(log_p - log_total)
        s0 += v
        s1 += v[:, None] * expected
        s2 += v[:, None, None] * (np.einsum("ka,kb->kab", expected, expected) + conditional)
    return s0, s1, s2, total


def reference_em(X, w, weights, means, covariances, covariance_type, n_iter, reg_covar):
    """n_iter exact EM steps: (lower bounds, weights, means, covariances)."""
    n_total = len(X) if w is None else w.sum()
    bounds = []
    for _ in range(n_iter):
        s0, s1, s2, total = reference_e_step(X, w, weights, means, covariances,
                                             covariance_type)
        bounds.append(total / n_total)
        weights = s0 / n_total
        means = s1 / s0[:, None]
        scatter = s2 / s0[:, None, None] - np.einsum("ka,kb->kab", means, means)
        n_features = X.shape[1]
        if covariance_type == "full":
            covariances = scatter + reg_covar * np.eye(n_features)
        elif covariance_type == "tied":
            covariances = (np.einsum("k,kab->ab", s0, scatter) / s0.sum()
                           + reg_covar * np.eye(n_features))
        elif covariance_type == "diag":
            covariances = np.diagonal(scatter, axis1=1, axis2=2) + reg_covar
        else:
            covariances = np.diagonal(scatter, axis1=1, axis2=2).mean(axis=1) + reg_covar
    return bounds, weights, means, covariances


def _precisions(covariances, covariance_type):
    if covariance_type in ("full", "tied"):
        return np.linalg.inv(covariances)
    return 1.0 / covariances


def _covariances_of(chol, covariance_type):
    """The covariances whose precision factors the fitted pass reads: (P P^T)^-1 =
    P^-T P^-1 (full, tied; P upper triangular), 1 / p^2 (diag, spherical)."""
    if covariance_type in ("full", "tied"):
        factors = chol if covariance_type == "full" else chol[np.newaxis]
        inverses = [np.linalg.solve(p, np.eye(len(p))) for p in factors]
        covariances = np.array([q.T @ q for q in inverses])
        return covariances if covariance_type == "full" else covariances[0]
    return 1.0 / chol**2


def _reference_fit(X, w, covariance_type, n_components, n_iter, start, dtype=np.float64):
    """gmmfast's fit and the NumPy reference EM from the same model: the start's
    parameters as gmmfast holds them (its precision factors) after max_iter=0."""
    weights, means, covariances = start
    kwargs = dict(covariance_type=covariance_type, tol=0, weights_init=weights,
                  means_init=means, precisions_init=_precisions(covariances, covariance_type))
    with ignore_convergence():
        first = GaussianMixture(n_components, max_iter=0, **kwargs).fit(X.astype(dtype),
                                                                         sample_weight=w)
        gm = GaussianMixture(n_components, max_iter=n_iter, **kwargs).fit(X.astype(dtype),
                                                                          sample_weight=w)
    chol = np.asarray(first.precisions_cholesky_, dtype=np.float64)
    reference = reference_em(X.astype(dtype).astype(np.float64), w, weights, means,
                             _covariances_of(chol, covariance_type), covariance_type,
                             n_iter, gm.reg_covar)
    return gm, reference


def _start(X, covariance_type, n_components, seed=1):
    """Initial parameters of a fit to the complete rows, with extra spread."""
    gm = GaussianMixture(n_components, covariance_type=covariance_type, max_iter=2,
                         random_state=seed)
    with ignore_convergence():
        gm.fit(X[~np.isnan(X).any(axis=1)])
    return gm.weights_, gm.means_ + 0.3, gm.covariances_ * 1.5


@pytest.fixture(scope="module")
def holes():
    X = make_blobs_data(n_samples=N_SAMPLES, n_features=4, n_components=3, random_state=3)
    return with_holes(X, 0.25)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_em_equals_the_numpy_reference(holes, dtype, covariance_type):
    X = holes[:1200]
    w = np.random.default_rng(5).uniform(0.5, 2.0, len(X))
    gm, (bounds, ref_w, ref_m, ref_c) = _reference_fit(
        X, w, covariance_type, 3, 4, _start(X, covariance_type, 3), dtype)
    rtol = 1e-9 if dtype == np.float64 else 2e-4
    np.testing.assert_allclose(gm.lower_bounds_, bounds, rtol=rtol)
    np.testing.assert_allclose(gm.weights_, ref_w, rtol=rtol)
    np.testing.assert_allclose(gm.means_, ref_m, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(gm.covariances_, ref_c, rtol=rtol, atol=rtol)
    assert gm.means_.dtype == dtype


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_outputs_are_those_of_the_observed_features(holes, dtype, covariance_type):
    """score_samples and predict_proba of a row with missing features equal those of the
    marginal mixture of its observed features."""
    X = holes.astype(dtype)
    gm = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    log_prob = gm.score_samples(X)
    resp = gm.predict_proba(X)
    labels = gm.predict(X)
    covs = full_covariances(gm.covariances_, covariance_type, 3, 4)
    rtol = 1e-9 if dtype == np.float64 else 1e-4
    for pattern in ([1], [0, 2], [3], [0, 1, 3]):
        miss = np.zeros(4, dtype=bool)
        miss[pattern] = True
        rows = np.flatnonzero((np.isnan(X) == miss).all(axis=1))
        assert len(rows) > 5
        obs = ~miss
        marginal = GaussianMixture(3, covariance_type="full")
        marginal.weights_ = gm.weights_
        marginal.means_ = gm.means_[:, obs]
        marginal.covariances_ = covs[:, obs][:, :, obs]
        marginal.precisions_cholesky_ = np.array([
            np.linalg.cholesky(np.linalg.inv(c)) for c in marginal.covariances_])
        marginal.n_features_in_ = int(obs.sum())
        part = X[rows][:, obs].astype(np.float64)
        np.testing.assert_allclose(log_prob[rows], marginal.score_samples(part), rtol=rtol)
        np.testing.assert_allclose(resp[rows], marginal.predict_proba(part), rtol=rtol,
                                   atol=1e-6 if dtype == np.float32 else 1e-12)
        assert np.mean(labels[rows] == marginal.predict(part)) > 0.99


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_a_row_with_no_observed_feature(holes, covariance_type):
    gm = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(holes)
    empty = np.full((2, 4), np.nan)
    np.testing.assert_allclose(gm.score_samples(empty), 0.0, atol=1e-12)
    np.testing.assert_allclose(gm.predict_proba(empty), np.tile(gm.weights_, (2, 1)),
                               rtol=1e-12)
    assert np.array_equal(gm.predict(empty), [np.argmax(gm.weights_)] * 2)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_lower_bounds_never_decrease(holes, covariance_type):
    with ignore_convergence():
        gm = GaussianMixture(3, covariance_type=covariance_type, tol=0, max_iter=30,
                             random_state=2).fit(holes)
    steps = np.diff(gm.lower_bounds_)
    assert np.all(steps > -1e-12 * np.abs(gm.lower_bounds_[1:]))
    # The lower bound is the observed-data log-likelihood per unit weight.
    assert np.isclose(gm.score(holes), gm.lower_bounds_[-1], rtol=1e-3)


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_every_start_works_with_missing_values(holes, init_params, covariance_type):
    gm = GaussianMixture(3, covariance_type=covariance_type, init_params=init_params,
                         random_state=0)
    with ignore_convergence():
        gm.fit(holes)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        assert np.all(np.isfinite(getattr(gm, name)))
    assert np.isfinite(gm.lower_bound_)
    assert np.all(np.isfinite(gm.score_samples(holes)))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_kmeans_start_reads_missing_values_as_column_means(holes, covariance_type):
    """The 'kmeans' start on rows with holes is the start on the rows filled with their
    columns' observed means."""
    filled = np.where(np.isnan(holes), np.nanmean(holes, axis=0), holes)
    a = GaussianMixture(3, covariance_type=covariance_type, max_iter=0, random_state=0)
    b = GaussianMixture(3, covariance_type=covariance_type, max_iter=0, random_state=0)
    with ignore_convergence():
        a.fit(holes)
        b.fit(filled)
    np.testing.assert_allclose(a.means_, b.means_, rtol=1e-10)
    np.testing.assert_allclose(a.covariances_, b.covariances_, rtol=1e-10)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_complete_rows_take_the_same_path(covariance_type):
    """On data without NaN, the E-step that marginalises missing features gives the same
    bits as the one that does not look for them."""
    X = make_blobs_data(n_samples=N_SAMPLES, n_features=5, n_components=3, random_state=4)
    gm = GaussianMixture(3, covariance_type=covariance_type, max_iter=3, random_state=0)
    with ignore_convergence():
        gm.fit(X)
    args = PassArguments(gm.weights_, gm.means_, gm.precisions_cholesky_, covariance_type,
                         X.dtype)
    plain = statistics(X, None, args)
    marginal = statistics(X, None, args, missing=True)
    for a, b in zip(plain, marginal):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_missing_values_are_thread_count_independent(dtype, covariance_type):
    X = make_blobs_data(n_samples=40_000, n_features=5, n_components=4, random_state=11)
    X = with_holes(X, 0.2).astype(dtype)
    models = []
    for n_threads in (1, 2, 3):
        with threadpool_limits(limits=n_threads, user_api="openmp"), ignore_convergence():
            models.append(GaussianMixture(4, covariance_type=covariance_type, random_state=0,
                                          max_iter=10).fit(X))
    for other in models[1:]:
        assert other.lower_bounds_ == models[0].lower_bounds_
        for name in ("weights_", "means_", "covariances_"):
            assert np.array_equal(getattr(other, name), getattr(models[0], name))
        assert np.array_equal(other.score_samples(X), models[0].score_samples(X))


def test_memory_map_with_missing_values_equals_in_memory(tmp_path, holes):
    path = tmp_path / "holes.npy"
    np.save(path, holes)
    mapped = np.load(path, mmap_mode="r")
    a = GaussianMixture(3, random_state=0).fit(holes)
    b = GaussianMixture(3, random_state=0).fit(mapped)
    assert a.lower_bounds_ == b.lower_bounds_
    assert np.array_equal(a.means_, b.means_)


def test_integer_weights_equal_repeated_rows_with_missing_values(holes):
    X = holes[:600]
    counts = np.random.default_rng(0).integers(1, 4, len(X))
    start = dict(means_init=np.nanmean(X, axis=0) + np.arange(3)[:, None],
                 weights_init=np.full(3, 1 / 3), precisions_init=np.tile(np.eye(4), (3, 1, 1)))
    a = GaussianMixture(3, max_iter=5, tol=0, **start)
    b = GaussianMixture(3, max_iter=5, tol=0, **start)
    with ignore_convergence():
        a.fit(X, sample_weight=counts)
        b.fit(np.repeat(X, counts, axis=0))
    np.testing.assert_allclose(a.lower_bounds_, b.lower_bounds_, rtol=1e-10)
    np.testing.assert_allclose(a.means_, b.means_, rtol=1e-9)
    np.testing.assert_allclose(a.covariances_, b.covariances_, rtol=1e-9)


def test_user_data_is_not_modified(holes):
    X = holes.copy()
    gm = GaussianMixture(3, random_state=0).fit(X)
    gm.score_samples(X)
    gm.predict_proba(X)
    np.testing.assert_array_equal(X, holes)


def test_recovery_beats_complete_rows_and_mean_imputation():
    """Data from a known mixture with 30 % of the entries removed completely at random: the
    fit with holes is closer to the truth (log-likelihood of complete held-out rows) than a
    fit to the rows without holes and than one after mean imputation."""
    rng = np.random.default_rng(7)
    n_features, n_components = 5, 3
    truth = GaussianMixture(n_components, covariance_type="full")
    truth.weights_ = np.array([0.5, 0.3, 0.2])
    truth.means_ = rng.normal(scale=3.0, size=(n_components, n_features))
    factors = rng.normal(size=(n_components, n_features, n_features)) * 0.7
    truth.covariances_ = factors @ factors.transpose(0, 2, 1) + 0.3 * np.eye(n_features)
    truth.precisions_cholesky_ = np.array(
        [np.linalg.cholesky(np.linalg.inv(c)) for c in truth.covariances_])
    truth.n_features_in_ = n_features
    truth.random_state = 0
    X, _ = truth.sample(6000)
    truth.random_state = 1
    held_out, _ = truth.sample(20_000)
    holes = X.copy()
    holes[rng.random(X.shape) < 0.3] = np.nan
    complete = holes[~np.isnan(holes).any(axis=1)]
    imputed = np.where(np.isnan(holes), np.nanmean(holes, axis=0), holes)
    scores = {}
    for name, data in (("holes", holes), ("complete", complete), ("imputed", imputed)):
        gm = GaussianMixture(n_components, n_init=3, random_state=0).fit(data)
        scores[name] = gm.score(held_out)
    assert scores["holes"] > scores["complete"] > -np.inf
    assert scores["holes"] > scores["imputed"]
    assert scores["holes"] > truth.score(held_out) - 0.05


def test_infinity_is_still_an_error(holes):
    X = holes.copy()
    X[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        GaussianMixture(2).fit(X)
    gm = GaussianMixture(2, random_state=0).fit(holes)
    with pytest.raises(ValueError, match="infinity"):
        gm.score_samples(X)


@pytest.mark.parametrize("n_features", [3, 12])
@pytest.mark.parametrize("row", [0, 700, -1])
def test_rows_to_evaluate_are_looked_at_by_the_evaluation_pass(n_features, row):
    """predict, predict_proba, score_samples, score and bic read complete rows in one pass;
    an infinity anywhere (first block, a middle one, the last row) is still an error, and a
    NaN there is a missing value, as when the rows are looked at beforehand."""
    X = make_blobs_data(n_samples=1500, n_features=n_features, n_components=3,
                        random_state=4)
    gm = GaussianMixture(3, random_state=0).fit(X)
    bad = X.copy()
    bad[row, 1] = -np.inf
    for method in ("predict", "predict_proba", "score_samples", "score", "bic"):
        with pytest.raises(ValueError, match="infinity"):
            getattr(gm, method)(bad)
    holed = X.copy()
    holed[row, 1] = np.nan
    args = gm._pass_arguments(X.dtype)
    labels, resp, log_prob = _passes.evaluate(holed, args, labels=True, resp=True,
                                              log_prob=True, missing=True)
    assert np.array_equal(gm.predict(holed), labels)
    assert np.array_equal(gm.predict_proba(holed), resp)
    assert np.array_equal(gm.score_samples(holed), log_prob)
    assert np.isfinite(gm.score(holed))
    # Complete rows: the same outputs as a pass told that they hold no NaN.
    labels, resp, log_prob = _passes.evaluate(X, args, labels=True, resp=True,
                                              log_prob=True, missing=False)
    assert np.array_equal(gm.predict(X), labels)
    assert np.array_equal(gm.score_samples(X), log_prob)


@pytest.mark.parametrize("where", [(4095, 2), (4096, 0), (-1, 2)])
def test_scan_finds_an_entry_at_either_end_of_a_chunk(where):
    """The scan tests each chunk of 4,096 rows at once: a NaN or an infinity in its last
    entry, in the first of the next, or in the last entry of X is counted."""
    X = np.random.default_rng(0).standard_normal((9000, 3))
    for value, index in ((np.nan, 0), (np.inf, 1)):
        Y = X.copy()
        Y[where] = value
        counts = _kernels.scan_rows(Y)[:2]
        assert counts[index] == 1 and counts[1 - index] == 0


def test_a_feature_with_no_observed_value_is_an_error(holes):
    X = holes.copy()
    X[:, 2] = np.nan
    with pytest.raises(ValueError, match="Feature 2 of X has no observed value"):
        GaussianMixture(2).fit(X)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_scan_counts_missing_and_infinite_entries(order, dtype):
    X = np.arange(12.0).reshape(4, 3)
    X[1, 2] = np.nan
    X[2, 0] = -np.inf
    X = np.asarray(X, dtype=dtype, order=order)
    w = np.array([1.0, 2.0, 3.0, 4.0])
    n_missing, n_infinite, sums, weights = _kernels.scan_rows(X, w)
    assert (n_missing, n_infinite) == (1, 1)
    np.testing.assert_array_equal(weights, [7.0, 10.0, 8.0])
    np.testing.assert_array_equal(sums, [0 * 1 + 3 * 2 + 9 * 4, 1 * 1 + 4 * 2 + 7 * 3 + 10 * 4,
                                         2 * 1 + 8 * 3 + 11 * 4])


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_kernel_refuses_a_model_without_missing_terms(covariance_type):
    X = np.full((4, 2), np.nan)
    size = {"full": 4, "tied": 4, "diag": 2, "spherical": 1}[covariance_type]
    model = _kernels.Model(covariance_type, np.zeros(2), np.ones(size), np.zeros((2, 1)),
                           np.zeros(1))
    with pytest.raises(ValueError, match="missing_terms"):
        _kernels.e_step(X, None, model, np.zeros((1, 2)), missing=True)


def test_convergence_warning_is_the_only_warning(holes):
    with pytest.warns(ConvergenceWarning):
        GaussianMixture(3, max_iter=1, random_state=0).fit(holes)


def test_mini_batch_fits_missing_values(holes):
    full = GaussianMixture(3, random_state=0).fit(holes)
    with ignore_convergence():
        # Starts on rows read with their columns' means are far from the optimum: a step
        # size that forgets them sooner.
        mini = MiniBatchGaussianMixture(3, batch_size=500, max_iter=30, learning_offset=1,
                                        learning_decay=0.51, max_no_improvement=None,
                                        random_state=0)
        mini.fit(holes)
    assert abs(mini.score(holes) - full.score(holes)) < 0.01 * abs(full.score(holes))
    stream = MiniBatchGaussianMixture(3, random_state=0)
    for start in range(0, len(holes), 600):
        stream.partial_fit(holes[start:start + 600])
    assert np.isfinite(stream.score(holes))


@pytest.mark.parametrize("init_params", ["kmeans", "random_from_data"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_dask_fit_with_missing_values_equals_in_memory_fit(holes, covariance_type,
                                                           init_params):
    da = pytest.importorskip("dask.array")
    dask = pytest.importorskip("dask")
    chunks = ((1000, 700, 900, 400), (4,))
    kwargs = dict(covariance_type=covariance_type, init_params=init_params, max_iter=15,
                  tol=0.0, random_state=0)
    w = np.random.default_rng(2).uniform(0.5, 2.0, len(holes))
    with dask.config.set(scheduler="threads"), ignore_convergence():
        ours = GaussianMixture(3, **kwargs).fit(da.from_array(holes, chunks=chunks),
                                                sample_weight=da.from_array(w, chunks=chunks[0]))
        lazy = ours.score_samples(da.from_array(holes, chunks=chunks)).compute()
    with ignore_convergence():
        ref = GaussianMixture(3, **kwargs).fit(holes, sample_weight=w)
    np.testing.assert_allclose(ours.lower_bounds_, ref.lower_bounds_, rtol=1e-9)
    np.testing.assert_allclose(ours.means_, ref.means_, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(lazy, ref.score_samples(holes), rtol=1e-9, atol=1e-12)


def test_dask_refuses_infinity(holes):
    da = pytest.importorskip("dask.array")
    dask = pytest.importorskip("dask")
    X = holes.copy()
    X[5, 1] = np.inf
    with dask.config.set(scheduler="threads"):
        for model in (GaussianMixture(2), BayesianGaussianMixture(n_components=2)):
            with pytest.raises(ValueError, match="infinity"):
                model.fit(da.from_array(X, chunks=(1000, 4)))


def test_model_selection_with_missing_values(holes):
    from gmmfast import GaussianMixtureIC

    search = GaussianMixtureIC(n_components=[2, 3], covariance_type=["full", "diag"],
                               random_state=0).fit(holes)
    best = search.best_estimator_
    alone = GaussianMixture(best.n_components, covariance_type=best.covariance_type,
                            random_state=0).fit(holes)
    assert np.array_equal(best.means_, alone.means_)
    assert np.isclose(search.bic(holes), alone.bic(holes))
    assert np.all(np.isfinite(search.score_samples(holes)))


@pytest.mark.parametrize("n_components", [1, 2])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_few_components_many_features_equal_the_reference(covariance_type, n_components):
    """Scratch sized by components and by features alike (one component, six features)."""
    rng = np.random.default_rng(4)
    X = with_holes(rng.normal(size=(400, 6)) @ rng.normal(size=(6, 6)), 0.3)
    gm, (bounds, _, ref_m, ref_c) = _reference_fit(
        X, None, covariance_type, n_components, 3, _start(X, covariance_type, n_components))
    np.testing.assert_allclose(gm.lower_bounds_, bounds, rtol=1e-9)
    np.testing.assert_allclose(gm.means_, ref_m, rtol=1e-9, atol=1e-9)
    # A light component (under 10 % of 400 rows) of correlated features: its covariance
    # carries the conditioning of the sums (measured 1.5e-9 at worst).
    np.testing.assert_allclose(gm.covariances_, ref_c, rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("n_components", [8, 11, 16, 27])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("covariance_type", ["full", "tied"])
def test_many_components_equal_the_reference(covariance_type, dtype, n_components):
    """The marginal of a row over vectors of components (with 8 and 16 components as
    constants; 11: one vector of eight and three more; 27: two vectors side by side, one,
    and three more), against the reference."""
    X = make_blobs_data(n_samples=max(600, 60 * n_components), n_features=5,
                        n_components=n_components, random_state=6)
    X = with_holes(X, 0.2, seed=2)
    gm, (bounds, ref_w, ref_m, ref_c) = _reference_fit(
        X, None, covariance_type, n_components, 2,
        _start(X, covariance_type, n_components), dtype)
    rtol = 1e-9 if dtype == np.float64 else 2e-4
    np.testing.assert_allclose(gm.lower_bounds_, bounds, rtol=rtol)
    np.testing.assert_allclose(gm.weights_, ref_w, rtol=rtol)
    np.testing.assert_allclose(gm.means_, ref_m, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(gm.covariances_, ref_c, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_rows_missing_more_than_four_features(dtype, covariance_type):
    """Rows missing five to eight of nine features (their lists are written four entries
    at a time): EM equals the reference, and each row's log-density is that of the
    mixture's marginal over its observed features."""
    rng = np.random.default_rng(6)
    X = with_holes(rng.normal(size=(600, 9)) @ rng.normal(size=(9, 9)), 0.1)
    many = np.arange(20, 60)
    for row in many:
        m = 5 + row % 4
        X[row, rng.choice(9, m, replace=False)] = np.nan
    gm, (bounds, _, ref_m, ref_c) = _reference_fit(
        X, None, covariance_type, 2, 3, _start(X, covariance_type, 2), dtype)
    rtol = 1e-9 if dtype == np.float64 else 2e-4
    np.testing.assert_allclose(gm.lower_bounds_, bounds, rtol=rtol)
    np.testing.assert_allclose(gm.means_, ref_m, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(gm.covariances_, ref_c, rtol=10 * rtol, atol=rtol)
    log_prob = gm.score_samples(X[many].astype(dtype))
    covs = full_covariances(gm.covariances_, covariance_type, 2, 9)
    for value, x in zip(log_prob, X[many]):
        obs = ~np.isnan(x)
        parts = []
        for k in range(2):
            s_oo = covs[k][np.ix_(obs, obs)]
            d = x[obs] - gm.means_[k][obs]
            _, log_det = np.linalg.slogdet(s_oo)
            parts.append(np.log(gm.weights_[k]) - 0.5 * (obs.sum() * np.log(2 * np.pi)
                         + log_det + d @ np.linalg.solve(s_oo, d)))
        # (A row that lost all nine has log-density 0.)
        np.testing.assert_allclose(value, logsumexp(parts), rtol=rtol,
                                   atol=1e-10 if dtype == np.float64 else 1e-5)


def _reference_pattern_list(X, most=4):
    """The distinct patterns of 1 to ``most`` missing features, in the order they come."""
    seen, keys = set(), []
    for row in np.isnan(X):
        features = tuple(int(j) for j in np.flatnonzero(row))
        if 1 <= len(features) <= most and features not in seen:
            seen.add(features)
            keys.append([len(features), *features, *[-1] * (most - len(features))])
    return np.array(keys, dtype=np.intc).reshape(-1, most + 1)


def _holes_of_every_kind(dtype, n_samples=20_000, n_features=7, seed=8):
    """Rows with 1 to 7 missing features (past the listed 4), none, and all."""
    X = make_blobs_data(n_samples=n_samples, n_features=n_features, n_components=5,
                        random_state=seed)
    X = with_holes(X, 0.15, seed=seed).astype(dtype)
    X[::97, :5] = np.nan
    X[::389] = np.nan
    return X


@pytest.mark.parametrize("dtype", DTYPES)
def test_pattern_list_lists_each_pattern_once_in_order(dtype):
    X = _holes_of_every_kind(dtype)
    keys = _kernels.pattern_list(X)
    np.testing.assert_array_equal(keys, _reference_pattern_list(X))
    assert keys.dtype == np.intc and len(keys) > 50
    np.testing.assert_array_equal(_kernels.pattern_list(X, 7), keys[:7])
    np.testing.assert_array_equal(_kernels.pattern_list(X[::-1]),  # a strided view
                                  _reference_pattern_list(X[::-1]))
    assert len(_kernels.pattern_list(np.ones((10, 3), dtype=dtype))) == 0


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("covariance_type", ["full", "tied"])
def test_a_pattern_list_gives_the_same_bits(dtype, covariance_type):
    """The factor sets of listed patterns are made once per pass for all threads: the same
    sums, log-likelihood and entropy, and the same per-row outputs and conditional means,
    as each thread making its own, whole or part of the list, with rows of more missing
    features than a list holds, on 1 and 3 threads."""
    X = _holes_of_every_kind(dtype)
    gm = GaussianMixture(5, covariance_type=covariance_type, max_iter=2, random_state=0)
    with ignore_convergence():
        gm.fit(X)
    args = PassArguments(gm.weights_, gm.means_, gm.precisions_cholesky_, covariance_type,
                         X.dtype)
    keys = _kernels.pattern_list(X)
    for n_threads in (1, 3):
        plain = statistics(X, None, args, n_threads=n_threads, entropy=True, missing=True)
        for patterns in (keys, keys[: len(keys) // 3], keys[::-1].copy()):
            listed = statistics(X, None, args, n_threads=n_threads, entropy=True,
                                missing=True, patterns=patterns)
            for a, b in zip(plain, listed):
                assert np.array_equal(a, b)
            outputs = []
            for given in (None, patterns):
                filled = np.array(X, order="C", copy=True)
                outputs.append(_passes.evaluate(
                    X, args, labels=True, resp=True, log_prob=True, n_threads=n_threads,
                    missing=True, filled=filled, patterns=given) + (filled,))
            for a, b in zip(*outputs):
                assert np.array_equal(a, b)


def test_a_fit_lists_its_patterns_once(monkeypatch, holes):
    calls = []
    original = _kernels.pattern_list

    def counted(X, *args):
        calls.append(X.shape)
        return original(X, *args)

    monkeypatch.setattr(_kernels, "pattern_list", counted)
    with ignore_convergence():
        GaussianMixture(3, covariance_type="full", max_iter=4, random_state=0).fit(holes)
    assert calls == [holes.shape]
    calls.clear()
    with ignore_convergence():
        GaussianMixture(3, covariance_type="diag", max_iter=4, random_state=0).fit(holes)
        MiniBatchGaussianMixture(3, covariance_type="full", batch_size=500, max_iter=2,
                                 random_state=0).fit(holes)
    assert calls == []


def test_a_wrong_pattern_list_is_refused(holes):
    gm = GaussianMixture(3, covariance_type="full", max_iter=2, random_state=0)
    with ignore_convergence():
        gm.fit(holes)
    args = PassArguments(gm.weights_, gm.means_, gm.precisions_cholesky_, "full",
                         holes.dtype)
    keys = _kernels.pattern_list(holes)
    with pytest.raises(ValueError, match="numbers per pattern"):
        statistics(holes, None, args, missing=True, patterns=keys[:, :3])
    for m, features in ((1, [4]), (1, [-1]), (2, [2, 1]), (4, [0, 1, 3, 3]), (0, []),
                        (5, [0, 1, 2, 3])):
        bad = np.full((1, 5), -1, dtype=np.intc)
        bad[0, 0] = m
        bad[0, 1:1 + len(features)] = features
        with pytest.raises(ValueError, match="not a pattern of missing features"):
            statistics(holes, None, args, missing=True, patterns=bad)
