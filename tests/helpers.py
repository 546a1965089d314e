import tracemalloc
import warnings
from contextlib import contextmanager

import numpy as np
from sklearn.exceptions import ConvergenceWarning

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
DTYPES = [np.float64, np.float32]
# Relative tolerance against scikit-learn / the NumPy reference, by dtype.
RTOL = {np.float64: 1e-7, np.float32: 1e-4}


def full_covariances(covariances, covariance_type, n_components, n_features):
    """Each component's covariance as a (K, D, D) array, whatever the covariance type."""
    if covariance_type == "full":
        return np.asarray(covariances)
    if covariance_type == "tied":
        return np.broadcast_to(covariances, (n_components, n_features, n_features))
    if covariance_type == "diag":
        return np.array([np.diag(c) for c in covariances])
    return np.array([np.eye(n_features) * c for c in covariances])


def with_holes(X, fraction, seed=0):
    """X with a fraction of its entries missing completely at random, one row with a single
    observed feature and one with none."""
    rng = np.random.default_rng(seed)
    X = X.copy()
    X[rng.random(X.shape) < fraction] = np.nan
    X[3] = np.nan
    X[7, 1:] = np.nan
    return X


def make_blobs_data(n_samples=3000, n_features=3, n_components=3, random_state=0, offset=0.0):
    """Anisotropic clusters; more rows than one block of the compiled passes."""
    rng = np.random.RandomState(random_state)
    per = n_samples // n_components
    parts = []
    for _ in range(n_components):
        transform = rng.standard_normal((n_features, n_features)) * 0.6
        parts.append(rng.standard_normal((per, n_features)) @ transform
                     + 4.0 * rng.standard_normal(n_features))
    X = np.vstack(parts)
    return X[rng.permutation(len(X))] + offset


# Rows written at a time by write_npy.
WRITE_ROWS = 10_000


def write_npy(path, n_samples, dtype=np.float64, order="C", n_features=8, n_components=3):
    """An .npy file of Gaussian clusters, written block by block through a memory map, opened
    again read-only as a memory map."""
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=5.0, size=(n_components, n_features))
    X = np.lib.format.open_memmap(
        path, mode="w+", dtype=dtype, shape=(n_samples, n_features),
        fortran_order=order == "F",
    )
    for start in range(0, n_samples, WRITE_ROWS):
        stop = min(start + WRITE_ROWS, n_samples)
        labels = rng.integers(n_components, size=stop - start)
        X[start:stop] = centres[labels] + rng.standard_normal((stop - start, n_features))
    X.flush()
    del X
    return np.load(path, mmap_mode="r")


def peak_traced_memory(function, *args, **kwargs):
    """Peak of the memory Python allocates while ``function(*args, **kwargs)`` runs
    (memory-mapped pages are not counted: the operating system evicts them as needed)."""
    tracemalloc.start()
    try:
        function(*args, **kwargs)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def expected_failed_checks(estimator):
    """The scikit-learn estimator checks a mixture is expected to fail, with the reasons."""
    if estimator.init_params in ("k-means++", "random", "random_from_data"):
        # Random responsibilities or seeds drawn in proportion to the weights cannot use
        # the same random draws as the same initialisation on repeated rows.
        return {"check_sample_weight_equivalence_on_dense_data":
                "random initialisation differs between weights and repeated rows"}
    if estimator.n_components > 1:
        # The check shuffles the weighted rows, and k-means++ draws its seeds by position
        # in the rows: in another order it draws other seeds (scikit-learn's KMeans
        # expects the same failure). In the same order, integer weights give the start of
        # the repeated rows (tests/test_kmeans.py).
        return {"check_sample_weight_equivalence_on_dense_data":
                "k-means++ seeds depend on the order of the rows, which the check shuffles"}
    return {}


@contextmanager
def ignore_convergence():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def reference_mean_log_likelihood(model, X, sample_weight=None):
    """sum_i w_i log p(x_i) / sum_i w_i under a fitted model's parameters, in plain NumPy
    (float64), straight from the Gaussian density."""
    from scipy.special import logsumexp

    X = np.asarray(X, dtype=np.float64)
    weights = np.asarray(model.weights_, dtype=np.float64)
    means = np.asarray(model.means_, dtype=np.float64)
    cov = np.asarray(model.covariances_, dtype=np.float64)
    n_features = X.shape[1]
    log_prob = np.empty((len(X), len(weights)))
    for k in range(len(weights)):
        ck = {"full": lambda: cov[k], "tied": lambda: cov,
              "diag": lambda: np.diag(cov[k]),
              "spherical": lambda: cov[k] * np.eye(n_features)}[model.covariance_type]()
        diff = X - means[k]
        maha = np.einsum("ij,ij->i", diff @ np.linalg.inv(ck), diff)
        logdet = np.linalg.slogdet(ck)[1]
        log_prob[:, k] = np.log(weights[k]) - 0.5 * (n_features * np.log(2 * np.pi) + logdet
                                                     + maha)
    w = np.ones(len(X)) if sample_weight is None else np.asarray(sample_weight, float)
    return float(w @ logsumexp(log_prob, axis=1) / w.sum())


def assert_lower_bound_invariant(cls, kwargs, model, X, sample_weight=None, rtol=1e-7):
    """lower_bound_ of ``model`` (fitted with ``cls(**kwargs)``, n iterations) is the mean
    log-likelihood of the parameters a fit of n - 1 iterations from the same start returns:
    the bound of the E-step before the last M-step."""
    if model.n_iter_ < 2:
        return
    with ignore_convergence():
        before = cls(**{**kwargs, "max_iter": model.n_iter_ - 1, "tol": 0.0}).fit(
            X, sample_weight=sample_weight)
    expected = reference_mean_log_likelihood(before, X, sample_weight)
    np.testing.assert_allclose(model.lower_bound_, expected, rtol=rtol)
