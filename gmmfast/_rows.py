"""The rows a mixture is fitted to: what the EM loop asks of its data.

The estimator's loop needs four things of the data: its size, the sufficient statistics of
one EM step, the statistics of an initialisation, and labels. ``InMemoryRows`` answers them
for an array in memory (or memory-mapped) with the compiled passes; other kinds of data
answer the same questions their own way.
"""

import numpy as np

from . import _kmeans, _passes

# Rows of responsibilities materialised at a time when they are given rather than computed
# (initialisation from k-means labels or random responsibilities).
RESP_CHUNK_ROWS = 1 << 13


class InMemoryRows:
    """A validated float32/float64 array X (any strides) and optional sample weights."""

    def __init__(self, X, sample_weight=None):
        self.X = X
        self.sample_weight = sample_weight
        self.n_samples, self.n_features = X.shape
        self.dtype = X.dtype
        self.n_total = float(self.n_samples if sample_weight is None else sample_weight.sum())

    def statistics(self, args):
        """(s0, s1, s2, loglik) of one E-step under the model ``args``."""
        return _passes.statistics(self.X, self.sample_weight, args)

    def labels(self, args):
        """Most likely component of each row."""
        return _passes.evaluate(self.X, args, labels=True)[0]

    def initial_statistics(self, init_params, n_components, covariance_type, random_state):
        """(s0, s1, s2, base) of scikit-learn's initial responsibilities.

        'kmeans' (nearest k-means centre) and 'random' (uniform responsibilities) weigh
        every row; 'k-means++' and 'random_from_data' give one seed row to each component.
        No n_samples x n_components array is formed: the responsibilities are made in
        chunks, or by the compiled pass.
        """
        X, sample_weight = self.X, self.sample_weight
        n_samples = self.n_samples
        if init_params == "kmeans":
            centres = self.kmeans_centres(n_components, random_state)
            return kmeans_statistics(self, centres, covariance_type)
        if init_params == "random":
            state = random_state.get_state()

            def chunks():
                # The same draws in each pass: rewind the generator to where it started.
                random_state.set_state(state)
                for start in range(0, n_samples, RESP_CHUNK_ROWS):
                    stop = min(start + RESP_CHUNK_ROWS, n_samples)
                    block = random_state.uniform(size=(stop - start, n_components))
                    block = block.astype(self.dtype)
                    block /= block.sum(axis=1)[:, np.newaxis]
                    yield start, stop, block

            rows, weight = X, sample_weight
        else:
            if init_params == "random_from_data":
                p = None if sample_weight is None else sample_weight / sample_weight.sum()
                indices = random_state.choice(n_samples, size=n_components, replace=False, p=p)
            else:
                # scikit-learn's kmeans_plusplus seeds, drawn around the column means.
                _, indices = _kmeans.kmeans_plusplus(
                    X, sample_weight, self.column_mean(), n_components, random_state
                )
            # One seed row per component, each with responsibility one.
            rows, weight = X[indices], None

            def chunks():
                yield 0, n_components, np.eye(n_components)

        # First the means (sums around the origin), then the sums around them.
        eps = float(np.finfo(self.dtype).eps)
        origin = np.zeros((n_components, self.n_features))
        s0, s1, _, _ = _passes.statistics_of_responsibilities(
            rows, weight, chunks(), origin, covariance_type
        )
        means = s1 / (s0 + 10.0 * eps)[:, np.newaxis]
        return _passes.statistics_of_responsibilities(
            rows, weight, chunks(), means, covariance_type
        )

    def first_row(self):
        """The first row of X (D,), in its dtype."""
        return np.array(self.X[0])

    def column_mean(self):
        """Column means of X in its dtype (the centre k-means works around)."""
        return self.X.mean(axis=0)

    def nearest_centre_sums(self, shift, centres, inertia=False):
        """(s0, s1) of each row given to its nearest centre, around ``shift`` (and the
        inertia, with ``inertia``)."""
        s0, s1, _, total = _passes.nearest_centre_sums(
            self.X, self.sample_weight, shift, centres, inertia=inertia
        )
        return (s0, s1, total) if inertia else (s0, s1)

    def farthest_rows(self, shift, centres, n_rows):
        """The rows farthest from their nearest centre (see :func:`_kmeans.farthest_rows`)."""
        return _kmeans.farthest_rows(self.X, self.sample_weight, shift, centres, n_rows)

    def statistics_of_nearest(self, centres, base, covariance_type):
        """Sums around ``base`` of each row given to its nearest centre."""
        return _passes.statistics_of_nearest(
            self.X, self.sample_weight, centres, base, covariance_type
        )

    def kmeans_centres(self, n_components, random_state):
        """Centres of the 'kmeans' initialisation: k-means over every row."""
        return _kmeans.kmeans_centres(self, n_components, random_state)


def kmeans_statistics(rows, centres, covariance_type):
    """Sums (s0, s1, s2, base) of the rows given to their nearest centre, around it.

    If the means of the rows so given are far from the centres compared with their spread,
    a second pass takes the sums around those means. Nothing of the size of X is allocated.
    """
    sums = rows.statistics_of_nearest(centres, centres, covariance_type)
    s0, s1, s2, base = sums
    if not _passes.needs_second_pass(s0, s1, s2, base, covariance_type, rows.dtype):
        return sums
    eps = float(np.finfo(rows.dtype).eps)
    means = base + s1 / (s0 + 10.0 * eps)[:, np.newaxis]
    return rows.statistics_of_nearest(centres, means, covariance_type)
