"""Model files: saved and loaded without pickle, the same predictions to the bit."""

import io
import json
import pickle
import zipfile

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

import gmmfast
from gmmfast import (
    BayesianGaussianMixture,
    GaussianMixture,
    GaussianMixtureIC,
    MiniBatchGaussianMixture,
    load,
    save,
)

from helpers import COVARIANCE_TYPES, DTYPES, ignore_convergence, make_blobs_data

FITTED = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_")


def fitted_model(covariance_type="full", dtype=np.float64, **params):
    X = make_blobs_data(600, 3).astype(dtype)
    with ignore_convergence():
        model = GaussianMixture(3, covariance_type=covariance_type, random_state=0,
                                **params).fit(X)
    return model, X


def rewrite(path, change):
    """Rewrite a model file as a valid archive after ``change(entries)`` edits its entries."""
    with np.load(path, allow_pickle=False) as archive:
        entries = {name: archive[name] for name in archive.files}
    change(entries)
    with open(path, "wb") as file:
        np.savez(file, **entries)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_loaded_model_predicts_the_same_to_the_bit(covariance_type, dtype, tmp_path):
    model, X = fitted_model(covariance_type, dtype)
    save(model, tmp_path / "model.npz")
    again = load(tmp_path / "model.npz")
    assert type(again) is GaussianMixture
    assert again.get_params() == model.get_params()
    for name in FITTED:
        expected = getattr(model, name)
        assert getattr(again, name).dtype == expected.dtype
        np.testing.assert_array_equal(getattr(again, name), expected)
    assert again.converged_ == model.converged_ and again.n_iter_ == model.n_iter_
    assert again.lower_bound_ == model.lower_bound_
    assert again.lower_bounds_ == list(model.lower_bounds_)
    assert again.n_features_in_ == 3
    np.testing.assert_array_equal(again.predict(X), model.predict(X))
    np.testing.assert_array_equal(again.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(again.score_samples(X), model.score_samples(X))
    assert again.bic(X) == model.bic(X)


BAYESIAN_FITTED = FITTED + (
    "mean_precision_", "degrees_of_freedom_", "mean_prior_", "covariance_prior_",
)


def assert_same_value(got, expected):
    assert type(got) is type(expected)
    assert np.asarray(got).dtype == np.asarray(expected).dtype
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("prior_type", ["dirichlet_process", "dirichlet_distribution"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_variational_model_round_trip(covariance_type, dtype, prior_type, tmp_path):
    X = make_blobs_data(600, 3).astype(dtype)
    with ignore_convergence():
        model = BayesianGaussianMixture(
            n_components=4, covariance_type=covariance_type, random_state=0,
            weight_concentration_prior_type=prior_type,
        ).fit(X)
    save(model, tmp_path / "model.npz")
    again = load(tmp_path / "model.npz")
    assert type(again) is BayesianGaussianMixture
    assert again.get_params() == model.get_params()
    for name in BAYESIAN_FITTED + (
        "weight_concentration_prior_", "mean_precision_prior_", "degrees_of_freedom_prior_",
    ):
        assert_same_value(getattr(again, name), getattr(model, name))
    if prior_type == "dirichlet_process":
        assert isinstance(again.weight_concentration_, tuple)
        for got, expected in zip(again.weight_concentration_, model.weight_concentration_):
            assert_same_value(got, expected)
    else:
        assert_same_value(again.weight_concentration_, model.weight_concentration_)
    assert again.lower_bounds_ == list(model.lower_bounds_)
    assert again.lower_bound_ == model.lower_bound_ and again.n_iter_ == model.n_iter_
    np.testing.assert_array_equal(again.predict(X), model.predict(X))
    np.testing.assert_array_equal(again.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(again.score_samples(X), model.score_samples(X))
    assert not hasattr(again, "bic")


@pytest.mark.parametrize("covariance_type", ["full", "spherical"])
def test_variational_priors_and_warm_start_round_trip(covariance_type, tmp_path):
    X = make_blobs_data(600, 3)
    covariance_prior = np.eye(3) * 2.0 if covariance_type == "full" else 2.0
    params = dict(n_components=3, covariance_type=covariance_type, random_state=0,
                  max_iter=5, tol=0.0, warm_start=True, mean_prior=[0.5, 1.0, 1.5],
                  covariance_prior=covariance_prior, degrees_of_freedom_prior=4.5,
                  mean_precision_prior=0.5, weight_concentration_prior=0.2)
    with ignore_convergence():
        model = BayesianGaussianMixture(**params).fit(X)
        save(model, tmp_path / "model.npz")
        again = load(tmp_path / "model.npz")
        for name, value in params.items():
            np.testing.assert_array_equal(getattr(again, name), value)
        model.fit(X)
        again.fit(X)
    assert again.lower_bounds_ == model.lower_bounds_
    np.testing.assert_array_equal(again.means_, model.means_)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_mini_batch_model_continues_with_the_same_bits(covariance_type, dtype, tmp_path):
    X = make_blobs_data(3000, 3).astype(dtype)
    with ignore_convergence():
        model = MiniBatchGaussianMixture(
            3, covariance_type=covariance_type, batch_size=400, max_iter=2, random_state=0,
            learning_offset=2.0, learning_decay=0.8, max_no_improvement=4,
        ).fit(X)
    save(model, tmp_path / "model.npz")
    again = load(tmp_path / "model.npz")
    assert type(again) is MiniBatchGaussianMixture
    assert again.get_params() == model.get_params()
    for name in FITTED:
        assert getattr(again, name).dtype == dtype
        np.testing.assert_array_equal(getattr(again, name), getattr(model, name))
    assert (again.n_steps_, again.n_rows_seen_, again.n_iter_, again.converged_) == (
        model.n_steps_, model.n_rows_seen_, model.n_iter_, model.converged_)
    assert again.lower_bounds_ == model.lower_bounds_
    assert again.lower_bound_ == model.lower_bound_
    np.testing.assert_array_equal(again.predict_proba(X), model.predict_proba(X))
    # Both continue from their running state: the same steps, the same bits.
    for start in range(0, 3000, 700):
        model.partial_fit(X[start:start + 700])
        again.partial_fit(X[start:start + 700])
    for name in FITTED:
        np.testing.assert_array_equal(getattr(again, name), getattr(model, name))
    assert again.lower_bounds_ == model.lower_bounds_ and again.n_steps_ == model.n_steps_
    # A warm fit continues the step count and statistics of the loaded model too.
    save(model, tmp_path / "model.npz")
    warm = [load(tmp_path / "model.npz"), model]
    for m in warm:
        m.set_params(warm_start=True, max_iter=1)
        with ignore_convergence():
            m.fit(X)
    assert warm[0].n_steps_ == warm[1].n_steps_ > again.n_steps_
    np.testing.assert_array_equal(warm[0].means_, warm[1].means_)


def test_mini_batch_model_from_partial_fit_and_a_damaged_state(tmp_path):
    X = make_blobs_data(600, 3)
    model = MiniBatchGaussianMixture(3, random_state=0).partial_fit(X[:300])
    path = tmp_path / "model.npz"
    save(model, path)
    again = load(path)
    assert again.n_iter_ == 0 and again.n_steps_ == 1 and again.lower_bounds_ == \
        model.lower_bounds_
    np.testing.assert_array_equal(again.partial_fit(X[300:]).means_,
                                  model.partial_fit(X[300:]).means_)
    # A state of the wrong shape (with a digest made to match) is refused.
    from gmmfast import _io

    def damage(entries):
        entries["statistics_s1"] = entries["statistics_s1"][:, :2]
        metadata = json.loads(str(entries["metadata"]))
        arrays = {k: v for k, v in entries.items() if k != "metadata"}
        metadata["sha256"] = _io._digest(metadata, arrays)
        entries["metadata"] = np.asarray(json.dumps(metadata))

    rewrite(path, damage)
    with pytest.raises(ValueError, match="statistics_s1 has shape"):
        load(path)


def test_the_file_holds_no_python_objects(tmp_path):
    model, _ = fitted_model()
    save(model, tmp_path / "model.npz")
    with np.load(tmp_path / "model.npz", allow_pickle=False) as archive:
        for name in archive.files:
            assert not archive[name].dtype.hasobject, name
        metadata = json.loads(str(archive["metadata"]))
    assert metadata["format"] == "gmmfast-model"
    assert metadata["gmmfast_version"] == gmmfast.__version__
    assert metadata["params"]["n_components"] == 3


def test_path_is_kept_and_file_objects_work(tmp_path):
    model, X = fitted_model("diag")
    save(model, tmp_path / "model.gmm")
    assert [p.name for p in tmp_path.iterdir()] == ["model.gmm"]
    buffer = io.BytesIO()
    save(model, buffer)
    buffer.seek(0)
    np.testing.assert_array_equal(load(buffer).predict_proba(X), model.predict_proba(X))


def test_feature_names_initial_values_and_random_state_round_trip(tmp_path):
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(make_blobs_data(600, 2), columns=["height", "width"])
    start = GaussianMixture(2, random_state=0).fit(X)
    model = GaussianMixture(
        2, covariance_type="tied", means_init=start.means_, weights_init=start.weights_,
        precisions_init=start.precisions_.mean(axis=0),
        random_state=np.random.RandomState(4),
    ).fit(X)
    save(model, tmp_path / "model.npz")
    again = load(tmp_path / "model.npz")
    np.testing.assert_array_equal(again.feature_names_in_, ["height", "width"])
    assert again.feature_names_in_.dtype == object
    np.testing.assert_array_equal(again.means_init, start.means_)
    np.testing.assert_array_equal(again.predict(X), model.predict(X))
    # The generator's state is kept: both draw the same samples.
    np.testing.assert_array_equal(again.sample(20)[0], model.sample(20)[0])


def test_warm_start_continues_from_a_loaded_model(tmp_path):
    model, X = fitted_model("spherical", max_iter=3)
    save(model, tmp_path / "model.npz")
    again = load(tmp_path / "model.npz")
    with ignore_convergence():
        model.set_params(warm_start=True).fit(X)
        again.set_params(warm_start=True).fit(X)
    np.testing.assert_array_equal(again.means_, model.means_)


def test_pickle_keeps_working(tmp_path):
    model, X = fitted_model("tied")
    save(model, tmp_path / "model.npz")
    again = pickle.loads(pickle.dumps(load(tmp_path / "model.npz")))
    np.testing.assert_array_equal(again.predict_proba(X), model.predict_proba(X))


def test_refuses_a_newer_format(tmp_path):
    model, _ = fitted_model()
    path = tmp_path / "model.npz"
    save(model, path)

    def newer(entries):
        metadata = json.loads(str(entries["metadata"]))
        metadata.update(format_version=99, gmmfast_version="9.0.0")
        entries["metadata"] = np.asarray(json.dumps(metadata))

    rewrite(path, newer)
    with pytest.raises(ValueError, match=r"gmmfast 9\.0\.0 in model file format 99.*Upgrade"):
        load(path)


@pytest.mark.parametrize("damage", ["means", "params", "flipped byte", "truncated"])
def test_refuses_a_corrupted_file(tmp_path, damage):
    model, _ = fitted_model()
    path = tmp_path / "model.npz"
    save(model, path)
    if damage == "means":
        rewrite(path, lambda entries: entries["means_"].__setitem__((0, 0), 1.0))
    elif damage == "params":
        def other_reg_covar(entries):
            metadata = json.loads(str(entries["metadata"]))
            metadata["params"]["reg_covar"] = 0.5
            entries["metadata"] = np.asarray(json.dumps(metadata))
        rewrite(path, other_reg_covar)
    elif damage == "flipped byte":
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    else:
        path.write_bytes(path.read_bytes()[: 2 * path.stat().st_size // 3])
    with pytest.raises(ValueError, match="corrupted"):
        load(path)


def test_refuses_files_that_are_not_models(tmp_path):
    other = tmp_path / "other.npz"
    np.savez(other, a=np.arange(3))
    with pytest.raises(ValueError, match="not a gmmfast model file"):
        load(other)
    array = tmp_path / "array.npy"
    np.save(array, np.arange(3))
    with pytest.raises(ValueError, match="single array"):
        load(array)
    pickled = tmp_path / "model.pkl"
    pickled.write_bytes(pickle.dumps(fitted_model()[0]))
    with pytest.raises(ValueError, match="not a readable gmmfast model file"):
        load(pickled)
    text = tmp_path / "notes.npz"
    text.write_text("not a model")
    with pytest.raises(ValueError, match="not a readable gmmfast model file"):
        load(text)
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.npz")


def test_an_archive_without_an_expected_entry_is_refused(tmp_path):
    model, _ = fitted_model()
    path = tmp_path / "model.npz"
    save(model, path)
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    assert "covariances_.npy" in names
    rewrite(path, lambda entries: entries.pop("covariances_"))
    with pytest.raises(ValueError, match="corrupted"):
        load(path)


def test_save_takes_a_fitted_gaussian_mixture(tmp_path):
    with pytest.raises(NotFittedError):
        save(GaussianMixture(), tmp_path / "model.npz")
    with pytest.raises(TypeError, match="GaussianMixture"):
        save(np.zeros(3), tmp_path / "model.npz")
    X = make_blobs_data(300, 2)
    search = GaussianMixtureIC(2, random_state=0).fit(X)
    with pytest.raises(TypeError, match="best_estimator_"):
        save(search, tmp_path / "model.npz")
    with pytest.raises(FileNotFoundError, match="no folder"):
        save(search.best_estimator_, tmp_path / "missing" / "model.npz")
    save(search.best_estimator_, tmp_path / "model.npz")
    np.testing.assert_array_equal(load(tmp_path / "model.npz").predict(X), search.predict(X))
    assert not list(tmp_path.glob(".gmmfast-*")), "a temporary file was left behind"
