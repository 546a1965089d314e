"""The rows a mixture is fitted to: what the EM loop asks of its data.

The estimator's loop needs four things of the data: its size, the sufficient statistics of
one EM step, the statistics of an initialisation, and labels. ``InMemoryRows`` answers them
for an array in memory (or memory-mapped) with the compiled passes; other kinds of data
answer the same questions their own way.
"""

import numpy as np
from sklearn.cluster import KMeans, kmeans_plusplus

from . import _passes

# Rows of responsibilities materialised at a time when they are given rather than computed
# (initialisation from k-means labels or random responsibilities).
RESP_CHUNK_ROWS = 1 << 15


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

        'kmeans' (k-means labels) and 'random' (uniform responsibilities) weigh every row;
        'k-means++' and 'random_from_data' give one seed row to each component. No
        n_samples x n_components array is formed: the responsibilities are made in chunks.
        """
        X, sample_weight = self.X, self.sample_weight
        n_samples = self.n_samples
        if init_params in ("kmeans", "random"):
            if init_params == "kmeans":
                labels = (
                    KMeans(n_clusters=n_components, n_init=1, random_state=random_state)
                    .fit(X, sample_weight=sample_weight)
                    .labels_
                )

                def resp_block(start, stop):
                    block = np.zeros((stop - start, n_components))
                    block[np.arange(stop - start), labels[start:stop]] = 1.0
                    return block

                state = None
            else:
                state = random_state.get_state()

                def resp_block(start, stop):
                    block = random_state.uniform(size=(stop - start, n_components))
                    block = block.astype(self.dtype)
                    block /= block.sum(axis=1)[:, np.newaxis]
                    return block

            def chunks():
                # The same draws in each pass: rewind the generator to where it started.
                if state is not None:
                    random_state.set_state(state)
                for start in range(0, n_samples, RESP_CHUNK_ROWS):
                    stop = min(start + RESP_CHUNK_ROWS, n_samples)
                    yield start, stop, resp_block(start, stop)

            rows, weight = X, sample_weight
        else:
            if init_params == "random_from_data":
                p = None if sample_weight is None else sample_weight / sample_weight.sum()
                indices = random_state.choice(n_samples, size=n_components, replace=False, p=p)
            else:
                _, indices = kmeans_plusplus(
                    X, n_components, random_state=random_state, sample_weight=sample_weight
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
