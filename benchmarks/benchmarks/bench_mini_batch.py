"""MiniBatchGaussianMixture against full-batch EM, and reading data files."""

import os
import tempfile
import time

import numpy as np

from gmmfast import GaussianMixture, MiniBatchGaussianMixture, _data_files
from gmmfast._data_files import TableStream, read_table

from .common import MINI_BATCH_SIZES, make_data, quiet


class MiniBatchFit:
    """Default fits (random_state=0) of MiniBatchGaussianMixture (k-means on the first batch,
    steps until its early stopping) and of GaussianMixture (k-means over every row, EM to
    convergence) on the same rows: time and memory of the mini-batch fit, the mean
    log-likelihood of every row it reaches, its gap to EM's final lower bound and the ratio
    of the two fit times, measured in the same run."""

    params = (list(MINI_BATCH_SIZES), ["full", "diag"], ["float32", "float64"])
    param_names = ["size", "covariance_type", "dtype"]
    timeout = 600

    def setup(self, size, covariance_type, dtype):
        quiet()
        n, d, k = MINI_BATCH_SIZES[size]
        self.X = make_data(n, d, k, dtype)
        self.params = dict(n_components=k, covariance_type=covariance_type, random_state=0)

    def _fit(self):
        return MiniBatchGaussianMixture(**self.params).fit(self.X)

    def time_fit(self, size, covariance_type, dtype):
        self._fit()

    def peakmem_fit(self, size, covariance_type, dtype):
        self._fit()

    def track_score(self, size, covariance_type, dtype):
        return float(self._fit().score(self.X))

    track_score.unit = "mean log-likelihood"

    def track_n_steps(self, size, covariance_type, dtype):
        return int(self._fit().n_steps_)

    track_n_steps.unit = "batches"

    def track_gap_to_full_em(self, size, covariance_type, dtype):
        bound = float(GaussianMixture(**self.params).fit(self.X).lower_bound_)
        return 100.0 * (bound - float(self._fit().score(self.X))) / abs(bound)

    track_gap_to_full_em.unit = "percent of EM's lower bound"

    def track_time_ratio_to_full_em(self, size, covariance_type, dtype):
        start = time.perf_counter()
        GaussianMixture(**self.params).fit(self.X)
        em = time.perf_counter() - start
        start = time.perf_counter()
        self._fit()
        return em / (time.perf_counter() - start)

    track_time_ratio_to_full_em.unit = "EM seconds / mini-batch seconds"


class ReadTextFile:
    """A CSV file of 200,000 x 16 numbers read whole (``gmmfast fit``) and piece by piece
    (``gmmfast fit --mini-batch``), by pyarrow's reader and by NumPy's."""

    params = (["pyarrow", "numpy"], ["whole", "stream"])
    param_names = ["reader", "how"]
    timeout = 300

    def setup_cache(self):
        folder = tempfile.mkdtemp(prefix="gmmfast-bench-")
        path = os.path.join(folder, "rows.csv")
        np.savetxt(path, make_data(200_000, 16, 16, "float64"), delimiter=",", fmt="%.6g",
                   header=",".join(f"x{i}" for i in range(16)), comments="")
        return path

    def setup(self, path, reader, how):
        quiet()
        if reader == "pyarrow" and _data_files.csv_reader() != "pyarrow":
            raise NotImplementedError("pyarrow is not installed")

    def time_read(self, path, reader, how):
        stream = TableStream(path)
        if reader == "pyarrow":
            if how == "whole":
                read_table(path)
            else:
                for _ in stream.pieces(4096, np.random.RandomState(0)):
                    pass
        elif how == "whole":
            _data_files._read_csv_numpy(path, stream._layout)
        else:
            for _ in stream._numpy_pieces(4096):
                pass
