"""Time the Dask and memory-mapped paths of GaussianMixture against the in-memory path.

The same data, the same start (given parameters) and the same number of EM iterations on:

- ``numpy``: the array in memory (the compiled pass on all OpenMP threads);
- ``memmap``: the same rows in an ``.npy`` file opened with ``mmap_mode="r"``;
- ``dask threads``: a chunked Dask array, Dask's local threaded scheduler;
- ``dask cluster``: the same array persisted on a ``LocalCluster`` of worker processes, one
  thread each (the statistics of each chunk computed on a worker, summed on the client).

Seconds per iteration are ``(t(1 + n) - t(1)) / n`` for fits of 1 and 1 + n iterations, so
that they leave out the one-off validation pass and initialisation. The last columns give
the peak of memory allocated on the client during a fit (tracemalloc; memory-mapped pages
and the workers' memory are not counted) and the largest relative difference of the fitted
means from the in-memory fit.

Run::

    python benchmarks/bench_dask.py --n-samples 2000000 --n-features 16 --n-components 8
"""

import argparse
import os
import tempfile
import time
import tracemalloc
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from gmmfast import GaussianMixture, parallel_info
from gmmfast.datasets import make_demo_data


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-samples", type=int, default=1_000_000)
    parser.add_argument("--n-features", type=int, default=16)
    parser.add_argument("--n-components", type=int, default=8)
    parser.add_argument("--covariance-type", default="full",
                        choices=["full", "tied", "diag", "spherical"])
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    parser.add_argument("--chunk-rows", type=int, default=125_000,
                        help="rows per Dask chunk (default 125,000)")
    parser.add_argument("--iterations", type=int, default=10,
                        help="EM iterations timed (default 10)")
    parser.add_argument("--workers", type=int, default=os.cpu_count(),
                        help="worker processes of the LocalCluster (default: all cores)")
    parser.add_argument("--no-cluster", action="store_true",
                        help="skip the LocalCluster (needs dask.distributed)")
    return parser.parse_args()


def starting_parameters(X, n_components, covariance_type, random_state=0):
    """Weights, means and precisions from a few rows: the same start for every path."""
    rng = np.random.default_rng(random_state)
    n_features = X.shape[1]
    means = np.asarray(X[np.sort(rng.choice(len(X), n_components, replace=False))],
                       dtype=np.float64)
    precision = 1.0 / np.var(np.asarray(X[:10_000], dtype=np.float64), axis=0).mean()
    precisions = {
        "full": np.stack([np.eye(n_features) * precision] * n_components),
        "tied": np.eye(n_features) * precision,
        "diag": np.full((n_components, n_features), precision),
        "spherical": np.full(n_components, precision),
    }[covariance_type]
    return dict(weights_init=np.full(n_components, 1.0 / n_components), means_init=means,
                precisions_init=precisions)


def read_rows(path, start, stop):
    """Rows start:stop of an .npy file, read into memory."""
    return np.array(np.load(path, mmap_mode="r")[start:stop])


def timed_fit(X, max_iter, kwargs):
    model = GaussianMixture(max_iter=max_iter, tol=0.0, **kwargs)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    return time.perf_counter() - start, model


def measure(name, X, args, kwargs, reference):
    """One row of the table: seconds per iteration, peak client memory, difference."""
    timed_fit(X, 1, kwargs)  # warm-up: imports, worker start, page cache
    t1, _ = timed_fit(X, 1, kwargs)
    tn, model = timed_fit(X, 1 + args.iterations, kwargs)
    per_iteration = (tn - t1) / args.iterations
    tracemalloc.start()
    timed_fit(X, 2, kwargs)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    means = reference.means_ if reference is not None else model.means_
    difference = float(np.max(np.abs(model.means_ - means)) / np.max(np.abs(means)))
    print(f"{name:<14} {per_iteration:>10.4f} {t1:>10.3f} {peak / 2**20:>12.1f} "
          f"{difference:>12.1e}", flush=True)
    return model


def main():
    args = parse_args()
    dtype = np.dtype(args.dtype)
    X, _ = make_demo_data(args.n_samples, args.n_features, args.n_components)
    X = X.astype(dtype)
    kwargs = dict(n_components=args.n_components, covariance_type=args.covariance_type,
                  **starting_parameters(X, args.n_components, args.covariance_type))
    info = parallel_info()
    print(f"{args.n_samples:,} x {args.n_features} {args.dtype}, K={args.n_components}, "
          f"{args.covariance_type} covariance, {X.nbytes / 2**20:.0f} MiB; "
          f"{args.iterations} EM iterations timed; OpenMP threads: {info['n_threads']}; "
          f"Dask chunks of {args.chunk_rows:,} rows")
    print(f"{'path':<14} {'s/iter':>10} {'setup s':>10} {'client MiB':>12} "
          f"{'rel. diff':>12}")
    reference = measure("numpy", X, args, kwargs, None)

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "X.npy")
        np.save(path, X)
        measure("memmap", np.load(path, mmap_mode="r"), args, kwargs, reference)

        import dask
        import dask.array as da

        chunks = (args.chunk_rows, args.n_features)
        with dask.config.set(scheduler="threads"):
            measure("dask threads", da.from_array(X, chunks=chunks), args, kwargs, reference)
        if args.no_cluster:
            return
        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster):
            # Each worker reads its chunks from the file: the data never passes the client.
            X_cluster = da.concatenate([
                da.from_delayed(dask.delayed(read_rows)(path, start, stop),
                                shape=(stop - start, args.n_features), dtype=dtype)
                for start, stop in zip(range(0, len(X), args.chunk_rows),
                                       [*range(args.chunk_rows, len(X), args.chunk_rows),
                                        len(X)])
            ]).persist()
            measure(f"dask cluster/{args.workers}", X_cluster, args, kwargs, reference)


if __name__ == "__main__":
    main()
