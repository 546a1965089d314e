"""GaussianMixtureIC: the right model on the classic examples, each candidate as if alone."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning, FitFailedWarning, NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

import gmmfast._selection
from gmmfast import GaussianMixture, GaussianMixtureIC

from helpers import ignore_convergence, make_blobs_data

# scikit-learn's anisotropic example: blobs stretched and sheared by one linear map.
SHEAR = np.array([[0.60834549, -0.63667341], [-0.40887718, 0.85253229]])
RESULT_COLUMNS = ["n_components", "covariance_type", "bic", "aic", "lower_bound", "n_iter",
                  "converged", "n_parameters", "fit_time"]


def four_isotropic_blobs():
    # The classic example of the Python Data Science Handbook.
    X, _ = make_blobs(n_samples=400, centers=4, cluster_std=0.60, random_state=0)
    return X


def three_anisotropic_blobs():
    # Different spreads under one shear: covariances of one orientation family but not
    # equal (not tied) and not axis-aligned (not diagonal): full is the true model.
    X, _ = make_blobs(n_samples=900, centers=3, cluster_std=[1.0, 2.0, 0.5], random_state=170)
    return X @ SHEAR


@parametrize_with_checks([GaussianMixtureIC(n_components=[1, 2], random_state=0)])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def test_finds_four_isotropic_blobs():
    X = four_isotropic_blobs()
    search = GaussianMixtureIC(n_components=range(1, 8), covariance_type="all",
                               random_state=0).fit(X)
    assert search.n_components_ == 4
    # Equal round clusters: a spherical or a tied model, never the 4 x 3-parameter full one.
    assert search.covariance_type_ in ("spherical", "tied")
    for covariance_type in ("spherical", "diag", "tied", "full"):
        alone = GaussianMixtureIC(range(1, 8), covariance_type=covariance_type,
                                  random_state=0).fit(X)
        assert alone.n_components_ == 4, covariance_type


@pytest.mark.parametrize("criterion", ["bic", "aic"])
def test_finds_three_anisotropic_blobs_with_full_covariance(criterion):
    X = three_anisotropic_blobs()
    search = GaussianMixtureIC(n_components=range(1, 8), covariance_type="all",
                               criterion=criterion, random_state=0).fit(X)
    assert (search.n_components_, search.covariance_type_) == (3, "full")
    from sklearn.metrics import adjusted_rand_score

    _, truth = make_blobs(n_samples=900, centers=3, cluster_std=[1.0, 2.0, 0.5],
                          random_state=170)
    assert adjusted_rand_score(truth, search.predict(X)) > 0.95


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("init_params", ["kmeans", "k-means++"])
@pytest.mark.parametrize("n_init", [1, 2])
@pytest.mark.parametrize("weighted", [False, True])
def test_each_candidate_is_the_model_fitted_alone(init_params, n_init, weighted):
    X = make_blobs_data(900, 3)
    weight = np.random.RandomState(1).uniform(0.2, 3.0, len(X)) if weighted else None
    search = GaussianMixtureIC([1, 2, 4], covariance_type="all", init_params=init_params,
                               n_init=n_init, random_state=7).fit(X, sample_weight=weight)
    results = search.results_
    for i, (k, covariance_type) in enumerate(zip(results["n_components"],
                                                  results["covariance_type"])):
        alone = GaussianMixture(int(k), covariance_type=str(covariance_type),
                                init_params=init_params, n_init=n_init, random_state=7)
        alone.fit(X, sample_weight=weight)
        assert results["lower_bound"][i] == alone.lower_bound_
        assert results["n_iter"][i] == alone.n_iter_
        assert results["bic"][i] == alone.bic(X, sample_weight=weight)
        assert results["aic"][i] == alone.aic(X, sample_weight=weight)
        if i == search.best_index_:
            for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
                np.testing.assert_array_equal(getattr(search.best_estimator_, name),
                                              getattr(alone, name))


def test_float32_candidates_match_and_stay_float32():
    X = make_blobs_data(900, 3).astype(np.float32)
    with ignore_convergence():
        search = GaussianMixtureIC([2, 3], covariance_type=["diag", "full"],
                                   random_state=0).fit(X)
        alone = GaussianMixture(search.n_components_, covariance_type=search.covariance_type_,
                                random_state=0).fit(X)
    assert search.best_estimator_.means_.dtype == np.float32
    np.testing.assert_array_equal(search.best_estimator_.means_, alone.means_)


@pytest.mark.parametrize("n_init", [1, 3])
def test_one_kmeans_per_number_of_components_and_initialisation(monkeypatch, n_init):
    fits = []
    kmeans_centres = gmmfast._selection._kmeans_centres

    def counting(rows, n_clusters, random_state):
        fits.append(n_clusters)
        return kmeans_centres(rows, n_clusters, random_state)

    monkeypatch.setattr(gmmfast._selection, "_kmeans_centres", counting)
    X = make_blobs_data(600, 3)
    with ignore_convergence():
        GaussianMixtureIC([2, 3, 5], covariance_type="all", n_init=n_init,
                          random_state=0).fit(X)
    assert sorted(fits) == sorted([2, 3, 5] * n_init)


def test_results_table():
    pd = pytest.importorskip("pandas")
    X = make_blobs_data(600, 3)
    with ignore_convergence():
        search = GaussianMixtureIC([3, 1, 2, 2], covariance_type=["full", "diag"],
                                   random_state=0).fit(X)
    results = search.results_
    assert list(results) == RESULT_COLUMNS
    assert all(len(column) == 6 for column in results.values())
    np.testing.assert_array_equal(results["n_components"], [1, 1, 2, 2, 3, 3])
    np.testing.assert_array_equal(results["covariance_type"], ["full", "diag"] * 3)
    assert results["converged"].dtype == bool
    assert np.all(results["fit_time"] > 0)
    assert search.best_index_ == int(np.argmin(results["bic"]))
    assert search.criterion_ == results["bic"].min() == search.bic(X)
    assert search.n_components_ == search.best_estimator_.n_components
    assert search.covariance_type_ == search.best_estimator_.covariance_type
    for i, (k, covariance_type) in enumerate(zip(results["n_components"],
                                                  results["covariance_type"])):
        p = GaussianMixture(int(k), covariance_type=str(covariance_type))
        p.means_ = np.zeros((int(k), 3))
        assert results["n_parameters"][i] == p._n_parameters()
    table = pd.DataFrame(results)
    assert table.shape == (6, len(RESULT_COLUMNS))
    assert table.loc[search.best_index_, "bic"] == search.criterion_


def test_aic_criterion_picks_the_lowest_aic():
    X = make_blobs_data(600, 3)
    with ignore_convergence():
        search = GaussianMixtureIC(range(1, 6), criterion="aic", random_state=0).fit(X)
    assert search.best_index_ == int(np.argmin(search.results_["aic"]))
    assert search.criterion_ == search.aic(X)


def test_methods_are_the_chosen_models():
    X = make_blobs_data(600, 3)
    search = GaussianMixtureIC(4, random_state=0)
    labels = search.fit_predict(X)
    best = search.best_estimator_
    assert type(best) is GaussianMixture
    np.testing.assert_array_equal(labels, best.predict(X))
    np.testing.assert_array_equal(search.predict(X), best.predict(X))
    np.testing.assert_array_equal(search.predict_proba(X), best.predict_proba(X))
    np.testing.assert_array_equal(search.score_samples(X), best.score_samples(X))
    assert search.score(X) == best.score(X)
    assert search.aic(X) == best.aic(X)
    samples, components = search.sample(50)
    expected = best.sample(50)
    np.testing.assert_array_equal(samples, expected[0])
    np.testing.assert_array_equal(components, expected[1])


@pytest.mark.parametrize("n_components, expected", [
    (3, [1, 2, 3]),
    (range(2, 5), [2, 3, 4]),
    ([5, 2, 2, 3], [2, 3, 5]),
    (np.array([4], dtype=np.int32), [4]),
])
def test_forms_of_n_components(n_components, expected):
    X = make_blobs_data(300, 2)
    with ignore_convergence():
        search = GaussianMixtureIC(n_components, random_state=0).fit(X)
    np.testing.assert_array_equal(search.results_["n_components"], expected)


@pytest.mark.parametrize("covariance_type, expected", [
    ("tied", ["tied"]),
    ("all", ["spherical", "diag", "tied", "full"]),
    (["full", "diag", "full"], ["full", "diag"]),
])
def test_forms_of_covariance_type(covariance_type, expected):
    X = make_blobs_data(300, 2)
    with ignore_convergence():
        search = GaussianMixtureIC(1, covariance_type=covariance_type, random_state=0).fit(X)
    np.testing.assert_array_equal(search.results_["covariance_type"], expected)


@pytest.mark.parametrize("params, match", [
    (dict(n_components=0), "n_components"),
    (dict(n_components=[0, 2]), "at least 1"),
    (dict(n_components=[1.5, 2]), "integers"),
    (dict(n_components=[]), "non-empty"),
    (dict(n_components=[[1, 2]]), "1-D"),
    (dict(n_components=[2, 400]), "only 300 rows"),
    (dict(covariance_type="round"), "covariance_type"),
    (dict(covariance_type=["full", "round"]), "round"),
    (dict(covariance_type=[]), "at least one"),
    (dict(criterion="hqic"), "criterion"),
])
def test_bad_parameters_say_what_to_change(params, match):
    X = make_blobs_data(300, 2)
    with pytest.raises(ValueError, match=match):
        GaussianMixtureIC(**params).fit(X)


def test_random_state():
    X = make_blobs_data(600, 3)
    with ignore_convergence():
        seeded = GaussianMixtureIC(3, random_state=11).fit(X)
        assert seeded.best_estimator_.random_state == 11
        first = GaussianMixtureIC(3, random_state=np.random.RandomState(5)).fit(X)
        second = GaussianMixtureIC(3, random_state=np.random.RandomState(5)).fit(X)
        np.random.seed(3)
        drawn = GaussianMixtureIC(3).fit(X)
    np.testing.assert_array_equal(first.results_["bic"], second.results_["bic"])
    seed = first.best_estimator_.random_state
    assert isinstance(seed, int)
    # Every candidate got the drawn seed: the chosen one is GaussianMixture with that seed.
    alone = GaussianMixture(first.n_components_, random_state=seed).fit(X)
    np.testing.assert_array_equal(first.best_estimator_.means_, alone.means_)
    assert isinstance(drawn.best_estimator_.random_state, int)


def test_failed_candidates_are_reported_and_never_chosen():
    # Five distinct points, each repeated: with no regularisation, five components have
    # zero covariances and fail; one component does not.
    points = np.random.RandomState(0).normal(size=(5, 2))
    X = np.repeat(points, 20, axis=0)
    with pytest.warns(FitFailedWarning, match="n_components=5"):
        search = GaussianMixtureIC([1, 5], reg_covar=0.0, random_state=0).fit(X)
    assert search.n_components_ == 1
    assert np.isinf(search.results_["bic"][1]) and np.isnan(search.results_["lower_bound"][1])
    with pytest.raises(ValueError, match="every candidate"):
        GaussianMixtureIC([5], reg_covar=0.0, random_state=0).fit(X)


def test_one_convergence_warning_for_the_search():
    X = make_blobs_data(600, 3)
    with pytest.warns(ConvergenceWarning) as record:
        search = GaussianMixtureIC([2, 3], covariance_type=["full", "diag"], max_iter=1,
                                   random_state=0).fit(X)
    messages = [str(w.message) for w in record if w.category is ConvergenceWarning]
    assert len(messages) == 1 and "4 of 4 candidates" in messages[0]
    assert not search.results_["converged"].any()


def test_feature_names_pass_to_the_chosen_model():
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(make_blobs_data(300, 2), columns=["u", "v"])
    search = GaussianMixtureIC(2, random_state=0).fit(X)
    np.testing.assert_array_equal(search.feature_names_in_, ["u", "v"])
    np.testing.assert_array_equal(search.best_estimator_.feature_names_in_, ["u", "v"])
    assert search.predict(X).shape == (300,)


def test_verbose_prints_each_candidate(capsys):
    X = make_blobs_data(300, 2)
    with ignore_convergence():
        GaussianMixtureIC([1, 2], covariance_type=["full", "tied"], verbose=1,
                          random_state=0).fit(X)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and "n_components=2 covariance_type='tied'" in lines[-1]


def test_pickle_and_clone():
    X = make_blobs_data(300, 2)
    search = GaussianMixtureIC(3, covariance_type="all", random_state=0).fit(X)
    again = pickle.loads(pickle.dumps(search))
    np.testing.assert_array_equal(again.predict_proba(X), search.predict_proba(X))
    fresh = clone(search)
    assert not hasattr(fresh, "results_")
    assert fresh.get_params() == search.get_params()
    with pytest.raises(NotFittedError):
        fresh.predict(X)


def test_dask_input_is_fitted_chunk_by_chunk_like_each_candidate_alone():
    da = pytest.importorskip("dask.array")
    dask = pytest.importorskip("dask")
    X = make_blobs_data(2000, 3)
    chunked = da.from_array(X, chunks=(700, 3))
    with dask.config.set(scheduler="threads"), ignore_convergence():
        search = GaussianMixtureIC([2, 3], covariance_type=["diag", "full"],
                                   random_state=0).fit(chunked)
        for i, (k, covariance_type) in enumerate(zip(search.results_["n_components"],
                                                      search.results_["covariance_type"])):
            alone = GaussianMixture(int(k), covariance_type=str(covariance_type),
                                    random_state=0).fit(chunked)
            assert search.results_["lower_bound"][i] == alone.lower_bound_
            assert search.results_["bic"][i] == alone.bic(chunked)
        labels = search.predict(chunked)
    assert (search.n_components_, search.covariance_type_) == (3, "full")
    assert search.n_features_in_ == 3
    np.testing.assert_array_equal(labels.compute(), search.predict(X))
