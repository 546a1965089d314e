"""Check an installed gmmfast as a user gets it: where it is, how it was built, that it fits.

Run by tools/wheel_check.sh with the interpreter of a fresh virtual environment, from a
directory outside the checkout::

    python tools/check_installed.py --openmp {bundled,found,none}

``bundled``: a repaired wheel; OpenMP is on and its runtime is the copy inside the wheel.
``found``: a build from source on this machine, with the system's OpenMP runtime.
``none``: a build without OpenMP; every pass runs on one thread.

Exits with a message saying what is wrong on the first failed check.
"""

import argparse
import os
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

UNSAFE_MATH_FLAGS = ["-ffast-math", "-Ofast", "-funsafe-math-optimizations", "/fp:fast"]


def check(condition, message):
    if not condition:
        sys.exit(f"check_installed: FAILED: {message}")


def os_threads():
    """Threads of this process (Linux), or None where /proc is not available."""
    tasks = Path("/proc/self/task")
    return len(list(tasks.iterdir())) if tasks.is_dir() else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--openmp", choices=["bundled", "found", "none"], required=True)
    args = parser.parse_args()

    import numpy as np
    from sklearn.metrics import adjusted_rand_score
    from threadpoolctl import threadpool_limits

    import gmmfast
    from gmmfast.datasets import make_demo_data

    location = Path(gmmfast.__file__).resolve().parent
    site = {Path(sysconfig.get_paths()[key]).resolve() for key in ("purelib", "platlib")}
    check(location.parent in site,
          f"gmmfast was imported from {location}, not from this environment's site-packages")
    check(gmmfast.__version__ == metadata.version("gmmfast"),
          f"__version__ {gmmfast.__version__} differs from the installed distribution's")

    config = gmmfast.show_config(mode="dicts")
    build = config["build"]
    check(build is not None, "the build record (gmmfast/_build_info.py) is missing")
    flags = build["c_flags"].split()
    check(not build["native"] and "-march=native" not in flags,
          f"the build is for this CPU only (-march=native): {build['c_flags']}")
    unsafe = [flag for flag in UNSAFE_MATH_FLAGS if flag in flags]
    check(not unsafe, f"unsafe math flags {unsafe} in the build: {build['c_flags']}")

    info = gmmfast.parallel_info()
    if args.openmp == "none":
        check(not info["openmp"] and not build["openmp"]["found"],
              f"expected a build without OpenMP, got {info} and {build['openmp']}")
    else:
        check(info["openmp"] and build["openmp"]["found"],
              f"expected a build with OpenMP, got {info} and {build['openmp']}")
    if args.openmp == "bundled":
        bundled = [lib for lib in config["openmp_runtimes"] if lib["bundled_with_gmmfast"]]
        check(bundled, "no OpenMP runtime from inside the wheel is loaded: "
              f"{[lib['filepath'] for lib in config['openmp_runtimes']]}")
        print(f"check_installed: OpenMP runtime bundled in the wheel: {bundled[0]['filepath']}")

    # A fit on two OpenMP threads, then on one: the passes run in parallel (the runtime
    # starts worker threads) and give the same model bit for bit.
    X, truth = make_demo_data(n_samples=40_000, n_features=5, n_components=4, random_state=1)
    means_init = np.array([X[truth == k].mean(axis=0) for k in range(4)]) + 0.5
    models = {}
    threads_before = os_threads()
    for n_threads in (2, 1):
        with threadpool_limits(limits=n_threads, user_api="openmp"):
            expected = n_threads if info["openmp"] else 1
            check(gmmfast.parallel_info()["n_threads"] == expected,
                  f"a pass would use {gmmfast.parallel_info()['n_threads']} threads "
                  f"under a limit of {n_threads}")
            models[n_threads] = gmmfast.GaussianMixture(
                n_components=4, means_init=means_init, random_state=0
            ).fit(X)
        if n_threads == 2 and info["openmp"] and threads_before is not None:
            check(os_threads() > threads_before,
                  "no OpenMP worker thread was started by a fit on two threads")
    two, one = models[2], models[1]
    check(two.converged_, "the fit did not converge")
    for name in ("weights_", "means_", "covariances_", "lower_bound_"):
        check(np.array_equal(getattr(two, name), getattr(one, name)),
              f"{name} differs between 2 threads and 1 thread")
    agreement = adjusted_rand_score(truth, two.predict(X))
    check(agreement > 0.95, f"the fitted clusters do not match the true ones (ARI {agreement})")

    print(f"check_installed: gmmfast {gmmfast.__version__} from {location}")
    print(f"check_installed: OpenMP {'on' if info['openmp'] else 'off'}, fit on 2 and 1 "
          f"threads identical, {two.n_iter_} EM iterations, ARI {agreement:.4f}, "
          f"{os_threads()} OS threads, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}")
    print(f"check_installed: C flags: {build['c_flags']}")


if __name__ == "__main__":
    main()
