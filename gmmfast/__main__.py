"""The ``gmmfast`` command line."""

import argparse
import sys
import time


def _demo(args):
    import numpy as np

    from . import GaussianMixture, parallel_info
    from .datasets import make_demo_data

    X, truth = make_demo_data(n_samples=args.n_samples, random_state=args.random_state)
    if args.float32:
        X = X.astype(np.float32)
    info = parallel_info()
    print(
        f"gmmfast demo: {X.shape[0]:,} rows x {X.shape[1]} features ({X.dtype}), "
        f"{args.n_components} components, covariance_type={args.covariance_type!r}"
    )
    print(f"threads: {info['n_threads']} (OpenMP {'on' if info['openmp'] else 'OFF'})")
    model = GaussianMixture(
        n_components=args.n_components,
        covariance_type=args.covariance_type,
        random_state=args.random_state,
    )
    start = time.perf_counter()
    labels = model.fit_predict(X)
    elapsed = time.perf_counter() - start
    print(
        f"fit: {elapsed:.3f} s, {model.n_iter_} EM iterations, converged={model.converged_}, "
        f"lower bound {model.lower_bound_:.6f}, BIC {model.bic(X):.1f}"
    )
    print("component  weight   mean (first 4 features)")
    for k in np.argsort(-model.weights_):
        mean = ", ".join(f"{v:7.3f}" for v in model.means_[k, :4])
        print(f"{k:9d}  {model.weights_[k]:.4f}   [{mean}]")
    if args.n_components == len(np.unique(truth)):
        from sklearn.metrics import adjusted_rand_score

        print(f"agreement with the true clusters (adjusted Rand index): "
              f"{adjusted_rand_score(truth, labels):.4f}")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="gmmfast", description="Gaussian mixture models fitted by EM, fast."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    demo = commands.add_parser(
        "demo", help="fit a mixture to the built-in demo data and print the model and timing"
    )
    demo.add_argument("--n-samples", type=int, default=200_000, help="rows (default 200000)")
    demo.add_argument("--n-components", type=int, default=6, help="components (default 6)")
    demo.add_argument(
        "--covariance-type", default="full", choices=["full", "tied", "diag", "spherical"]
    )
    demo.add_argument("--float32", action="store_true", help="fit in float32")
    demo.add_argument("--random-state", type=int, default=0)
    demo.set_defaults(handler=_demo)
    return parser


def main(argv=None):
    """Entry point of the ``gmmfast`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (ValueError, TypeError, OSError) as exc:
        print(f"gmmfast: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
