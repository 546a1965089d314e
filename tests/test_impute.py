"""GaussianMixtureImputer and GaussianMixture.condition."""

import numpy as np
import pytest
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import check_estimator

from gmmfast import GaussianMixture, GaussianMixtureImputer

from helpers import COVARIANCE_TYPES, DTYPES, make_blobs_data


@pytest.fixture(scope="module")
def data():
    X = make_blobs_data(n_samples=3000, n_features=4, n_components=3, random_state=5)
    rng = np.random.default_rng(0)
    holes = X.copy()
    holes[rng.random(X.shape) < 0.2] = np.nan
    holes[2] = np.nan
    return X, holes


def _conditional_mean_by_hand(model, row):
    """sum_k r_k E[x_M | x_O, k] for one row, through condition()."""
    miss = np.isnan(row)
    obs = np.flatnonzero(~miss)
    if len(obs) == 0:
        return model.weights_ @ model.means_[:, miss]
    given = model.condition(row[obs], obs)
    return given.weights_ @ given.means_


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_transform_fills_conditional_means(data, dtype, covariance_type):
    _, holes = data
    holes = holes.astype(dtype)
    imputer = GaussianMixtureImputer(
        GaussianMixture(3, covariance_type=covariance_type, random_state=0)).fit(holes)
    filled = imputer.transform(holes)
    assert filled.dtype == dtype
    observed = ~np.isnan(holes)
    assert np.array_equal(filled[observed], holes[observed])
    assert not np.isnan(filled).any()
    rtol = 1e-9 if dtype == np.float64 else 1e-4
    model = imputer.estimator_
    for i in np.flatnonzero(np.isnan(holes).any(axis=1))[:40]:
        expected = _conditional_mean_by_hand(model, holes[i].astype(np.float64))
        np.testing.assert_allclose(filled[i][np.isnan(holes[i])], expected, rtol=rtol,
                                   atol=rtol)


def test_transform_leaves_complete_rows_and_the_input(data):
    X, holes = data
    copy = holes.copy()
    imputer = GaussianMixtureImputer(GaussianMixture(3, random_state=0)).fit(holes)
    imputer.transform(holes)
    np.testing.assert_array_equal(holes, copy)
    assert np.array_equal(imputer.transform(X), X)


def test_imputation_beats_simple_imputer_on_mixture_data(data):
    X, holes = data
    mask = np.isnan(holes)
    error = {}
    for name, imputer in (
        ("mixture", GaussianMixtureImputer(GaussianMixture(3, random_state=0))),
        ("mean", SimpleImputer()),
    ):
        filled = imputer.fit_transform(holes)
        error[name] = np.sqrt(np.mean((filled[mask] - X[mask]) ** 2))
    assert error["mixture"] < 0.6 * error["mean"]


def test_sample_posterior_draws_around_the_conditional_mean(data):
    _, holes = data
    imputer = GaussianMixtureImputer(GaussianMixture(3, random_state=0), random_state=0)
    imputer.fit(holes)
    mean = imputer.transform(holes)
    imputer.set_params(sample_posterior=True)
    draws = np.stack([imputer.set_params(random_state=s).transform(holes) for s in range(40)])
    mask = np.isnan(holes)
    observed = ~mask
    assert np.all(draws[:, observed] == holes[observed])
    # The draws differ, and their average approaches the conditional mean.
    assert np.std(draws[:, mask], axis=0).min() > 0
    spread = np.std(draws[:, mask], axis=0)
    average = draws[:, mask].mean(axis=0)
    assert np.mean(np.abs(average - mean[mask]) < 4 * spread / np.sqrt(40)) > 0.95
    again = imputer.set_params(random_state=3).transform(holes)
    assert np.array_equal(again, draws[3])


def test_pipeline_and_feature_names(data):
    pandas = pytest.importorskip("pandas")
    X, holes = data
    frame = pandas.DataFrame(holes, columns=["a", "b", "c", "d"])
    imputer = GaussianMixtureImputer(GaussianMixture(2, random_state=0)).fit(frame)
    assert list(imputer.get_feature_names_out()) == ["a", "b", "c", "d"]
    pipe = make_pipeline(GaussianMixtureImputer(GaussianMixture(2, random_state=0)),
                         LinearRegression())
    pipe.fit(holes[:, :3], X[:, 3])
    assert pipe.score(holes[:, :3], X[:, 3]) > 0.0


def test_check_estimator():
    check_estimator(GaussianMixtureImputer(GaussianMixture(2, random_state=0)))


def test_condition_of_one_gaussian_is_the_textbook_formula():
    rng = np.random.default_rng(1)
    A = rng.normal(size=(3, 3))
    cov = A @ A.T + np.eye(3)
    mu = np.array([1.0, -2.0, 0.5])
    gm = GaussianMixture(1)
    gm.fit(rng.multivariate_normal(mu, cov, 200))
    gm.means_ = mu[None]
    gm.covariances_ = cov[None]
    given = gm.condition([0.3], features=[1])
    a, b = [1], [0, 2]
    expected_mean = mu[b] + cov[np.ix_(b, a)] @ np.linalg.solve(cov[np.ix_(a, a)],
                                                                [0.3 - mu[1]])
    expected_cov = cov[np.ix_(b, b)] - cov[np.ix_(b, a)] @ np.linalg.solve(
        cov[np.ix_(a, a)], cov[np.ix_(a, b)])
    np.testing.assert_allclose(given.means_[0], expected_mean, rtol=1e-12)
    np.testing.assert_allclose(given.covariances_[0], expected_cov, rtol=1e-12)
    assert given.weights_.tolist() == [1.0]
    assert given.sample(5)[0].shape == (5, 2)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_condition_weights_are_the_marginal_responsibilities(data, covariance_type):
    X, _ = data
    gm = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    row = np.array([X[0, 0], np.nan, X[0, 2], np.nan])
    given = gm.condition(row[[0, 2]], features=[0, 2])
    np.testing.assert_allclose(given.weights_, gm.predict_proba(row[None])[0], rtol=1e-9)
    assert given.covariance_type == covariance_type
    assert given.means_.shape == (3, 2)


def test_condition_errors(data):
    X, _ = data
    gm = GaussianMixture(2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="one entry per given feature"):
        gm.condition([1.0, 2.0], features=[0])
    with pytest.raises(ValueError, match="distinct indices"):
        gm.condition([1.0, 2.0], features=[0, 0])
    with pytest.raises(ValueError, match="distinct indices"):
        gm.condition([1.0], features=[7])
    with pytest.raises(ValueError, match="at least one feature"):
        gm.condition([1.0] * 4, features=[0, 1, 2, 3])
    with pytest.raises(TypeError, match="integers"):
        gm.condition([1.0], features=[0.5])
    with pytest.raises(ValueError, match="finite"):
        gm.condition([np.nan], features=[0])
