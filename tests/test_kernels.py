"""The compiled passes against a plain NumPy reference."""

import numpy as np
import pytest
from scipy.special import logsumexp

from gmmfast import _kernels
from gmmfast._gaussian_mixture import _precision_cholesky_from_covariances
from gmmfast._passes import PassArguments, statistics

from helpers import COVARIANCE_TYPES, DTYPES, RTOL, make_blobs_data

N_COMPONENTS = 4


def random_model(covariance_type, n_features, rng, n_components=N_COMPONENTS):
    weights = rng.dirichlet(np.ones(n_components))
    means = 4.0 * rng.standard_normal((n_components, n_features))
    if covariance_type == "full":
        a = rng.standard_normal((n_components, n_features, n_features))
        cov = a @ a.transpose(0, 2, 1) + np.eye(n_features)
    elif covariance_type == "tied":
        a = rng.standard_normal((n_features, n_features))
        cov = a @ a.T + np.eye(n_features)
    elif covariance_type == "diag":
        cov = rng.uniform(0.5, 3.0, size=(n_components, n_features))
    else:
        cov = rng.uniform(0.5, 3.0, size=n_components)
    chol = _precision_cholesky_from_covariances(cov, covariance_type, np.float64)
    return weights, means, cov, chol


def reference_log_prob(X, weights, means, cov, covariance_type):
    """log p(x, k) straight from the definition of the Gaussian density."""
    n_features = X.shape[1]
    out = np.empty((X.shape[0], len(weights)))
    for k in range(len(weights)):
        if covariance_type == "full":
            ck = cov[k]
        elif covariance_type == "tied":
            ck = cov
        elif covariance_type == "diag":
            ck = np.diag(cov[k])
        else:
            ck = cov[k] * np.eye(n_features)
        diff = X - means[k]
        maha = np.einsum("ij,ij->i", diff @ np.linalg.inv(ck), diff)
        _, logdet = np.linalg.slogdet(ck)
        out[:, k] = np.log(weights[k]) - 0.5 * (n_features * np.log(2 * np.pi) + logdet + maha)
    return out


def reference_statistics(X, w, resp, base, covariance_type):
    v = resp * w[:, None]
    s0 = v.sum(0)
    s1 = np.stack([v[:, k] @ (X - base[k]) for k in range(len(s0))])
    if covariance_type in ("full", "tied"):
        s2 = np.stack([(X - base[k]).T @ ((X - base[k]) * v[:, k:k + 1]) for k in range(len(s0))])
        if covariance_type == "tied":
            s2 = s2.sum(0)
    else:
        s2 = np.stack([v[:, k] @ (X - base[k]) ** 2 for k in range(len(s0))])
    return s0, s1, s2


def assert_masses_close(s0, r0, w, rtol):
    """s0 against the reference: relative, except that the responsibilities below 2^-64
    may be left out (at most K 2^-64 of each row's weight, all of a dead component's)."""
    np.testing.assert_allclose(s0, r0, rtol=rtol, atol=len(s0) * 2.0 ** -64 * np.sum(w))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("weighted", [False, True])
# Plain loops up to 4 features, BLAS beyond; 12 and 19 features make several column blocks
# of the triangular product and (19) a remainder after groups of four features; 11
# components make one full group of eight lanes and a remainder.
@pytest.mark.parametrize("n_features", [1, 3, 5, 8, 9, 12, 19])
@pytest.mark.parametrize("n_components", [N_COMPONENTS, 11])
def test_statistics_pass_matches_reference(dtype, covariance_type, weighted, n_features,
                                           n_components):
    check_statistics(dtype, covariance_type, weighted, n_features, n_components)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("covariance_type", ["full", "tied"])
@pytest.mark.parametrize("n_components", [1, 4])
def test_second_moments_of_many_features(dtype, covariance_type, n_components):
    """64 features: the Gram matrices of the blocks' rows as general products (a few rows
    of each of 4 components) and as one triangle (64 x 64 x 256 multiply-adds and more:
    tied, and full with one component) give the reference's sums."""
    check_statistics(dtype, covariance_type, True, 64, n_components)


def check_statistics(dtype, covariance_type, weighted, n_features, n_components):
    """The statistics pass (2 threads, 5,000 rows) against reference_statistics."""
    rng = np.random.RandomState(1)
    X = make_blobs_data(n_samples=5000, n_features=n_features, random_state=2)
    weights, means, cov, chol = random_model(covariance_type, n_features, rng, n_components)
    w = rng.uniform(0, 3, size=len(X)) if weighted else None
    Xd = X.astype(dtype)
    args = PassArguments(weights, means, chol, covariance_type, dtype)
    s0, s1, s2, loglik = statistics(Xd, w, args, n_threads=2)

    Xr = Xd.astype(np.float64)
    wr = np.ones(len(X)) if w is None else w
    log_prob = reference_log_prob(Xr, weights, means, cov, covariance_type)
    norm = logsumexp(log_prob, axis=1)
    resp = np.exp(log_prob - norm[:, None])
    r0, r1, r2 = reference_statistics(Xr, wr, resp, args.base, covariance_type)
    rtol = RTOL[dtype] * 10
    np.testing.assert_allclose(loglik, wr @ norm, rtol=rtol)
    assert_masses_close(s0, r0, wr, rtol)
    # s1 sums terms of both signs: compare on the scale of the sum of magnitudes.
    scale1 = np.abs(resp * wr[:, None]).T @ np.abs(Xr).max(axis=1)[:, None]
    np.testing.assert_allclose(s1, r1, rtol=0, atol=rtol * scale1.max())
    np.testing.assert_allclose(s2, r2, rtol=rtol, atol=rtol * np.abs(r2).max())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
# 8 components at a time in the AVX2 listing: fewer, exactly 8 or 16, one more, several.
# The AVX2 and plain listings give the same bits: tools/compare_variants.sh builds the
# plain one (GMMFAST_VARIANT 1) and compares whole fits.
@pytest.mark.parametrize("n_components", [1, 7, 8, 16, 17, 40])
def test_listing_of_the_rows_that_count(dtype, covariance_type, n_components):
    assert _kernels.row_listing() in ("avx2", "plain")
    rng = np.random.RandomState(3)
    # 9 features: blocks of few features (8 or fewer) take every term, without a listing.
    X = make_blobs_data(n_samples=3003, n_features=9, random_state=4).astype(dtype)
    weights, means, cov, chol = random_model(covariance_type, 9, rng, n_components)
    args = PassArguments(weights, means, chol, covariance_type, dtype)
    s0, _, s2, _ = statistics(X, None, args, n_threads=2)
    Xr = X.astype(np.float64)
    log_prob = reference_log_prob(Xr, weights, means, cov, covariance_type)
    resp = np.exp(log_prob - logsumexp(log_prob, axis=1)[:, None])
    r0, _, r2 = reference_statistics(Xr, np.ones(len(X)), resp, args.base, covariance_type)
    rtol = RTOL[dtype] * 10
    assert_masses_close(s0, r0, np.ones(len(X)), rtol)
    np.testing.assert_allclose(s2, r2, rtol=rtol, atol=rtol * np.abs(r2).max())


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_every_row_keeps_its_weight_at_extreme_log_densities(covariance_type):
    # Log-densities of order -1e300: m - 64 ln 2 rounds to m, yet the most likely
    # component of each row must still be listed.
    rng = np.random.RandomState(0)
    X = rng.standard_normal((1000, 6))
    n_components = 3
    means = rng.standard_normal((n_components, 6))
    chol = {"full": np.stack([np.eye(6) * 1e150] * n_components), "tied": np.eye(6) * 1e150,
            "diag": np.full((n_components, 6), 1e150),
            "spherical": np.full(n_components, 1e150)}[covariance_type]
    args = PassArguments(np.ones(n_components) / n_components, means, chol, covariance_type,
                         np.float64)
    s0, s1, s2, _ = statistics(X, None, args, n_threads=2)
    assert s0.sum() == len(X)
    assert np.isfinite(s1).all() and np.isfinite(s2).all()
    # p(x, k) = 0 for every k: each row goes to its first component, log p(x) = -inf.
    args = PassArguments(np.ones(n_components) / n_components, means, chol / 1e150,
                         covariance_type, np.float64, log_offset=np.full(n_components, -np.inf))
    s0, s1, s2, loglik = statistics(X, None, args, n_threads=2)
    np.testing.assert_array_equal(s0, [len(X), 0, 0])
    assert loglik == -np.inf
    assert np.isfinite(s1).all() and np.isfinite(s2).all()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_given_responsibilities(dtype, covariance_type):
    rng = np.random.RandomState(3)
    X = rng.standard_normal((1500, 4)).astype(dtype)
    resp = rng.dirichlet(np.ones(N_COMPONENTS), size=len(X))
    base = rng.standard_normal((N_COMPONENTS, 4)).astype(dtype)
    s0, s1, s2 = _kernels.moments_of_responsibilities(
        X, None, resp, np.zeros(4, dtype=dtype), base, covariance_type, 2
    )
    r0, r1, r2 = reference_statistics(
        X.astype(np.float64), np.ones(len(X)), resp, base.astype(np.float64), covariance_type
    )
    rtol = RTOL[dtype] * 10
    np.testing.assert_allclose(s0, r0, rtol=rtol)
    np.testing.assert_allclose(s1.reshape(r1.shape), r1, rtol=rtol, atol=rtol * len(X))
    np.testing.assert_allclose(s2.reshape(r2.shape), r2, rtol=rtol)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("n_features", [2, 7, 8, 13])
@pytest.mark.parametrize("n_components", [N_COMPONENTS, 17])
def test_evaluate_pass_matches_reference(dtype, covariance_type, n_features, n_components):
    rng = np.random.RandomState(4)
    X = make_blobs_data(n_samples=2000, n_features=n_features, random_state=5).astype(dtype)
    weights, means, cov, chol = random_model(covariance_type, n_features, rng, n_components)
    args = PassArguments(weights, means, chol, covariance_type, dtype)
    labels, resp, norm = _kernels.evaluate(X, args.model, True, True, True, 2)
    assert resp.dtype == dtype
    log_prob = reference_log_prob(X.astype(np.float64), weights, means, cov, covariance_type)
    ref_norm = logsumexp(log_prob, axis=1)
    rtol = RTOL[dtype] * 10
    np.testing.assert_allclose(norm, ref_norm, rtol=rtol)
    np.testing.assert_allclose(resp, np.exp(log_prob - ref_norm[:, None]), atol=rtol)
    # Labels agree wherever the top two components are not within rounding of each other.
    top2 = np.sort(log_prob, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 1e-3
    np.testing.assert_array_equal(labels[clear], log_prob.argmax(axis=1)[clear])
    # Each output alone (log p(x) alone takes its own path, from the terms that count).
    no_labels, no_resp, alone = _kernels.evaluate(X, args.model, log_prob=True, n_threads=2)
    assert no_labels.shape == (0,) and no_resp.shape == (0, 0)
    np.testing.assert_allclose(alone, ref_norm, rtol=rtol)
    np.testing.assert_allclose(alone, norm, rtol=1e-13)
    only_labels = _kernels.evaluate(X, args.model, labels=True, n_threads=2)[0]
    np.testing.assert_array_equal(only_labels, labels)


def test_evaluate_pass_writes_only_what_is_asked():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((700, 2))
    weights, means, _, chol = random_model("diag", 2, rng)
    args = PassArguments(weights, means, chol, "diag", np.float64)
    labels, resp, log_prob = _kernels.evaluate(X, args.model, labels=True)
    assert resp.shape == (0, 0) and log_prob.shape == (0,)
    assert labels.min() >= 0 and labels.max() < N_COMPONENTS


def test_strided_and_fortran_input_need_no_copy():
    import tracemalloc

    rng = np.random.RandomState(0)
    base = rng.standard_normal((120_000, 6))
    weights, means, _, chol = random_model("full", 3, rng)
    args = PassArguments(weights, means, chol, "full", np.float64)
    # Columns apart, Fortran order, rows apart with their columns side by side (which the
    # read of C-contiguous rows must not take for contiguous), and both orders reversed.
    for view in (base[:, ::2], np.asfortranarray(base[:, ::2]), base[:, 1:4],
                 base[::-1, 4::-2]):
        expected = statistics(np.ascontiguousarray(view), None, args)
        tracemalloc.start()
        got = statistics(view, None, args)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        # A copy of the view would be 2.9 MB.
        assert peak < view.nbytes / 8, peak
        for a, b in zip(got, expected):
            np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("n_features", [3, 12])
def test_reversed_views_give_the_bits_of_their_copies(n_features):
    # Negative strides (rows and columns read backwards) through every purpose of the
    # pass: the fit's sums, the labels, the responsibilities and the log-densities.
    from gmmfast import GaussianMixture

    rng = np.random.RandomState(1)
    base = rng.standard_normal((5_000, 2 * n_features))
    for view in (base[::-1, ::-2], base[::-1, :n_features], base[:, n_features - 1::-1]):
        copy = np.ascontiguousarray(view)
        ours = GaussianMixture(3, max_iter=3, tol=0, random_state=0).fit(view)
        theirs = GaussianMixture(3, max_iter=3, tol=0, random_state=0).fit(copy)
        assert ours.lower_bound_ == theirs.lower_bound_
        np.testing.assert_array_equal(ours.means_, theirs.means_)
        np.testing.assert_array_equal(ours.predict(view), ours.predict(copy))
        np.testing.assert_array_equal(ours.predict_proba(view), ours.predict_proba(copy))
        np.testing.assert_array_equal(ours.score_samples(view), ours.score_samples(copy))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_features", [3, 12])
def test_default_fit_does_not_depend_on_the_layout(n_features, dtype):
    # The k-means start works around the column means, which must not depend on the
    # order in which the rows' numbers lie (float32 means along axis 0 did).
    from gmmfast import GaussianMixture

    X = make_blobs_data(30_000, n_features, 4, random_state=5).astype(dtype)
    fits = [GaussianMixture(4, random_state=0).fit(rows)
            for rows in (X, np.asfortranarray(X))]
    assert fits[0].lower_bound_ == fits[1].lower_bound_
    np.testing.assert_array_equal(fits[0].means_, fits[1].means_)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_features", [1, 2, 3, 4, 8])
def test_contiguous_rows_give_the_bits_of_strided_ones(n_features, dtype, covariance_type):
    # C-contiguous rows of these widths are read into the blocks' columns by a loop of
    # constant width; rows apart (a view of every other column) by the loop by columns.
    from gmmfast import GaussianMixture

    X = make_blobs_data(2_000, n_features, 3, random_state=4).astype(dtype)
    wide = np.zeros((len(X), 2 * n_features), dtype=dtype)
    wide[:, ::2] = X
    strided = wide[:, ::2]
    start = GaussianMixture(3, covariance_type=covariance_type, max_iter=1,
                            random_state=0).fit(X)
    given = dict(weights_init=start.weights_, means_init=start.means_,
                 precisions_init=start.precisions_)
    fits = [GaussianMixture(3, covariance_type=covariance_type, max_iter=3, tol=0,
                            **given).fit(rows) for rows in (X, strided)]
    assert fits[0].lower_bound_ == fits[1].lower_bound_
    np.testing.assert_array_equal(fits[0].means_, fits[1].means_)
    np.testing.assert_array_equal(fits[0].covariances_, fits[1].covariances_)
    model = fits[0]
    np.testing.assert_array_equal(model.predict(X), model.predict(strided))
    np.testing.assert_array_equal(model.predict_proba(X), model.predict_proba(strided))
    np.testing.assert_array_equal(model.score_samples(X), model.score_samples(strided))


def test_block_layout_depends_on_sizes_only():
    rows, n_blocks, n_groups = _kernels.block_layout(100_000, 16, 16, 0)
    assert rows * n_blocks >= 100_000 > rows * (n_blocks - 1)
    assert 1 <= n_groups <= n_blocks
    assert _kernels.block_layout(10, 2, 2, 2) == (256, 1, 1)


def test_parallel_info():
    import gmmfast

    info = gmmfast.parallel_info()
    assert isinstance(info["openmp"], bool)
    assert info["n_threads"] >= 1


def test_exponential_is_accurate_to_about_one_ulp():
    x = np.concatenate([-np.logspace(-12, np.log10(707.9), 20_000), np.linspace(-40, 0, 4001)])
    got = _kernels.elementwise("exp", x)
    ref = np.exp(x)
    assert np.max(np.abs(got - ref) / ref) < 3 * np.finfo(np.float64).eps
    np.testing.assert_array_equal(_kernels.elementwise("exp", np.array([0.0, -709.0, -np.inf])),
                                  [1.0, 0.0, 0.0])
    assert np.isnan(_kernels.elementwise("exp", np.array([np.nan]))[0])


def test_logarithm_of_sums_is_accurate_to_about_one_ulp():
    rng = np.random.RandomState(0)
    x = np.concatenate([1.0 + np.logspace(-15, 0, 5000), np.logspace(0, 300, 20_000)[1:],
                        rng.uniform(1.0, 64.0, 20_000), np.sqrt([0.5, 2.0]) * 2.0,
                        np.nextafter(np.sqrt(2.0), [0.0, 3.0])])
    got = _kernels.elementwise("log", x)
    ref = np.log(x)
    err = np.abs(got - ref)
    # Relative to the result, and near x = 1 (log x -> 0) relative to its first term.
    assert np.max(err / np.maximum(ref, x - 1.0)) < 3 * np.finfo(np.float64).eps
    assert _kernels.elementwise("log", np.array([1.0]))[0] == 0.0
    special = _kernels.elementwise("log", np.array([np.inf, np.nan]))
    assert special[0] == np.inf and np.isnan(special[1])


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_nearest_centre_statistics(covariance_type):
    from gmmfast._passes import statistics_of_nearest

    rng = np.random.RandomState(5)
    X = make_blobs_data(n_samples=3000, n_features=3, random_state=6)
    centres = X[rng.choice(len(X), N_COMPONENTS, replace=False)]
    w = rng.uniform(0.5, 2.0, size=len(X))
    s0, s1, s2, base = statistics_of_nearest(X, w, centres, centres + 0.1, covariance_type)
    distances = ((X[:, None, :] - centres[None]) ** 2).sum(-1)
    resp = np.eye(N_COMPONENTS)[distances.argmin(axis=1)]
    r0, r1, r2 = reference_statistics(X, w, resp, base, covariance_type)
    np.testing.assert_allclose(s0, r0, rtol=1e-12)
    np.testing.assert_allclose(s1, r1, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(s2, r2, rtol=1e-9)
