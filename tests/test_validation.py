"""Bad input gets a clear error; the caller's data is never modified."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from gmmfast import GaussianMixture

from helpers import COVARIANCE_TYPES, make_blobs_data


@pytest.fixture
def X():
    return make_blobs_data(n_samples=600, n_features=3)


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.array([[1.0, np.inf], [2.0, 3.0], [0.0, 1.0]]), "infinity"),
        (np.arange(10.0), "Expected 2D array"),
        (np.empty((0, 3)), "0 sample"),
        (np.array([[1.0, 2.0]]), "minimum of 2 is required"),
        (np.array([["a", "b"], ["c", "d"]]), "could not convert|dtype"),
    ],
)
def test_bad_data(bad, match):
    with pytest.raises(ValueError, match=match):
        GaussianMixture(1).fit(bad)


def test_complex_data_is_refused():
    with pytest.raises(ValueError, match="Complex"):
        GaussianMixture(1).fit(np.ones((5, 2), dtype=complex))


def test_fewer_samples_than_components(X):
    with pytest.raises(ValueError, match="Expected n_samples >= n_components"):
        GaussianMixture(10).fit(X[:5])


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_components": 0}, "n_components"),
        ({"covariance_type": "ful"}, "covariance_type"),
        ({"tol": -1.0}, "tol"),
        ({"reg_covar": -1.0}, "reg_covar"),
        ({"max_iter": -1}, "max_iter"),
        ({"n_init": 0}, "n_init"),
        ({"init_params": "kmeans+++"}, "init_params"),
        ({"verbose_interval": 0}, "verbose_interval"),
    ],
)
def test_invalid_parameters(X, params, match):
    with pytest.raises(ValueError, match=match):
        GaussianMixture(**{"n_components": 2, **params}).fit(X)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"weights_init": [0.5, 0.6]}, "should be normalized"),
        ({"weights_init": [1.5, -0.5]}, r"range \[0, 1\]"),
        ({"weights_init": [0.2, 0.3, 0.5]}, "should have the shape"),
        ({"means_init": np.zeros((2, 4))}, "should have the shape"),
        ({"precisions_init": np.ones((2, 3, 3))}, "symmetric, positive-definite"),
        ({"precisions_init": np.ones((2, 2, 2))}, "should have the shape"),
    ],
)
def test_invalid_initial_parameters(X, params, match):
    with pytest.raises(ValueError, match=match):
        GaussianMixture(2, **params).fit(X)


@pytest.mark.parametrize("covariance_type, precisions", [
    ("diag", -np.ones((2, 3))), ("spherical", np.array([1.0, 0.0])),
    ("tied", -np.eye(3)),
])
def test_non_positive_precisions(X, covariance_type, precisions):
    with pytest.raises(ValueError, match="precision' should be"):
        GaussianMixture(2, covariance_type=covariance_type, precisions_init=precisions).fit(X)


@pytest.mark.parametrize(
    "weights, match",
    [
        (-np.ones(600), "Negative values"),
        (np.ones(5), "shape"),
        (np.zeros(600), "positive|zero"),
        (np.r_[1.0, np.zeros(599)], "at least n_components"),
        (np.r_[np.nan, np.ones(599)], "NaN"),
    ],
)
def test_bad_sample_weight(X, weights, match):
    with pytest.raises(ValueError, match=match):
        GaussianMixture(2).fit(X, sample_weight=weights)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_collapsed_component_says_increase_reg_covar(covariance_type, dtype):
    # A repeated point gets a component of its own whose covariance is exactly zero.
    X = np.vstack([np.zeros((50, 2)), make_blobs_data(300, 2, random_state=3)]).astype(dtype)
    if covariance_type == "tied":
        X[:, 1] = 1.0  # a constant feature: the shared covariance is singular
    model = GaussianMixture(4, covariance_type=covariance_type, reg_covar=0.0, random_state=0)
    try:
        model.fit(X)
    except ValueError as exc:
        assert "increase reg_covar" in str(exc)
        assert ("float64" in str(exc)) == (dtype == np.float32)
    else:
        # In float32 the collapsed variance is the rounding of the data (~1e-14, not 0),
        # which the float64 M-step can still factor: a finite model, never a NaN one.
        assert dtype == np.float32
        assert np.all(np.isfinite(model.precisions_cholesky_))
        assert np.isfinite(model.lower_bound_)


def test_not_fitted(X):
    for method in ("predict", "predict_proba", "score_samples", "score", "bic", "aic"):
        with pytest.raises(NotFittedError):
            getattr(GaussianMixture(2), method)(X)
    with pytest.raises(NotFittedError):
        GaussianMixture(2).sample()


def test_wrong_number_of_features_after_fit(X):
    model = GaussianMixture(2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="3 features"):
        model.predict(X[:, :2])


@pytest.mark.parametrize("n", [0, -1, 2.5])
def test_bad_sample_size(X, n):
    model = GaussianMixture(2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="n_samples"):
        model.sample(n)


def test_inputs_are_not_modified(X):
    X_before = X.copy()
    w = np.linspace(0.5, 2.0, len(X))
    w_before = w.copy()
    weights_init = np.array([0.3, 0.7])
    means_init = X[:2].copy()
    precisions_init = np.stack([np.eye(3), 2 * np.eye(3)])
    model = GaussianMixture(2, weights_init=weights_init, means_init=means_init,
                            precisions_init=precisions_init, random_state=0)
    model.fit(X, sample_weight=w)
    model.predict(X)
    model.score_samples(X)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(w, w_before)
    np.testing.assert_array_equal(model.weights_init, [0.3, 0.7])
    assert model.means_init is means_init and model.precisions_init is precisions_init
    np.testing.assert_array_equal(means_init, X_before[:2])


def test_model_is_never_nan_with_extreme_scales():
    rng = np.random.RandomState(0)
    X = np.vstack([rng.standard_normal((300, 2)) * 1e-8, rng.standard_normal((300, 2)) * 1e8])
    model = GaussianMixture(2, random_state=0).fit(X)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        assert np.all(np.isfinite(getattr(model, name)))
