"""Data sets that ship with gmmfast: made by code, the same on every machine."""

import numpy as np


def make_demo_data(n_samples=200_000, n_features=8, n_components=6, random_state=0):
    """Rows drawn from a mixture of stretched, rotated Gaussian clusters.

    The default data set of ``gmmfast demo``: clusters of different sizes, orientations and
    spreads, so that a full-covariance mixture is the right model.

    Parameters
    ----------
    n_samples : int, default=200_000
    n_features : int, default=8
    n_components : int, default=6
    random_state : int, default=0

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float64
    labels : ndarray of shape (n_samples,)
        The cluster each row was drawn from.

    Examples
    --------
    >>> import numpy as np
    >>> from gmmfast.datasets import make_demo_data
    >>> X, labels = make_demo_data(n_samples=1000, n_features=3, n_components=4)
    >>> X.shape, np.unique(labels)
    ((1000, 3), array([0, 1, 2, 3]))
    """
    if n_samples < n_components:
        raise ValueError(
            f"n_samples={n_samples} must be at least n_components={n_components}"
        )
    rng = np.random.RandomState(random_state)
    proportions = rng.dirichlet(np.full(n_components, 4.0))
    counts = rng.multinomial(n_samples, proportions)
    centres = rng.uniform(-15.0, 15.0, size=(n_components, n_features))
    parts, labels = [], []
    for k, count in enumerate(counts):
        # A random rotation times random axis lengths: an anisotropic covariance.
        rotation, _ = np.linalg.qr(rng.standard_normal((n_features, n_features)))
        scales = rng.uniform(0.3, 2.0, size=n_features)
        parts.append(centres[k] + (rng.standard_normal((count, n_features)) * scales) @ rotation)
        labels.append(np.full(count, k))
    order = rng.permutation(n_samples)
    return np.vstack(parts)[order], np.concatenate(labels)[order]
