"""Time of EM iterations on rows with missing values (NaN), against the same rows complete."""

import numpy as np
from threadpoolctl import threadpool_limits

from gmmfast import BayesianGaussianMixture, GaussianMixture, GaussianMixtureImputer

from .common import SIZES, make_data, quiet, start

N_ITER = 5
MISSING = 0.1


class MissingValueIterations:
    """EM iterations from a fixed start (tol=0) with 10 % of the entries missing completely
    at random (``missing`` = 0.1) or none (0.0): the marginalising statistics pass."""

    params = (list(SIZES), ["full", "tied", "diag", "spherical"], ["float64", "float32"],
              [0.0, MISSING])
    param_names = ["size", "covariance_type", "dtype", "missing"]
    timeout = 300

    def setup(self, size, covariance_type, dtype, missing):
        quiet()
        n, d, k = SIZES[size]
        X = make_data(n, d, k, dtype)
        self.model = GaussianMixture(k, covariance_type=covariance_type, max_iter=N_ITER,
                                     tol=0.0, **start(X, k, covariance_type))
        if missing:
            X[np.random.default_rng(0).random(X.shape) < missing] = np.nan
        self.X = X

    def time_fit(self, size, covariance_type, dtype, missing):
        with threadpool_limits(limits=2, user_api="openmp"):
            self.model.fit(self.X)

    def peakmem_fit(self, size, covariance_type, dtype, missing):
        self.model.fit(self.X)

    def track_lower_bound(self, size, covariance_type, dtype, missing):
        return float(self.model.fit(self.X).lower_bound_)

    track_lower_bound.unit = "mean log-likelihood"


class VariationalMissingValueIterations:
    """Variational iterations (tol=0, from the k-means start) with 10 % of the entries
    missing (``missing`` = 0.1) or none (0.0): the same marginalising pass, its entropy
    with the missing entries' conditional entropy."""

    params = (list(SIZES), ["full", "diag"], [0.0, MISSING])
    param_names = ["size", "covariance_type", "missing"]
    timeout = 300

    def setup(self, size, covariance_type, missing):
        quiet()
        n, d, k = SIZES[size]
        X = make_data(n, d, k, "float64")
        if missing:
            X[np.random.default_rng(0).random(X.shape) < missing] = np.nan
        self.X = X
        self.model = BayesianGaussianMixture(n_components=k, covariance_type=covariance_type,
                                             max_iter=N_ITER, tol=0.0, random_state=0)

    def time_fit(self, size, covariance_type, missing):
        with threadpool_limits(limits=2, user_api="openmp"):
            self.model.fit(self.X)

    def track_lower_bound(self, size, covariance_type, missing):
        return float(self.model.fit(self.X).lower_bound_)

    track_lower_bound.unit = "lower bound"


class Imputation:
    """GaussianMixtureImputer's transform: each missing entry's conditional mean."""

    params = (list(SIZES), ["full", "diag"])
    param_names = ["size", "covariance_type"]
    timeout = 300

    def setup(self, size, covariance_type):
        quiet()
        n, d, k = SIZES[size]
        X = make_data(n, d, k, "float64")
        X[np.random.default_rng(0).random(X.shape) < MISSING] = np.nan
        self.X = X
        self.imputer = GaussianMixtureImputer(
            GaussianMixture(k, covariance_type=covariance_type, max_iter=5, tol=0.0,
                            **start(np.nan_to_num(X), k, covariance_type))
        ).fit(X)

    def time_transform(self, size, covariance_type):
        self.imputer.transform(self.X)
