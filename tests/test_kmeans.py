"""The default start: scikit-learn's KMeans(K, n_init=1) over every row, compiled."""

import warnings

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture as SkGaussianMixture
from threadpoolctl import threadpool_limits

from gmmfast import GaussianMixture, _kernels, _kmeans
from gmmfast._rows import InMemoryRows

from helpers import COVARIANCE_TYPES, DTYPES, make_blobs_data

SEEDS = range(10)


def nearest(X, centres):
    """Labels of the nearest centre, in plain NumPy."""
    X = np.asarray(X, dtype=np.float64)
    d = (X * X).sum(1)[:, None] - 2.0 * X @ centres.T + (centres * centres).sum(1)[None, :]
    return np.argmin(d, axis=1)


def kmeans_labels(X, k, seed, sample_weight=None):
    centres = _kmeans.kmeans_centres(InMemoryRows(X, sample_weight), k,
                                     np.random.RandomState(seed))
    return nearest(X, centres), centres


@pytest.fixture(scope="module")
def large():
    # 300,000 rows: 293 blocks of the k-means passes in 64 groups; the old 20,000-row
    # sample is far behind.
    return make_blobs_data(n_samples=300_000, n_features=3, n_components=5, random_state=1)


def test_data_spans_many_blocks_and_groups(large):
    rows, n_blocks, n_groups = _kernels.kmeans_layout(len(large))
    assert n_blocks > 4 * n_groups > 100 and len(large) % rows != 0


@pytest.mark.parametrize("n_samples", [100_000, 300_000])
def test_labels_are_scikit_learn_kmeans_labels(large, n_samples):
    X = large[:n_samples]
    matches = 0
    for seed in SEEDS:
        reference = KMeans(5, n_init=1, random_state=seed).fit(X)
        labels, centres = kmeans_labels(X, 5, seed)
        if adjusted_rand_score(reference.labels_, labels) >= 0.999:
            matches += 1
            np.testing.assert_allclose(centres, reference.cluster_centers_, rtol=1e-9,
                                       atol=1e-9)
    assert matches >= 9, matches


@pytest.mark.parametrize("n_features", [2, 8])  # term-by-term distances up to 4, BLAS beyond
def test_k_means_plus_plus_draws_scikit_learn_seeds(n_features):
    from sklearn.cluster import kmeans_plusplus

    X = make_blobs_data(n_samples=20_000, n_features=n_features, n_components=6,
                        random_state=2)
    for seed in range(5):
        _, reference = kmeans_plusplus(X - X.mean(axis=0), 6,
                                       random_state=np.random.RandomState(seed))
        state = np.random.RandomState(seed)
        _, indices = _kmeans.kmeans_plusplus(X, None, X.mean(axis=0), 6, state)
        np.testing.assert_array_equal(indices, reference)
        # The generator is left where scikit-learn leaves it.
        after = np.random.RandomState(seed)
        kmeans_plusplus(X, 6, random_state=after)
        assert state.random_sample() == after.random_sample()


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_default_fit_is_scikit_learns_on_many_rows(large, covariance_type):
    X = large[:100_000]
    matches = 0
    for seed in SEEDS:
        ref = SkGaussianMixture(5, covariance_type=covariance_type, random_state=seed).fit(X)
        ours = GaussianMixture(5, covariance_type=covariance_type, random_state=seed).fit(X)
        if abs(ours.lower_bound_ - ref.lower_bound_) <= 1e-6 * abs(ref.lower_bound_):
            matches += 1
            assert ours.n_iter_ == ref.n_iter_
    assert matches >= 9, matches


def test_lloyd_from_given_centres_with_an_empty_cluster_is_scikit_learns():
    # A centre far from every row is empty after the first assignment: scikit-learn moves
    # it to the row farthest from its centre, then goes on.
    X = make_blobs_data(n_samples=5000, n_features=3, n_components=4, random_state=3)
    init = X[[0, 1, 2, 3]].copy()
    init[3] = 1e3
    reference = KMeans(4, init=init, n_init=1).fit(X)
    shift = X.mean(axis=0)
    rows = InMemoryRows(X)
    tol = _kmeans.moments(rows, shift)[1] * _kmeans.TOL
    centres = _kmeans.lloyd(rows, shift, init - shift, tol) + shift
    np.testing.assert_array_equal(nearest(X, centres), reference.labels_)
    np.testing.assert_allclose(centres, reference.cluster_centers_, rtol=1e-10, atol=1e-10)


def test_tolerance_is_scikit_learns():
    X = make_blobs_data(n_samples=3000, n_features=4, random_state=5) + 100.0
    rows = InMemoryRows(X)
    for origin in (X.mean(axis=0), X[0]):
        mean, variance = _kmeans.moments(rows, origin)
        np.testing.assert_allclose(variance, np.mean(np.var(X, axis=0)), rtol=1e-12)
        np.testing.assert_allclose(mean, X.mean(axis=0), rtol=1e-14)


def test_first_seed_is_scikit_learns_draw():
    for n in (2, 7, 1000, 300_001):
        for seed in range(50):
            expected = np.random.RandomState(seed).choice(n, p=np.ones(n) / n)
            assert _kmeans._first_seed(n, None, np.random.RandomState(seed), np.float64) == expected
            w = np.random.RandomState(seed).uniform(size=n)
            expected = np.random.RandomState(seed).choice(n, p=w / w.sum())
            assert _kmeans._first_seed(n, w, np.random.RandomState(seed), np.float64) == expected


@pytest.mark.parametrize("dtype", DTYPES)
def test_integer_weights_give_the_repeated_rows_start(dtype):
    X = make_blobs_data(n_samples=20_000, n_features=4, n_components=4,
                        random_state=6).astype(dtype)
    weight = np.random.RandomState(0).randint(0, 4, size=len(X)).astype(np.float64)
    repeated = np.repeat(X, weight.astype(int), axis=0)
    # float32 rows are centred in float32 on their column means, which differ between the
    # two: the centres then differ in the rounding of float32.
    centre_tol = 1e-6 if dtype == np.float32 else 1e-9
    for seed in range(3):
        _, weighted_centres = kmeans_labels(X, 4, seed, weight)
        _, repeated_centres = kmeans_labels(repeated, 4, seed)
        np.testing.assert_allclose(weighted_centres, repeated_centres, rtol=centre_tol,
                                   atol=centre_tol)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a = GaussianMixture(4, random_state=seed).fit(X, sample_weight=weight)
            b = GaussianMixture(4, random_state=seed).fit(repeated)
        rtol = 1e-4 if dtype == np.float32 else 1e-7
        np.testing.assert_allclose(a.means_, b.means_, rtol=rtol, atol=rtol)
        np.testing.assert_allclose(a.lower_bound_, b.lower_bound_, rtol=rtol)


@pytest.mark.parametrize("dtype", DTYPES)
def test_same_centres_for_any_thread_count(large, dtype):
    X = large[:60_000].astype(dtype)
    w = np.random.RandomState(1).uniform(0.5, 2.0, size=len(X))
    results = []
    for n_threads in (1, 2, 3):
        with threadpool_limits(n_threads, user_api="openmp"):
            results.append(kmeans_labels(X, 5, 0, w)[1])
    for other in results[1:]:
        np.testing.assert_array_equal(results[0], other)


def test_kept_and_recomputed_seeding_distances_give_the_same_seeds(large, monkeypatch):
    X = large[:50_000]
    kept = _kmeans.kmeans_plusplus(X, None, X.mean(axis=0), 7, np.random.RandomState(4))
    monkeypatch.setattr(_kmeans, "SEEDING_BYTES", 0)
    again = _kmeans.kmeans_plusplus(X, None, X.mean(axis=0), 7, np.random.RandomState(4))
    np.testing.assert_array_equal(kept[0], again[0])
    np.testing.assert_array_equal(kept[1], again[1])


def test_seeding_masses_match_a_numpy_reference(large):
    X = large[:10_000]
    shift = X.mean(axis=0)
    w = np.random.RandomState(2).uniform(size=len(X))
    closest = np.random.RandomState(3).uniform(0, 30, size=len(X))
    trials = X[[5, 50, 500]] - shift
    minima = np.empty((3, len(X)))
    from gmmfast import _passes

    masses = _passes.seeding_masses(X, w, shift, trials, closest.copy(), minima=minima)
    d = (((X - shift)[None, :, :] - trials[:, None, :]) ** 2).sum(-1)
    expected = np.minimum(d, closest[None, :])
    np.testing.assert_allclose(minima, expected, rtol=1e-12, atol=1e-12)
    rows = _kernels.kmeans_layout(len(X))[0]
    blocks = np.add.reduceat(w * expected, np.arange(0, len(X), rows), axis=1)
    np.testing.assert_allclose(masses, blocks, rtol=1e-12)


def test_float32_start_is_close_to_scikit_learns(large):
    # float32 rows: gmmfast's k-means sums and distances are float64, scikit-learn's
    # float32, so that near-ties may go either way; the labels still agree.
    X = large[:100_000].astype(np.float32)
    scores = []
    for seed in range(5):
        reference = KMeans(5, n_init=1, random_state=seed).fit(X)
        scores.append(adjusted_rand_score(reference.labels_, kmeans_labels(X, 5, seed)[0]))
    assert np.median(scores) >= 0.999, scores
