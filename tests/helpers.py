import warnings
from contextlib import contextmanager

import numpy as np
from sklearn.exceptions import ConvergenceWarning

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
DTYPES = [np.float64, np.float32]
# Relative tolerance against scikit-learn / the NumPy reference, by dtype.
RTOL = {np.float64: 1e-7, np.float32: 1e-4}


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




@contextmanager
def ignore_convergence():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield
