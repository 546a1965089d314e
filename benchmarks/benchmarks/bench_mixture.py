"""Time and memory of fitting and using a GaussianMixture."""

import numpy as np
from threadpoolctl import threadpool_limits

from gmmfast import BayesianGaussianMixture, GaussianMixture

from .common import SIZES, make_data, quiet, start

N_ITER = 5


class EMIterations:
    """EM iterations from a fixed start (tol=0): the compiled statistics pass."""

    params = (list(SIZES), ["full", "tied", "diag", "spherical"], ["float64", "float32"],
              [1, 2])
    param_names = ["size", "covariance_type", "dtype", "n_threads"]
    timeout = 300

    def setup(self, size, covariance_type, dtype, n_threads):
        quiet()
        n, d, k = SIZES[size]
        self.X = make_data(n, d, k, dtype)
        self.model = GaussianMixture(k, covariance_type=covariance_type, max_iter=N_ITER,
                                     tol=0.0, **start(self.X, k, covariance_type))

    def time_fit(self, size, covariance_type, dtype, n_threads):
        with threadpool_limits(limits=n_threads, user_api="openmp"):
            self.model.fit(self.X)

    def peakmem_fit(self, size, covariance_type, dtype, n_threads):
        with threadpool_limits(limits=n_threads, user_api="openmp"):
            self.model.fit(self.X)

    def track_lower_bound(self, size, covariance_type, dtype, n_threads):
        return float(self.model.fit(self.X).lower_bound_)

    track_lower_bound.unit = "mean log-likelihood"


class DefaultFit:
    """A default fit: k-means initialisation, EM to convergence."""

    params = (list(SIZES), ["full", "diag"])
    param_names = ["size", "covariance_type"]
    timeout = 600

    def setup(self, size, covariance_type):
        quiet()
        n, d, k = SIZES[size]
        self.k = k
        self.X = make_data(n, d, k, np.float64)

    def _model(self, covariance_type):
        return GaussianMixture(self.k, covariance_type=covariance_type, random_state=0)

    def time_fit(self, size, covariance_type):
        self._model(covariance_type).fit(self.X)

    def peakmem_fit(self, size, covariance_type):
        self._model(covariance_type).fit(self.X)

    def track_n_iter(self, size, covariance_type):
        return int(self._model(covariance_type).fit(self.X).n_iter_)

    track_n_iter.unit = "iterations"

    def track_lower_bound(self, size, covariance_type):
        return float(self._model(covariance_type).fit(self.X).lower_bound_)

    track_lower_bound.unit = "mean log-likelihood"


class KMeansStart:
    """The default start alone: k-means over every row (seeding and Lloyd iterations) and
    the initial sums, on clusters well apart and overlapping (more Lloyd iterations)."""

    params = (list(SIZES), ["apart", "overlapping"], ["float64", "float32"], [1, 2])
    param_names = ["size", "clusters", "dtype", "n_threads"]
    timeout = 300

    def setup(self, size, clusters, dtype, n_threads):
        quiet()
        n, d, k = SIZES[size]
        self.k = k
        self.X = make_data(n, d, k, dtype, centre_range=8.0 if clusters == "apart" else 2.0)

    def _start(self):
        return GaussianMixture(self.k, max_iter=0, random_state=0).fit(self.X)

    def time_kmeans_start(self, size, clusters, dtype, n_threads):
        with threadpool_limits(limits=n_threads, user_api="openmp"):
            self._start()

    def peakmem_kmeans_start(self, size, clusters, dtype, n_threads):
        self._start()


class Predict:
    """The evaluation pass: labels, responsibilities, per-row log-likelihood."""

    params = (list(SIZES), ["full", "diag"], ["float64", "float32"])
    param_names = ["size", "covariance_type", "dtype"]

    def setup(self, size, covariance_type, dtype):
        quiet()
        n, d, k = SIZES[size]
        self.X = make_data(n, d, k, dtype)
        self.model = GaussianMixture(k, covariance_type=covariance_type, max_iter=2, tol=0.0,
                                     **start(self.X, k, covariance_type)).fit(self.X)

    def time_predict(self, size, covariance_type, dtype):
        self.model.predict(self.X)

    def time_predict_proba(self, size, covariance_type, dtype):
        self.model.predict_proba(self.X)

    def time_score_samples(self, size, covariance_type, dtype):
        self.model.score_samples(self.X)

    def time_predict_ten_rows(self, size, covariance_type, dtype):
        # A call's fixed cost (validation, the model laid out for the passes, the BLAS
        # thread count): what a service scoring a few rows at a time pays.
        self.model.predict(self.X[:10])

    def peakmem_predict(self, size, covariance_type, dtype):
        self.model.predict(self.X)


class BayesianIterations:
    """Variational EM iterations of BayesianGaussianMixture from the same seed rows
    (tol=0): the same compiled statistics pass plus the variational M-step."""

    params = (list(SIZES), ["full", "tied", "diag", "spherical"], ["float64", "float32"])
    param_names = ["size", "covariance_type", "dtype"]
    timeout = 300

    def setup(self, size, covariance_type, dtype):
        quiet()
        n, d, k = SIZES[size]
        self.X = make_data(n, d, k, dtype)
        self.model = BayesianGaussianMixture(
            k, covariance_type=covariance_type, max_iter=N_ITER, tol=0.0,
            init_params="random_from_data", random_state=0)

    def time_fit(self, size, covariance_type, dtype):
        self.model.fit(self.X)

    def peakmem_fit(self, size, covariance_type, dtype):
        self.model.fit(self.X)

    def track_lower_bound(self, size, covariance_type, dtype):
        return float(self.model.fit(self.X).lower_bound_)

    track_lower_bound.unit = "lower bound"


# Few features: colour pixels (3) and a few measurements (6), K=8; the rows of the
# side-by-side script's table.
FEW_FEATURES = {"3 features": (300_000, 3, 8), "6 features": (300_000, 6, 8)}


class FewFeatures:
    """EM iterations from a fixed start and the per-row outputs with few features (blocks
    held column by column, src/gmmfast/small.h), on all threads."""

    params = (list(FEW_FEATURES), ["full", "tied", "diag", "spherical"],
              ["float64", "float32"])
    param_names = ["shape", "covariance_type", "dtype"]
    timeout = 300

    def setup(self, shape, covariance_type, dtype):
        quiet()
        n, d, k = FEW_FEATURES[shape]
        self.X = make_data(n, d, k, dtype)
        self.model = GaussianMixture(k, covariance_type=covariance_type, max_iter=N_ITER,
                                     tol=0.0, **start(self.X, k, covariance_type))
        self.fitted = GaussianMixture(k, covariance_type=covariance_type, max_iter=N_ITER,
                                      tol=0.0, **start(self.X, k, covariance_type)).fit(self.X)

    def time_fit(self, shape, covariance_type, dtype):
        self.model.fit(self.X)

    def time_predict(self, shape, covariance_type, dtype):
        self.fitted.predict(self.X)

    def time_predict_proba(self, shape, covariance_type, dtype):
        self.fitted.predict_proba(self.X)

    def time_score_samples(self, shape, covariance_type, dtype):
        self.fitted.score_samples(self.X)


class FewFeatureVersions:
    """EM iterations with few features in each version of the loops over rows held column
    by column this processor runs (8, 4 or 2 float64 lanes to a vector; pinned with
    gmmfast._kernels.pin_small_width, the other compiled loops at the processor's best),
    so that the AVX2 and baseline versions are tracked on an AVX-512 machine too."""

    params = (list(FEW_FEATURES), ["full", "diag"], [8, 4, 2])
    param_names = ["shape", "covariance_type", "lanes"]
    timeout = 300

    def setup(self, shape, covariance_type, lanes):
        from gmmfast import _kernels

        if lanes not in _kernels.small_widths():
            raise NotImplementedError("this version does not run here")
        quiet()
        n, d, k = FEW_FEATURES[shape]
        self.X = make_data(n, d, k, "float64")
        self.model = GaussianMixture(k, covariance_type=covariance_type, max_iter=N_ITER,
                                     tol=0.0, **start(self.X, k, covariance_type))
        _kernels.pin_small_width(lanes)

    def teardown(self, shape, covariance_type, lanes):
        from gmmfast import _kernels

        _kernels.pin_small_width(0)

    def time_fit(self, shape, covariance_type, lanes):
        self.model.fit(self.X)
