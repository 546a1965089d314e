"""The compiled passes on data that exercises every structure of their blocks and sums.

The fits of the estimator tests run on a few thousand rows: one block per group of partial
sums, statistics smaller than one reduction chunk. Here the rows span many blocks per group,
a partial last block and a partial last group, a row count that is not a multiple of 8 (the
AVX2 listing's tail); the sums span several reduction chunks; full covariances with many
components and features shrink their blocks. Each pass is compared with a plain NumPy
reference at tolerances that a float64 accumulation meets and a float32 one does not.
"""

import math
import os

import numpy as np
import pytest
from scipy.special import logsumexp

from gmmfast import GaussianMixture, _kernels, _passes
from gmmfast._passes import PassArguments, s2_shape, statistics

from helpers import COVARIANCE_TYPES, DTYPES, ignore_convergence, make_blobs_data
from test_kernels import (
    assert_masses_close,
    random_model,
    reference_log_prob,
    reference_statistics,
)

# 40,003 rows: 157 blocks of 256 rows in 64 groups (two or three blocks each), the last block
# of 67 rows, and 40,003 = 8 * 5000 + 3.
N_SAMPLES = 40_003
# Entries of the second-moment sums per share of the reduction (see _kernels.pyx).
REDUCTION_CHUNK = 4096


def dyadic_data(n_samples, n_features, rng):
    """Rows whose values, differences, squares and sums are exact in float64 (and the values
    in float32): multiples of 2^-10 in [-8, 8]. A block's sums of their squares already
    need more than float32's 24 bits."""
    return rng.randint(-8192, 8193, size=(n_samples, n_features)) / 1024.0


def structure(n_samples, n_features, n_components, covariance_type):
    code = _kernels.COVARIANCE_CODES[covariance_type]
    rows, n_blocks, n_groups = _kernels.block_layout(n_samples, n_features, n_components, code)
    s2_size = math.prod(s2_shape(covariance_type, n_components, n_features))
    return rows, n_blocks, n_groups, s2_size


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_the_data_spans_every_structure(covariance_type):
    rows, n_blocks, n_groups, _ = structure(N_SAMPLES, 20, 12, covariance_type)
    assert n_blocks > 2 * n_groups and n_blocks % n_groups != 0
    assert N_SAMPLES % rows != 0 and N_SAMPLES % 8 != 0
    if covariance_type == "full":
        assert structure(N_SAMPLES, 20, 12, "full")[3] > REDUCTION_CHUNK
        rows, n_blocks, n_groups, s2_size = structure(3001, 65, 64, "full")
        assert rows < 256 and s2_size > 10 * REDUCTION_CHUNK and n_blocks % n_groups != 0


def given_statistics(X, w, resp, base, covariance_type, n_threads=2):
    n_components, n_features = base.shape
    dtype = X.dtype
    offsets = np.ascontiguousarray(base, dtype=dtype)
    s0, s1, s2 = _kernels.moments_of_responsibilities(
        X, w, resp, np.zeros(n_features, dtype=dtype), offsets, covariance_type, n_threads
    )
    return s0, s1.reshape(n_components, n_features), s2.reshape(
        s2_shape(covariance_type, n_components, n_features))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("n_features, n_components", [(3, 5), (20, 12)])
def test_moments_of_given_responsibilities_are_exact(dtype, covariance_type, weighted,
                                                     n_features, n_components):
    # Every term is exact and every float64 sum of them too: any lost term, any term added
    # twice, any partial sum kept in float32 changes the result.
    rng = np.random.RandomState(7)
    X = dyadic_data(N_SAMPLES, n_features, rng)
    labels = rng.randint(n_components, size=N_SAMPLES)
    resp = np.eye(n_components)[labels]
    # Weights whose square roots are exact (the full Gram matrices scale rows by them).
    w = rng.choice([0.25, 1.0, 4.0], size=N_SAMPLES) if weighted else None
    base = rng.randint(-16, 17, size=(n_components, n_features)) / 4.0
    s0, s1, s2 = given_statistics(X.astype(dtype), w, resp, base, covariance_type)
    r0, r1, r2 = reference_statistics(X, np.ones(N_SAMPLES) if w is None else w, resp, base,
                                      covariance_type)
    np.testing.assert_array_equal(s0, r0)
    np.testing.assert_array_equal(s1, r1)
    if dtype == np.float32 and covariance_type in ("full", "tied"):
        # float32 rows: each component's Gram matrix of a block is a float32 product (by
        # design), added to float64 sums: one float32 rounding per block and entry.
        np.testing.assert_allclose(s2, r2, rtol=0, atol=4e-7 * np.abs(r2).max())
    else:
        np.testing.assert_array_equal(s2, r2)


def em_reference(X, w, weights, means, cov, covariance_type, base):
    log_prob = reference_log_prob(X, weights, means, cov, covariance_type)
    norm = logsumexp(log_prob, axis=1)
    resp = np.exp(log_prob - norm[:, None])
    return (w @ norm, resp) + reference_statistics(X, w, resp, base, covariance_type)


# float64: sums of many rows in float64 around the means, the exponential and logarithm
# within a few ulps. float32: the rows' own rounding (x - shift and the log-density products
# in float32) moves each responsibility by about 1e-7.
EM_RTOL = {np.float64: 1e-11, np.float32: 2e-5}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("n_features, n_components", [(2, 3), (20, 12)])
def test_e_step_over_many_blocks_per_group_matches_reference(dtype, covariance_type,
                                                             weighted, n_features,
                                                             n_components):
    rng = np.random.RandomState(8)
    X = make_blobs_data(N_SAMPLES + 5, n_features, n_components=6, random_state=9)[:N_SAMPLES]
    weights, means, cov, chol = random_model(covariance_type, n_features, rng, n_components)
    w = rng.uniform(0.0, 3.0, size=N_SAMPLES) if weighted else None
    Xd = X.astype(dtype)
    args = PassArguments(weights, means, chol, covariance_type, dtype)
    s0, s1, s2, loglik = statistics(Xd, w, args, n_threads=2)
    wr = np.ones(N_SAMPLES) if w is None else w
    ref_ll, resp, r0, r1, r2 = em_reference(Xd.astype(np.float64), wr, weights, means, cov,
                                            covariance_type, args.base)
    rtol = EM_RTOL[dtype]
    np.testing.assert_allclose(loglik, ref_ll, rtol=rtol)
    assert_masses_close(s0, r0, wr, rtol)
    # Sums of terms of both signs: on the scale of the sums of their magnitudes.
    v = resp * wr[:, None]
    scale1 = np.stack([v[:, k] @ np.abs(X - args.base[k]) for k in range(n_components)])
    np.testing.assert_allclose(s1, r1, rtol=0, atol=rtol * scale1.max())
    np.testing.assert_allclose(s2, r2, rtol=0, atol=rtol * np.abs(r2).max())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("n_features, n_components", [(2, 3), (20, 12)])
def test_entropy_of_the_responsibilities_matches_reference(dtype, covariance_type,
                                                           n_features, n_components):
    # sum_i w_i sum_k r_ik log r_ik, asked of the E-step pass: the reference's over every
    # responsibility (the left-out ones add less than 45 x 2^-64 of a row's weight each).
    rng = np.random.RandomState(10)
    X = make_blobs_data(N_SAMPLES + 5, n_features, n_components=4,
                        random_state=12)[:N_SAMPLES].astype(dtype)
    weights, means, cov, chol = random_model(covariance_type, n_features, rng, n_components)
    w = rng.uniform(0.0, 3.0, size=N_SAMPLES)
    w[::7] = 0.0
    args = PassArguments(weights, means, chol, covariance_type, dtype)
    s0, s1, s2, loglik, entropy = statistics(X, w, args, n_threads=2, entropy=True)
    _, resp = em_reference(X.astype(np.float64), w, weights, means, cov, covariance_type,
                           args.base)[:2]
    with np.errstate(divide="ignore", invalid="ignore"):
        r_log_r = np.where(resp > 0, resp * np.log(resp), 0.0)
    reference = w @ r_log_r.sum(axis=1)
    assert reference < 0
    np.testing.assert_allclose(entropy, reference, rtol=EM_RTOL[dtype] * 10)
    # Asking for it changes nothing else, and it is the same for any number of threads.
    without = statistics(X, w, args, n_threads=3)
    for a, b in zip((s0, s1, s2, loglik), without):
        assert np.array_equal(a, b)
    assert statistics(X, w, args, n_threads=1, entropy=True)[4] == entropy


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_per_component_log_offset_enters_every_log_density(dtype, covariance_type):
    # log p(x, k) + c_k: the passes' log p(x), responsibilities and sums are those of the
    # reference log-densities plus c_k.
    rng = np.random.RandomState(13)
    n_components, n_features = 5, 6
    X = make_blobs_data(N_SAMPLES + 5, n_features, n_components=3,
                        random_state=14)[:N_SAMPLES].astype(dtype)
    weights, means, cov, chol = random_model(covariance_type, n_features, rng, n_components)
    offset = rng.uniform(-3.0, 3.0, size=n_components)
    args = PassArguments(weights, means, chol, covariance_type, dtype, log_offset=offset)
    log_prob = reference_log_prob(X.astype(np.float64), weights, means, cov,
                                  covariance_type) + offset
    norm = logsumexp(log_prob, axis=1)
    resp = np.exp(log_prob - norm[:, None])
    rtol = EM_RTOL[dtype] * 10
    _, got_resp, got_norm = _passes.evaluate(X, args, resp=True, log_prob=True, n_threads=2)
    np.testing.assert_allclose(got_norm, norm, rtol=rtol)
    np.testing.assert_allclose(got_resp, resp, atol=rtol)
    s0, _, _, loglik = statistics(X, None, args, n_threads=2)
    np.testing.assert_allclose(loglik, norm.sum(), rtol=rtol)
    assert_masses_close(s0, resp.sum(axis=0), np.ones(N_SAMPLES), rtol)


@pytest.mark.skipif(_kernels.row_listing() != "avx2", reason="the processor has no AVX2")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_avx2_and_plain_listings_give_the_same_bits(dtype, covariance_type):
    # 12 features: blocks of few features list no terms.
    X, w, args = _weighted_blobs(dtype, covariance_type, 12, 9, seed=15)
    assert_same_bits([_pass_outputs(X, w, args, listing) for listing in ("avx2", "plain")])


def _weighted_blobs(dtype, covariance_type, n_features, n_components, seed):
    """N_SAMPLES rows of blobs, a random model of as many components, random weights."""
    rng = np.random.RandomState(seed)
    X = make_blobs_data(N_SAMPLES + n_components, n_features, n_components=n_components,
                        random_state=seed + 1)[:N_SAMPLES].astype(dtype)
    weights, means, _, chol = random_model(covariance_type, n_features, rng, n_components)
    args = PassArguments(weights, means, chol, covariance_type, dtype)
    return X, rng.uniform(0.0, 2.0, size=N_SAMPLES), args


def _pass_outputs(X, w, args, listing=None):
    """The E-step's sums and every per-row output, on two threads."""
    return (_kernels.e_step(X, w, args.model, args.offsets, 2, True, listing)
            + _kernels.evaluate(X, args.model, labels=True, resp=True, log_prob=True,
                                n_threads=2, listing=listing))


def assert_same_bits(results):
    first, *others = results
    for other in others:
        for a, b in zip(first, other):
            assert np.array_equal(a, b)


def test_a_model_that_does_not_fit_the_rows_is_refused():
    rng = np.random.RandomState(17)
    weights, means, _, chol = random_model("full", 3, rng)
    args = PassArguments(weights, means, chol, "full", np.float64)
    with pytest.raises(TypeError, match="the model is float64 but the rows are float32"):
        _kernels.evaluate(np.zeros((5, 3), dtype=np.float32), args.model, labels=True)
    with pytest.raises(ValueError, match="the model has 3 features but the rows 4"):
        _kernels.evaluate(np.zeros((5, 4)), args.model, labels=True)
    model = args.model
    with pytest.raises(ValueError, match="precision must hold 36 numbers"):
        _kernels.Model("full", model.shift, model.precision[:-1], model.centers,
                       model.log_norm)
    with pytest.raises(TypeError, match="centers must be float64"):
        _kernels.Model("full", model.shift, model.precision,
                       model.centers.astype(np.float32), model.log_norm)
    with pytest.raises(ValueError, match="covariance_type must be one of"):
        _kernels.Model("round", model.shift, model.precision, model.centers, model.log_norm)


def test_full_covariances_with_shrunk_blocks_and_many_reduction_chunks():
    rng = np.random.RandomState(10)
    n_samples, n_features, n_components = 3001, 65, 64
    X = rng.standard_normal((n_samples, n_features))
    weights, means, cov, chol = random_model("full", n_features, rng, n_components)
    means *= 0.1  # components that overlap, so that every one has rows
    w = rng.uniform(0.5, 2.0, size=n_samples)
    args = PassArguments(weights, means, chol, "full", np.float64)
    s0, s1, s2, loglik = statistics(X, w, args, n_threads=2)
    ref_ll, resp, r0, r1, r2 = em_reference(X, w, weights, means, cov, "full", args.base)
    rtol = EM_RTOL[np.float64]
    np.testing.assert_allclose(loglik, ref_ll, rtol=rtol)
    assert_masses_close(s0, r0, w, rtol)
    np.testing.assert_allclose(s2, r2, rtol=0, atol=rtol * np.abs(r2).max())
    # Exact moments of given responsibilities through the same shrunk blocks and chunks.
    Xq = dyadic_data(n_samples, n_features, rng)
    labels = rng.randint(n_components, size=n_samples)
    onehot = np.eye(n_components)[labels]
    base = np.zeros((n_components, n_features))
    g0, g1, g2 = given_statistics(Xq, None, onehot, base, "full")
    e0, e1, e2 = reference_statistics(Xq, np.ones(n_samples), onehot, base, "full")
    np.testing.assert_array_equal(g0, e0)
    np.testing.assert_array_equal(g1, e1)
    np.testing.assert_array_equal(g2, e2)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_lower_bound_is_the_log_likelihood_before_the_last_m_step(dtype, covariance_type):
    # lower_bound_ of a fit of n iterations is the mean log-likelihood of the parameters
    # that the fit of n - 1 iterations returns (the same start, tol=0).
    X = make_blobs_data(N_SAMPLES + 1, 3, n_components=4, random_state=11)[:N_SAMPLES]
    X = X.astype(dtype)
    w = np.random.RandomState(12).uniform(0.5, 2.0, size=N_SAMPLES)
    kwargs = dict(n_components=4, covariance_type=covariance_type, tol=0.0, random_state=3)
    with ignore_convergence():
        before = GaussianMixture(max_iter=3, **kwargs).fit(X, sample_weight=w)
        after = GaussianMixture(max_iter=4, **kwargs).fit(X, sample_weight=w)
    cov = np.asarray(before.covariances_, dtype=np.float64)
    log_prob = reference_log_prob(X.astype(np.float64), before.weights_.astype(np.float64),
                                  before.means_.astype(np.float64), cov, covariance_type)
    expected = w @ logsumexp(log_prob, axis=1) / w.sum()
    np.testing.assert_allclose(after.lower_bound_, expected, rtol=EM_RTOL[dtype])
    np.testing.assert_allclose(after.lower_bounds_[:3], before.lower_bounds_, rtol=0)


def test_release_build_runs_in_parallel():
    """A build without OpenMP runs every pass on one thread: not a release build."""
    import gmmfast

    if os.environ.get("GMMFAST_ALLOW_NO_OPENMP") == "1":
        pytest.skip("GMMFAST_ALLOW_NO_OPENMP=1: a build without OpenMP is expected")
    assert gmmfast.parallel_info()["openmp"], (
        "gmmfast was built without OpenMP; install an OpenMP runtime and rebuild (or set "
        "GMMFAST_ALLOW_NO_OPENMP=1 for a deliberately serial build)"
    )


def test_build_keeps_each_multiplication_and_addition_rounded_apart():
    """The compiled versions of a loop give the same bits only without FMA contraction."""
    import gmmfast

    flags = gmmfast.show_config(mode="dicts")["build"]["c_flags"]
    if "MSVC" in gmmfast.show_config(mode="dicts")["build"].get("compiler", ""):
        pytest.skip("MSVC: no contraction flag is recorded")
    assert "-ffp-contract=off" in flags, flags


ALLOCATION_FAILURE = r"""
import resource, sys
import numpy as np
from gmmfast import _passes
from gmmfast._passes import PassArguments, statistics

def vm_size():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmSize:"))

rng = np.random.RandomState(0)
X = rng.standard_normal((1000, 1))
K = 4000   # per thread: log-densities, buckets and values of 256 rows x K, ~20 MB
args = PassArguments(np.full(K, 1.0 / K), rng.standard_normal((K, 1)), np.ones((K, 1)),
                     "diag", np.float64)
centres = rng.standard_normal((K, 1))
calls = {
    "statistics": lambda: statistics(X, None, args, n_threads=1),
    "evaluate": lambda: _passes.evaluate(X, args, log_prob=True, n_threads=1),
    "nearest": lambda: _passes.nearest_centre_sums(X, None, X.mean(axis=0), centres,
                                                   n_threads=1),
}
for name, call in calls.items():
    call()   # works without a limit; its imports and caches are made
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    resource.setrlimit(resource.RLIMIT_AS, (vm_size() + 4 * 1024 * 1024, hard))
    try:
        call()
    except MemoryError as error:
        print(name, "MemoryError", "free memory" in str(error))
    else:
        print(name, "no error")
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux's /proc")
def test_an_allocation_failure_in_a_pass_is_a_memory_error():
    # Under a memory limit just above what the process uses, the passes' per-thread
    # buffers cannot be allocated: a MemoryError that says what to do, not a crash.
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", ALLOCATION_FAILURE], capture_output=True,
                            text=True, timeout=120, cwd="/")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split("\n")[:3] == [
        "statistics MemoryError True", "evaluate MemoryError True", "nearest MemoryError True",
    ], result.stdout


@pytest.mark.skipif(len(_kernels.small_widths()) < 2,
                    reason="one version of the loops over few features runs here")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_every_vector_width_of_few_features_gives_the_same_bits(dtype, covariance_type):
    # Each version of the loops over few features (8, 4 or 2 float64 lanes to a vector)
    # keeps eight partial sums per sum over the rows: every output, bit for bit the same.
    # 7 features (the most held by columns but one), 11 components (tiles of 8, 4 and 2
    # components with some left over), rows past the last whole chunk, weights.
    X, w, args = _weighted_blobs(dtype, covariance_type, 7, 11, seed=23)
    results = []
    try:
        for width in _kernels.small_widths():
            _kernels.pin_small_width(width)
            results.append(_pass_outputs(X, w, args))
    finally:
        _kernels.pin_small_width(0)
    assert_same_bits(results)


@pytest.mark.skipif(len(_kernels.small_widths()) < 2,
                    reason="one version of the vector loops runs here")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_features", [13, 16])
@pytest.mark.parametrize("n_components", [11, 19])
def test_every_vector_width_gives_the_same_full_log_densities(dtype, n_features,
                                                              n_components):
    # The full log-densities' sums of squares go by vectors of components and tiles of as
    # many rows: in float64 (float64 rows, and float32 rows with holes) 8, 4 or 2
    # components to a vector, in float32 (complete float32 rows) 16 or 8; 11 and 19
    # components (some past the last vector at every width), 13 features (one past the
    # last four) and 16, rows past the last tile, the E-step's log-densities by component
    # and the per-row outputs by row; every output bit for bit the same, and the same as
    # the plain loop's (the baseline build's, compared by tools/fit_digests.py in CI).
    X, w, args = _weighted_blobs(dtype, "full", n_features, n_components, seed=41)
    holes = X.copy()
    holes[np.random.RandomState(42).uniform(size=X.shape) < 0.05] = np.nan
    results = []
    try:
        for width in _kernels.small_widths():
            _kernels.pin_small_width(width)
            results.append(_pass_outputs(X, w, args)
                           + _kernels.e_step(holes, w, args.model, args.offsets, 2, True,
                                             None, missing=True)
                           + _kernels.evaluate(holes, args.model, resp=True, log_prob=True,
                                               n_threads=2, missing=True))
    finally:
        _kernels.pin_small_width(0)
    assert_same_bits(results)


def test_a_width_that_does_not_run_here_is_refused():
    with pytest.raises(ValueError, match="small_widths"):
        _kernels.pin_small_width(3)


@pytest.mark.skipif(len(_kernels.small_widths()) < 2,
                    reason="one version of the vector loops runs here")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("covariance_type", ["full", "tied"])
@pytest.mark.parametrize("n_components", [8, 11, 29])
def test_every_vector_width_gives_the_same_fit_with_holes(dtype, covariance_type,
                                                          n_components):
    # Rows with missing features take their marginals in vectors of the components (8 or
    # 4 lanes, two side by side, then one, then the last lanes; the baseline's version
    # takes the loops over K numbers), 8, 11 and 29 components (a constant number, some
    # left past the last vector, and every kind of step at both widths); complete blocks
    # of 6 features take the loops over rows of the same version.
    rng = np.random.RandomState(29)
    X = make_blobs_data(6000, 6, n_components=n_components, random_state=30).astype(dtype)
    X[rng.uniform(size=X.shape) < 0.05] = np.nan
    X[:5000:50] = np.nan  # blocks of complete rows too, and some rows with no feature
    X[5000:] = np.where(np.isnan(X[5000:]), rng.normal(size=X[5000:].shape), X[5000:])
    fits = []
    try:
        for width in _kernels.small_widths():
            _kernels.pin_small_width(width)
            with ignore_convergence():
                gm = GaussianMixture(n_components, covariance_type=covariance_type,
                                     max_iter=4, tol=0.0, random_state=0).fit(X)
            fits.append((gm.weights_, gm.means_, gm.covariances_,
                         np.array(gm.lower_bounds_), gm.predict_proba(X),
                         gm.score_samples(X)))
    finally:
        _kernels.pin_small_width(0)
    assert_same_bits(fits)
