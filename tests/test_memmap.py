"""Memory-mapped files: fitted in place, block by block, in memory independent of N."""

import numpy as np
import pytest

from gmmfast import BayesianGaussianMixture, GaussianMixture, _kmeans

from helpers import DTYPES, ignore_convergence, peak_traced_memory, write_npy

N_FEATURES = 8
N_COMPONENTS = 3


def given_parameters():
    """A start that needs no pass over the data."""
    rng = np.random.default_rng(1)
    return dict(
        weights_init=np.full(N_COMPONENTS, 1.0 / N_COMPONENTS),
        means_init=rng.normal(scale=5.0, size=(N_COMPONENTS, N_FEATURES)),
        precisions_init=np.stack([np.eye(N_FEATURES) * 0.05] * N_COMPONENTS),
    )


def fit(X, estimator=GaussianMixture, **kwargs):
    with ignore_convergence():
        return estimator(n_components=N_COMPONENTS, random_state=0, **kwargs).fit(X)


def peak_memory_of_fit(X, **kwargs):
    return peak_traced_memory(fit, X, **kwargs)


@pytest.mark.parametrize("estimator", [GaussianMixture, BayesianGaussianMixture])
@pytest.mark.parametrize("dtype", DTYPES)
def test_memmap_fit_equals_in_memory_fit(tmp_path, dtype, estimator):
    X = write_npy(tmp_path / "X.npy", 6000, dtype)
    assert isinstance(X, np.memmap) and not X.flags.writeable
    in_memory = np.array(X)
    kwargs = dict(estimator=estimator, max_iter=20)
    ours, ref = fit(X, **kwargs), fit(in_memory, **kwargs)
    assert ours.n_iter_ == ref.n_iter_ and ours.lower_bounds_ == ref.lower_bounds_
    for name in ("weights_", "means_", "covariances_"):
        assert np.array_equal(getattr(ours, name), getattr(ref, name))
        assert getattr(ours, name).dtype == dtype
    np.testing.assert_array_equal(ours.predict(X), ref.predict(in_memory))


@pytest.mark.parametrize("start", ["given", "kmeans"])
@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_fit_memory_does_not_grow_with_rows(tmp_path, monkeypatch, covariance_type, start):
    small = write_npy(tmp_path / "small.npy", 20_000)
    large = write_npy(tmp_path / "large.npy", 200_000)  # 12.8 MB
    kwargs = dict(covariance_type=covariance_type, max_iter=3, tol=0.0)
    if start == "given":
        kwargs.update(given_parameters())
        if covariance_type == "diag":
            kwargs["precisions_init"] = np.full((N_COMPONENTS, N_FEATURES), 0.05)
    else:
        # k-means over every row keeps one float64 per row (the seeding's distance to the
        # nearest seed); it may keep each trial's too (SEEDING_BYTES), turned off here.
        monkeypatch.setattr(_kmeans, "SEEDING_BYTES", 0)
    fit(small, **kwargs)  # first-call caches are not part of a fit's memory
    peak_small = peak_memory_of_fit(small, **kwargs)
    peak_large = peak_memory_of_fit(large, **kwargs)
    # Ten times the rows: no copy of X and nothing with one entry per row (one number per
    # row of the large file would already be 1.6 MB), but for the k-means seeding's one.
    per_row = 0 if start == "given" else 8 * (len(large) - len(small))
    assert peak_large < large.nbytes / 50 + per_row
    assert peak_large <= peak_small + per_row + 64 * 1024


def test_fortran_ordered_memmap_is_read_in_place(tmp_path):
    X = write_npy(tmp_path / "F.npy", 60_000, order="F")
    assert X.flags.f_contiguous and not X.flags.c_contiguous
    kwargs = dict(max_iter=5, tol=0.0, **given_parameters())
    assert peak_memory_of_fit(X, **kwargs) < X.nbytes / 10
    ours, ref = fit(X, **kwargs), fit(np.ascontiguousarray(X), **kwargs)
    np.testing.assert_allclose(ours.lower_bounds_, ref.lower_bounds_, rtol=1e-12)
    np.testing.assert_allclose(ours.means_, ref.means_, rtol=1e-12)


def test_memmap_streamed_through_dask(tmp_path):
    da = pytest.importorskip("dask.array")
    dask = pytest.importorskip("dask")
    X = write_npy(tmp_path / "X.npy", 6000)
    kwargs = dict(max_iter=10, tol=0.0, **given_parameters())
    with dask.config.set(scheduler="threads"):
        ours = fit(da.from_array(X, chunks=(1500, N_FEATURES)), **kwargs)
    ref = fit(X, **kwargs)
    np.testing.assert_allclose(ours.lower_bounds_, ref.lower_bounds_, rtol=1e-9)
    np.testing.assert_allclose(ours.covariances_, ref.covariances_, rtol=1e-9)


def test_memmap_through_dask_memory_does_not_grow_with_rows(tmp_path, monkeypatch):
    da = pytest.importorskip("dask.array")
    dask = pytest.importorskip("dask")
    from gmmfast import _dask

    # The default initialisation runs on a sample of rows, of a size independent of N.
    monkeypatch.setattr(_dask, "INIT_SAMPLE_ROWS", 2000)
    small = write_npy(tmp_path / "small.npy", 20_000)
    large = write_npy(tmp_path / "large.npy", 200_000)
    kwargs = dict(max_iter=3, tol=0.0)
    with dask.config.set(scheduler="threads"):
        # As many chunks for both: Dask's own bookkeeping grows with the number of chunks.
        small, large = (da.from_array(X, chunks=(len(X) // 8, -1)) for X in (small, large))
        fit(small, **kwargs)  # first-call imports and caches
        peak_small = peak_memory_of_fit(small, **kwargs)
        peak_large = peak_memory_of_fit(large, **kwargs)
    assert peak_large < large.nbytes / 10
    # Dask's own bookkeeping grows with the number of k-means iterations, which differ
    # between the two data sets; one number per row would be 1.6 MB.
    assert peak_large <= peak_small + 256 * 1024
