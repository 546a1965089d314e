"""gmmfast and scikit-learn side by side on the same data, the same start, in one process.

For each case: seconds per EM iteration (same start, tol=0, the same number of iterations),
their ratio, and the difference of the final lower bounds; then a default fit (k-means
initialisation, EM to convergence) of each, and the peak memory each fit adds beyond X,
measured in a fresh process (peak resident set size after X was made). Each timing is the
fastest of a few runs (``--repeat``), gmmfast and scikit-learn alternating, so that a busy
moment of a shared machine weighs on neither, each run after a pause of ``PAUSE`` seconds:
after a call, OpenBLAS's worker threads keep spinning on the cores for about a tenth of a
second before they sleep (measured: a fit of 300,000 x 3 started right after a 500 x 500
NumPy product took three times as long), so that without the pause each library would be
timed against the other one's idle threads.

    python benchmarks/compare_sklearn.py            # the README table (takes minutes)
    python benchmarks/compare_sklearn.py --quick    # small sizes, seconds
    python benchmarks/compare_sklearn.py --only-default-fits   # one seed and five
    python benchmarks/compare_sklearn.py --only-mini-batch --curve mini_batch.png
    python benchmarks/compare_sklearn.py --only-threads --threads 1,2,4,8,16

Prints a Markdown table and the machine it ran on. Each row of the iteration and prediction
tables also gives the machine's limit for it, measured in the same run: the larger of the
pass's multiply-adds (the log-density of every row and component; the M-step's sums over
the terms whose responsibility is above 2^-64, the others adding nothing) over the rate of
a large matrix product in that dtype on all threads, and the bytes the pass must read (and
write) over the rate of reading a large array on all threads; and gmmfast's time as a
multiple of it. ``--only-mini-batch`` compares
MiniBatchGaussianMixture with full-batch EM (gmmfast's GaussianMixture) instead: the time
each takes to converge from its default start, and the mean log-likelihood of every row at
the end (the quantity GaussianMixture's final lower bound is), with ``--curve`` a picture of
that log-likelihood against seconds. ``--only-threads`` times full-covariance EM
iterations of both libraries on 1, 2, 4, ... threads (``--threads`` chooses them), with each
library's speed-up over its own one-thread time.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import warnings

from openblas_environment import VARIABLES as OPENBLAS_VARIABLES
from openblas_environment import add_flag, restart_without

if __name__ == "__main__":
    restart_without()  # before NumPy loads OpenBLAS

import numpy as np  # noqa: E402  (after the environment is settled)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchmarks.common import make_data  # noqa: E402  (the asv suite's data and start)
from benchmarks.common import start as fixed_start  # noqa: E402

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
CASES = [
    # (rows, features, components, covariance type, dtype)
    *[(300_000, 16, 16, ct, dt) for ct in COVARIANCE_TYPES for dt in ("float64", "float32")],
    # Few features: colour pixels (3) and a few measurements (6).
    *[(300_000, d, 8, ct, dt) for d in (3, 6) for ct in COVARIANCE_TYPES
      for dt in ("float64", "float32")],
    (100_000, 32, 64, "full", "float64"),
    (300_000, 64, 8, "full", "float64"),
]
QUICK_CASES = [(20_000, 8, 8, ct, "float64") for ct in ("full", "diag")]
# predict, predict_proba and score_samples of a fitted model.
PREDICTION_CASES = [*[(300_000, d, 8, ct, dt) for d in (3, 6) for ct in COVARIANCE_TYPES
                      for dt in ("float64", "float32")],
                    (300_000, 16, 16, "full", "float64"), (300_000, 16, 16, "full", "float32")]
QUICK_PREDICTION_CASES = [(20_000, 3, 8, ct, "float64") for ct in ("full", "diag")]
# The variational mixture: every covariance type and dtype at the size.
BAYESIAN_CASES = [(300_000, 16, 16, ct, dt) for ct in ("full", "tied", "diag", "spherical")
                  for dt in ("float64", "float32")]
QUICK_BAYESIAN_CASES = [(20_000, 8, 8, ct, "float64") for ct in ("full", "diag")]
# Mini-batch against full-batch EM: (rows, features, components, covariance, dtype, the
# spread of the cluster centres); well-apart clusters (the case) and overlapping ones.
MINI_BATCH_CASES = [(3_000_000, 16, 16, "full", "float32", 8.0),
                    (3_000_000, 16, 16, "full", "float32", 2.0)]
QUICK_MINI_BATCH_CASES = [(200_000, 8, 8, "full", "float32", 8.0)]


# -- The machine's limits ---------------------------------------------------------------------


def product_rate(dtype, size=2048, repeat=5):
    """Multiply-adds per second of a large matrix product in ``dtype`` (NumPy's BLAS, all its
    threads): the fastest of a few products of two size x size matrices."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size)).astype(dtype)
    b = rng.standard_normal((size, size)).astype(dtype)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeat))
    return size**3 / best


def read_rate(n_bytes=512 * 2**20, repeat=5):
    """Bytes per second of reading a large array on all cores: each thread sums its share
    (NumPy releases the GIL in the sum), the fastest of a few reads."""
    from concurrent.futures import ThreadPoolExecutor

    x = np.ones(n_bytes // 8)
    n_threads = os.cpu_count() or 1
    parts = np.array_split(x, n_threads)
    with ThreadPoolExecutor(n_threads) as pool:
        def read():
            list(pool.map(np.sum, parts))
        read()
        best = min(_timed(read) for _ in range(repeat))
    return x.nbytes / best


def _timed(f):
    start = time.perf_counter()
    f()
    return time.perf_counter() - start


def limits():
    """The rates the limits are computed from, measured once per run."""
    rates = {dt: product_rate(dt) for dt in ("float64", "float32")}
    rates["read"] = read_rate()
    return rates


# Responsibilities below this (2^-64) add nothing that a float64 sum can hold.
NEGLIGIBLE = 2.0**-64
# Seconds before each timed run: longer than OpenBLAS's idle threads spin after a call.
PAUSE = 0.25


def iteration_multiply_adds(n, d, k, covariance_type, terms):
    """Multiply-adds of one EM iteration: the log-densities of every (row, component) (z P_k
    on the triangle and its squares for full; z P once and K squares for tied; the
    quadratic form in [z^2, z] for diag and spherical), and the M-step's sums over the
    ``terms`` (row, component) whose responsibility is above 2^-64 (the triangle of
    v (z - o)(z - o)^T and v (z - o) for full; v (z - o) and one Gram matrix over the rows
    for tied; v (z - o) and v (z - o)^2 for diag and spherical): the others add nothing.
    The exponentials are not counted."""
    triangle = d * (d + 1) // 2
    if covariance_type == "full":
        return n * k * (triangle + d) + terms * (triangle + d)
    if covariance_type == "tied":
        return n * (triangle + k * d) + terms * d + n * triangle
    return n * k * 2 * d + terms * 2 * d


def prediction_multiply_adds(n, d, k, covariance_type):
    """Multiply-adds of the log-densities alone (see iteration_multiply_adds)."""
    triangle = d * (d + 1) // 2
    if covariance_type == "full":
        return n * k * (triangle + d)
    if covariance_type == "tied":
        return n * (triangle + k * d)
    return n * k * 2 * d


def machine_limit(rates, dtype, multiply_adds, n_bytes):
    """Seconds: the larger of the arithmetic at the product rate and the bytes at the read
    rate."""
    return max(multiply_adds / rates[dtype], n_bytes / rates["read"])


def seconds_per_iteration(cls, X, k, covariance_type, n_iter):
    model = cls(k, covariance_type=covariance_type, max_iter=n_iter, tol=0.0,
                **fixed_start(X, k, covariance_type))
    start = time.perf_counter()
    model.fit(X)
    return (time.perf_counter() - start) / n_iter, float(model.lower_bound_)


def bayesian_seconds_per_iteration(cls, X, k, covariance_type, n_iter):
    """The variational mixture from the same seed rows (init_params='random_from_data':
    both libraries draw the same rows), tol=0; the start costs one pass."""
    model = cls(n_components=k, covariance_type=covariance_type, max_iter=n_iter, tol=0.0,
                init_params="random_from_data", random_state=0)
    start = time.perf_counter()
    model.fit(X)
    return (time.perf_counter() - start) / n_iter, _number(model.lower_bound_)


def _number(value):
    """A lower bound as a float (scikit-learn's tied variational one is a 1-element array)."""
    return float(np.asarray(value).reshape(-1)[0])


def default_fit(cls, X, k, covariance_type, seed=0):
    model = cls(n_components=k, covariance_type=covariance_type, random_state=seed)
    start = time.perf_counter()
    model.fit(X)
    return time.perf_counter() - start, _number(model.lower_bound_), int(model.n_iter_)


SEEDS = range(5)


def seed_datasets(quick):
    """(name, X, K) of the default fits over seeds: synthetic clusters, well apart and
    overlapping, and the colour photographs shipped with scikit-learn (one row per pixel,
    RGB in [0, 1])."""
    from sklearn.datasets import load_sample_image

    n, d, k = (20_000, 8, 8) if quick else (300_000, 16, 16)
    yield "clusters", make_data(n, d, k, "float64"), k
    yield "overlapping clusters", make_data(n, d, k, "float64", centre_range=2.0), k
    for image in ("china.jpg", "flower.jpg")[: 1 if quick else 2]:
        pixels = load_sample_image(image).reshape(-1, 3) / 255.0
        if quick:
            pixels = pixels[::10]
        for dtype in (np.float32, np.float64):
            yield image, np.ascontiguousarray(pixels, dtype=dtype), 8


def fastest_of(repeat, ours, ref):
    """Run both timings ``repeat`` times, alternating, and keep each one's fastest result.

    Each callable returns a tuple whose first item is the time; other items (lower bound,
    iterations) are the same in every run of a deterministic fit.
    """
    runs_ours, runs_ref = [], []
    for _ in range(repeat):
        time.sleep(PAUSE)
        runs_ours.append(ours())
        time.sleep(PAUSE)
        runs_ref.append(ref())
    return min(runs_ours), min(runs_ref)


def _peak_memory_child(library, n, d, k, covariance_type, dtype, estimator="GaussianMixture"):
    """Run in a fresh process: peak RSS a default fit adds beyond X (bytes)."""
    warnings.simplefilter("ignore")
    import importlib

    cls = getattr(importlib.import_module(
        "gmmfast" if library == "gmmfast" else "sklearn.mixture"), estimator)
    X = make_data(n, d, k, dtype)
    cls(n_components=2, max_iter=1).fit(X[:1000])  # load libraries and thread pools first
    with open("/proc/self/clear_refs", "w") as f:  # resets the peak (VmHWM) to now
        f.write("5")
    before = _status("VmRSS")
    cls(n_components=k, covariance_type=covariance_type, random_state=0).fit(X)
    return _status("VmHWM") - before


def _status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(field)


def peak_memory(library, n, d, k, covariance_type, dtype, estimator="GaussianMixture"):
    if not os.path.exists("/proc/self/clear_refs"):
        return float("nan")
    code = (
        "import sys, json; sys.path.insert(0, %r); import compare_sklearn as c; "
        "print(json.dumps(c._peak_memory_child(*json.loads(sys.argv[1]))))"
        % os.path.dirname(os.path.abspath(__file__))
    )
    out = subprocess.run(
        [sys.executable, "-c", code,
         json.dumps([library, n, d, k, covariance_type, dtype, estimator])],
        capture_output=True, text=True, check=True, cwd="/",
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def machine():
    import sklearn
    from threadpoolctl import threadpool_info

    import gmmfast

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        pass
    blas = [f"{i['internal_api']} {i.get('version')} ({i.get('architecture', '?')} kernels, "
            f"{i['num_threads']} threads)"
            for i in threadpool_info() if i["user_api"] == "blas"]
    variables = ", ".join(f"{name}={os.environ.get(name, 'unset')}"
                          for name in OPENBLAS_VARIABLES)
    return (f"{cpu}; {os.cpu_count()} cores; Python {platform.python_version()}; "
            f"gmmfast {gmmfast.__version__} ({gmmfast.parallel_info()['n_threads']} threads); "
            f"scikit-learn {sklearn.__version__}; numpy {np.__version__}; BLAS: "
            + ", ".join(blas) + f"; {variables}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    parser.add_argument("--iterations", type=int, default=None,
                        help="EM iterations timed per case (default 5, quick 3)")
    parser.add_argument("--repeat", type=int, default=None,
                        help="runs per case and library, alternating, the fastest kept "
                             "(default 3, quick 1)")
    parser.add_argument("--no-default-fit", action="store_true")
    parser.add_argument("--no-seeds", action="store_true",
                        help="skip the default fits over five seeds")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--no-predictions", action="store_true",
                        help="skip predict, predict_proba and score_samples")
    parser.add_argument("--only-iterations", action="store_true",
                        help="only the EM iterations and the per-row outputs of GaussianMixture")
    parser.add_argument("--only-default-fits", action="store_true",
                        help="only the default fits of GaussianMixture (one seed and five)")
    parser.add_argument("--no-bayesian", action="store_true",
                        help="skip the variational mixture (BayesianGaussianMixture)")
    parser.add_argument("--only-bayesian", action="store_true",
                        help="only the variational mixture")
    parser.add_argument("--only-mini-batch", action="store_true",
                        help="only MiniBatchGaussianMixture against full-batch EM")
    parser.add_argument("--curve", metavar="FILE.png",
                        help="with --only-mini-batch: draw the mean log-likelihood against "
                             "seconds of both fits of the first case (needs matplotlib)")
    parser.add_argument("--only-threads", action="store_true",
                        help="only the thread scaling of full-covariance EM iterations "
                             "(300,000 and 3,000,000 x 16, K=16, float64 and float32)")
    parser.add_argument("--threads", metavar="1,2,4",
                        help="with --only-threads: the thread counts (default 1, 2, 4, ... "
                             "and the number of cores)")
    add_flag(parser)
    parser.add_argument("--only-missing", action="store_true",
                        help="only missing values: EM iterations with 10 %% of the entries "
                             "missing against complete rows, and the imputers "
                             "(benchmarks/missing_values.py)")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    if args.only_missing:
        import missing_values

        missing_values.main(["--quick"] if args.quick else [])
        return
    if args.only_mini_batch:
        print(f"Machine: {machine()}\n")
        mini_batch_tables(args)
        return

    from sklearn.mixture import GaussianMixture as Sklearn

    from gmmfast import GaussianMixture as Gmmfast

    cases = QUICK_CASES if args.quick else CASES
    n_iter = args.iterations or (3 if args.quick else 5)
    repeat = args.repeat or (1 if args.quick else 3)
    print(f"Machine: {machine()}\n")
    if args.only_threads:
        thread_table(args, n_iter, repeat, Gmmfast, Sklearn)
        return
    if args.only_iterations:
        args.no_default_fit = args.no_seeds = args.no_memory = args.no_bayesian = True
    if args.only_default_fits:
        args.no_memory = args.no_bayesian = True
    if not args.only_bayesian:
        gaussian_mixture_tables(args, cases, n_iter, repeat, Gmmfast, Sklearn)
    if not args.no_bayesian:
        bayesian_tables(args, n_iter, repeat)


def iteration_table(title, cases, timing, warm_up, n_iter, repeat, Gmmfast, Sklearn,
                    rates=None):
    """Seconds per iteration of both libraries, ``timing(cls, X, k, covariance_type,
    n_iter)`` giving (seconds per iteration, lower bound), for each case; with ``rates``
    (see limits), the machine's limit for the iteration and gmmfast's time as a multiple."""
    print(title)
    limit_heads = " machine limit | gmmfast / limit |" if rates else ""
    print("| rows x features, K | covariance | dtype | scikit-learn | gmmfast | speed-up "
          "| lower bound difference |" + limit_heads)
    print("|---|---|---|---:|---:|---:|---:|" + ("---:|---:|" if rates else ""))
    for n, d, k, ct, dt in cases:
        X = make_data(n, d, k, dt)
        warm_up(X, k, ct)
        (ours, lb_ours), (ref, lb_ref) = fastest_of(
            repeat, lambda: timing(Gmmfast, X, k, ct, n_iter),
            lambda: timing(Sklearn, X, k, ct, n_iter))
        limit_cells = ""
        if rates:
            # The terms that count, under the model after the timed iterations.
            model = Gmmfast(k, covariance_type=ct, max_iter=n_iter, tol=0.0,
                            **fixed_start(X, k, ct)).fit(X)
            terms = int(np.count_nonzero(model.predict_proba(X) > NEGLIGIBLE))
            limit = machine_limit(rates, dt, iteration_multiply_adds(n, d, k, ct, terms),
                                  X.nbytes)
            limit_cells = f" {limit:.4f} | {ours / limit:.1f}x |"
        print(f"| {n:,} x {d}, {k} | {ct} | {dt} | {ref:.3f} | {ours:.4f} | "
              f"{ref / ours:.1f}x | {lb_ours - lb_ref:+.1e} |" + limit_cells, flush=True)


def _calls_in_a_row(f, calls=3):
    """(the fastest, the first) of ``calls`` calls of f one after the other: the first
    after a pause finds X out of the caches and the threads asleep, the later ones do not."""
    times = [_timed(f) for _ in range(calls)]
    return min(times), times[0]


def prediction_table(cases, repeat, rates, Gmmfast, Sklearn):
    """predict, predict_proba and score_samples of the same fitted model in both libraries:
    seconds per call (warm: the fastest of three calls in a row, the fastest of ``repeat``
    such rounds, alternating), the speed-ups, and each output's machine limit (the
    log-densities' arithmetic, or X read and the output written); then how much longer the
    first call of a round took (after the pause: X read from memory, the threads woken)."""
    outputs = ("predict", "predict_proba", "score_samples")
    print("\nPer-row outputs of a fitted model (5 EM iterations from the fixed start), "
          "seconds per call (warm: the fastest of three calls in a row), speed-up over "
          "scikit-learn, gmmfast / machine limit:\n")
    print("| rows x features, K | covariance | dtype | "
          + " | ".join(f"{o} scikit-learn | gmmfast | speed-up | / limit" for o in outputs)
          + " |")
    print("|---|---|---|" + "---:|---:|---:|---:|" * len(outputs))
    first_extra = {"gmmfast": [], "scikit-learn": []}
    for n, d, k, ct, dt in cases:
        X = make_data(n, d, k, dt)
        ours = Gmmfast(k, covariance_type=ct, max_iter=5, tol=0.0,
                       **fixed_start(X, k, ct)).fit(X)
        ref = Sklearn(k, covariance_type=ct)
        for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
            setattr(ref, name, getattr(ours, name))
        ref.n_features_in_ = d
        ref.converged_, ref.n_iter_, ref.lower_bound_ = True, 5, ours.lower_bound_
        cells = []
        madds = prediction_multiply_adds(n, d, k, ct)
        for output in outputs:
            (t_ours, first_ours), (t_ref, first_ref) = fastest_of(
                repeat, lambda: _calls_in_a_row(lambda: getattr(ours, output)(X)),
                lambda: _calls_in_a_row(lambda: getattr(ref, output)(X)))
            first_extra["gmmfast"].append(first_ours - t_ours)
            first_extra["scikit-learn"].append(first_ref - t_ref)
            out_bytes = n * (8 if output != "predict_proba" else k * X.itemsize)
            limit = machine_limit(rates, dt, madds, X.nbytes + out_bytes)
            cells.append(f"{t_ref:.4f} | {t_ours:.4f} | {t_ref / t_ours:.1f}x | "
                         f"{t_ours / limit:.1f}x")
        print(f"| {n:,} x {d}, {k} | {ct} | {dt} | " + " | ".join(cells) + " |", flush=True)
    print("\nThe first call of a round took longer than the warm ones by (median, largest): "
          + "; ".join(f"{lib} {np.median(v) * 1e3:.2f} ms, {max(v) * 1e3:.2f} ms"
                      for lib, v in first_extra.items()) + ".")


def default_fit_table(title, cases, repeat, Gmmfast, Sklearn):
    """A default fit (random_state=0) of both libraries for each case."""
    print(title)
    print("| rows x features, K | covariance | scikit-learn | gmmfast | speed-up | "
          "lower bound (scikit-learn / gmmfast) | iterations |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for n, d, k, ct, dt in cases:
        X = make_data(n, d, k, dt)
        (t_ours, lb_ours, it_ours), (t_ref, lb_ref, it_ref) = fastest_of(
            repeat, lambda: default_fit(Gmmfast, X, k, ct),
            lambda: default_fit(Sklearn, X, k, ct))
        print(f"| {n:,} x {d}, {k} | {ct} | {t_ref:.2f} | {t_ours:.3f} | "
              f"{t_ref / t_ours:.1f}x | {lb_ref:.6f} / {lb_ours:.6f} | "
              f"{it_ref} / {it_ours} |", flush=True)


def memory_table(quick, estimator):
    """Peak memory a default full fit of ``estimator`` adds beyond X, both libraries."""
    n, d, k = (20_000, 8, 8) if quick else (1_000_000, 16, 16)
    x_bytes = n * d * 8
    print(f"\nPeak memory a default {estimator} fit adds beyond X ({n:,} x {d} float64, "
          f"X = {x_bytes / 2**20:.0f} MiB, K={k}, full):\n")
    print("| library | added peak | as a fraction of X |")
    print("|---|---:|---:|")
    for library in ("scikit-learn", "gmmfast"):
        added = peak_memory(library, n, d, k, "full", "float64", estimator)
        print(f"| {library} | {added / 2**20:.0f} MiB | {added / x_bytes:.2f} |",
              flush=True)


def bayesian_tables(args, n_iter, repeat):
    """The variational mixture: seconds per iteration, a default fit, peak memory."""
    from sklearn.mixture import BayesianGaussianMixture as Sklearn

    from gmmfast import BayesianGaussianMixture as Gmmfast

    cases = QUICK_BAYESIAN_CASES if args.quick else BAYESIAN_CASES

    def warm_up(X, k, ct):
        Gmmfast(n_components=k, covariance_type=ct, max_iter=1).fit(X[:2000])

    iteration_table("\nBayesianGaussianMixture, variational EM iterations from the same seed "
                    "rows (tol=0), seconds per iteration:\n", cases,
                    bayesian_seconds_per_iteration, warm_up, n_iter, repeat, Gmmfast, Sklearn)
    if not args.no_default_fit:
        default_fit_table("\nBayesianGaussianMixture, default fit (k-means initialisation, "
                          "to convergence), seconds:\n",
                          [c for c in cases if c[4] == "float64"][:2],
                          1 if args.quick else min(repeat, 2), Gmmfast, Sklearn)
    if not args.no_memory:
        memory_table(args.quick, "BayesianGaussianMixture")


# Thread scaling: full covariances, 16 features, K=16, at 300,000 and 3,000,000 rows; the
# larger rows take fewer timed iterations and runs (one scikit-learn iteration there is
# seconds per core).
THREAD_CASES = [(n, 16, 16, "full", dt) for n in (300_000, 3_000_000)
                for dt in ("float64", "float32")]
QUICK_THREAD_CASES = [(20_000, 8, 8, "full", "float64")]
LARGE_ROWS = 1_000_000


def thread_counts(spec=None):
    """The thread counts of the scaling table: ``spec`` ("1,2,4"), else 1, 2, 4, ... below
    the cores, and the cores."""
    if spec:
        return [int(t) for t in spec.split(",")]
    cores, counts = os.cpu_count() or 1, [1]
    while counts[-1] * 2 < cores:
        counts.append(counts[-1] * 2)
    return counts + ([cores] if cores > 1 else [])


def thread_table(args, n_iter, repeat, Gmmfast, Sklearn):
    """Seconds per EM iteration of both libraries from the same start on 1, 2, 4, ...
    threads (every thread pool of the process, OpenMP and BLAS, limited with threadpoolctl),
    and each library's speed-up over its own one-thread time."""
    from threadpoolctl import threadpool_limits

    counts = thread_counts(args.threads)
    cases = QUICK_THREAD_CASES if args.quick else THREAD_CASES
    large_iter, large_repeat = min(n_iter, 2), min(repeat, 2)
    print(f"Thread scaling: seconds per EM iteration from the same start (tol=0), every "
          f"thread pool (OpenMP, BLAS) limited to the given threads; {n_iter} iterations "
          f"timed, the fastest of {repeat} runs ({large_iter} and {large_repeat} from "
          f"{LARGE_ROWS:,} rows on); scaling: the library's one-thread time over its time:\n")
    print("| rows x features, K | covariance | dtype | threads | scikit-learn | gmmfast | "
          "speed-up | scikit-learn scaling | gmmfast scaling |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for n, d, k, ct, dt in cases:
        X = make_data(n, d, k, dt)
        iters, runs = (large_iter, large_repeat) if n >= LARGE_ROWS else (n_iter, repeat)
        Gmmfast(k, covariance_type=ct, max_iter=1, tol=0.0,
                **fixed_start(X, k, ct)).fit(X[:2000])
        first = None
        for t in counts:
            with threadpool_limits(limits=t):
                (ours, _), (ref, _) = fastest_of(
                    runs, lambda: seconds_per_iteration(Gmmfast, X, k, ct, iters),
                    lambda: seconds_per_iteration(Sklearn, X, k, ct, iters))
            first = first or (ref, ours)
            print(f"| {n:,} x {d}, {k} | {ct} | {dt} | {t} | {ref:.3f} | {ours:.4f} | "
                  f"{ref / ours:.1f}x | {first[0] / ref:.2f}x | {first[1] / ours:.2f}x |",
                  flush=True)


def iteration_tables(args, cases, n_iter, repeat, Gmmfast, Sklearn):
    """GaussianMixture: the machine's limits, seconds per EM iteration, per-row outputs."""
    def warm_up(X, k, ct):
        Gmmfast(k, covariance_type=ct, max_iter=1, tol=0.0,
                **fixed_start(X, k, ct)).fit(X[:2000])

    rates = limits()
    print(f"Machine limits measured: float64 products {rates['float64'] / 1e9:.1f} and "
          f"float32 {rates['float32'] / 1e9:.1f} G multiply-adds/s (NumPy's BLAS, "
          f"{os.cpu_count()} threads, 2048 x 2048 matrices); reading memory "
          f"{rates['read'] / 1e9:.1f} GB/s ({os.cpu_count()} threads, a 512 MiB array).\n")
    iteration_table("EM iterations from the same start (tol=0), seconds per iteration:\n",
                    cases, seconds_per_iteration, warm_up, n_iter, repeat, Gmmfast, Sklearn,
                    rates)
    if not args.no_predictions:
        prediction_table(QUICK_PREDICTION_CASES if args.quick else PREDICTION_CASES,
                         repeat, rates, Gmmfast, Sklearn)


def gaussian_mixture_tables(args, cases, n_iter, repeat, Gmmfast, Sklearn):
    """GaussianMixture: seconds per iteration, per-row outputs, default fits, seeds, peak
    memory."""
    if not args.only_default_fits:
        iteration_tables(args, cases, n_iter, repeat, Gmmfast, Sklearn)
    if not args.no_default_fit:
        default_fit_table("\nDefault fit (k-means initialisation, EM to convergence), "
                          "seconds:\n",
                          [c for c in cases if c[4] == "float64"][:2 if args.quick else 3],
                          repeat, Gmmfast, Sklearn)

    if not args.no_seeds:
        print("\nDefault fit over random_state = 0-4 (k-means over every row, then EM to "
              "convergence): final lower bound, mean over the seeds; the seeds where both "
              "libraries end at the same lower bound (1e-6 relative); the time of all five "
              "fits:\n")
        print("| data | rows x features, K | dtype | lower bound scikit-learn | gmmfast | "
              "same | scikit-learn s | gmmfast s | speed-up |")
        print("|---|---|---|---:|---:|---:|---:|---:|---:|")
        for name, X, k in seed_datasets(args.quick):
            n, d = X.shape
            ours = [default_fit(Gmmfast, X, k, "full", seed) for seed in SEEDS]
            ref = [default_fit(Sklearn, X, k, "full", seed) for seed in SEEDS]
            same = sum(abs(a[1] - b[1]) <= 1e-6 * abs(b[1]) for a, b in zip(ours, ref))
            t_ours, t_ref = sum(a[0] for a in ours), sum(b[0] for b in ref)
            print(f"| {name} | {n:,} x {d}, {k} | {X.dtype} | "
                  f"{np.mean([b[1] for b in ref]):.6f} | {np.mean([a[1] for a in ours]):.6f} "
                  f"| {same} of {len(SEEDS)} | {t_ref:.2f} | {t_ours:.3f} | "
                  f"{t_ref / t_ours:.1f}x |", flush=True)

    if not args.no_memory:
        memory_table(args.quick, "GaussianMixture")


# -- MiniBatchGaussianMixture against full-batch EM -------------------------------------------


def traced_fit(cls, X, **params):
    """Fit ``cls(**params)`` once, recording the parameters and the time after each step
    (an EM iteration or a mini-batch step) and after the initialisation: a subclass whose
    hooks keep a reference to each step's new parameters (no copy, no evaluation while
    timed). Returns (model, seconds, [(seconds, parameters), ...])."""

    class Traced(cls):
        def _initial_parameters(self, rows, random_state):
            params = super()._initial_parameters(rows, random_state)
            trace.append((time.perf_counter(), params))
            return params

        def _em_step(self, rows, params, eps):
            new = super()._em_step(rows, params, eps)
            trace.append((time.perf_counter(), new[0]))
            return new

        def _step(self, state, rows, eps):
            new = super()._step(state, rows, eps)
            trace.append((time.perf_counter(), new["params"]))
            return new

    trace = []
    model = Traced(**params)
    start = time.perf_counter()
    model.fit(X)
    seconds = time.perf_counter() - start
    return model, seconds, [(t - start, p) for t, p in trace]


def scores_along(trace, X, k, covariance_type, every=1):
    """The mean log-likelihood of every row of X under the parameters of the trace (every
    ``every``-th point and the last): the curve of a fit."""
    from gmmfast import GaussianMixture

    model = GaussianMixture(k, covariance_type=covariance_type)
    points = trace[::every] + ([trace[-1]] if (len(trace) - 1) % every else [])
    curve = []
    for seconds, params in points:
        model._set_parameters(params, X.dtype)
        model.n_features_in_ = X.shape[1]
        curve.append((seconds, float(model.score(X))))
    return curve


def mini_batch_tables(args):
    """Default fits of GaussianMixture and MiniBatchGaussianMixture (random_state=0) on the
    same data, the fastest of ``repeat`` runs each, alternating: time to convergence, final
    mean log-likelihood of every row, the gap and the time ratio."""
    from gmmfast import GaussianMixture, MiniBatchGaussianMixture

    cases = QUICK_MINI_BATCH_CASES if args.quick else MINI_BATCH_CASES
    repeat = args.repeat or (1 if args.quick else 3)
    print("MiniBatchGaussianMixture against GaussianMixture (full-batch EM), default fits "
          "(random_state=0; k-means over every row for EM, over the first batch for "
          "mini-batch EM), each to its own convergence; mean log-likelihood of every row at "
          "the end (EM: its final lower bound; mini-batch: score(X)); the fastest of "
          f"{repeat} runs of each, alternating:\n")
    print("| rows x features, K | covariance | dtype | centres in | EM s | EM iterations | "
          "EM lower bound | mini-batch s | steps (rows) | mini-batch score | gap | "
          "time ratio |")
    print("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    curves = None
    for n, d, k, ct, dt, spread in cases:
        X = make_data(n, d, k, dt, centre_range=spread)
        MiniBatchGaussianMixture(k, covariance_type=ct, max_iter=1).fit(X[:5000])  # warm up
        em_runs, mb_runs = [], []
        for _ in range(repeat):
            em_runs.append(traced_fit(GaussianMixture, X, n_components=k, covariance_type=ct,
                                      random_state=0))
            mb_runs.append(traced_fit(MiniBatchGaussianMixture, X, n_components=k,
                                      covariance_type=ct, random_state=0))
        em, em_seconds, em_trace = min(em_runs, key=lambda run: run[1])
        mb, mb_seconds, mb_trace = min(mb_runs, key=lambda run: run[1])
        bound = float(em.lower_bound_)
        score = float(mb.score(X))
        gap = (bound - score) / abs(bound)
        print(f"| {n:,} x {d}, {k} | {ct} | {dt} | [-{spread:g}, {spread:g}] | "
              f"{em_seconds:.3f} | {em.n_iter_} | {bound:.6f} | {mb_seconds:.3f} | "
              f"{mb.n_steps_} ({mb.n_rows_seen_:,.0f}) | {score:.6f} | {100 * gap:.3f} % | "
              f"{em_seconds / mb_seconds:.1f}x |", flush=True)
        if curves is None:
            every = max(1, len(mb_trace) // 60)
            curves = (n, d, k, ct, dt, bound, scores_along(em_trace, X, k, ct),
                      scores_along(mb_trace, X, k, ct, every))
    if args.curve and curves is not None:
        draw_curves(args.curve, *curves)
        print(f"\npicture: {args.curve}")


def draw_curves(path, n, d, k, ct, dt, bound, em_curve, mb_curve):
    """Mean log-likelihood of every row against seconds, both fits, and the 0.5 % band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.0, 4.2))
    for curve, label, style in ((em_curve, "GaussianMixture (EM, k-means start)", "o-"),
                                (mb_curve, "MiniBatchGaussianMixture (stepwise EM)", ".-")):
        seconds, values = zip(*curve)
        ax.plot(seconds, values, style, label=label, markersize=4)
    ax.axhline(bound, color="grey", linewidth=0.8)
    ax.axhspan(bound - 0.005 * abs(bound), bound, color="grey", alpha=0.15,
               label="within 0.5 % of EM's converged lower bound")
    lowest = min(v for _, v in em_curve[1:] + mb_curve)
    ax.set_ylim(min(lowest, bound - 0.01 * abs(bound)), bound + 0.002 * abs(bound))
    ax.set_xscale("log")
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    ax.xaxis.set_major_locator(FixedLocator([0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10,
                                             20, 50, 100]))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("seconds since the fit began (initialisation included; log scale)")
    ax.set_ylabel("mean log-likelihood of every row")
    ax.set_title(f"{n:,} x {d}, K={k}, {ct}, {dt}, 2 cores" if os.cpu_count() == 2 else
                 f"{n:,} x {d}, K={k}, {ct}, {dt}, {os.cpu_count()} cores", fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    fig.savefig(path, dpi=110, bbox_inches="tight")


if __name__ == "__main__":
    main()
