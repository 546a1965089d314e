"""Data and starting points shared by the benchmark classes.

Sizes grow with ``GMMFAST_BENCH_LARGE=1`` (millions of rows); the default sizes keep a whole
``asv run`` within minutes on two cores.
"""

import os
import warnings

import numpy as np

LARGE = os.environ.get("GMMFAST_BENCH_LARGE", "") not in ("", "0")

SIZES = (
    {"small": (20_000, 8, 8), "medium": (300_000, 16, 16), "large": (1_000_000, 16, 16)}
    if LARGE
    else {"small": (20_000, 8, 8), "medium": (100_000, 16, 16)}
)


# MiniBatchGaussianMixture against full-batch EM; the large size is the case.
MINI_BATCH_SIZES = (
    {"small": (20_000, 8, 8), "medium": (300_000, 16, 16), "large": (3_000_000, 16, 16)}
    if LARGE
    else {"small": (20_000, 8, 8), "medium": (300_000, 16, 16)}
)


def make_data(n_samples, n_features, n_components, dtype, seed=0, centre_range=8.0):
    """Rows from anisotropic clusters, in the dtype asked for; their centres are uniform in
    [-centre_range, centre_range] per feature (a small range makes them overlap)."""
    rng = np.random.RandomState(seed)
    centres = rng.uniform(-centre_range, centre_range, size=(n_components, n_features))
    labels = rng.randint(n_components, size=n_samples)
    X = rng.standard_normal((n_samples, n_features))
    X *= rng.uniform(0.3, 1.5, size=(n_components, n_features))[labels]
    X += centres[labels]
    return np.ascontiguousarray(X, dtype=dtype)


def start(X, n_components, covariance_type):
    """A fixed start (means on data rows, unit precisions) so that timings exclude init."""
    rng = np.random.RandomState(1)
    n_features = X.shape[1]
    means = X[rng.choice(len(X), n_components, replace=False)].astype(np.float64)
    precisions = {
        "full": np.tile(np.eye(n_features), (n_components, 1, 1)),
        "tied": np.eye(n_features),
        "diag": np.ones((n_components, n_features)),
        "spherical": np.ones(n_components),
    }[covariance_type]
    return dict(
        weights_init=np.full(n_components, 1.0 / n_components),
        means_init=means,
        precisions_init=precisions,
    )


def quiet():
    warnings.simplefilter("ignore")
