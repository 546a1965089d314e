"""The same model, bit for bit, whatever the number of threads."""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from gmmfast import GaussianMixture, _kernels
from gmmfast._passes import PassArguments, statistics

from helpers import COVARIANCE_TYPES, DTYPES, ignore_convergence, make_blobs_data

# Enough rows for many blocks and groups, so that several threads really share the work.
N_SAMPLES = 40_000


# 5 features: blocks held column by column (8 features or fewer); 12: the blocked products.
@pytest.fixture(scope="module", params=[5, 12])
def data(request):
    return make_blobs_data(n_samples=N_SAMPLES, n_features=request.param, n_components=4,
                           random_state=11)


def test_data_spans_many_groups(data):
    for code in range(4):
        _, n_blocks, n_groups = _kernels.block_layout(len(data), data.shape[1], 4, code)
        assert n_groups >= 8 and n_blocks >= n_groups


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_statistics_pass_is_thread_count_independent(data, dtype, covariance_type):
    X = data.astype(dtype)
    model = GaussianMixture(4, covariance_type=covariance_type, max_iter=1, random_state=0)
    with ignore_convergence():
        model.fit(X[:2000])
    args = PassArguments(model.weights_, model.means_, model.precisions_cholesky_,
                          covariance_type, dtype)
    w = np.random.RandomState(0).uniform(size=len(X))
    results = [statistics(X, w, args, n_threads=t) for t in (1, 2, 3, 5)]
    for other in results[1:]:
        for a, b in zip(results[0], other):
            assert np.array_equal(a, b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_fitted_model_is_thread_count_independent(data, dtype, covariance_type):
    X = data.astype(dtype)
    models = []
    for n_threads in (1, 2, 3):
        with threadpool_limits(limits=n_threads, user_api="openmp"), ignore_convergence():
            models.append(GaussianMixture(4, covariance_type=covariance_type, random_state=0,
                                          max_iter=20).fit(X))
    for other in models[1:]:
        assert other.n_iter_ == models[0].n_iter_
        assert other.lower_bounds_ == models[0].lower_bounds_
        for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
            assert np.array_equal(getattr(other, name), getattr(models[0], name))
        assert np.array_equal(other.score_samples(X), models[0].score_samples(X))


def test_threadpool_limits_reach_the_compiled_passes():
    import gmmfast

    if not gmmfast.parallel_info()["openmp"]:
        pytest.skip("built without OpenMP")
    with threadpool_limits(limits=1, user_api="openmp"):
        assert gmmfast.parallel_info()["n_threads"] == 1
    with threadpool_limits(limits=3, user_api="openmp"):
        assert gmmfast.parallel_info()["n_threads"] == 3
