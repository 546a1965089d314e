"""The ``gmmfast`` command line: demo, fit, select and predict."""

import argparse
import functools
import os
import sys
import time
import warnings

from ._covariance_shapes import COVARIANCE_TYPES

COVARIANCE_CHOICES = list(COVARIANCE_TYPES)


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions wrapped to the terminal, examples in the epilog kept as written."""

    def _fill_text(self, text, width, indent):
        if text.startswith("examples:"):
            return super()._fill_text(text, width, indent)
        return argparse.HelpFormatter._fill_text(self, text, width, indent)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, with the way to the help."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _one_line(text):
    return " ".join(str(text).split())


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"gmmfast: warning: {_one_line(message)}", file=sys.stderr)


# -- progress on a terminal -------------------------------------------------------------------


def _is_terminal(stream):
    """Whether ``stream`` is a terminal, where a progress bar can redraw itself."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _progress_bar(args, **options):
    """A tqdm progress bar on the standard error, or None: not with --quiet, not when the
    standard error is not a terminal (a file, a pipe), not without tqdm installed."""
    if getattr(args, "quiet", False) or not _is_terminal(sys.stderr):
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(file=sys.stderr, leave=False, dynamic_ncols=True, **options)


class _Progress:
    """Shows the fit's progress reports on a progress bar while the ``with`` block runs."""

    def __init__(self, bar, show):
        self.bar, self.show = bar, show

    def __enter__(self):
        if self.bar is not None:
            from ._progress import reporting

            self._reporting = reporting(lambda event, values: self.show(self.bar, event,
                                                                        values))
            self._reporting.__enter__()
        return self

    def __exit__(self, *exc_info):
        if self.bar is not None:
            self._reporting.__exit__(*exc_info)
            self.bar.refresh()  # the last numbers, drawn before the bar is cleared
            self.bar.close()
        return False


def _show_iteration(bar, event, values):
    """EM iterations of each initialisation, with the lower bound."""
    if event != "em_iteration":
        return
    if values["n_iter"] == 1 and values["init"] > 0:
        bar.reset()  # the next initialisation
    if values["n_init"] > 1:
        bar.set_description(f"EM, initialisation {values['init'] + 1}/{values['n_init']}",
                            refresh=False)
    # The postfix is drawn with the bar's next redraw, at most ten a second.
    bar.set_postfix_str(f"lower bound {values['lower_bound']:.6f}", refresh=False)
    bar.update(1)


def _show_candidate(bar, event, values):
    """Candidates fitted of all, with the best so far."""
    if event != "candidate":
        return
    k, covariance_type, value = values["best"]
    bar.set_postfix_str(f"best {values['criterion'].upper()} {value:.2f} "
                        f"({k} components, {covariance_type})", refresh=False)
    bar.update(1)


# -- shared pieces ----------------------------------------------------------------------------


def _read_data(args):
    from ._data_files import parse_columns, read_table

    X, names = read_table(
        args.data, columns=parse_columns(args.columns), header=args.header,
        delimiter=args.delimiter,
    )
    if getattr(args, "float32", False):
        import numpy as np

        X = X.astype(np.float32)
    return X, names


def _estimator_params(args):
    return dict(
        tol=args.tol, reg_covar=args.reg_covar, max_iter=args.max_iter, n_init=args.n_init,
        init_params=args.init_params, random_state=args.random_state,
    )


def _print_model(model, X):
    import numpy as np

    names = getattr(model, "feature_names_in_", None)
    shown = min(4, model.means_.shape[1])
    header = ", ".join(str(n) for n in names[:shown]) if names is not None else (
        f"first {shown} features" if model.means_.shape[1] > shown else "features")
    print(f"component  weight   mean ({header})")
    for k in np.argsort(-model.weights_):
        mean = ", ".join(f"{v:7.3f}" for v in model.means_[k, :shown])
        print(f"{k:9d}  {model.weights_[k]:.4f}   [{mean}]")


def _save_plot(ax, path):
    ax.figure.savefig(path, dpi=120, bbox_inches="tight")
    print(f"picture: {path}")


def _matplotlib_available():
    import importlib.util

    return importlib.util.find_spec("matplotlib") is not None


def _use_agg():
    """Draw off-screen: the command line writes picture files and never opens a window."""
    import matplotlib

    matplotlib.use("Agg")


# -- demo -------------------------------------------------------------------------------------


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
    _print_model(model, X)
    if args.n_components == len(np.unique(truth)):
        from sklearn.metrics import adjusted_rand_score

        print(f"agreement with the true clusters (adjusted Rand index): "
              f"{adjusted_rand_score(truth, labels):.4f}")
    if args.plot:
        _use_agg()
        from . import plot

        _save_plot(plot.ellipses(model, X, features=args.plot_features), args.plot)
    elif _matplotlib_available():
        print("picture: add --plot demo.png to draw the clusters and their ellipses")
    return 0


# -- fit --------------------------------------------------------------------------------------


def _fit_model(args):
    """The estimator ``gmmfast fit`` asked for: the Gaussian mixture, or with --bayesian
    the variational one (K is then the most components it may use)."""
    from . import BayesianGaussianMixture, GaussianMixture

    common = dict(n_components=args.n_components, covariance_type=args.covariance_type,
                  **_estimator_params(args))
    if args.bayesian:
        return BayesianGaussianMixture(
            weight_concentration_prior_type=(
                args.weight_concentration_prior_type or "dirichlet_process"),
            weight_concentration_prior=args.weight_concentration_prior, **common,
        )
    if args.weight_concentration_prior_type is not None or (
            args.weight_concentration_prior is not None):
        raise ValueError("--weight-concentration-prior-type and --weight-concentration-prior "
                         "are priors of the variational mixture: add --bayesian.")
    return GaussianMixture(**common)


# Components of a variational fit with a weight below this count as switched off in its
# summary (the prior leaves them a weight of the order of its concentration over n).
SWITCHED_OFF_WEIGHT = 0.01


def _fit(args):
    import numpy as np

    from . import save

    _check_mini_batch_options(args)
    if args.mini_batch:
        return _fit_mini_batch(args)
    X, names = _read_data(args)
    model = _fit_model(args)
    print(f"data: {X.shape[0]:,} rows x {X.shape[1]} features ({X.dtype}) from {args.data}")
    start = time.perf_counter()
    bar = _progress_bar(args, total=args.max_iter, desc="EM", unit="it")
    with _Progress(bar, _show_iteration):
        model.fit(X)
    elapsed = time.perf_counter() - start
    print(
        f"fit: {elapsed:.3f} s, {model.n_components} components, covariance_type="
        f"{model.covariance_type!r}, {model.n_iter_} EM iterations, converged="
        f"{model.converged_}"
    )
    if args.bayesian:
        in_use = int(np.sum(model.weights_ >= SWITCHED_OFF_WEIGHT))
        print(f"lower bound {model.lower_bound_:.6f}; {in_use} of {model.n_components} "
              f"components in use (weight at least {SWITCHED_OFF_WEIGHT:g})")
    else:
        print(f"lower bound {model.lower_bound_:.6f}, BIC {model.bic(X):.1f}, "
              f"AIC {model.aic(X):.1f}")
    if names is not None:
        model.feature_names_in_ = np.asarray(names, dtype=object)
    _print_model(model, X)
    save(model, args.output)
    print(f"model saved to {args.output}")
    if args.plot:
        _use_agg()
        from . import plot

        _save_plot(plot.ellipses(model, X, features=args.plot_features), args.plot)
    return 0


# -- fit --mini-batch ---------------------------------------------------------------------------

# The options of a mini-batch fit: (name, default); None where the estimator's default is.
MINI_BATCH_OPTIONS = {"batch_size": 4096, "learning_offset": 10.0, "learning_decay": 0.7,
                      "max_no_improvement": 10, "shuffle_batches": 16}


def _check_mini_batch_options(args):
    given = [name for name in MINI_BATCH_OPTIONS if getattr(args, name) is not None]
    if not args.mini_batch:
        if given:
            raise ValueError(f"--{given[0].replace('_', '-')} applies to --mini-batch fits "
                             "only: add --mini-batch.")
        return
    for name, default in MINI_BATCH_OPTIONS.items():
        if getattr(args, name) is None:
            setattr(args, name, default)
    if args.bayesian:
        raise ValueError("--mini-batch fits a Gaussian mixture, not the variational one: "
                         "leave out --bayesian or --mini-batch.")
    if args.n_init != 1:
        raise ValueError("--mini-batch makes one initialisation, from its first batch: "
                         "leave out --n-init.")


def _show_step(stream, bar, event, values):
    """Rows streamed (of all the passes, once the file's rows are known), the pass and
    the smoothed lower bound."""
    if event != "mini_batch_step":
        return
    n_rows = stream.n_rows
    if n_rows is not None and bar.total is None:
        bar.total = n_rows * values["max_iter"]
    bar.set_postfix_str(f"pass {values['epoch'] + 1}/{values['max_iter']}, lower bound "
                        f"{values['lower_bound']:.6f}", refresh=False)
    bar.update(values["n_rows"])


def _fit_mini_batch(args):
    """``gmmfast fit --mini-batch``: stepwise EM over batches streamed from the file, which
    is never read whole (see MiniBatchGaussianMixture and TableStream)."""
    import numpy as np

    from . import MiniBatchGaussianMixture, save
    from ._data_files import TableStream, parse_columns
    from ._mini_batch import pooled_batches

    stream = TableStream(args.data, columns=parse_columns(args.columns), header=args.header,
                         delimiter=args.delimiter)
    dtype = np.dtype(np.float32) if args.float32 else stream.dtype
    model = MiniBatchGaussianMixture(
        n_components=args.n_components, covariance_type=args.covariance_type, tol=args.tol,
        reg_covar=args.reg_covar, max_iter=args.max_iter, init_params=args.init_params,
        random_state=args.random_state, batch_size=args.batch_size,
        learning_offset=args.learning_offset, learning_decay=args.learning_decay,
        max_no_improvement=args.max_no_improvement or None,
    )
    batch_size, pool = args.batch_size, args.shuffle_batches

    def passes(random_state):
        pieces = (p.astype(dtype, copy=False) for p in stream.pieces(batch_size, random_state))
        return pooled_batches(pieces, batch_size, pool, random_state)

    rows = "" if stream.n_rows is None else f"{stream.n_rows:,} rows x "
    print(f"data: {rows}{stream.n_features} features ({dtype}) from {args.data}, streamed "
          f"in batches of {batch_size:,} rows")
    start = time.perf_counter()
    bar = _progress_bar(args, desc="mini-batch EM", unit=" rows", unit_scale=True)
    with _Progress(bar, functools.partial(_show_step, stream)):
        model._fit_stream(passes)
    elapsed = time.perf_counter() - start
    print(
        f"fit: {elapsed:.3f} s, {model.n_components} components, covariance_type="
        f"{model.covariance_type!r}, {model.n_steps_:,} steps over {model.n_iter_} "
        f"pass{'' if model.n_iter_ == 1 else 'es'} ({model.n_rows_seen_:,.0f} rows), "
        f"converged={model.converged_}"
    )
    print(f"lower bound {model.lower_bound_:.6f} (smoothed over the last batches)")
    if stream.names is not None:
        model.feature_names_in_ = np.asarray(stream.names, dtype=object)
    _print_model(model, None)
    save(model, args.output)
    print(f"model saved to {args.output}")
    if args.plot:
        _use_agg()
        from . import plot

        # The rows of one batch of a new pass: a sample of the file, never all of it.
        sample = next(iter(passes(np.random.RandomState(args.random_state))))
        _save_plot(plot.ellipses(model, sample, features=args.plot_features), args.plot)
    return 0


# -- select -----------------------------------------------------------------------------------


def parse_n_components(text):
    """'1-10' -> range(1, 11); '2,4,8' and '2-4,8' -> lists; 'N' alone -> 1..N."""
    text = text.strip()
    try:
        if text.isdigit():
            return range(1, int(text) + 1)
        values = []
        for item in text.split(","):
            low, dash, high = item.strip().partition("-")
            if dash:
                values.extend(range(int(low), int(high) + 1))
            else:
                values.append(int(low))
    except ValueError:
        values = None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(
            f"invalid --n-components {text!r}: give N (for 1 to N), a range such as 1-10, "
            "or a list such as 2,4,8 (all at least 1)"
        )
    return values


def parse_covariance_types(text):
    """'all', one type, or a comma-separated list of types."""
    types = [item.strip() for item in text.split(",")]
    if types == ["all"]:
        return "all"
    for value in types:
        if value not in COVARIANCE_CHOICES:
            raise argparse.ArgumentTypeError(
                f"invalid covariance type {value!r}: choose from "
                f"{', '.join(COVARIANCE_CHOICES)}, a comma-separated list of them, or all"
            )
    return types


def _format_table(results, best_index, criterion):
    columns = [
        ("n_components", "{:d}"), ("covariance_type", "{}"), ("bic", "{:.2f}"),
        ("aic", "{:.2f}"), ("lower_bound", "{:.6f}"), ("n_iter", "{:d}"),
        ("converged", "{}"), ("fit_time", "{:.3f}"),
    ]
    cells = [[name for name, _ in columns] + [""]]
    for i in range(len(results["bic"])):
        row = [fmt.format(results[name][i].item()) for name, fmt in columns]
        cells.append(row + [f"<- best {criterion.upper()}" if i == best_index else ""])
    widths = [max(len(row[j]) for row in cells) for j in range(len(columns))]
    lines = []
    for row in cells:
        left = "  ".join(
            cell.ljust(width) if j == 1 else cell.rjust(width)
            for j, (cell, width) in enumerate(zip(row, widths))
        )
        lines.append(f"{left}  {row[-1]}".rstrip())
    return "\n".join(lines)


def _select(args):
    import numpy as np

    from . import GaussianMixtureIC, save

    X, names = _read_data(args)
    search = GaussianMixtureIC(
        n_components=args.n_components, covariance_type=args.covariance_type,
        criterion=args.criterion, **_estimator_params(args),
    )
    print(f"data: {X.shape[0]:,} rows x {X.shape[1]} features ({X.dtype}) from {args.data}")
    start = time.perf_counter()
    n_types = 4 if args.covariance_type == "all" else len(args.covariance_type)
    bar = _progress_bar(args, total=len(args.n_components) * n_types, desc="candidates",
                        unit=" fits")
    with _Progress(bar, _show_candidate):
        search.fit(X)
    elapsed = time.perf_counter() - start
    n_candidates = len(search.results_["bic"])
    print(f"search: {n_candidates} candidates in {elapsed:.3f} s")
    print(_format_table(search.results_, search.best_index_, search.criterion))
    best = search.best_estimator_
    if names is not None:
        best.feature_names_in_ = np.asarray(names, dtype=object)
    print(
        f"best: {search.n_components_} components, covariance_type="
        f"{search.covariance_type_!r}, {search.criterion.upper()} {search.criterion_:.2f}"
    )
    if args.output:
        save(best, args.output)
        print(f"model saved to {args.output}")
    if args.plot:
        _use_agg()
        from . import plot

        _save_plot(plot.criterion(search), args.plot)
    return 0


# -- predict ----------------------------------------------------------------------------------


def _predict(args):
    import numpy as np

    from . import load
    from ._data_files import column_names, parse_columns, read_table

    model = load(args.model)
    columns = parse_columns(args.columns)
    model_names = getattr(model, "feature_names_in_", None)
    if (columns is None and model_names is not None
            and column_names(args.data, args.header, args.delimiter) is not None):
        # The model's columns, found by name, in the model's order.
        columns = list(model_names)
    X, _ = read_table(args.data, columns=columns, header=args.header,
                      delimiter=args.delimiter)
    if X.shape[1] != model.n_features_in_:
        raise ValueError(
            f"{args.data} gives {X.shape[1]} column(s) but the model takes "
            f"{model.n_features_in_}; choose them with --columns."
        )
    X = np.asarray(X, dtype=model.means_.dtype)
    with warnings.catch_warnings():
        # Columns were matched to the model's features above, by name or by position.
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        if args.proba:
            values, fmt = model.predict_proba(X), f"%.{args.precision}g"
        elif args.score:
            values, fmt = model.score_samples(X), f"%.{args.precision}g"
        else:
            values, fmt = model.predict(X), "%d"
    if args.output:
        with open(args.output, "w") as file:
            np.savetxt(file, values, fmt=fmt, delimiter=",")
        print(f"{len(values):,} rows written to {args.output}", file=sys.stderr)
    else:
        np.savetxt(sys.stdout, values, fmt=fmt, delimiter=",")
        sys.stdout.flush()
    return 0


# -- the parser -------------------------------------------------------------------------------


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _plot_features(text):
    from ._data_files import parse_columns

    features = parse_columns(text)
    if len(features) != 2:
        raise argparse.ArgumentTypeError(f"expected two features such as 0,1, got {text!r}")
    return tuple(features)


def _data_options():
    options = argparse.ArgumentParser(add_help=False)
    group = options.add_argument_group("data")
    group.add_argument(
        "--columns", metavar="COLS",
        help="comma-separated column names (from the header row) or 0-based indices; "
             "default: all columns",
    )
    header = group.add_mutually_exclusive_group()
    header.add_argument("--header", dest="header", action="store_true", default=None,
                        help="text files: the first line names the columns")
    header.add_argument("--no-header", dest="header", action="store_false",
                        help="text files: the first line is data (default: a first line "
                             "with a field that is not a number is a header)")
    group.add_argument("--delimiter", metavar="CHAR",
                       help="text files: field separator (default: tab for .tsv, else comma)")
    return options


def _fit_options():
    options = argparse.ArgumentParser(add_help=False)
    group = options.add_argument_group("EM")
    group.add_argument("--max-iter", type=int, default=100, help="EM iterations at most "
                       "(default 100)")
    group.add_argument("--n-init", type=_positive_int, default=1,
                       help="initialisations, the best kept (default 1)")
    group.add_argument("--tol", type=float, default=1e-3,
                       help="convergence threshold on the lower bound (default 1e-3)")
    group.add_argument("--reg-covar", type=float, default=1e-6,
                       help="added to the covariance diagonals (default 1e-6)")
    group.add_argument("--init-params", default="kmeans",
                       choices=["kmeans", "k-means++", "random", "random_from_data"],
                       help="initialisation (default kmeans)")
    group.add_argument("--random-state", type=int, default=0,
                       help="seed of the initialisation (default 0)")
    group.add_argument("--float32", action="store_true", help="fit in float32")
    group.add_argument("--quiet", "-q", action="store_true",
                       help="no progress bar (shown only when the standard error is a "
                            "terminal and tqdm is installed)")
    return options


FIT_EXAMPLES = """examples:
  gmmfast fit data.csv --n-components 5 --output model.npz
  gmmfast fit data.csv --n-components 20 --bayesian --output model.npz
  gmmfast fit huge.npy --n-components 16 --mini-batch --batch-size 8192 --output model.npz
  gmmfast fit data.parquet --columns x,y,z --n-components 3 --covariance-type diag \\
      --output model.npz --plot model.png
"""

SELECT_EXAMPLES = """examples:
  gmmfast select data.csv --n-components 1-10
  gmmfast select data.npy --n-components 2,4,8,16 --covariance-type all \\
      --criterion aic --output best.npz --plot bic.png
"""

PREDICT_EXAMPLES = """examples:
  gmmfast predict model.npz data.csv > labels.txt
  gmmfast predict model.npz data.csv --proba --output proba.csv
  gmmfast predict model.npz data.parquet --score | sort -g | head

Each output line is one row of DATA: its label, its probabilities (comma-separated) or
its log-density. A model fitted on named columns finds them by name in a file with a
header row.
"""


def build_parser():
    parser = _Parser(
        prog="gmmfast", description="Gaussian mixture models fitted by EM, fast."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    data, em = _data_options(), _fit_options()
    raw = _HelpFormatter

    demo = commands.add_parser(
        "demo", help="fit a mixture to the built-in demo data and print the model and timing"
    )
    demo.add_argument("--n-samples", type=int, default=200_000, help="rows (default 200000)")
    demo.add_argument("--n-components", type=int, default=6, help="components (default 6)")
    demo.add_argument(
        "--covariance-type", default="full", choices=COVARIANCE_CHOICES
    )
    demo.add_argument("--float32", action="store_true", help="fit in float32")
    demo.add_argument("--random-state", type=int, default=0)
    demo.add_argument("--plot", metavar="FILE",
                      help="draw the rows and the components' ellipses to FILE (.png, .svg, "
                           ".pdf; needs matplotlib)")
    demo.add_argument("--plot-features", type=_plot_features, default=(0, 1),
                      metavar="I,J", help="the two features drawn (default 0,1)")
    demo.set_defaults(handler=_demo)

    fit = commands.add_parser(
        "fit", parents=[data, em], epilog=FIT_EXAMPLES, formatter_class=raw,
        help="fit a mixture to a data file and save the model",
        description="Fit a Gaussian mixture to the rows of DATA and save it as a model file.",
    )
    fit.add_argument("data", metavar="DATA", help="a .csv/.tsv/.txt, .npy or .parquet file")
    fit.add_argument("--n-components", "-k", type=_positive_int, required=True,
                     metavar="K", help="number of components")
    fit.add_argument("--covariance-type", default="full", choices=COVARIANCE_CHOICES,
                     help="default full")
    fit.add_argument("--output", "-o", required=True, metavar="MODEL.npz",
                     help="where to save the fitted model")
    fit.add_argument("--plot", metavar="FILE",
                     help="draw the rows and the components' ellipses (needs matplotlib)")
    fit.add_argument("--plot-features", type=_plot_features, default=(0, 1), metavar="I,J",
                     help="the two features drawn, by index or name (default 0,1)")
    bayes = fit.add_argument_group("variational mixture")
    bayes.add_argument("--bayesian", action="store_true",
                       help="fit a BayesianGaussianMixture: K is the most components it may "
                            "use, and its prior switches off those the data does not need")
    bayes.add_argument("--weight-concentration-prior-type", default=None,
                       choices=["dirichlet_process", "dirichlet_distribution"],
                       help="the prior on the weights (default dirichlet_process)")
    bayes.add_argument("--weight-concentration-prior", type=float, default=None,
                       metavar="GAMMA", help="its concentration (default 1 / K); smaller "
                       "switches off more components")
    mini = fit.add_argument_group(
        "mini-batch EM (data larger than memory)",
        "With --mini-batch the file is streamed in batches and never read whole; "
        "--max-iter counts passes over it. A .npy file is read in blocks of --batch-size "
        "rows visited in a random order, a text or Parquet file in its order; the rows of "
        "--shuffle-batches consecutive batches are shuffled together. Shuffle a text file "
        "whose rows are sorted (by a column, by cluster) once beforehand.",
    )
    mini.add_argument("--mini-batch", action="store_true",
                      help="fit a MiniBatchGaussianMixture by stepwise EM over batches")
    mini.add_argument("--batch-size", type=_positive_int, default=None, metavar="N",
                      help="rows per batch (default 4096)")
    mini.add_argument("--learning-offset", type=float, default=None, metavar="TAU",
                      help="step size (t + TAU) ** -KAPPA of step t: TAU >= 1 (default 10)")
    mini.add_argument("--learning-decay", type=float, default=None, metavar="KAPPA",
                      help="KAPPA in (0.5, 1] (default 0.7)")
    mini.add_argument("--max-no-improvement", type=int, default=None, metavar="N",
                      help="stop after N batches without a gain of --tol in the smoothed "
                           "lower bound; 0: never stop early (default 10)")
    mini.add_argument("--shuffle-batches", type=_positive_int, default=None, metavar="N",
                      help="batches whose rows are shuffled together (default 16)")
    fit.set_defaults(handler=_fit)

    select = commands.add_parser(
        "select", parents=[data, em], epilog=SELECT_EXAMPLES, formatter_class=raw,
        help="choose the number of components and covariance type by BIC or AIC",
        description="Fit a mixture for every candidate number of components and covariance "
                    "type, print each one's BIC and AIC, and keep the best.",
    )
    select.add_argument("data", metavar="DATA", help="a .csv/.tsv/.txt, .npy or .parquet file")
    select.add_argument("--n-components", "-k", type=parse_n_components, default="1-10",
                        metavar="KS",
                        help="candidates: N (1 to N), a range A-B, or a list A,B,C "
                             "(default 1-10)")
    select.add_argument("--covariance-type", type=parse_covariance_types, default="full",
                        metavar="TYPES",
                        help="full, tied, diag, spherical, a comma-separated list of them, "
                             "or all (default full)")
    select.add_argument("--criterion", default="bic", choices=["bic", "aic"],
                        help="default bic")
    select.add_argument("--output", "-o", metavar="MODEL.npz",
                        help="where to save the best model")
    select.add_argument("--plot", metavar="FILE",
                        help="draw the criterion against the number of components "
                             "(needs matplotlib)")
    select.set_defaults(handler=_select)

    predict = commands.add_parser(
        "predict", parents=[data], epilog=PREDICT_EXAMPLES, formatter_class=raw,
        help="labels, probabilities or log-densities of rows under a saved model",
        description="Write one line per row of DATA: its most likely component, or with "
                    "--proba its component probabilities, or with --score its log-density.",
    )
    predict.add_argument("model", metavar="MODEL.npz", help="a model file from fit or select")
    predict.add_argument("data", metavar="DATA",
                         help="a .csv/.tsv/.txt, .npy or .parquet file")
    what = predict.add_mutually_exclusive_group()
    what.add_argument("--proba", action="store_true",
                      help="the probability of each component (comma-separated)")
    what.add_argument("--score", action="store_true", help="the log-density log p(x)")
    predict.add_argument("--output", "-o", metavar="FILE",
                         help="write to FILE instead of the standard output")
    predict.add_argument("--precision", type=_positive_int, default=10, metavar="DIGITS",
                         help="significant digits of --proba and --score (default 10)")
    predict.set_defaults(handler=_predict)
    return parser


def main(argv=None):
    """Entry point of the ``gmmfast`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            return args.handler(args)
        except BrokenPipeError:
            # The reader of the output went away (``| head``): stop quietly.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 1
        except (ValueError, TypeError, OSError, ImportError) as exc:
            print(f"gmmfast: error: {_one_line(exc)}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("gmmfast: interrupted", file=sys.stderr)
            return 130


if __name__ == "__main__":
    sys.exit(main())
