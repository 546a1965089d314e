"""BayesianGaussianMixture against scikit-learn from the same start, and its own semantics."""

import pickle
import re

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.mixture import BayesianGaussianMixture as SkBayesianGaussianMixture
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_limits

import gmmfast
from gmmfast import BayesianGaussianMixture, _bayesian_mixture, _kmeans

from helpers import (
    COVARIANCE_TYPES,
    DTYPES,
    RTOL,
    expected_failed_checks,
    ignore_convergence,
    make_blobs_data,
    peak_traced_memory,
    write_npy,
)

N_COMPONENTS = 4
PRIOR_TYPES = ["dirichlet_process", "dirichlet_distribution"]
# Responsibilities are exponentials of differences of log-densities: float32 rounding of
# log-densities of size ~10 moves them by more than the parameters' relative 1e-4.
PROBA_ATOL = {np.float64: 1e-7, np.float32: 1e-3}
FITTED = (
    "weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_",
    "mean_precision_", "degrees_of_freedom_", "mean_prior_", "covariance_prior_",
)


@pytest.fixture(scope="module")
def data():
    """More rows than one block of the compiled pass; three clusters."""
    return make_blobs_data(n_samples=3000, n_features=3, n_components=3, random_state=0)


def concentration(model):
    """weight_concentration_ as one array (both Beta parameters for the process)."""
    value = model.weight_concentration_
    return np.concatenate(value) if isinstance(value, tuple) else value


def assert_close(got, expected, rtol):
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol * np.abs(expected).max())


def assert_same_as_scikit_learn(ours, ref, X, rtol):
    """The same fit: the bound at every iteration, the posterior and the predictions."""
    assert ours.n_iter_ == ref.n_iter_
    # scikit-learn's tied bound comes as an array of one number per iteration.
    assert_close(ours.lower_bounds_, np.ravel(ref.lower_bounds_), rtol)
    assert_close(concentration(ours), concentration(ref), rtol)
    for name in FITTED:
        assert_close(getattr(ours, name), getattr(ref, name), rtol)
    for name in ("weight_concentration_prior_", "mean_precision_prior_",
                 "degrees_of_freedom_prior_"):
        assert getattr(ours, name) == pytest.approx(getattr(ref, name), rel=rtol)
    dtype = X.dtype.type
    labels, expected_labels = ours.predict(X), ref.predict(X)
    assert np.mean(labels != expected_labels) <= (0 if dtype == np.float64 else 1e-3)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), rtol=0,
                               atol=PROBA_ATOL[dtype])
    assert_close(ours.score_samples(X), ref.score_samples(X), rtol)
    assert ours.score(X) == pytest.approx(ref.score(X), rel=rtol)


def fit_both(X, sample_weight=None, **kwargs):
    with ignore_convergence():
        ours = BayesianGaussianMixture(**kwargs).fit(X, sample_weight=sample_weight)
        ref = SkBayesianGaussianMixture(**kwargs).fit(X)
    return ours, ref


# -- the same model as scikit-learn ----------------------------------------------------------


@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_same_model_as_scikit_learn(data, covariance_type, dtype, prior_type):
    X = data.astype(dtype)
    # scikit-learn's tied start from seed rows adds the raw second moment of every row
    # (see the Notes of the class): start tied fits from k-means labels.
    init_params = "kmeans" if covariance_type == "tied" else "random_from_data"
    ours, ref = fit_both(
        X, n_components=N_COMPONENTS, covariance_type=covariance_type,
        weight_concentration_prior_type=prior_type, init_params=init_params,
        max_iter=20, tol=0.0, random_state=0,
    )
    assert ours.n_iter_ == 20
    for name in FITTED:
        assert getattr(ours, name).dtype == dtype
    assert_same_as_scikit_learn(ours, ref, X, RTOL[dtype])


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++"])
@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_other_starts_same_as_scikit_learn(data, covariance_type, init_params):
    ours, ref = fit_both(
        data, n_components=N_COMPONENTS, covariance_type=covariance_type,
        init_params=init_params, max_iter=15, tol=0.0, random_state=3,
    )
    assert_same_as_scikit_learn(ours, ref, data, RTOL[np.float64])


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_given_priors_same_as_scikit_learn(data, covariance_type):
    n_features = data.shape[1]
    covariance_prior = {
        "full": np.diag([1.0, 2.0, 0.5]) + 0.1,
        "tied": np.diag([1.0, 2.0, 0.5]) + 0.1,
        "diag": np.array([1.0, 2.0, 0.5]),
        "spherical": 1.5,
    }[covariance_type]
    init_params = "kmeans" if covariance_type == "tied" else "random_from_data"
    ours, ref = fit_both(
        data, n_components=N_COMPONENTS, covariance_type=covariance_type,
        init_params=init_params, max_iter=15, tol=0.0, random_state=1,
        weight_concentration_prior=0.3, mean_precision_prior=0.05,
        mean_prior=np.array([1.0, -2.0, 0.5]), degrees_of_freedom_prior=n_features + 1.5,
        covariance_prior=covariance_prior,
    )
    np.testing.assert_array_equal(ours.mean_prior_, [1.0, -2.0, 0.5])
    assert ours.weight_concentration_prior_ == 0.3
    assert_same_as_scikit_learn(ours, ref, data, RTOL[np.float64])


@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_default_fit_reaches_scikit_learn_lower_bound(data, covariance_type, prior_type):
    ours, ref = fit_both(data, n_components=N_COMPONENTS, covariance_type=covariance_type,
                         weight_concentration_prior_type=prior_type, random_state=0)
    assert ours.converged_ and ref.converged_
    assert ours.lower_bound_ >= ref.lower_bound_ - 1e-6 * abs(ref.lower_bound_)


@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
def test_prior_switches_off_unneeded_components(data, prior_type):
    kwargs = dict(n_components=10, weight_concentration_prior=1e-3, max_iter=500,
                  weight_concentration_prior_type=prior_type, random_state=0)
    ours, ref = fit_both(data, **kwargs)
    for model in (ours, ref):
        weights = np.sort(model.weights_)[::-1]
        assert np.all(weights[:3] > 0.2)
        assert np.all(weights[3:] < 1e-2)
    np.testing.assert_allclose(np.sort(ours.weights_), np.sort(ref.weights_), atol=1e-3)


def test_lower_bound_is_scikit_learn_bound_of_fitted_posterior(data):
    # One more iteration from a fitted model (warm start) gives its next bound.
    kwargs = dict(n_components=3, max_iter=5, tol=0.0, random_state=0)
    with ignore_convergence():
        ours = BayesianGaussianMixture(**kwargs, warm_start=True).fit(data)
        ours.set_params(max_iter=1).fit(data)
        ref = SkBayesianGaussianMixture(**{**kwargs, "max_iter": 6}).fit(data)
    assert ours.lower_bound_ == pytest.approx(float(np.ravel(ref.lower_bounds_)[-1]),
                                              rel=1e-10)
    assert_close(ours.means_, ref.means_, 1e-10)


# -- the estimator's own semantics -----------------------------------------------------------


def test_drop_in_constructor_matches_scikit_learn():
    assert BayesianGaussianMixture().get_params() == SkBayesianGaussianMixture().get_params()
    assert "BayesianGaussianMixture" in gmmfast.__all__


def test_no_information_criteria(data):
    model = BayesianGaussianMixture(n_components=2, random_state=0).fit(data)
    assert not hasattr(model, "bic") and not hasattr(model, "aic")
    assert not hasattr(BayesianGaussianMixture, "bic")
    assert hasattr(gmmfast.GaussianMixture, "bic")


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_integer_sample_weight_equals_repeated_rows(covariance_type):
    X = make_blobs_data(n_samples=1500, n_features=2, random_state=3)
    counts = np.random.RandomState(0).randint(0, 4, size=len(X))
    repeated_rows = np.repeat(X, counts, axis=0)
    kwargs = dict(n_components=3, covariance_type=covariance_type, max_iter=10, tol=0.0,
                  random_state=0)
    with ignore_convergence():
        weighted = BayesianGaussianMixture(**kwargs).fit(X, sample_weight=counts)
        repeated = BayesianGaussianMixture(**kwargs).fit(repeated_rows)
    np.testing.assert_allclose(weighted.lower_bounds_, repeated.lower_bounds_, rtol=1e-10)
    assert_close(concentration(weighted), concentration(repeated), 1e-9)
    for name in FITTED:
        assert_close(getattr(weighted, name), getattr(repeated, name), 1e-9)
    np.testing.assert_allclose(weighted.score(X, sample_weight=counts),
                               repeated.score(repeated_rows), rtol=1e-10)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_fitted_model_is_thread_count_independent(covariance_type, dtype):
    X = make_blobs_data(n_samples=40_000, n_features=5, n_components=4,
                        random_state=11).astype(dtype)
    models = []
    for n_threads in (1, 2, 3):
        with threadpool_limits(limits=n_threads, user_api="openmp"), ignore_convergence():
            models.append(BayesianGaussianMixture(
                n_components=5, covariance_type=covariance_type, random_state=0,
                max_iter=15,
            ).fit(X))
    first = models[0]
    for other in models[1:]:
        assert other.n_iter_ == first.n_iter_
        assert other.lower_bounds_ == first.lower_bounds_
        assert np.array_equal(concentration(other), concentration(first))
        for name in FITTED:
            assert np.array_equal(getattr(other, name), getattr(first, name))
        assert np.array_equal(other.score_samples(X), first.score_samples(X))


def test_fit_predict_equals_fit_then_predict(data):
    kwargs = dict(n_components=N_COMPONENTS, max_iter=3, random_state=0)
    with ignore_convergence():
        labels = BayesianGaussianMixture(**kwargs).fit_predict(data)
        model = BayesianGaussianMixture(**kwargs).fit(data)
    np.testing.assert_array_equal(labels, model.predict(data))


def test_warm_start_continues_from_the_fit(data):
    kwargs = dict(n_components=3, tol=0.0, random_state=0)
    with ignore_convergence():
        once = BayesianGaussianMixture(max_iter=8, **kwargs).fit(data)
        twice = BayesianGaussianMixture(max_iter=4, warm_start=True, **kwargs).fit(data)
        twice.fit(data)
    np.testing.assert_allclose(twice.lower_bounds_, once.lower_bounds_[4:], rtol=1e-12)
    np.testing.assert_allclose(twice.means_, once.means_, rtol=1e-12)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_sample_matches_scikit_learn(data, covariance_type):
    ours, ref = fit_both(data, n_components=3, covariance_type=covariance_type,
                         random_state=3)
    Xo, yo = ours.sample(500)
    Xr, yr = ref.sample(500)
    np.testing.assert_array_equal(yo, yr)
    np.testing.assert_allclose(Xo, Xr, rtol=1e-6, atol=1e-6)


def test_max_iter_zero_keeps_the_start(data):
    model = BayesianGaussianMixture(n_components=3, max_iter=0, random_state=0).fit(data)
    assert model.n_iter_ == 0 and model.lower_bounds_ == []
    assert model.means_.shape == (3, 3)


# -- bad parameters: scikit-learn's errors, before any pass over the data --------------------


@pytest.mark.parametrize(
    "params",
    [
        dict(degrees_of_freedom_prior=1.5),
        dict(mean_prior=[0.0, 1.0]),
        dict(covariance_prior=np.eye(2)),
        dict(covariance_prior=-np.eye(3)),
        dict(covariance_prior=[[1.0, 2.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]),
        dict(covariance_type="tied", covariance_prior=np.zeros((3, 3))),
        dict(covariance_type="diag", covariance_prior=[1.0, 2.0]),
        dict(covariance_type="diag", covariance_prior=[1.0, -2.0, 1.0]),
    ],
)
def test_bad_priors_give_scikit_learn_errors(data, params, monkeypatch):
    def no_pass(*args, **kwargs):
        raise AssertionError("a pass over the data ran before the checks")

    with pytest.raises(ValueError) as expected:
        SkBayesianGaussianMixture(n_components=2, **params).fit(data)
    monkeypatch.setattr(_bayesian_mixture, "kmeans_statistics", no_pass)
    with pytest.raises(ValueError) as got:
        BayesianGaussianMixture(n_components=2, **params).fit(data)
    assert str(got.value) == str(expected.value)


@pytest.mark.parametrize(
    "params",
    [
        dict(weight_concentration_prior=0.0),
        dict(weight_concentration_prior_type="dirichlet"),
        dict(mean_precision_prior=-1.0),
        dict(degrees_of_freedom_prior=0.0),
        dict(covariance_prior=-1.0),
        dict(covariance_type="banded"),
        dict(n_components=0),
    ],
)
def test_invalid_parameters_give_scikit_learn_errors(data, params):
    def words(error):
        # The options are listed from a set: in an order that changes with string hashing.
        return re.sub(r"\{[^}]*\}", lambda m: str(sorted(m.group()[1:-1].split(", "))), str(error))

    with pytest.raises(InvalidParameterError) as expected:
        SkBayesianGaussianMixture(**params).fit(data)
    with pytest.raises(InvalidParameterError) as got:
        BayesianGaussianMixture(**params).fit(data)
    assert words(got.value) == words(expected.value)


def test_fewer_samples_than_components(data):
    with pytest.raises(ValueError, match="Expected n_samples >= n_components"):
        BayesianGaussianMixture(n_components=5).fit(data[:4])


# -- a scikit-learn estimator -----------------------------------------------------------------


@parametrize_with_checks(
    [
        BayesianGaussianMixture(),
        BayesianGaussianMixture(n_components=3, random_state=0),
        BayesianGaussianMixture(n_components=2, covariance_type="diag",
                                init_params="k-means++",
                                weight_concentration_prior_type="dirichlet_distribution"),
        BayesianGaussianMixture(n_components=2, covariance_type="tied", init_params="random"),
    ],
    expected_failed_checks=expected_failed_checks,
)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def test_clone_and_pickle_round_trip(data):
    model = BayesianGaussianMixture(n_components=3, covariance_type="tied",
                                    random_state=0).fit(data)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict_proba(data), model.predict_proba(data))
    np.testing.assert_array_equal(again.score_samples(data), model.score_samples(data))
    fresh = clone(model)
    assert not hasattr(fresh, "means_")
    assert fresh.get_params() == model.get_params()


def test_pipeline_and_grid_search(data):
    pipe = make_pipeline(StandardScaler(), BayesianGaussianMixture(random_state=0))
    search = GridSearchCV(
        pipe,
        {"bayesiangaussianmixture__n_components": [1, 3],
         "bayesiangaussianmixture__covariance_type": ["full", "spherical"]},
        cv=3,
    ).fit(data)
    assert search.best_params_["bayesiangaussianmixture__n_components"] == 3
    assert search.predict(data).shape == (len(data),)


# -- memory-mapped data (a memory map fits as the array in memory: tests/test_memmap.py) -------


def fit(X, **kwargs):
    with ignore_convergence():
        return BayesianGaussianMixture(n_components=3, random_state=0, **kwargs).fit(X)


@pytest.mark.parametrize("covariance_type", ["full", "spherical"])
def test_fit_memory_does_not_grow_with_rows(tmp_path, monkeypatch, covariance_type):
    small = write_npy(tmp_path / "small.npy", 20_000)
    large = write_npy(tmp_path / "large.npy", 200_000)  # 12.8 MB
    # k-means over every row keeps one float64 per row (the seeding's distance to the
    # nearest seed); it may keep each trial's too (SEEDING_BYTES), turned off here.
    monkeypatch.setattr(_kmeans, "SEEDING_BYTES", 0)
    kwargs = dict(covariance_type=covariance_type, max_iter=3, tol=0.0)

    fit(small, **kwargs)  # first-call caches are not part of a fit's memory
    peak_small = peak_traced_memory(fit, small, **kwargs)
    peak_large = peak_traced_memory(fit, large, **kwargs)
    per_row = 8 * (len(large) - len(small))
    assert peak_large < large.nbytes / 50 + per_row
    assert peak_large <= peak_small + per_row + 64 * 1024


# -- Dask arrays -------------------------------------------------------------------------------

# Uneven row chunks, so that no chunk boundary falls on a block of the compiled pass.
DASK_CHUNKS = ((1000, 700, 900, 400), (3,))
# The sums of a chunked fit differ from the in-memory ones by rounding only.
DASK_RTOL = {np.float64: 1e-9, np.float32: 1e-5}


def assert_same_fit(ours, ref, rtol):
    assert ours.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(ours.lower_bounds_, ref.lower_bounds_, rtol=rtol)
    assert_close(concentration(ours), concentration(ref), rtol)
    for name in FITTED:
        assert getattr(ours, name).dtype == getattr(ref, name).dtype
        assert_close(getattr(ours, name), getattr(ref, name), rtol)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_fit_on_cluster_equals_in_memory_fit(client, data, covariance_type, dtype):
    da = pytest.importorskip("dask.array")
    X = data.astype(dtype)
    # Fewer rows than the initial sample: the start is the in-memory one.
    kwargs = dict(covariance_type=covariance_type, max_iter=12, tol=0.0,
                  init_params="k-means++")
    ours = fit(da.from_array(X, chunks=DASK_CHUNKS), **kwargs)
    assert_same_fit(ours, fit(X, **kwargs), DASK_RTOL[dtype])


def test_weighted_fit_on_cluster_equals_in_memory_fit(client, data):
    da = pytest.importorskip("dask.array")
    w = np.random.RandomState(0).uniform(0.0, 3.0, size=len(data))
    w[::7] = 0.0
    kwargs = dict(max_iter=12, tol=0.0, weight_concentration_prior_type="dirichlet_distribution")
    with ignore_convergence():
        ref = BayesianGaussianMixture(n_components=3, random_state=0, **kwargs).fit(
            data, sample_weight=w)
    X = da.from_array(data, chunks=DASK_CHUNKS)
    for weights in (da.from_array(w, chunks=500), w):
        with ignore_convergence():
            ours = BayesianGaussianMixture(n_components=3, random_state=0, **kwargs).fit(
                X, sample_weight=weights)
        assert_same_fit(ours, ref, DASK_RTOL[np.float64])


def test_dask_predictions_are_lazy_and_equal_in_memory(client, data):
    da = pytest.importorskip("dask.array")
    X = da.from_array(data, chunks=DASK_CHUNKS)
    model = BayesianGaussianMixture(n_components=3, random_state=0)
    labels = model.fit_predict(X)
    assert isinstance(labels, da.Array)
    np.testing.assert_array_equal(labels.compute(), model.predict(data))
    np.testing.assert_allclose(model.predict_proba(X).compute(), model.predict_proba(data),
                               rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(model.score_samples(X).compute(), model.score_samples(data),
                               rtol=1e-12)
    assert model.score(X) == pytest.approx(model.score(data), rel=1e-12)
