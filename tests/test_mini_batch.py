"""MiniBatchGaussianMixture: stepwise EM on mini-batches, fit and partial_fit."""

import pickle

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_limits

import gmmfast
from gmmfast import GaussianMixture, MiniBatchGaussianMixture

from helpers import (
    COVARIANCE_TYPES,
    DTYPES,
    expected_failed_checks,
    ignore_convergence,
    make_blobs_data,
    peak_traced_memory,
    write_npy,
)

# One step at rho = 1 against GaussianMixture's EM step, by dtype (measured: 0 or 1e-15).
STEP_RTOL = {np.float64: 1e-12, np.float32: 1e-5}
ATTRIBUTES = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_")


def start_of(X, covariance_type, n_components=3):
    """Initial parameters near a fit (two EM steps from k-means)."""
    with ignore_convergence():
        gm = GaussianMixture(
            n_components, covariance_type=covariance_type, max_iter=2, random_state=0
        ).fit(X)
    return dict(weights_init=gm.weights_, means_init=gm.means_,
                precisions_init=gm.precisions_)


def assert_same_model(a, b, rtol=0.0):
    for name in ATTRIBUTES:
        if rtol == 0.0:
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
        else:
            np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=rtol,
                                       err_msg=name)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("how", ["partial_fit", "fit"])
def test_one_step_at_rho_one_is_an_em_step(covariance_type, dtype, how):
    X = make_blobs_data(5000, 3).astype(dtype)
    init = start_of(X, covariance_type)
    with ignore_convergence():
        gm = GaussianMixture(3, covariance_type=covariance_type, max_iter=1, tol=0.0,
                             **init).fit(X)
    # learning_offset = 1: rho_0 = 1 ** -kappa = 1, the running statistics are the batch's.
    mb = MiniBatchGaussianMixture(3, covariance_type=covariance_type, learning_offset=1.0,
                                  batch_size=len(X), max_iter=1, tol=0.0, **init)
    with ignore_convergence():
        mb = mb.partial_fit(X) if how == "partial_fit" else mb.fit(X)
    assert_same_model(mb, gm, rtol=STEP_RTOL[dtype])
    assert mb.lower_bound_ == gm.lower_bound_
    assert mb.lower_bounds_ == gm.lower_bounds_
    assert mb.n_steps_ == 1 and mb.n_rows_seen_ == len(X)
    for name in ATTRIBUTES:
        assert getattr(mb, name).dtype == dtype


def separated_mixture(n_samples, n_features=4, n_components=4, seed=0):
    rng = np.random.RandomState(seed)
    centres = rng.normal(scale=8.0, size=(n_components, n_features))
    labels = rng.randint(n_components, size=n_samples)
    scales = rng.uniform(0.5, 1.5, size=(n_components, 1))
    return centres[labels] + scales[labels] * rng.standard_normal((n_samples, n_features))


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_stream_of_batches_reaches_the_full_batch_likelihood(covariance_type):
    X = separated_mixture(200_000)
    with ignore_convergence():
        gm = GaussianMixture(4, covariance_type=covariance_type, random_state=0).fit(X)
    mb = MiniBatchGaussianMixture(4, covariance_type=covariance_type, random_state=0)
    rng = np.random.RandomState(1)
    for _ in range(3):
        order = rng.permutation(len(X))
        for start in range(0, len(X), 2000):
            mb.partial_fit(X[order[start:start + 2000]])
    assert mb.n_steps_ == 300 and mb.n_rows_seen_ == 3 * len(X)
    assert abs(mb.score(X) - gm.score(X)) < 0.01 * abs(gm.score(X))


def test_fit_reaches_the_full_batch_likelihood():
    X = separated_mixture(50_000)
    with ignore_convergence():
        gm = GaussianMixture(4, random_state=0).fit(X)
        mb = MiniBatchGaussianMixture(4, batch_size=1000, max_iter=5, random_state=0).fit(X)
    assert 1 <= mb.n_iter_ <= 5 and mb.n_steps_ <= 50 * mb.n_iter_
    assert abs(mb.score(X) - gm.score(X)) < 0.01 * abs(gm.score(X))
    np.testing.assert_allclose(mb.lower_bound_, gm.score(X), rtol=0.02)


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_memmap_fit_reads_one_batch_at_a_time(tmp_path, covariance_type):
    X = write_npy(tmp_path / "X.npy", 200_000)  # 12.8 MB
    kwargs = dict(n_components=3, covariance_type=covariance_type, batch_size=2000,
                  max_iter=2, tol=0.0, random_state=0)

    def fit():
        with ignore_convergence():
            return MiniBatchGaussianMixture(**kwargs).fit(X)

    fit()  # first-call caches are not part of a fit's memory
    peak = peak_traced_memory(fit)
    # The permutation (8 bytes a row) and one batch; no copy of X.
    assert peak < X.nbytes / 5
    np.testing.assert_array_equal(fit().means_, MiniBatchGaussianMixture(**kwargs).fit(
        np.array(X)).means_)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_thread_counts_give_the_same_bits(covariance_type):
    X = make_blobs_data(40_003, 12, n_components=4)
    models = []
    for n_threads in (1, 2, 4):
        with threadpool_limits(n_threads, user_api="openmp"), ignore_convergence():
            models.append(MiniBatchGaussianMixture(
                4, covariance_type=covariance_type, batch_size=9000, max_iter=2,
                random_state=0).fit(X))
    for other in models[1:]:
        assert_same_model(other, models[0])
        assert other.lower_bound_ == models[0].lower_bound_


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_integer_weights_equal_repeated_rows_in_one_batch(covariance_type):
    # Within one batch, weight w on a row is w copies of it: the same sums up to rounding.
    X = make_blobs_data(3000, 3)
    weights = np.random.RandomState(0).randint(0, 4, size=len(X))
    init = start_of(X, covariance_type)
    kwargs = dict(covariance_type=covariance_type, **init)
    a = MiniBatchGaussianMixture(3, **kwargs).partial_fit(X, sample_weight=weights)
    b = MiniBatchGaussianMixture(3, **kwargs).partial_fit(np.repeat(X, weights, axis=0))
    a.partial_fit(X[:1000], sample_weight=weights[:1000])
    b.partial_fit(np.repeat(X[:1000], weights[:1000], axis=0))
    assert_same_model(a, b, rtol=1e-10)
    assert a.n_rows_seen_ == b.n_rows_seen_ == weights.sum() + weights[:1000].sum()


def fitted_state(model):
    state = {name: np.copy(getattr(model, name)) for name in ATTRIBUTES}
    state.update(n_steps_=model.n_steps_, n_rows_seen_=model.n_rows_seen_,
                 lower_bound_=model.lower_bound_, n_features_in_=model.n_features_in_,
                 lower_bounds_=list(model.lower_bounds_))
    return state


def test_errors_leave_the_state_unchanged():
    X = make_blobs_data(3000, 3)
    model = MiniBatchGaussianMixture(3, random_state=0).partial_fit(X[:1000])
    before = fitted_state(model)
    with pytest.raises(ValueError, match="X has 2 features, but MiniBatchGaussianMixture is "
                                         "expecting 3 features as input"):
        model.partial_fit(X[:100, :2])
    with pytest.raises(ValueError, match="0 sample"):
        model.partial_fit(X[:0])
    with pytest.raises(ValueError, match="at least one non-zero"):
        model.partial_fit(X[:10], sample_weight=np.zeros(10))
    after = fitted_state(model)
    for name, value in before.items():
        np.testing.assert_array_equal(after[name], value, err_msg=name)
    model.partial_fit(X[1000:2000])
    assert model.n_steps_ == 2 and len(model.lower_bounds_) == 2


def test_fit_errors_leave_the_state_unchanged():
    X = make_blobs_data(3000, 3)
    model = MiniBatchGaussianMixture(3, batch_size=500, max_iter=1, warm_start=True,
                                     random_state=0)
    with ignore_convergence():
        model.fit(X)
    before = fitted_state(model)
    # A warm fit continues on rows of the same features.
    with pytest.raises(ValueError, match="X has 2 features, but MiniBatchGaussianMixture is "
                                         "expecting 3 features as input"):
        model.fit(X[:, :2])

    def passes(random_state):
        # A stream whose third batch has other columns; and one with an empty batch.
        yield from (X[:500], X[500:1000], X[1000:1500, :2])

    with pytest.raises(ValueError, match="X has 2 features"):
        model._fit_stream(passes)
    with pytest.raises(ValueError, match="0 sample"):
        model._fit_stream(lambda random_state: iter([X[:500], X[:0]]))
    after = fitted_state(model)
    for name, value in before.items():
        np.testing.assert_array_equal(after[name], value, err_msg=name)
    # A fit that fails leaves an unfitted estimator unfitted.
    fresh = MiniBatchGaussianMixture(3, batch_size=500)
    with pytest.raises(ValueError, match="X has 2 features"):
        fresh._fit_stream(passes)
    assert not hasattr(fresh, "n_features_in_") and not hasattr(fresh, "n_steps_")
    with ignore_convergence():
        model.fit(X)
    assert model.n_steps_ == before["n_steps_"] + 6


def test_first_batch_smaller_than_n_components_is_an_error():
    X = make_blobs_data(300, 3)
    model = MiniBatchGaussianMixture(5)
    with pytest.raises(ValueError, match="n_samples >= n_components"):
        model.partial_fit(X[:4])
    assert not hasattr(model, "n_steps_")
    model.partial_fit(X[:50])
    assert model.n_steps_ == 1
    with pytest.raises(ValueError, match="batch_size = 3 is smaller than n_components = 5"):
        MiniBatchGaussianMixture(5, batch_size=3).fit(X)
    with pytest.raises(ValueError, match="n_samples >= n_components"):
        MiniBatchGaussianMixture(5)._fit_stream(lambda random_state: iter([X[:4], X[4:]]))


def test_pickle_round_trip_continues_the_same_way():
    X = make_blobs_data(3000, 3)
    model = MiniBatchGaussianMixture(3, covariance_type="tied", random_state=0)
    model.partial_fit(X[:1000])
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict_proba(X), model.predict_proba(X))
    model.partial_fit(X[1000:])
    again.partial_fit(X[1000:])
    assert_same_model(again, model)


def test_attributes_and_methods():
    X = make_blobs_data(3000, 3)
    with ignore_convergence():
        model = MiniBatchGaussianMixture(3, batch_size=500, max_iter=3,
                                         random_state=0).fit(X)
    assert model.n_iter_ <= 3 and model.n_steps_ >= 1
    assert len(model.lower_bounds_) == model.n_steps_
    assert model.lower_bounds_[-1] == model.lower_bound_
    assert model.n_rows_seen_ == pytest.approx(500 * model.n_steps_)
    assert np.isfinite(model.bic(X)) and np.isfinite(model.aic(X))
    assert model.predict(X).shape == (3000,)
    assert model.sample(10)[0].shape == (10, 3)
    assert "MiniBatchGaussianMixture" in gmmfast.__all__
    with ignore_convergence():
        labels = MiniBatchGaussianMixture(3, batch_size=500, max_iter=3,
                                          random_state=0).fit_predict(X)
    np.testing.assert_array_equal(labels, model.predict(X))


def test_early_stopping_on_the_smoothed_lower_bound():
    X = separated_mixture(20_000)
    model = MiniBatchGaussianMixture(4, batch_size=500, max_iter=50, tol=1e-2,
                                     max_no_improvement=5, random_state=0).fit(X)
    assert model.converged_ and model.n_iter_ < 50


@pytest.mark.parametrize("bad", [dict(learning_offset=0.5), dict(learning_decay=0.5),
                                 dict(learning_decay=1.5), dict(batch_size=0)])
def test_schedule_parameters_are_checked(bad):
    with pytest.raises(ValueError):
        MiniBatchGaussianMixture(**bad).fit(make_blobs_data(300, 3))


@parametrize_with_checks(
    [
        MiniBatchGaussianMixture(),
        MiniBatchGaussianMixture(n_components=3, random_state=0),
        MiniBatchGaussianMixture(n_components=2, covariance_type="diag",
                                 init_params="k-means++"),
    ],
    expected_failed_checks=expected_failed_checks,
)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


###############################################################################
# Against stepwise EM in plain NumPy (raw moments, float64)


def reference_steps(batches, weights, means, covariances, covariance_type, reg_covar,
                    offset, decay):
    """Stepwise EM over ``batches`` from the given parameters: running raw moments
    u0 = E[r], u1 = E[r x], u2 = E[r x x^T] per component (per unit weight), started from
    the moments of the initial parameters, blended with rho_t = (t + offset) ** -decay."""
    from scipy.special import logsumexp

    n_components, n_features = means.shape
    eye = np.eye(n_features)

    def full_covariances(covariances):
        return {"full": lambda: covariances,
                "tied": lambda: np.broadcast_to(covariances, (n_components,) + eye.shape),
                "diag": lambda: np.stack([np.diag(c) for c in covariances]),
                "spherical": lambda: covariances[:, None, None] * eye}[covariance_type]()

    def as_full(c):
        # The running second moments of diag and spherical only use their diagonals.
        return c if covariance_type in ("full", "tied") else c * eye

    cov = full_covariances(covariances)
    u0 = weights.copy()
    u1 = weights[:, None] * means
    u2 = weights[:, None, None] * (as_full(cov - reg_covar * eye)
                                   + means[:, :, None] * means[:, None, :])
    smoothed, lower_bounds = None, []
    for t, X in enumerate(batches):
        log_prob = np.empty((len(X), n_components))
        for k in range(n_components):
            diff = X - means[k]
            maha = np.einsum("ij,ij->i", diff @ np.linalg.inv(cov[k]), diff)
            log_prob[:, k] = np.log(weights[k]) - 0.5 * (
                n_features * np.log(2 * np.pi) + np.linalg.slogdet(cov[k])[1] + maha)
        log_norm = logsumexp(log_prob, axis=1)
        r = np.exp(log_prob - log_norm[:, None])
        rho = (t + offset) ** -decay
        u0 = (1 - rho) * u0 + rho * r.sum(axis=0) / len(X)
        u1 = (1 - rho) * u1 + rho * r.T @ X / len(X)
        u2 = (1 - rho) * u2 + rho * np.einsum("ik,id,ie->kde", r, X, X) / len(X)
        batch_bound = log_norm.mean()
        smoothed = batch_bound if smoothed is None else (1 - rho) * smoothed + rho * batch_bound
        lower_bounds.append(smoothed)
        weights = u0 / u0.sum()
        means = u1 / u0[:, None]
        scatter = u2 - u0[:, None, None] * means[:, :, None] * means[:, None, :]
        if covariance_type == "full":
            covariances = scatter / u0[:, None, None] + reg_covar * eye
        elif covariance_type == "tied":
            covariances = scatter.sum(axis=0) / u0.sum() + reg_covar * eye
        elif covariance_type == "diag":
            covariances = np.diagonal(scatter, axis1=1, axis2=2) / u0[:, None] + reg_covar
        else:
            covariances = (np.diagonal(scatter, axis1=1, axis2=2) / u0[:, None]).mean(
                axis=1) + reg_covar
        cov = full_covariances(covariances)
    return weights, means, covariances, lower_bounds


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_steps_equal_stepwise_em_in_numpy(covariance_type):
    X = make_blobs_data(6000, 3)
    init = start_of(X, covariance_type)
    model = MiniBatchGaussianMixture(3, covariance_type=covariance_type, **init)
    batches = [X[:1500], X[1500:2000], X[2000:4500], X[4500:]]
    for batch in batches:
        model.partial_fit(batch)
    covariances = np.asarray(init["precisions_init"], dtype=np.float64)
    covariances = np.linalg.inv(covariances) if covariance_type in ("full", "tied") \
        else 1.0 / covariances
    weights, means, covariances, lower_bounds = reference_steps(
        batches, np.asarray(init["weights_init"]), np.asarray(init["means_init"]),
        covariances, covariance_type, model.reg_covar, model.learning_offset,
        model.learning_decay)
    np.testing.assert_allclose(model.weights_, weights, rtol=1e-10)
    np.testing.assert_allclose(model.means_, means, rtol=1e-10)
    np.testing.assert_allclose(model.covariances_, covariances, rtol=1e-10)
    # One smoothed bound per step, the last of them lower_bound_.
    np.testing.assert_allclose(model.lower_bounds_, lower_bounds, rtol=1e-12)
    assert model.lower_bound_ == model.lower_bounds_[-1]


def test_warm_start_continues_the_running_statistics():
    X = make_blobs_data(4000, 3)
    kwargs = dict(batch_size=1000, max_iter=1, tol=0.0, random_state=0)
    with ignore_convergence():
        model = MiniBatchGaussianMixture(3, warm_start=True, **kwargs).fit(X)
        model.fit(X)
    assert model.n_steps_ == 8 and model.n_rows_seen_ == 2 * len(X)
    # The bounds of the last fit's steps, as GaussianMixture's warm fit keeps its own.
    assert len(model.lower_bounds_) == 4 and model.lower_bounds_[-1] == model.lower_bound_
    with ignore_convergence():
        cold = MiniBatchGaussianMixture(3, **kwargs).fit(X)
        cold.fit(X)
    assert cold.n_steps_ == 4
