"""Dask arrays and DataFrames: fitted chunk by chunk on the workers, same model as in memory."""

import subprocess
import sys
import warnings

import numpy as np
import pytest

from gmmfast import GaussianMixture

from helpers import COVARIANCE_TYPES, DTYPES, ignore_convergence, make_blobs_data

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")

from gmmfast import _dask  # noqa: E402  (imports Dask)

N_COMPONENTS = 3
# Uneven row chunks, so that no chunk boundary falls on a block of the compiled pass.
CHUNKS = ((1000, 700, 900, 400), (3,))
# The sums of a chunked fit differ from the in-memory ones by rounding only.
RTOL = {np.float64: 1e-9, np.float32: 1e-5}


@pytest.fixture(scope="module")
def data():
    return make_blobs_data(n_samples=3000, n_features=3, n_components=N_COMPONENTS)


@pytest.fixture
def local_scheduler():
    """Dask's threaded scheduler, also while the module's cluster is running."""
    with dask.config.set(scheduler="threads"):
        yield


def given_start(X, covariance_type):
    """A rough start shared by both fits: random rows as means, wide covariances."""
    start = GaussianMixture(
        N_COMPONENTS, covariance_type=covariance_type, init_params="random_from_data",
        reg_covar=0.5, max_iter=0, random_state=1,
    )
    with ignore_convergence():
        start.fit(X)
    return dict(
        weights_init=np.full(N_COMPONENTS, 1.0 / N_COMPONENTS),
        means_init=start.means_.astype(np.float64),
        precisions_init=start.precisions_.astype(np.float64),
    )


def assert_same_model(ours, ref, rtol):
    assert ours.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(ours.lower_bounds_, ref.lower_bounds_, rtol=rtol)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        got, expected = getattr(ours, name), getattr(ref, name)
        assert got.dtype == expected.dtype
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol * np.abs(expected).max())


def fit(X, **kwargs):
    with ignore_convergence():
        return GaussianMixture(N_COMPONENTS, random_state=0, **kwargs).fit(X)


# -- fitting on a cluster ------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_fit_on_cluster_equals_in_memory_fit(client, data, covariance_type, dtype):
    X = data.astype(dtype)
    kwargs = dict(covariance_type=covariance_type, max_iter=12, tol=0.0,
                  **given_start(X, covariance_type))
    ours = fit(da.from_array(X, chunks=CHUNKS), **kwargs)
    assert_same_model(ours, fit(X, **kwargs), RTOL[dtype])


def test_weighted_fit_on_cluster_equals_in_memory_fit(client, data):
    w = np.random.RandomState(0).uniform(0.0, 3.0, size=len(data))
    w[::7] = 0.0
    kwargs = dict(covariance_type="full", max_iter=12, tol=0.0, **given_start(data, "full"))
    ref = GaussianMixture(N_COMPONENTS, **kwargs)
    with ignore_convergence():
        ref.fit(data, sample_weight=w)
    X = da.from_array(data, chunks=CHUNKS)
    # Weights chunked unlike X, as a Dask array, and in memory.
    for weights in (da.from_array(w, chunks=500), w):
        ours = GaussianMixture(N_COMPONENTS, **kwargs)
        with ignore_convergence():
            ours.fit(X, sample_weight=weights)
        assert_same_model(ours, ref, RTOL[np.float64])


def test_cluster_and_local_scheduler_give_identical_models(client, data):
    X = da.from_array(data, chunks=CHUNKS)
    on_cluster = fit(X, max_iter=10, tol=0.0)
    with dask.config.set(scheduler="threads"):
        local = fit(X, max_iter=10, tol=0.0)
    assert on_cluster.lower_bounds_ == local.lower_bounds_
    for name in ("weights_", "means_", "covariances_"):
        assert np.array_equal(getattr(on_cluster, name), getattr(local, name))


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
def test_initialisation_on_small_data_is_the_in_memory_one(client, data, init_params):
    # Fewer rows than the initial sample: the sample is the data, in order.
    kwargs = dict(init_params=init_params, max_iter=5, tol=0.0)
    ours = fit(da.from_array(data, chunks=CHUNKS), **kwargs)
    assert_same_model(ours, fit(data, **kwargs), RTOL[np.float64])


# -- initialisation from a sample of rows --------------------------------------------------


@pytest.fixture
def small_sample(monkeypatch):
    monkeypatch.setattr(_dask, "INIT_SAMPLE_ROWS", 300)
    monkeypatch.setattr(_dask, "INIT_SAMPLE_MIN_PER_COMPONENT", 10)


def rows_of(values, X):
    """Index in X of each row of ``values`` (rows of X up to rounding), -1 if none."""
    distance = np.abs(values[:, np.newaxis, :] - X[np.newaxis, :, :]).max(axis=2)
    found = distance.min(axis=1) <= 1e-12 * np.abs(X).max()
    return np.where(found, distance.argmin(axis=1), -1)


def test_sample_is_uniform_draw_of_distinct_rows_from_every_chunk(
    local_scheduler, small_sample, data
):
    X = da.from_array(data, chunks=CHUNKS)
    rows = _dask.DaskRows.for_fit(GaussianMixture(N_COMPONENTS), X, None)
    sample, weights = rows._sample(N_COMPONENTS, np.random.RandomState(0))
    assert sample.shape == (300, 3) and weights is None
    index = rows_of(sample, data)
    assert np.all(index >= 0) and len(np.unique(index)) == 300
    assert np.all(np.diff(index) > 0)  # in row order
    chunk_of_row = np.repeat(np.arange(4), CHUNKS[0])
    assert set(chunk_of_row[index]) == {0, 1, 2, 3}
    again, _ = rows._sample(N_COMPONENTS, np.random.RandomState(0))
    assert np.array_equal(sample, again)


def test_weighted_sample_has_only_rows_of_positive_weight(local_scheduler, small_sample, data):
    w = np.zeros(len(data))
    w[::3] = np.random.RandomState(0).uniform(0.5, 2.0, size=len(w[::3]))
    X = da.from_array(data, chunks=CHUNKS)
    rows = _dask.DaskRows.for_fit(GaussianMixture(N_COMPONENTS), X, w)
    sample, weights = rows._sample(N_COMPONENTS, np.random.RandomState(0))
    index = rows_of(sample, data)
    assert np.all(index >= 0) and np.all(index % 3 == 0)
    np.testing.assert_array_equal(weights, w[index])


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
def test_initialisation_from_a_sample(local_scheduler, small_sample, data, init_params,
                                      weighted):
    w = np.random.RandomState(1).uniform(0.0, 2.0, size=len(data)) if weighted else None
    X = da.from_array(data, chunks=CHUNKS)
    start = GaussianMixture(N_COMPONENTS, init_params=init_params, max_iter=0,
                            random_state=0)
    with ignore_convergence():
        start.fit(X, sample_weight=w)
    if init_params in ("k-means++", "random_from_data"):
        # One seed row per component, each a row of X.
        index = rows_of(start.means_, data)
        assert np.all(index >= 0) and len(np.unique(index)) == N_COMPONENTS
    else:
        # Responsibilities summed over the sample are scaled to the whole data.
        np.testing.assert_allclose(start.weights_.sum(), 1.0, rtol=1e-6)
    # From that start, EM finds the clusters the in-memory fit finds.
    ours = GaussianMixture(N_COMPONENTS, init_params=init_params, random_state=0, tol=1e-6,
                           max_iter=300).fit(X, sample_weight=w)
    ref = GaussianMixture(N_COMPONENTS, init_params=init_params, random_state=0, tol=1e-6,
                          max_iter=300).fit(data, sample_weight=w)
    np.testing.assert_allclose(ours.lower_bound_, ref.lower_bound_, rtol=1e-5)
    order = np.argsort(ours.means_[:, 0]), np.argsort(ref.means_[:, 0])
    np.testing.assert_allclose(ours.means_[order[0]], ref.means_[order[1]], atol=1e-2)


@pytest.mark.parametrize("weighted", [False, True])
def test_kmeans_iterations_read_every_row(local_scheduler, small_sample, data, weighted):
    # Seeds from the 300-row sample; the Lloyd iterations and the initial sums over all
    # 3,000 rows, on the chunks: the in-memory k-means from the same seeds.
    from gmmfast import _kmeans
    from gmmfast._rows import InMemoryRows, kmeans_statistics

    w = np.random.RandomState(1).uniform(0.0, 2.0, size=len(data)) if weighted else None
    X = da.from_array(data, chunks=CHUNKS)
    rows = _dask.DaskRows.for_fit(GaussianMixture(N_COMPONENTS), X, w)
    centres = rows.kmeans_centres(N_COMPONENTS, np.random.RandomState(0))
    state = np.random.RandomState(0)
    sample, weights = rows._sample(N_COMPONENTS, state)
    expected = _kmeans.kmeans_centres(InMemoryRows(data, w), N_COMPONENTS, state,
                                      seeding_rows=InMemoryRows(sample, weights))
    np.testing.assert_allclose(centres, expected, rtol=1e-10, atol=1e-10)
    ours = kmeans_statistics(rows, centres, "full")
    ref = kmeans_statistics(InMemoryRows(data, w), centres, "full")
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-8)
    assert ours[0].sum() == pytest.approx(len(data) if w is None else w.sum(), rel=1e-12)


# -- the reduction -------------------------------------------------------------------------


def test_many_chunks_reduce_in_groups(local_scheduler, monkeypatch, data):
    monkeypatch.setattr(_dask, "SPLIT_EVERY", 2)
    rows = tuple(int(n) for n in np.diff(np.linspace(0, len(data), 12).astype(int)))
    kwargs = dict(max_iter=8, tol=0.0, **given_start(data, "full"))
    ours = fit(da.from_array(data, chunks=(rows, (3,))), **kwargs)  # 11 chunks: 3 levels
    assert_same_model(ours, fit(data, **kwargs), RTOL[np.float64])


def test_chunks_of_unknown_size_and_empty_chunks(local_scheduler, data):
    keep = np.ones(len(data), dtype=bool)
    keep[1000:1700] = False  # the second chunk becomes empty
    X = da.from_array(data, chunks=CHUNKS)[da.from_array(keep, chunks=(CHUNKS[0],))]
    assert np.isnan(X.chunks[0][0])
    kwargs = dict(max_iter=8, tol=0.0, **given_start(data, "diag"), covariance_type="diag")
    ours = fit(X, **kwargs)
    assert_same_model(ours, fit(data[keep], **kwargs), RTOL[np.float64])
    with ignore_convergence():
        labels = ours.fit_predict(X)
    assert isinstance(labels, da.Array) and labels.chunks[0][1] == 0
    np.testing.assert_array_equal(labels.compute(), ours.predict(data[keep]))


# -- using the model -----------------------------------------------------------------------


def _refuse_to_compute(*args, **kwargs):
    raise AssertionError("the data was computed")


def test_predict_stays_lazy(client, data):
    X = da.from_array(data, chunks=CHUNKS)
    model = fit(data, covariance_type="tied")
    with dask.config.set(scheduler=_refuse_to_compute):
        labels = model.predict(X)
        resp = model.predict_proba(X)
        log_prob = model.score_samples(X)
    assert isinstance(labels, da.Array) and labels.chunks == (CHUNKS[0],)
    assert isinstance(resp, da.Array) and resp.chunks == (CHUNKS[0], (N_COMPONENTS,))
    assert isinstance(log_prob, da.Array) and log_prob.chunks == (CHUNKS[0],)
    assert (labels.dtype, resp.dtype, log_prob.dtype) == (np.intp, data.dtype, data.dtype)
    np.testing.assert_array_equal(labels.compute(), model.predict(data))
    np.testing.assert_allclose(resp.compute(), model.predict_proba(data), rtol=1e-12,
                               atol=1e-15)
    np.testing.assert_allclose(log_prob.compute(), model.score_samples(data), rtol=1e-12)


def test_fit_predict_is_lazy_and_equals_predict(client, data):
    X = da.from_array(data, chunks=CHUNKS)
    model = GaussianMixture(N_COMPONENTS, random_state=0)
    labels = model.fit_predict(X)
    assert isinstance(labels, da.Array)
    np.testing.assert_array_equal(labels.compute(), model.predict(data))


@pytest.mark.parametrize("weights", ["none", "numpy", "dask"])
def test_score_bic_aic_are_computed(client, data, weights):
    X = da.from_array(data, chunks=CHUNKS)
    model = fit(data, covariance_type="spherical")
    w = np.random.RandomState(0).uniform(0.0, 2.0, size=len(data))
    ours_w = {"none": None, "numpy": w, "dask": da.from_array(w, chunks=600)}[weights]
    ref_w = None if weights == "none" else w
    for method in ("score", "bic", "aic"):
        ours = getattr(model, method)(X, sample_weight=ours_w)
        assert isinstance(ours, float)
        ref = getattr(model, method)(data, sample_weight=ref_w)
        np.testing.assert_allclose(ours, ref, rtol=1e-12)


# -- Dask DataFrames -----------------------------------------------------------------------


def test_dask_dataframe(local_scheduler, data):
    pd = pytest.importorskip("pandas")
    dd = pytest.importorskip("dask.dataframe")
    frame = pd.DataFrame(data, columns=["a", "b", "c"])
    frame["c"] = (frame["c"] * 1000).round().astype(np.int64)  # an integer column too
    ddf = dd.from_pandas(frame, npartitions=3)
    kwargs = dict(max_iter=10, tol=0.0, **given_start(frame.to_numpy(np.float64), "full"))
    ours, ref = fit(ddf, **kwargs), fit(frame, **kwargs)
    np.testing.assert_array_equal(ours.feature_names_in_, ["a", "b", "c"])
    assert_same_model(ours, ref, RTOL[np.float64])
    labels = ours.predict(ddf)
    assert isinstance(labels, da.Array)
    np.testing.assert_array_equal(labels.compute(), ref.predict(frame))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # same feature names: no warning
        ours.predict(frame)
    np.testing.assert_allclose(ours.score(ddf), ref.score(frame), rtol=1e-12)
    weights = dd.from_pandas(pd.Series(np.linspace(0.5, 1.5, len(frame))), npartitions=3)
    np.testing.assert_allclose(
        ours.score(ddf, sample_weight=weights),
        ref.score(frame, sample_weight=np.linspace(0.5, 1.5, len(frame))), rtol=1e-12,
    )


# -- bad input -----------------------------------------------------------------------------


def test_bad_dask_input_is_refused(local_scheduler, data):
    X = da.from_array(data, chunks=CHUNKS)
    model = GaussianMixture(N_COMPONENTS)
    with pytest.raises(ValueError, match="2-D"):
        model.fit(X[:, 0])
    with pytest.raises(ValueError, match="infinity"):
        model.fit(da.from_array(np.where(np.arange(3000)[:, None] == 2500, np.inf, data),
                                chunks=CHUNKS))
    with pytest.raises(ValueError, match="convert it to numbers"):
        model.fit(X.astype(str))
    with pytest.raises(ValueError, match="n_samples >= n_components"):
        GaussianMixture(5).fit(X[:4])
    with pytest.raises(ValueError, match="minimum of 2"):
        GaussianMixture(1).fit(X[:1])
    with pytest.raises(ValueError, match="Negative values"):
        model.fit(X, sample_weight=-np.ones(len(data)))
    with pytest.raises(ValueError, match="Negative values"):
        model.fit(X, sample_weight=da.from_array(-np.ones(len(data)), chunks=1000))
    with pytest.raises(ValueError, match="positive entries"):
        model.fit(X, sample_weight=da.from_array(np.eye(1, len(data))[0], chunks=1000))
    with pytest.raises(ValueError, match="expected"):
        model.fit(X, sample_weight=np.ones(len(data) - 1))
    with pytest.raises(TypeError, match="dask.array.Array"):
        model.fit(dask.delayed(data))
    fitted = fit(data, max_iter=2)
    with pytest.raises(ValueError, match="3 features"):
        fitted.predict(da.from_array(np.ones((10, 4)), chunks=5))
    infinite_labels = fitted.predict(da.from_array(np.full((10, 3), np.inf), chunks=5))
    with pytest.raises(ValueError, match="infinity"):
        infinite_labels.compute()


def test_dask_is_imported_only_for_dask_input(tmp_path):
    code = (
        "import sys, numpy as np\n"
        "from gmmfast import GaussianMixture\n"
        "X = np.random.RandomState(0).standard_normal((200, 2))\n"
        "gm = GaussianMixture(2, random_state=0).fit(X)\n"
        "gm.predict(X); gm.score(X); gm.bic(X)\n"
        "assert not any(m == 'dask' or m.startswith(('dask.', 'distributed'))\n"
        "               for m in sys.modules), sorted(sys.modules)\n"
    )
    # Run away from the source folder, which would shadow the installed package.
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)


# -- mini-batch fitting: the chunks as batches ---------------------------------------------


def chunk_batches(X, chunks, batch_size, seed, n_passes, weights=None):
    """The batches of a mini-batch fit of a Dask array chunked ``chunks`` (the rows), in
    memory: each pass visits the chunks in a random order, each chunk's rows in a random
    order split into ceil(rows / batch_size) nearly equal batches (rows in their order)."""
    rng = np.random.RandomState(seed)
    bounds = np.concatenate([[0], np.cumsum(chunks)])
    for _ in range(n_passes):
        for c in rng.permutation(len(chunks)):
            rows = np.arange(bounds[c], bounds[c + 1])
            order = rng.permutation(len(rows))
            n_batches = -(-len(rows) // batch_size)
            for part in np.array_split(order, n_batches):
                taken = rows[np.sort(part)]
                yield X[taken], None if weights is None else weights[taken]


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_mini_batch_fit_on_cluster_equals_partial_fit_in_memory(client, data, covariance_type,
                                                                 weighted):
    from gmmfast import MiniBatchGaussianMixture

    w = np.random.RandomState(2).uniform(0.5, 2.0, size=len(data)) if weighted else None
    kwargs = dict(covariance_type=covariance_type, batch_size=400, **given_start(
        data, covariance_type))
    ours = MiniBatchGaussianMixture(N_COMPONENTS, max_iter=2, max_no_improvement=None,
                                    random_state=5, **kwargs)
    ours.fit(da.from_array(data, chunks=CHUNKS),
             sample_weight=None if w is None else da.from_array(w, chunks=500))
    ref = MiniBatchGaussianMixture(N_COMPONENTS, **kwargs)
    n_batches = 0
    for X, weights in chunk_batches(data, CHUNKS[0], 400, 5, 2, w):
        ref.partial_fit(X, sample_weight=weights)
        n_batches += 1
    # 1000, 700, 900, 400 rows: 3 + 2 + 3 + 1 batches a pass.
    assert ours.n_steps_ == ref.n_steps_ == n_batches == 18
    assert ours.n_iter_ == 2 and ours.n_rows_seen_ == ref.n_rows_seen_
    assert ours.lower_bounds_ == ref.lower_bounds_
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        np.testing.assert_array_equal(getattr(ours, name), getattr(ref, name), err_msg=name)


def test_mini_batch_fit_of_dask_converges_and_predicts_lazily(local_scheduler):
    from gmmfast import MiniBatchGaussianMixture

    rng = np.random.RandomState(0)
    centres = rng.normal(scale=8.0, size=(4, 4))
    data = centres[rng.randint(4, size=40_000)] + rng.standard_normal((40_000, 4))
    X = da.from_array(data, chunks=5000)
    with ignore_convergence():
        full = GaussianMixture(4, random_state=0).fit(data)
    model = MiniBatchGaussianMixture(4, batch_size=1000, random_state=0)
    labels = model.fit_predict(X)
    assert isinstance(labels, da.Array)
    np.testing.assert_array_equal(labels.compute(), model.predict(data))
    assert abs(model.score(data) - full.score(data)) < 0.01 * abs(full.score(data))


def test_mini_batch_fit_of_a_dask_dataframe(local_scheduler, data):
    pd = pytest.importorskip("pandas")
    dd = pytest.importorskip("dask.dataframe")
    from gmmfast import MiniBatchGaussianMixture

    frame = pd.DataFrame(data, columns=["a", "b", "c"])
    ddf = dd.from_pandas(frame, npartitions=3)  # chunks of unknown size
    kwargs = dict(batch_size=500, max_iter=1, max_no_improvement=None, random_state=0,
                  **given_start(data, "full"))
    ours = MiniBatchGaussianMixture(N_COMPONENTS, **kwargs).fit(ddf)
    np.testing.assert_array_equal(ours.feature_names_in_, ["a", "b", "c"])
    assert ours.n_rows_seen_ == len(data) and ours.n_steps_ == 6
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # same feature names: no warning
        ours.predict(frame)


def test_mini_batch_bad_dask_input(local_scheduler, data):
    from gmmfast import MiniBatchGaussianMixture

    X = da.from_array(data, chunks=CHUNKS)
    model = MiniBatchGaussianMixture(N_COMPONENTS, random_state=0)
    # NaN is a missing value (tests/test_missing.py); infinity is an error.
    with pytest.raises(ValueError, match="infinity"):
        model.fit(da.from_array(np.where(np.arange(3000)[:, None] == 200, np.inf, data),
                                chunks=CHUNKS))
    with pytest.raises(ValueError, match="n_samples >= n_components"):
        MiniBatchGaussianMixture(5).fit(X[:4])
    with pytest.raises(ValueError, match="Negative values"):
        model.fit(X, sample_weight=da.from_array(-np.ones(len(data)), chunks=1000))
    with pytest.raises(TypeError, match="partial_fit takes one batch"):
        model.partial_fit(X)
    assert not hasattr(model, "n_steps_")
    model.partial_fit(data[:500])
    with pytest.raises(TypeError, match="partial_fit takes one batch"):
        model.partial_fit(X)
    assert model.n_steps_ == 1
    # A fit that fails on a chunk (here the last of the pass) leaves the model as it was.
    means = model.means_.copy()
    bad = np.where(np.arange(3000)[:, None] == 2999, np.inf, data)
    with pytest.raises(ValueError, match="infinity"):
        model.set_params(max_no_improvement=None, max_iter=1).fit(
            da.from_array(bad, chunks=CHUNKS))
    assert model.n_steps_ == 1 and model.n_iter_ == 0
    np.testing.assert_array_equal(model.means_, means)


def test_mini_batch_fits_dask_chunks_with_missing_values(local_scheduler, data):
    from gmmfast import MiniBatchGaussianMixture

    holes = data.copy()
    holes[np.random.default_rng(0).random(holes.shape) < 0.2] = np.nan
    model = MiniBatchGaussianMixture(N_COMPONENTS, batch_size=500, random_state=0)
    with ignore_convergence():
        model.fit(da.from_array(holes, chunks=CHUNKS))
    reference = fit(holes)
    assert abs(model.score(holes) - reference.score(holes)) < 0.02 * abs(reference.score(holes))
