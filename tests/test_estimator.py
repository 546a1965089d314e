"""GaussianMixture against scikit-learn from the same start, and its own semantics."""

import copy
import pickle

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SkGaussianMixture

from gmmfast import GaussianMixture

from helpers import (
    COVARIANCE_TYPES,
    DTYPES,
    RTOL,
    assert_lower_bound_invariant,
    ignore_convergence,
    make_blobs_data,
)

N_COMPONENTS = 3


def initial_parameters(X, covariance_type, random_state=0):
    """A shared, deliberately rough start: scikit-learn's own initialisation, no EM."""
    init = SkGaussianMixture(
        N_COMPONENTS, covariance_type=covariance_type, init_params="random_from_data",
        max_iter=0, random_state=random_state, reg_covar=0.5,
    ).fit(X)
    precisions = init.precisions_
    if covariance_type == "tied":
        # scikit-learn's tied start from seed rows is the raw second moment of all rows: so
        # broad that the components stay alike for many iterations. Use a quarter of the
        # data's covariance instead.
        covariance = np.atleast_2d(np.cov(np.asarray(X, dtype=np.float64).T))
        precisions = np.linalg.inv(0.25 * covariance)
    return dict(
        weights_init=np.full(N_COMPONENTS, 1.0 / N_COMPONENTS),
        means_init=init.means_,
        precisions_init=precisions,
    )


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("n_features", [1, 3, 8])  # plain loops up to 4 features, BLAS beyond
def test_same_model_as_scikit_learn_from_same_start(dtype, covariance_type, n_features):
    X = make_blobs_data(n_samples=3000, n_features=n_features).astype(dtype)
    kwargs = dict(
        n_components=N_COMPONENTS, covariance_type=covariance_type, max_iter=15, tol=0.0,
        **initial_parameters(X, covariance_type),
    )
    ours = GaussianMixture(**kwargs).fit(X)
    ref = SkGaussianMixture(**kwargs).fit(X)
    rtol = RTOL[dtype]
    assert ours.n_iter_ == ref.n_iter_ == 15
    assert_lower_bound_invariant(GaussianMixture, kwargs, ours, X, rtol=rtol)
    np.testing.assert_allclose(ours.lower_bounds_, ref.lower_bounds_, rtol=rtol)
    np.testing.assert_allclose(ours.lower_bound_, ref.lower_bound_, rtol=rtol)
    np.testing.assert_allclose(ours.weights_, ref.weights_, rtol=10 * rtol, atol=1e-6)
    np.testing.assert_allclose(ours.means_, ref.means_, rtol=10 * rtol, atol=10 * rtol)
    np.testing.assert_allclose(ours.covariances_, ref.covariances_, rtol=100 * rtol,
                               atol=100 * rtol)
    # Same labels wherever the model does not hesitate between two components.
    proba = np.sort(ref.predict_proba(X), axis=1)
    clear = proba[:, -1] - proba[:, -2] > 1e-2
    assert clear.mean() > 0.5
    np.testing.assert_array_equal(ours.predict(X)[clear], ref.predict(X)[clear])
    np.testing.assert_allclose(ours.score_samples(X), ref.score_samples(X), rtol=10 * rtol)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=10 * rtol)
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
        assert getattr(ours, name).dtype == dtype
        assert getattr(ours, name).shape == getattr(ref, name).shape
    assert ours.score_samples(X).dtype == dtype
    assert ours.predict_proba(X).dtype == dtype
    np.testing.assert_allclose(ours.bic(X), ref.bic(X), rtol=rtol)
    np.testing.assert_allclose(ours.aic(X), ref.aic(X), rtol=rtol)


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_initialisations_match_scikit_learn(init_params, covariance_type, blobs):
    kwargs = dict(n_components=N_COMPONENTS, covariance_type=covariance_type,
                  init_params=init_params, random_state=7, max_iter=0)
    ours = GaussianMixture(**kwargs).fit(blobs)
    ref = SkGaussianMixture(**kwargs).fit(blobs)
    np.testing.assert_allclose(ours.weights_, ref.weights_, rtol=1e-10)
    np.testing.assert_allclose(ours.means_, ref.means_, rtol=1e-9, atol=1e-12)
    if covariance_type == "tied" and init_params in ("k-means++", "random_from_data"):
        # Documented difference: the seed rows alone make the tied covariance (reg_covar I);
        # scikit-learn also counts X^T X of every other row, which has no responsibility.
        np.testing.assert_allclose(ours.covariances_, 1e-6 * np.eye(3), rtol=1e-6, atol=1e-12)
    else:
        np.testing.assert_allclose(ours.precisions_cholesky_, ref.precisions_cholesky_,
                                   rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_default_fit_matches_scikit_learn(dtype, covariance_type, blobs):
    X = blobs.astype(dtype)
    kwargs = dict(n_components=N_COMPONENTS, covariance_type=covariance_type, random_state=0)
    ours = GaussianMixture(**kwargs).fit(X)
    ref = SkGaussianMixture(**kwargs).fit(X)
    assert ours.converged_ and ref.converged_
    assert ours.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(ours.lower_bound_, ref.lower_bound_, rtol=RTOL[dtype])
    np.testing.assert_array_equal(ours.predict(X), ref.predict(X))
    assert_lower_bound_invariant(GaussianMixture, kwargs, ours, X, rtol=RTOL[dtype])


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_far_from_origin_fits_as_well_as_centred(covariance_type):
    X = make_blobs_data(n_samples=4000, n_features=3, random_state=1)
    X -= X.mean(axis=0)
    kwargs = dict(n_components=N_COMPONENTS, covariance_type=covariance_type, max_iter=30,
                  tol=0.0, **initial_parameters(X, covariance_type))
    centred = GaussianMixture(**kwargs)
    shifted = GaussianMixture(**{**kwargs, "means_init": kwargs["means_init"] + 1e6})
    with pytest.warns(ConvergenceWarning):
        centred.fit(X)
    with pytest.warns(ConvergenceWarning):
        shifted.fit(X + 1e6)
    # x + 1e6 keeps about 1e-10 of absolute precision in float64.
    np.testing.assert_allclose(shifted.lower_bounds_, centred.lower_bounds_, rtol=1e-8)
    np.testing.assert_allclose(shifted.means_ - 1e6, centred.means_, atol=1e-6)
    np.testing.assert_allclose(shifted.covariances_, centred.covariances_, rtol=1e-6)
    np.testing.assert_array_equal(shifted.predict(X + 1e6), centred.predict(X))


def test_far_from_origin_float32_has_positive_variances():
    X = make_blobs_data(n_samples=4000, n_features=3, random_state=1)
    X = (X - X.mean(axis=0) + 1e4).astype(np.float32)
    model = GaussianMixture(N_COMPONENTS, covariance_type="diag", random_state=0).fit(X)
    assert np.all(model.covariances_ > 0.1)
    assert np.isfinite(model.lower_bound_)


@pytest.mark.parametrize("n_init", [1, 3])
def test_fit_predict_equals_fit_then_predict(blobs, n_init):
    for max_iter in (1, 2, 100):
        for seed in range(3):
            kwargs = dict(n_components=4, random_state=seed, max_iter=max_iter, tol=1e-8,
                          n_init=n_init)
            with ignore_convergence():
                labels = GaussianMixture(**kwargs).fit_predict(blobs)
                model = GaussianMixture(**kwargs).fit(blobs)
            np.testing.assert_array_equal(labels, model.predict(blobs))


@pytest.mark.parametrize("init_params", ["kmeans", "random"])
def test_n_init_keeps_the_best_of_its_own_candidates(blobs, init_params):
    kwargs = dict(n_components=4, init_params=init_params, max_iter=5)
    with ignore_convergence():
        best = GaussianMixture(n_init=3, random_state=0, **kwargs).fit(blobs)
        ref = SkGaussianMixture(n_init=3, random_state=0, **kwargs).fit(blobs)
        # Its candidates: one initialisation after another from the same generator.
        generator = np.random.RandomState(0)
        candidates = [GaussianMixture(random_state=generator, **kwargs).fit(blobs)
                      for _ in range(3)]
    bounds = [c.lower_bound_ for c in candidates]
    assert len(set(bounds)) == 3
    winner = candidates[int(np.argmax(bounds))]
    assert best.lower_bound_ == max(bounds)
    np.testing.assert_array_equal(best.means_, winner.means_)
    assert best.n_iter_ == winner.n_iter_
    np.testing.assert_allclose(best.lower_bound_, ref.lower_bound_, rtol=1e-7)
    np.testing.assert_allclose(best.means_, ref.means_, rtol=1e-7, atol=1e-7)


def test_warm_start_continues(blobs):
    kwargs = dict(n_components=N_COMPONENTS, random_state=0, max_iter=2, tol=0.0)
    with ignore_convergence():
        warm = GaussianMixture(warm_start=True, **kwargs)
        warm.fit(blobs)
        warm.fit(blobs)
        warm.fit(blobs)
        cold = GaussianMixture(**{**kwargs, "max_iter": 6}).fit(blobs)
        ref = SkGaussianMixture(warm_start=True, **kwargs)
        for _ in range(3):
            ref.fit(blobs)
    np.testing.assert_allclose(warm.means_, cold.means_, rtol=1e-10)
    np.testing.assert_allclose(warm.lower_bound_, ref.lower_bound_, rtol=1e-7)


def test_warm_start_ignores_n_init_and_continues_from_the_last_lower_bound(blobs):
    # With tol > 0, the first iteration of a warm fit compares its bound with the one the
    # last fit ended on: it may converge at once, as scikit-learn does.
    kwargs = dict(n_components=N_COMPONENTS, random_state=0, max_iter=4, tol=1e-3,
                  n_init=5, warm_start=True)
    ours, ref = GaussianMixture(**kwargs), SkGaussianMixture(**kwargs)
    with ignore_convergence():
        for _ in range(3):
            ours.fit(blobs)
            ref.fit(blobs)
            assert ours.n_iter_ == ref.n_iter_ and ours.converged_ == ref.converged_
            np.testing.assert_allclose(ours.lower_bounds_, ref.lower_bounds_, rtol=1e-7)
    assert ours.converged_ and ours.n_iter_ == 1


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_rows_of_zero_weight_with_no_density_give_a_finite_model(covariance_type):
    # Rows so far away that their squared distances overflow: log p(x) = -inf, and with
    # weight zero they must add nothing (no 0 * inf) to k-means or EM.
    X = make_blobs_data(n_samples=3000, n_features=3)
    far = np.full((20, 3), 1e200)
    w = np.concatenate([np.ones(len(X)), np.zeros(len(far))])
    kwargs = dict(n_components=N_COMPONENTS, covariance_type=covariance_type, random_state=0)
    with ignore_convergence():
        ours = GaussianMixture(**kwargs).fit(np.vstack([X, far]), sample_weight=w)
        alone = GaussianMixture(**kwargs).fit(X)
    for name in ("weights_", "means_", "covariances_"):
        assert np.all(np.isfinite(getattr(ours, name))), name
    np.testing.assert_allclose(ours.lower_bound_, alone.lower_bound_, rtol=1e-9)


def test_convergence_warning_and_flags(blobs):
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        model = GaussianMixture(N_COMPONENTS, max_iter=1, tol=0.0, random_state=0).fit(blobs)
    assert not model.converged_ and model.n_iter_ == 1 and len(model.lower_bounds_) == 1
    model = GaussianMixture(N_COMPONENTS, random_state=0).fit(blobs)
    assert model.converged_ and model.n_iter_ < 100
    assert np.all(np.diff(model.lower_bounds_) > -1e-9)  # EM never decreases the bound


def test_max_iter_zero_gives_initial_parameters(blobs):
    model = GaussianMixture(N_COMPONENTS, max_iter=0, random_state=0).fit(blobs)
    assert model.n_iter_ == 0 and model.lower_bounds_ == []


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_integer_sample_weight_equals_repeated_rows(covariance_type):
    X = make_blobs_data(n_samples=1500, n_features=2, random_state=3)
    rng = np.random.RandomState(0)
    counts = rng.randint(0, 4, size=len(X))
    kwargs = dict(n_components=N_COMPONENTS, covariance_type=covariance_type, max_iter=10,
                  tol=0.0, **initial_parameters(X, covariance_type))
    with ignore_convergence():
        weighted = GaussianMixture(**kwargs).fit(X, sample_weight=counts)
        repeated = GaussianMixture(**kwargs).fit(np.repeat(X, counts, axis=0))
    np.testing.assert_allclose(weighted.lower_bounds_, repeated.lower_bounds_, rtol=1e-10)
    np.testing.assert_allclose(weighted.means_, repeated.means_, rtol=1e-9)
    np.testing.assert_allclose(weighted.covariances_, repeated.covariances_, rtol=1e-9)
    np.testing.assert_allclose(
        weighted.score(X, sample_weight=counts), repeated.score(np.repeat(X, counts, axis=0)),
        rtol=1e-10,
    )
    np.testing.assert_allclose(
        weighted.bic(X, sample_weight=counts), repeated.bic(np.repeat(X, counts, axis=0)),
        rtol=1e-10,
    )


def test_sample_weight_ones_is_unweighted(blobs):
    a = GaussianMixture(N_COMPONENTS, random_state=0).fit(blobs)
    b = GaussianMixture(N_COMPONENTS, random_state=0).fit(blobs, sample_weight=np.ones(len(blobs)))
    np.testing.assert_allclose(a.means_, b.means_, rtol=1e-12)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_sample_matches_scikit_learn(covariance_type, blobs):
    ours = GaussianMixture(N_COMPONENTS, covariance_type=covariance_type, random_state=3)
    ref = SkGaussianMixture(N_COMPONENTS, covariance_type=covariance_type, random_state=3)
    ours.fit(blobs)
    ref.fit(blobs)
    Xo, yo = ours.sample(500)
    Xr, yr = ref.sample(500)
    np.testing.assert_array_equal(yo, yr)
    np.testing.assert_allclose(Xo, Xr, rtol=1e-6, atol=1e-6)
    assert Xo.dtype == np.float64


def test_float32_input_is_not_copied_and_stays_float32():
    import tracemalloc

    X = np.ascontiguousarray(make_blobs_data(n_samples=200_000, n_features=8),
                             dtype=np.float32)
    X.setflags(write=False)
    kwargs = dict(n_components=N_COMPONENTS, max_iter=3, tol=0.0, init_params="random",
                  random_state=0)
    with ignore_convergence():
        GaussianMixture(**kwargs).fit(X[:1000])  # imports and caches
        tracemalloc.start()
        model = GaussianMixture(**kwargs).fit(X)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    # X is 6.4 MB; a float64 copy would be 12.8 MB.
    assert peak < X.nbytes / 4, peak
    assert model.means_.dtype == np.float32
    assert model.score_samples(X[:100]).dtype == np.float32


@pytest.mark.parametrize("init_params", ["random_from_data", "kmeans", "random"])
def test_fit_allocates_nothing_of_the_size_of_x(init_params, monkeypatch):
    import tracemalloc

    from gmmfast import _kmeans

    # The k-means++ seeding keeps one distance per row; it may also keep each trial's
    # distances (SEEDING_BYTES), which this test turns off.
    monkeypatch.setattr(_kmeans, "SEEDING_BYTES", 0)
    X = make_blobs_data(n_samples=200_000, n_features=8, random_state=0)
    kwargs = dict(n_components=8, max_iter=3, tol=0.0, init_params=init_params,
                  random_state=0)
    with ignore_convergence():
        GaussianMixture(**kwargs).fit(X)  # warm up imports and caches
        tracemalloc.start()
        GaussianMixture(**kwargs).fit(X)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    # X is 12.8 MB; one N x K or N x D array would be 12.8 MB, two labels arrays (8 bytes
    # x N) 3.2 MB. k-means keeps N floats (1.6 MB), 'random' makes responsibilities in
    # chunks of 8,192 rows.
    assert peak < 3.0 * 1024 * 1024, peak


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_start_far_from_the_data_matches_scikit_learn(covariance_type):
    # The first M-step moves the means by ~1e5 standard deviations: a one-pass update
    # around the old means would cancel almost every digit of the new covariances.
    X = make_blobs_data(n_samples=2000, n_features=2, random_state=4)
    kwargs = dict(n_components=N_COMPONENTS, covariance_type=covariance_type, max_iter=8,
                  tol=0.0, **initial_parameters(X, covariance_type))
    kwargs["means_init"] = kwargs["means_init"] + 1e5
    kwargs["precisions_init"] = np.asarray(kwargs["precisions_init"]) * 1e-10
    with ignore_convergence():
        ours = GaussianMixture(**kwargs).fit(X)
        ref = SkGaussianMixture(**kwargs).fit(X)
    np.testing.assert_allclose(ours.lower_bounds_, ref.lower_bounds_, rtol=1e-7)
    np.testing.assert_allclose(ours.covariances_, ref.covariances_, rtol=1e-6)


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_kmeans_start_on_many_rows_is_scikit_learns(covariance_type):
    from sklearn.datasets import make_blobs
    from sklearn.metrics import adjusted_rand_score

    X, truth = make_blobs(n_samples=60_000, n_features=4, centers=5, cluster_std=1.0,
                          center_box=(-20, 20), random_state=8)
    overlapping = make_blobs_data(n_samples=60_000, n_features=4, n_components=5,
                                  random_state=8)
    for data in (X, overlapping):
        ours = GaussianMixture(5, covariance_type=covariance_type, random_state=0).fit(data)
        ref = SkGaussianMixture(5, covariance_type=covariance_type, random_state=0).fit(data)
        assert ours.converged_ and ours.n_iter_ == ref.n_iter_
        np.testing.assert_allclose(ours.lower_bound_, ref.lower_bound_, rtol=1e-9)
        np.testing.assert_allclose(ours.means_, ref.means_, rtol=1e-7, atol=1e-7)
    assert adjusted_rand_score(GaussianMixture(5, random_state=0).fit(X).predict(X),
                               truth) == 1.0


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_a_component_no_row_supports_keeps_its_mean(covariance_type):
    # A component 400 standard deviations from every row: no responsibility of it counts
    # (all below 2^-64). It keeps its mean, with covariance reg_covar I, where scikit-learn
    # moves it to the origin; the other components are scikit-learn's.
    X = make_blobs_data(n_samples=2000, n_features=2, n_components=2, random_state=5) + 50.0
    kwargs = initial_parameters(X, covariance_type)
    means = np.array(kwargs["means_init"], dtype=np.float64)
    means[2] = [500.0, 500.0]
    kwargs["means_init"] = means
    with ignore_convergence():
        ours = GaussianMixture(N_COMPONENTS, covariance_type=covariance_type, max_iter=1,
                               **kwargs).fit(X)
        ref = SkGaussianMixture(N_COMPONENTS, covariance_type=covariance_type, max_iter=1,
                                **kwargs).fit(X)
    np.testing.assert_array_equal(ours.means_[2], [500.0, 500.0])
    np.testing.assert_allclose(ref.means_[2], [0.0, 0.0], atol=1e-9)
    eps = np.finfo(np.float64).eps
    np.testing.assert_allclose(ours.weights_[2], 10 * eps / len(X), rtol=1e-6)
    if covariance_type == "tied":
        np.testing.assert_allclose(ours.covariances_, ref.covariances_, rtol=1e-7)
    else:
        expected = {"full": 1e-6 * np.eye(2), "diag": np.full(2, 1e-6), "spherical": 1e-6}
        np.testing.assert_allclose(ours.covariances_[2], expected[covariance_type], rtol=1e-12)
        np.testing.assert_allclose(ours.covariances_[:2], ref.covariances_[:2], rtol=1e-7)
    np.testing.assert_allclose(ours.means_[:2], ref.means_[:2], rtol=1e-7)
    np.testing.assert_allclose(ours.weights_[:2], ref.weights_[:2], rtol=1e-7)


@pytest.mark.parametrize("estimator", ["GaussianMixture", "BayesianGaussianMixture",
                                       "BayesianGaussianMixture-dirichlet_distribution",
                                       "MiniBatchGaussianMixture"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_outputs_follow_parameters_changed_after_a_call(estimator, covariance_type, blobs):
    """The model laid out for one call is used again only while the parameters keep their
    values: set anew, changed in place or read in another dtype, the outputs are those of
    a copy of the estimator with the new parameters (a copy lays its model out anew)."""
    import gmmfast

    name, _, prior = estimator.partition("-")
    kwargs = {"weight_concentration_prior_type": prior} if prior else {}
    model = getattr(gmmfast, name)(n_components=N_COMPONENTS, covariance_type=covariance_type,
                                   max_iter=5, random_state=0, **kwargs)
    with ignore_convergence():
        model.fit(blobs)
    first = model.score_samples(blobs)
    state = dict(model.__dict__)
    np.testing.assert_array_equal(model.score_samples(blobs), first)
    assert model.__dict__.keys() == state.keys()

    model.means_[0] += 1.0  # in place
    assert not np.array_equal(model.score_samples(blobs), first)
    np.testing.assert_array_equal(model.score_samples(blobs),
                                  copy.deepcopy(model).score_samples(blobs))
    model.precisions_cholesky_ = model.precisions_cholesky_ * 2.0  # set anew
    np.testing.assert_array_equal(model.predict_proba(blobs),
                                  copy.deepcopy(model).predict_proba(blobs))
    weights = getattr(model, "weight_concentration_", getattr(model, "weights_", None))
    weights = weights[0] if isinstance(weights, tuple) else weights
    before = model.predict_proba(blobs)
    weights[:] = weights[::-1] * [1.0, 2.0, 3.0]  # in place
    changed = model.predict_proba(blobs)
    assert not np.array_equal(changed, before)
    np.testing.assert_array_equal(changed, copy.deepcopy(model).predict_proba(blobs))
    as_float32 = blobs.astype(np.float32)
    np.testing.assert_array_equal(model.score_samples(as_float32),
                                  copy.deepcopy(model).score_samples(as_float32))
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.score_samples(blobs), model.score_samples(blobs))


def test_an_estimator_that_is_no_dictionary_key_still_predicts(blobs):
    class Unhashable(GaussianMixture):
        def __eq__(self, other):
            return self is other

    model = Unhashable(N_COMPONENTS, max_iter=5, random_state=0)
    with ignore_convergence():
        model.fit(blobs)
    reference = GaussianMixture(N_COMPONENTS, max_iter=5, random_state=0)
    with ignore_convergence():
        reference.fit(blobs)
    np.testing.assert_array_equal(model.predict_proba(blobs), reference.predict_proba(blobs))


def test_a_large_model_keeps_no_copy_of_its_layout(blobs, monkeypatch):
    from gmmfast import _base

    model = GaussianMixture(N_COMPONENTS, max_iter=5, random_state=0)
    with ignore_convergence():
        model.fit(blobs)
    model.predict(blobs)
    assert model in _base._EVALUATION_MODELS
    monkeypatch.setattr(_base, "_KEPT_NUMBERS", 10)
    model.means_ = model.means_ + 0.5
    labels = model.predict(blobs)
    assert model not in _base._EVALUATION_MODELS
    np.testing.assert_array_equal(labels, copy.deepcopy(model).predict(blobs))
