"""A real scikit-learn estimator: checks, clone, pickle, pipelines, search, input kinds."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from gmmfast import GaussianMixture

from helpers import expected_failed_checks, make_blobs_data


@parametrize_with_checks(
    [
        GaussianMixture(),
        GaussianMixture(n_components=3, random_state=0),
        GaussianMixture(n_components=2, covariance_type="diag", init_params="k-means++"),
        GaussianMixture(n_components=2, covariance_type="tied", init_params="random"),
    ],
    expected_failed_checks=expected_failed_checks,
)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def test_drop_in_constructor_matches_scikit_learn():
    from sklearn.mixture import GaussianMixture as SkGaussianMixture

    assert GaussianMixture().get_params() == SkGaussianMixture().get_params()


def test_clone_and_pickle_round_trip():
    X = make_blobs_data(1200, 3)
    model = GaussianMixture(3, covariance_type="tied", random_state=0).fit(X)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict_proba(X), model.predict_proba(X))
    fresh = clone(model)
    assert not hasattr(fresh, "means_")
    assert fresh.get_params() == model.get_params()


def test_pipeline_and_grid_search():
    X = make_blobs_data(1200, 3)
    pipe = make_pipeline(StandardScaler(), GaussianMixture(random_state=0))
    search = GridSearchCV(
        pipe,
        {"gaussianmixture__n_components": [1, 3],
         "gaussianmixture__covariance_type": ["full", "spherical"]},
        cv=3,
    ).fit(X)
    assert search.best_params_["gaussianmixture__n_components"] == 3
    assert search.predict(X).shape == (len(X),)


@pytest.mark.parametrize("kind", ["list", "fortran", "strided", "readonly", "memmap", "pandas",
                                  "int"])
def test_input_kinds_give_the_same_model(kind, tmp_path):
    X = make_blobs_data(900, 3)
    ref = GaussianMixture(3, random_state=0).fit(X)
    if kind == "list":
        data = X.tolist()
    elif kind == "fortran":
        data = np.asfortranarray(X)
    elif kind == "strided":
        wide = np.zeros((len(X), 6))
        wide[:, ::2] = X
        data = wide[:, ::2]
    elif kind == "readonly":
        data = X.copy()
        data.setflags(write=False)
    elif kind == "memmap":
        np.save(tmp_path / "x.npy", X)
        data = np.load(tmp_path / "x.npy", mmap_mode="r")
    elif kind == "pandas":
        pd = pytest.importorskip("pandas")
        data = pd.DataFrame(X, columns=["a", "b", "c"])
    else:
        data = np.round(X * 1000).astype(np.int64)
        ref = GaussianMixture(3, random_state=0).fit(data.astype(np.float64))
    model = GaussianMixture(3, random_state=0).fit(data)
    np.testing.assert_allclose(model.means_, ref.means_, rtol=1e-10)
    np.testing.assert_array_equal(model.predict(data), ref.predict(np.asarray(data, float)))
    if kind == "pandas":
        np.testing.assert_array_equal(model.feature_names_in_, ["a", "b", "c"])
