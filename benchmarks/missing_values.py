"""Missing values: EM with holes against EM on the complete rows, and imputation quality.

1. Seconds per EM iteration, same data and start, of gmmfast on the complete rows and on the
   same rows with 10 % of the entries missing completely at random (exact EM, the missing
   features marginalised), and their ratio; scikit-learn's complete-data iteration beside
   them (scikit-learn does not take NaN), timed the same way. Each timing is the fastest of
   ``--repeat`` runs of the same number of iterations, the three alternating, each run after
   a pause (compare_sklearn.PAUSE: neither library is timed against the other's spinning
   threads).
2. Imputation: rows from a mixture with 20 % of the entries removed at random, each imputer
   fitted on them and its filled entries compared with the true values (root mean square
   error, and the time it took).

    python benchmarks/missing_values.py              # the README tables
    python benchmarks/missing_values.py --quick      # small sizes, seconds
    python benchmarks/compare_sklearn.py --only-missing   # the same, from the side-by-side script

Prints Markdown tables and the machine it ran on (see compare_sklearn.machine).
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
from benchmarks.common import make_data  # noqa: E402
from benchmarks.common import start as fixed_start  # noqa: E402

CASES = [(300_000, 16, 16, ct, dt) for ct in ("full", "tied", "diag", "spherical")
         for dt in ("float64", "float32")]
QUICK_CASES = [(20_000, 8, 8, ct, "float64") for ct in ("full", "diag")]
MISSING = 0.1


def with_holes(X, fraction, seed=0):
    """A copy of X with ``fraction`` of its entries set to NaN, completely at random."""
    rng = np.random.default_rng(seed)
    holes = X.copy()
    holes[rng.random(X.shape) < fraction] = np.nan
    return holes


def seconds_per_iteration(cls, X, start, covariance_type, n_iter):
    model = cls(len(start["weights_init"]), covariance_type=covariance_type,
                max_iter=n_iter, tol=0.0, **start)
    began = time.perf_counter()
    model.fit(X)
    return (time.perf_counter() - began) / n_iter


def iteration_table(cases, n_iter, repeat):
    from compare_sklearn import PAUSE
    from sklearn.mixture import GaussianMixture as Sklearn

    from gmmfast import GaussianMixture

    print(f"| rows x features, K, covariance, dtype | gmmfast complete | gmmfast "
          f"{MISSING:.0%} missing | ratio | scikit-learn complete |")
    print("|---|---|---|---|---|")
    for n, d, k, ct, dtype in cases:
        X = make_data(n, d, k, dtype)
        holes = with_holes(X, MISSING)
        start = fixed_start(X, k, ct)
        # Warm up both paths (thread pools, page faults) before timing.
        seconds_per_iteration(GaussianMixture, X[:5000], start, ct, 1)
        seconds_per_iteration(GaussianMixture, holes[:5000], start, ct, 1)
        complete, missing, reference = [], [], []
        for _ in range(repeat):
            time.sleep(PAUSE)
            complete.append(seconds_per_iteration(GaussianMixture, X, start, ct, n_iter))
            time.sleep(PAUSE)
            missing.append(seconds_per_iteration(GaussianMixture, holes, start, ct, n_iter))
            time.sleep(PAUSE)
            reference.append(seconds_per_iteration(Sklearn, X, start, ct, n_iter))
        a, b = min(complete), min(missing)
        print(f"| {n:,} x {d}, {k}, {ct}, {dtype} | {a:.4f} s | {b:.4f} s | {b / a:.2f}x | "
              f"{min(reference):.3f} s |", flush=True)


def mixture_with_holes(n, d, k, fraction, seed=3):
    """Rows of a mixture with correlated features, and the same rows with holes."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(k, d))
    factors = rng.normal(size=(k, d, d)) * 0.5
    labels = rng.integers(k, size=n)
    X = centres[labels] + np.einsum("nd,nde->ne", rng.normal(size=(n, d)), factors[labels])
    return X, with_holes(X, fraction, seed)


def imputer_table(quick):
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer

    from gmmfast import GaussianMixture, GaussianMixtureImputer

    n, d, k = (3000, 6, 4) if quick else (20_000, 8, 5)
    X, holes = mixture_with_holes(n, d, k, 0.2)
    mask = np.isnan(holes)
    imputers = [
        ("SimpleImputer (mean)", SimpleImputer()),
        ("KNNImputer (5 neighbours)", KNNImputer()),
        ("IterativeImputer (BayesianRidge)", IterativeImputer(max_iter=20, random_state=0)),
        ("GaussianMixtureImputer, 1 component",
         GaussianMixtureImputer(GaussianMixture(1, random_state=0))),
        (f"GaussianMixtureImputer, {k} components",
         GaussianMixtureImputer(GaussianMixture(k, n_init=3, random_state=0))),
    ]
    print(f"\nImputation of {mask.mean():.0%} missing entries of {n:,} rows x {d} features "
          f"from a mixture of {k} correlated Gaussians:\n")
    print("| imputer | RMSE of filled entries | seconds (fit + transform) |")
    print("|---|---|---|")
    for name, imputer in imputers:
        began = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            filled = imputer.fit_transform(holes)
        seconds = time.perf_counter() - began
        rmse = float(np.sqrt(np.mean((filled[mask] - X[mask]) ** 2)))
        print(f"| {name} | {rmse:.3f} | {seconds:.2f} |", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    parser.add_argument("--iterations", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=None)
    parser.add_argument("--no-imputers", action="store_true")
    parser.add_argument("--no-iterations", action="store_true")
    add_flag(parser)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    from compare_sklearn import machine

    n_iter = args.iterations or (2 if args.quick else 5)
    repeat = args.repeat or (1 if args.quick else 3)
    print(f"Machine: {machine()}\n")
    if not args.no_iterations:
        iteration_table(QUICK_CASES if args.quick else CASES, n_iter, repeat)
    if not args.no_imputers:
        imputer_table(args.quick)


if __name__ == "__main__":
    main()
