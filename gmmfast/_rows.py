"""The rows a mixture reads: one interface for fitting and for using a model.

The EM loop asks its data for its size, the sufficient statistics of one EM step
(``statistics``) and of an initialisation (``initial_statistics``); a fitted model asks for
per-row outputs (``per_row``: labels, responsibilities or log-densities) and for the
weighted log-likelihood total and count (``log_likelihood``); k-means asks for
nearest-centre sums and the rows farthest from their centres. ``InMemoryRows`` answers them
for an array in memory (or memory-mapped) with the compiled passes; ``gmmfast._dask.DaskRows``
answers the same questions chunk by chunk on the Dask workers.

:func:`rows_for` turns X and sample_weight into the right rows object, validated for the
estimator: the one place that tells a Dask collection from in-memory data.
"""

import sys

import numpy as np
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from . import _kernels, _kmeans, _passes

# Rows of responsibilities materialised at a time when they are given rather than computed
# (initialisation from k-means labels or random responsibilities).
RESP_CHUNK_ROWS = 1 << 13

# The per-row outputs of a model, in the order the evaluation pass returns them.
OUTPUTS = ("labels", "resp", "log_prob")


# Numbers per chunk of rows copied (in float64) for the column means.
_MEAN_CHUNK_NUMBERS = 1 << 20


def is_dask_collection(X):
    """Whether X is a Dask array or DataFrame; never imports Dask (X could not be one)."""
    return "dask" in sys.modules and sys.modules["dask"].is_dask_collection(X)


def rows_for(estimator, X, sample_weight=None, *, fit=False, reset=False, kmeans_centres=None,
             evaluation=False):
    """X (and sample_weight) validated for ``estimator``, as the rows object that reads them.

    Parameters
    ----------
    estimator : the mixture (or model selection) the data is for.
    X : array-like, memory map, Dask array or Dask DataFrame
    sample_weight : array-like of shape (n_samples,), Dask array or Series, or None
    fit : bool
        Training data: n_features_in_ (and feature names) are reset, X needs 2 rows and
        ``estimator.n_components``, sample_weight that many positive entries, and
        ``estimator._check_parameters(n_features)`` runs before any pass over the data.
    reset : bool
        Without ``fit``: new training data, checked without a pass over a Dask collection
        (the model selection's own check before its candidates are fitted).
        With neither, data for the fitted ``estimator``.
    kmeans_centres : callable, optional
        ``kmeans_centres(rows, n_clusters, random_state)``: the k-means of the 'kmeans' start
        of in-memory rows, in place of :func:`gmmfast._kmeans.kmeans_centres` (the model
        selection shares it between its candidates).
    evaluation : bool
        Rows that the fitted model only evaluates (per-row outputs, log-likelihood): in
        memory, they are looked at for NaN and infinity only if the evaluation pass meets
        one (see :func:`evaluate_rows`), instead of in a read of their own.
    """
    if not (fit or reset):
        check_is_fitted(estimator)
    if is_dask_collection(X):
        from ._dask import DaskRows

        if fit:
            return DaskRows.for_fit(estimator, X, sample_weight)
        return DaskRows.for_use(estimator, X, sample_weight, reset=reset)
    new = fit or reset
    allow_nan = estimator.__sklearn_tags__().input_tags.allow_nan
    if not (evaluation and not new and allow_nan and _plain_rows_for(estimator, X)):
        X = validate_data(
            estimator, X, reset=new, dtype=[np.float64, np.float32],
            ensure_min_samples=2 if new else 1, ensure_all_finite=not allow_nan,
        )
    if fit:
        check_n_samples(X.shape[0], estimator.n_components)
    if sample_weight is not None:
        sample_weight = np.ascontiguousarray(_check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        ))
        if fit:
            check_positive_weights(int(np.count_nonzero(sample_weight)), estimator.n_components)
    fill, missing, observed = None, False, None
    if allow_nan:
        # Rows to evaluate only are looked at if the evaluation pass meets a NaN or an
        # infinity (missing=None: not known yet).
        fill, missing, observed = ((None, None, None) if evaluation and not fit
                                   else missing_values(X, sample_weight, fit))
    if fit:
        estimator._check_parameters(X.shape[1])
    return InMemoryRows(X, sample_weight, kmeans_centres, fill=fill, missing=missing,
                        observed=observed)


def _plain_rows_for(estimator, X):
    """Whether X is a float32 or float64 ndarray of at least one row with the fitted
    estimator's number of features, which was fitted without feature names: what
    validate_data would return unchanged, without a look at its entries (the evaluation
    pass makes that), so that the check's cost stays out of small calls."""
    return (type(X) is np.ndarray and X.ndim == 2 and X.dtype in (np.float32, np.float64)
            and X.shape[0] >= 1 and X.shape[1] == getattr(estimator, "n_features_in_", -1)
            and not hasattr(estimator, "feature_names_in_"))


def missing_values(X, sample_weight=None, fit=False, n_threads=0, unobserved="error"):
    """One read of X for its missing (NaN) and infinite entries: ``(fill, missing,
    observed)``.

    Infinity is an error. ``missing`` says whether X has a NaN; if it has one and ``fit``,
    ``fill`` holds the (weighted) mean of each feature's observed values, in the dtype of X
    (what the initialisation reads in place of a missing value), and ``observed`` the
    total weight of each feature's observed values (float64); otherwise both are None. A
    feature with no observed value cannot be fitted: an error, or with
    ``unobserved="zero"`` (a batch of a larger fit) its fill is 0.
    """
    n_missing, n_infinite, sums, weights = _kernels.scan_rows(X, sample_weight, n_threads)
    if n_infinite:
        raise infinity_error(X.dtype)
    if not n_missing:
        return None, False, None
    if not fit:
        return None, True, None
    return observed_means(sums, weights, X.dtype, unobserved), True, weights


def infinity_error(dtype):
    """The error of infinite entries in X, where NaN would be a missing value."""
    return ValueError(
        f"Input X contains infinity or a value too large for {np.dtype(dtype)!r}. NaN marks "
        "a missing value; replace infinite values by finite ones or by NaN."
    )


def observed_means(sums, weights, dtype, unobserved="error"):
    """Each feature's mean over its observed values from their sums and weights (see
    :func:`missing_values`), in ``dtype``."""
    empty = weights <= 0
    if empty.any() and unobserved == "error":
        raise ValueError(
            f"Feature {int(np.flatnonzero(empty)[0])} of X has no observed value (every "
            "entry is NaN, or has zero weight); drop it before fitting."
        )
    return (sums / np.where(empty, 1.0, weights)).astype(dtype)


###############################################################################
# Checks of the data against the model (the same words for every kind of rows)


def check_n_samples(n_samples, n_components):
    if n_samples < n_components:
        raise ValueError(
            "Expected n_samples >= n_components but got n_components = "
            f"{n_components}, n_samples = {n_samples}"
        )


def check_positive_weights(n_positive, n_components):
    if n_positive < n_components:
        raise ValueError(
            "sample_weight has %d positive entries, but at least n_components = %d "
            "are needed; give more rows a positive weight or decrease n_components."
            % (n_positive, n_components)
        )


def check_total_weight(count):
    """The mean log-likelihood needs rows of positive total weight."""
    if count <= 0.0:
        raise ValueError(
            "The rows of X have no weight (no rows, or sample_weight sums to zero); the "
            "mean log-likelihood is undefined."
        )


###############################################################################
# The compiled passes on rows in memory


def evaluate_rows(X, args, missing, n_threads=0, patterns=None, **outputs):
    """:func:`gmmfast._passes.evaluate` of X; ``missing`` None: X has not been looked at
    for NaN and infinity, and is only if the pass meets one (then infinity is an error,
    and NaN marks missing values). ``patterns``: see :meth:`InMemoryRows.patterns`."""
    result = _passes.evaluate(X, args, **outputs, n_threads=n_threads, missing=missing,
                              patterns=patterns)
    if result is None:
        missing = missing_values(X, n_threads=n_threads)[1]
        result = _passes.evaluate(X, args, **outputs, n_threads=n_threads, missing=missing)
    return result


def per_row_output(X, args, output, n_threads=0, missing=False, patterns=None):
    """One per-row output of the model ``args`` for the rows of X: "labels" (intp), "resp"
    (N, K) or "log_prob" (log p(x)), the last two in the dtype of X. With ``missing``, the
    NaN entries of X are missing features, marginalised out; None: not known (see
    :func:`evaluate_rows`)."""
    result = evaluate_rows(X, args, missing, n_threads, patterns, **{output: True})
    result = result[OUTPUTS.index(output)]
    return result.astype(X.dtype, copy=False) if output == "log_prob" else result


class InMemoryRows:
    """A validated float32/float64 array X (any strides) and optional sample weights.

    ``missing``: X has NaN entries (missing values), which the E-step and the model's
    outputs marginalise out; None for rows to evaluate that have not been looked at
    (see :func:`evaluate_rows`); ``fill`` (training rows with missing values): the value of
    each feature the initialisation reads in place of a NaN (its observed mean), and
    ``observed`` the total weight of each feature's observed values; ``list_patterns``:
    whether to list the rows' patterns of missing features for the passes (see
    :meth:`patterns`).
    """

    def __init__(self, X, sample_weight=None, kmeans_centres=None, fill=None, missing=False,
                 observed=None, list_patterns=True):
        self.X = X
        self.sample_weight = sample_weight
        self.fill = fill
        self.observed = observed
        self.missing = missing
        self.n_samples, self.n_features = X.shape
        self.dtype = X.dtype
        self.n_total = float(self.n_samples if sample_weight is None else sample_weight.sum())
        self._kmeans_centres = (
            _kmeans.kmeans_centres if kmeans_centres is None else kmeans_centres
        )
        self._patterns = None
        self._list_patterns = list_patterns

    def statistics(self, args, entropy=False):
        """(s0, s1, s2, loglik) of one E-step under the model ``args``; with ``entropy``,
        also sum_i w_i sum_k r_ik log r_ik."""
        return _passes.statistics(self.X, self.sample_weight, args, entropy=entropy,
                                  missing=self.missing, patterns=self.patterns(args))

    def patterns(self, args):
        """The rows' patterns of missing features (see :func:`gmmfast._passes.statistics`)
        where the model's passes use them (full and tied covariances, rows known to have
        NaN, rows read by many passes: not a mini-batch, ``list_patterns=False``, for which
        listing costs more than it saves): listed at the first pass, in one read of the
        rows, and kept for the others (the E-steps and the per-row outputs of a fit's own
        rows, such as its lower bound or the model selection's criteria)."""
        if (not self._list_patterns or self.missing is not True
                or args.covariance_type not in ("full", "tied")):
            return None
        if self._patterns is None:
            self._patterns = _kernels.pattern_list(self.X)
        return self._patterns

    def per_row(self, args, output):
        """One per-row output of the model (see :func:`per_row_output`)."""
        return per_row_output(self.X, args, output, missing=self.missing,
                              patterns=self.patterns(args))

    def log_likelihood(self, args):
        """(sum_i w_i log p(x_i), sum_i w_i) under the model ``args``."""
        log_prob = evaluate_rows(self.X, args, self.missing, patterns=self.patterns(args),
                                 log_prob=True)[2]
        if self.sample_weight is None:
            total = float(log_prob.sum())
        else:
            total = float((log_prob * self.sample_weight).sum())
        check_total_weight(self.n_total)
        return total, self.n_total

    def initial_statistics(self, init_params, n_components, covariance_type, random_state):
        """(s0, s1, s2, base) of scikit-learn's initial responsibilities.

        'kmeans' (nearest k-means centre) and 'random' (uniform responsibilities) weigh
        every row; 'k-means++' and 'random_from_data' give one seed row to each component.
        No n_samples x n_components array is formed: the responsibilities are made in
        chunks, or by the compiled pass.
        """
        X, sample_weight = self.X, self.sample_weight
        n_samples = self.n_samples
        if init_params == "kmeans":
            centres = self.kmeans_centres(n_components, random_state)
            return kmeans_statistics(self, centres, covariance_type)
        if init_params == "random":
            state = random_state.get_state()

            def chunks():
                # The same draws in each pass: rewind the generator to where it started.
                random_state.set_state(state)
                for start in range(0, n_samples, RESP_CHUNK_ROWS):
                    stop = min(start + RESP_CHUNK_ROWS, n_samples)
                    block = random_state.uniform(size=(stop - start, n_components))
                    block = block.astype(self.dtype)
                    block /= block.sum(axis=1)[:, np.newaxis]
                    yield start, stop, block

            rows, weight = X, sample_weight
        else:
            if init_params == "random_from_data":
                p = None if sample_weight is None else sample_weight / sample_weight.sum()
                indices = random_state.choice(n_samples, size=n_components, replace=False, p=p)
            else:
                # scikit-learn's kmeans_plusplus seeds, drawn around the column means.
                _, indices = _kmeans.kmeans_plusplus(
                    X, sample_weight, self.column_mean(), n_components, random_state,
                    fill=self.fill,
                )
            # One seed row per component, each with responsibility one.
            rows, weight = _kmeans.filled(X[indices], self.fill), None

            def chunks():
                yield 0, n_components, np.eye(n_components)

        # First the means (sums around the origin), then the sums around them.
        eps = float(np.finfo(self.dtype).eps)
        origin = np.zeros((n_components, self.n_features))
        fill = self.fill if rows is X else None
        s0, s1, _, _ = _passes.statistics_of_responsibilities(
            rows, weight, chunks(), origin, covariance_type, fill=fill
        )
        means = s1 / (s0 + 10.0 * eps)[:, np.newaxis]
        return _passes.statistics_of_responsibilities(
            rows, weight, chunks(), means, covariance_type, fill=fill
        )

    def first_row(self):
        """The first row of X (D,), in its dtype (missing values filled)."""
        return _kmeans.filled(np.array(self.X[0]), self.fill)

    def column_mean(self):
        """Column means of X in its dtype (the centre k-means works around); with missing
        values, the means of the observed ones.

        Summed in float64 over row-major copies of chunks of rows, added in order: the
        same bits whatever the layout of X (``X.mean(axis=0)`` adds the rows of a
        C-ordered float32 X one by one in float32, those of a Fortran-ordered one
        pairwise, so that the k-means start, and the fit, depended on the layout), and
        at most about 8 MB copied at a time.
        """
        if self.fill is not None:
            return self.fill.copy()
        n_samples, n_features = self.X.shape
        step = max(1, _MEAN_CHUNK_NUMBERS // max(1, n_features))
        total = np.zeros(n_features)
        for start in range(0, n_samples, step):
            chunk = np.ascontiguousarray(self.X[start:start + step], dtype=np.float64)
            total += chunk.sum(axis=0)
        return (total / n_samples).astype(self.X.dtype)

    def nearest_centre_sums(self, shift, centres, inertia=False):
        """(s0, s1) of each row given to its nearest centre, around ``shift`` (and the
        inertia, with ``inertia``)."""
        s0, s1, _, total = _passes.nearest_centre_sums(
            self.X, self.sample_weight, shift, centres, inertia=inertia, fill=self.fill
        )
        return (s0, s1, total) if inertia else (s0, s1)

    def farthest_rows(self, shift, centres, n_rows):
        """The rows farthest from their nearest centre (see :func:`_kmeans.farthest_rows`)."""
        return _kmeans.farthest_rows(self.X, self.sample_weight, shift, centres, n_rows,
                                     fill=self.fill)

    def statistics_of_nearest(self, centres, base, covariance_type):
        """Sums around ``base`` of each row given to its nearest centre."""
        return _passes.statistics_of_nearest(
            self.X, self.sample_weight, centres, base, covariance_type, fill=self.fill
        )

    def kmeans_centres(self, n_components, random_state):
        """Centres of the 'kmeans' initialisation: k-means over every row."""
        return self._kmeans_centres(self, n_components, random_state)


def kmeans_statistics(rows, centres, covariance_type):
    """Sums (s0, s1, s2, base) of the rows given to their nearest centre, around it.

    If the means of the rows so given are far from the centres compared with their spread,
    a second pass takes the sums around those means. Nothing of the size of X is allocated.
    """
    sums = rows.statistics_of_nearest(centres, centres, covariance_type)
    s0, s1, s2, base = sums
    if not _passes.needs_second_pass(s0, s1, s2, base, covariance_type, rows.dtype):
        return sums
    eps = float(np.finfo(rows.dtype).eps)
    means = base + s1 / (s0 + 10.0 * eps)[:, np.newaxis]
    return rows.statistics_of_nearest(centres, means, covariance_type)
