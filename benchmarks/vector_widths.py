"""Few features: the versions of the loops over rows held column by column, side by side.

The loops over few features (8 or fewer) are compiled with vectors of 8 float64 lanes
(AVX-512F), 4 (AVX2) and 2 (the baseline); the release build takes the widest the
processor runs. This script pins each version this processor runs in turn, in one process
(gmmfast._kernels.pin_small_width, which the tests use to check that every version gives
the same bits), and times, on 300,000 rows x D, K=8, one thread unless told: seconds per
EM iteration (the fastest of ``--repeat`` fits of 5 iterations from one fixed start) and
per ``predict_proba`` (the fastest of as many calls). A processor without AVX-512 runs
the AVX2 and baseline versions only.

Pinning these loops leaves the other compiled loops (exponentials, normalisation) at the
processor's best version. To time what a processor without AVX-512 runs, build with every
loop pinned (``pip install . -Ccmake.define.GMMFAST_VARIANT=2``, AVX2; ``=1``, the
baseline) and run the script there; it also times builds older than the versions (one
column, "this build").

    python benchmarks/vector_widths.py
    python benchmarks/vector_widths.py --threads 2 --repeat 3

Prints a Markdown table and the machine it ran on (see compare_sklearn.machine).
"""

import argparse
import os
import sys
import time
import warnings

from openblas_environment import add_flag, restart_without

if __name__ == "__main__":
    restart_without()  # before NumPy loads OpenBLAS

import numpy as np  # noqa: E402  (after the environment is settled)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

CASES = [(3, "full", "float64"), (3, "diag", "float64"), (6, "full", "float64"),
         (6, "diag", "float64"), (3, "full", "float32"), (3, "diag", "float32")]
N_SAMPLES, N_COMPONENTS, N_ITER = 300_000, 8, 5


def clusters(n_features, dtype, seed=0):
    """N_SAMPLES rows around N_COMPONENTS centres in a box (pixels of a few colours)."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-5, 5, (N_COMPONENTS, n_features))
    labels = rng.integers(N_COMPONENTS, size=N_SAMPLES)
    return (rng.standard_normal((N_SAMPLES, n_features)) + centres[labels]).astype(dtype)


def fastest(function, repeat):
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        function()
        times.append(time.perf_counter() - began)
    return min(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=7)
    add_flag(parser)
    args = parser.parse_args(argv)

    from compare_sklearn import machine
    from threadpoolctl import threadpool_limits

    from gmmfast import GaussianMixture, _kernels

    # Builds before the versions have no small_widths: timed as they are.
    widths = _kernels.small_widths() if hasattr(_kernels, "small_widths") else [None]
    if not widths:
        sys.exit("this build has no loops over few features (its compiler has no vector "
                 "types)")
    print(f"Machine: {machine()}\n")
    print(f"{N_SAMPLES:,} rows x D, K={N_COMPONENTS}, {args.threads} thread(s): "
          f"milliseconds per EM iteration and per predict_proba, each version of the "
          f"loops over few features (float64 lanes to a vector)\n")
    names = ["this build" if w is None else f"{w} lanes" for w in widths]
    header = " | ".join(f"{name} iteration | {name} predict_proba" for name in names)
    print(f"| D, covariance, dtype | {header} |")
    print("|---|" + "---:|" * (2 * len(widths)))
    with threadpool_limits(args.threads), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a start of 3 iterations does not converge
        for n_features, covariance_type, dtype in CASES:
            X = clusters(n_features, dtype)
            start = GaussianMixture(N_COMPONENTS, covariance_type=covariance_type,
                                    max_iter=3, random_state=0).fit(X)
            model = GaussianMixture(N_COMPONENTS, covariance_type=covariance_type,
                                    max_iter=N_ITER, tol=0.0, weights_init=start.weights_,
                                    means_init=start.means_,
                                    precisions_init=start.precisions_)
            cells = []
            try:
                for width in widths:
                    if width is not None:
                        _kernels.pin_small_width(width)
                    iteration = fastest(lambda: model.fit(X), args.repeat) / N_ITER
                    proba = fastest(lambda: start.predict_proba(X), args.repeat)
                    cells += [f"{iteration * 1e3:.2f}", f"{proba * 1e3:.2f}"]
            finally:
                if widths != [None]:
                    _kernels.pin_small_width(0)
            print(f"| {n_features}, {covariance_type}, {dtype} | " + " | ".join(cells) + " |",
                  flush=True)


if __name__ == "__main__":
    main()
