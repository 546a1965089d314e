"""Gaussian mixtures on Dask arrays and DataFrames: the passes run on the workers.

Imported only when the data is a Dask collection, so that gmmfast never imports Dask
otherwise.

Fitting. Each EM iteration runs the compiled statistics pass on every row chunk, on the Dask
workers (``dask.distributed`` when a Client is active, the local scheduler otherwise). A chunk
sends back its sums s0 (K), s1 (K x D), s2 (K x D x D for full covariances) and its
log-likelihood; the data itself never leaves the workers. The sums are added in chunk order,
in fixed groups of ``SPLIT_EVERY`` consecutive chunks, so the result depends on the chunking
only through the rounding of those sums, never on the scheduling.

Initialisation. 'kmeans' draws its k-means++ seeds from a uniform random sample of the rows
(rows of positive weight when ``sample_weight`` is given), gathered from every chunk: at most
``INIT_SAMPLE_ROWS`` rows (and ``INIT_SAMPLE_BYTES``), at least
``INIT_SAMPLE_MIN_PER_COMPONENT`` per component; its Lloyd iterations and the initial sums then
read every row, one pass of the workers each. 'k-means++', 'random' and 'random_from_data' run
the in-memory initialisation on that sample; sums of responsibilities ('random') are scaled
from the sample to the data. When the data has no more rows than the sample would, the sample
is the data in order and the initialisation is the in-memory one.
"""

import math
import sys

import dask
import dask.array as da
import numpy as np
from sklearn.utils.validation import assert_all_finite, validate_data

from . import _kernels, _kmeans, _passes
from ._rows import (
    InMemoryRows,
    check_n_samples,
    check_positive_weights,
    check_total_weight,
    infinity_error,
    kmeans_statistics,
    missing_values,
    observed_means,
    per_row_output,
)

# Per-chunk sums are added in groups of this many consecutive chunks (on the workers), then
# the group sums in order on the client: at most this many results reach the client.
SPLIT_EVERY = 32

# Size of the sample of rows the initialisation runs on.
INIT_SAMPLE_ROWS = 100_000
INIT_SAMPLE_BYTES = 256 * 1024 * 1024
INIT_SAMPLE_MIN_PER_COMPONENT = 50


###############################################################################
# Validation of Dask input


def _as_dask_array(X):
    """X as a 2-D Dask array, and an empty in-memory stand-in carrying its columns."""
    if isinstance(X, da.Array):
        if X.ndim != 2:
            raise ValueError(
                f"Expected a 2-D Dask array of shape (n_samples, n_features), got "
                f"{X.ndim}-D. Reshape it with X.reshape(-1, 1) for a single feature."
            )
        if math.isnan(X.shape[1]):
            raise ValueError(
                "The number of columns of the Dask array is unknown; give it known column "
                "chunks (for instance X.compute_chunk_sizes())."
            )
        return X, np.empty((0, X.shape[1]), dtype=X.dtype)
    dataframe = sys.modules.get("dask.dataframe")  # imported if X is a Dask DataFrame
    if dataframe is not None and isinstance(X, dataframe.DataFrame):
        # Its empty pandas meta frame carries the column names and dtypes.
        return X.to_dask_array(), X._meta
    if dataframe is not None and isinstance(X, dataframe.Series):
        raise ValueError(
            "Expected 2-D data of shape (n_samples, n_features), got a Dask Series; "
            "use series.to_frame() for a single feature."
        )
    raise TypeError(
        f"gmmfast takes a dask.array.Array or a dask.dataframe.DataFrame, got "
        f"{type(X).__name__}; build a Dask array from it (da.from_delayed, "
        f"da.from_array) or compute it."
    )


def _checked_array(estimator, X, reset):
    """Validated Dask array of X: float32/float64, one chunk across the columns.

    The checks of the in-memory path (number of features, feature names, dtype) run on an
    empty stand-in; the values are checked chunk by chunk when they are read.
    """
    array, meta = _as_dask_array(X)
    if array.dtype.kind not in "biufc":
        raise ValueError(
            f"Dask input of dtype {array.dtype} cannot be fitted; convert it to numbers "
            "first, for instance with X.astype('float64')."
        )
    dtype = validate_data(
        estimator, meta, reset=reset, dtype=[np.float64, np.float32], ensure_min_samples=0
    ).dtype
    if array.dtype != dtype:
        array = array.astype(dtype)
    if len(array.chunks[1]) > 1:
        array = array.rechunk({1: -1})
    return array


def _blocks(array):
    """One Delayed per row chunk of a 1-D or 2-D Dask array (one chunk across columns)."""
    return list(array.to_delayed(optimize_graph=True).ravel())


def _known_counts(array):
    """Rows per chunk as the chunks give them; None when some are unknown."""
    counts = array.chunks[0]
    if any(math.isnan(c) for c in counts):
        return None
    return [int(c) for c in counts]


def _row_counts(array):
    """Rows per chunk, from the chunks when known, else counted on the workers."""
    counts = _known_counts(array)
    if counts is not None:
        return counts
    return [int(n) for n in dask.compute(*[_delayed(len)(b) for b in _blocks(array)])]


def _with_known_chunks(array, counts):
    if tuple(array.chunks[0]) == tuple(counts):
        return array
    return array.map_blocks(
        _identity, chunks=(tuple(counts),) + array.chunks[1:], dtype=array.dtype
    )


def _weight_array(sample_weight, counts):
    """sample_weight as a float64 Dask array chunked like the rows.

    Returns ``(weights, checked)``: ``checked`` is True when the values were already
    checked on the client (in-memory weights), False when a pass must check them.
    """
    n_samples = sum(counts)
    if dask.is_dask_collection(sample_weight):
        dataframe = sys.modules.get("dask.dataframe")
        if dataframe is not None and isinstance(sample_weight, dataframe.Series):
            sample_weight = sample_weight.to_dask_array()
        if not isinstance(sample_weight, da.Array) or sample_weight.ndim != 1:
            raise ValueError(
                "sample_weight must be 1-D (one weight per row): a NumPy array, a Dask "
                "array or a Dask Series."
            )
        weights = sample_weight.astype(np.float64)
        known = not any(math.isnan(c) for c in weights.chunks[0])
        if known:
            if weights.shape[0] != n_samples:
                raise ValueError(
                    f"sample_weight.shape == ({weights.shape[0]},), expected ({n_samples},)!"
                )
            if tuple(weights.chunks[0]) != tuple(counts):
                weights = weights.rechunk((tuple(counts),))
        elif len(weights.chunks[0]) != len(counts):
            raise ValueError(
                "sample_weight has chunks of unknown size that are not aligned with the "
                "chunks of X; give it the same partitions as X, or known chunk sizes."
            )
        else:
            weights = _with_known_chunks(weights, counts)
        return weights, False
    weights = np.asarray(sample_weight, dtype=np.float64)
    if weights.ndim == 0:
        weights = np.full(n_samples, float(weights))
    if weights.shape != (n_samples,):
        raise ValueError(f"sample_weight.shape == {weights.shape}, expected ({n_samples},)!")
    _check_weight_values(
        bool(np.all(np.isfinite(weights))), float(weights.min(initial=np.inf))
    )
    return da.from_array(weights, chunks=(tuple(counts),)), True


def _check_training_rows(estimator, n_samples, n_features):
    """At least 2 rows (scikit-learn's words) and n_components of them."""
    if n_samples < 2:
        raise ValueError(
            f"Found array with {n_samples} sample(s) (shape=({n_samples}, "
            f"{n_features})) while a minimum of 2 is required by {type(estimator).__name__}."
        )
    check_n_samples(n_samples, estimator.n_components)


def _check_weight_values(finite, minimum):
    if not finite:
        raise ValueError("Input sample_weight contains NaN or infinity.")
    if minimum < 0.0:
        raise ValueError("Negative values in data passed to `sample_weight`")


###############################################################################
# Work on one chunk (runs on the workers)


def _delayed(function):
    return dask.delayed(function, pure=False, traverse=False)


def _identity(block):
    return block


def _as_ndarray(block):
    if not isinstance(block, np.ndarray):
        raise TypeError(
            f"gmmfast fits Dask arrays of NumPy chunks, got chunks of type "
            f"{type(block).__name__}; convert them with X.map_blocks(np.asarray)."
        )
    return block


def _weight_block(weight, block):
    if weight is None:
        return None
    weight = np.ascontiguousarray(weight, dtype=np.float64)
    if weight.shape != (block.shape[0],):
        raise ValueError(
            f"A chunk of sample_weight has {weight.shape[0]} entries for {block.shape[0]} "
            "rows of X; give sample_weight the same partitions as X."
        )
    return weight


def _chunk_summary(block):
    """(rows, NaN entries, infinite entries, sums and counts of each feature's observed
    values) of a chunk."""
    block = _as_ndarray(block)
    return (block.shape[0], *_kernels.scan_rows(block, None, 1))


def _chunk_observed_sums(block, weight):
    """(sum_i w_i x_ij, sum_i w_i) over each feature's observed (finite) entries."""
    _, _, sums, weights = _kernels.scan_rows(block, _weight_block(weight, block), 1)
    return sums, weights


def _missing_of_chunk(block):
    """Whether a chunk of data for a fitted model has NaN (missing values); infinity is an
    error."""
    return missing_values(block, n_threads=1)[1]


def _weight_summary(weight, n_rows):
    """(positive weights, all finite, smallest weight) of a chunk of sample_weight."""
    weight = np.asarray(weight, dtype=np.float64)
    if weight.shape != (n_rows,):
        raise ValueError(
            f"A chunk of sample_weight has {weight.shape[0]} entries for {n_rows} rows of "
            "X; give sample_weight the same partitions as X."
        )
    return (
        int(np.count_nonzero(weight > 0.0)),
        bool(np.all(np.isfinite(weight))),
        float(weight.min(initial=np.inf)),
    )


def _chunk_statistics(block, weight, args, entropy, missing):
    """The E-step sums of one chunk; one thread, the workers give the parallelism."""
    return _passes.statistics(
        block, _weight_block(weight, block), args, n_threads=1, entropy=entropy,
        missing=missing,
    )


def _chunk_nearest(block, weight, shift, centres, inertia, fill):
    """(s0, s1, inertia) of a chunk's rows given to their nearest centre (k-means)."""
    s0, s1, _, total = _passes.nearest_centre_sums(
        block, _weight_block(weight, block), shift, centres, inertia=inertia, n_threads=1,
        fill=fill,
    )
    return s0, s1, total


def _chunk_farthest(block, weight, shift, centres, n_rows, fill):
    """A chunk's ``n_rows`` rows farthest from their nearest centre (see
    :func:`gmmfast._kmeans.farthest_candidates`), at most as many as it has."""
    return _kmeans.farthest_candidates(block, _weight_block(weight, block), shift, centres,
                                       n_rows, n_threads=1, fill=fill)


def _chunk_statistics_of_nearest(block, weight, centres, base, covariance_type, fill):
    """(s0, s1, s2) of a chunk's rows given to their nearest centre, around ``base``."""
    s0, s1, s2, _ = _passes.statistics_of_nearest(
        block, _weight_block(weight, block), centres, base, covariance_type, n_threads=1,
        fill=fill,
    )
    return s0, s1, s2


def _sum_in_order(*parts):
    """Element-wise sum of tuples of arrays, added in the order given."""
    total = [np.array(p, dtype=np.float64) for p in parts[0]]
    for part in parts[1:]:
        for t, p in zip(total, part):
            t += p
    return tuple(total)


def _take_rows(block, weight, positions):
    """Rows of a chunk eligible for the initial sample (positive weight if weighted), or
    those of them at ``positions`` (None: all), with their weights."""
    block = _as_ndarray(block)
    if weight is None:
        return (block if positions is None else block[positions]), None
    weight = _weight_block(weight, block)
    keep = np.flatnonzero(weight > 0.0)
    if positions is not None:
        keep = keep[positions]
    return block[keep], weight[keep]


def _chunk_outputs(block, args, output, allow_nan):
    """One per-row output of the model for a chunk, in the in-memory path's dtypes."""
    block = _as_ndarray(block)
    missing = _checked_values(block, allow_nan)
    return per_row_output(block, args, output, n_threads=1, missing=missing)


def _checked_values(block, allow_nan):
    """Whether a chunk has missing values (NaN), which only a model that allows them
    takes; infinity is an error."""
    if not allow_nan:
        assert_all_finite(block, input_name="X")
        return False
    return _missing_of_chunk(block)


def _chunk_log_likelihood(block, weight, args, allow_nan):
    """(sum_i w_i log p(x_i), sum_i w_i, all weights finite, smallest weight) of a chunk."""
    block = _as_ndarray(block)
    missing = _checked_values(block, allow_nan)
    log_prob = _passes.evaluate(block, args, log_prob=True, n_threads=1, missing=missing)[2]
    if weight is None:
        return float(log_prob.sum()), float(block.shape[0]), True, np.inf
    weight = _weight_block(weight, block)
    return (
        float(weight @ log_prob),
        float(weight.sum()),
        bool(np.all(np.isfinite(weight))),
        float(weight.min(initial=np.inf)),
    )


###############################################################################
# Reductions on the client


def _reduce_in_order(parts):
    """Sum of the per-chunk Delayed statistics, in chunk order: consecutive groups of
    SPLIT_EVERY are added on the workers, the group sums on the client."""
    while len(parts) > SPLIT_EVERY:
        parts = [
            _delayed(_sum_in_order)(*parts[i : i + SPLIT_EVERY])
            for i in range(0, len(parts), SPLIT_EVERY)
        ]
    return _sum_in_order(*dask.compute(*parts))


def _init_sample_size(n_components, n_features, itemsize):
    by_bytes = INIT_SAMPLE_BYTES // (n_features * itemsize)
    return max(
        INIT_SAMPLE_MIN_PER_COMPONENT * n_components, min(INIT_SAMPLE_ROWS, by_bytes)
    )


###############################################################################
# The rows the EM loop reads


class DaskRows:
    """A Dask array X and optional sample weights, as the estimator reads them.

    Answers the questions of ``gmmfast._rows.InMemoryRows`` with passes over the chunks on
    the Dask workers. Build it with :meth:`for_fit` (training data) or :meth:`for_use`
    (data for a fitted model: its per-row outputs are lazy Dask arrays).
    """

    def __init__(self, X, sample_weight, counts=None, eligible=None, n_total=None,
                 fill=None, missing=False, allow_nan=False, observed=None):
        self.X = X
        self.sample_weight = sample_weight
        # As InMemoryRows': the training rows have NaN (missing), read by the starts as
        # ``fill``, with ``observed`` each feature's weight of observed values; a model for
        # data that may have NaN (allow_nan) checks each chunk.
        self.fill = fill
        self.observed = observed
        self.missing = missing
        self.allow_nan = allow_nan
        # Unknown (nan) for data of unknown chunk sizes that is only evaluated.
        self.n_samples = X.shape[0] if counts is None else int(sum(counts))
        self.n_features = int(X.shape[1])
        self.dtype = X.dtype
        self.n_total = None if n_total is None else float(n_total)
        # Rows the initial sample is drawn from, per chunk (positive weight if weighted).
        self._eligible = None if eligible is None else list(eligible)
        blocks = _blocks(X)
        weights = [None] * len(blocks) if sample_weight is None else _blocks(sample_weight)
        counts = [None] * len(blocks) if counts is None else counts
        self._pieces = [(b, w, n) for b, w, n in zip(blocks, weights, counts)]

    @classmethod
    def for_fit(cls, estimator, X, sample_weight):
        """Validate Dask training data and wrap it for the EM loop.

        The checks that need no pass over the data come first: the columns and dtype, the
        number of rows when the chunks give it, in-memory weights, and the estimator's
        ``_check_parameters``. Then one pass checks the values and counts the rows, and
        one more checks Dask weights and sums them.
        """
        array = _checked_array(estimator, X, reset=True)
        known = _known_counts(array)
        weight_array = None
        if known is not None:
            _check_training_rows(estimator, sum(known), array.shape[1])
            if sample_weight is not None:
                weight_array = _weight_array(sample_weight, known)
        estimator._check_parameters(int(array.shape[1]))
        summaries = dask.compute(*[_delayed(_chunk_summary)(b) for b in _blocks(array)])
        counts = [p[0] for p in summaries]
        allow_nan = estimator.__sklearn_tags__().input_tags.allow_nan
        missing = sum(p[1] for p in summaries) > 0
        infinite = any(p[2] for p in summaries)
        if not allow_nan and (missing or infinite):
            raise ValueError(
                "Input X contains NaN or infinity; drop or impute those rows before fitting."
            )
        if infinite:
            raise infinity_error(array.dtype)
        n_samples = sum(counts)
        if known is None:
            _check_training_rows(estimator, n_samples, array.shape[1])
        array = _with_known_chunks(array, counts)
        flags = dict(missing=missing, allow_nan=allow_nan)
        if sample_weight is None:
            if missing:
                # Unweighted: the fill from the sums of this same pass, in chunk order.
                flags["observed"] = np.sum([p[4] for p in summaries], axis=0)
                flags["fill"] = observed_means(np.sum([p[3] for p in summaries], axis=0),
                                               flags["observed"], array.dtype)
            return cls(array, None, counts, counts, n_samples, **flags)

        if weight_array is None:
            weight_array = _weight_array(sample_weight, counts)
        weights, checked = weight_array
        if checked:
            # In-memory weights: sent to the workers once, not with every iteration.
            weights = weights.persist()
        blocks = _blocks(weights)
        tasks = [_delayed(_weight_summary)(w, n) for w, n in zip(blocks, counts)]
        tasks.append(weights.sum())
        *summaries, n_total = dask.compute(*tasks)
        _check_weight_values(
            all(finite for _, finite, _ in summaries), min(m for _, _, m in summaries)
        )
        positive = [p for p, _, _ in summaries]
        check_positive_weights(sum(positive), estimator.n_components)
        if missing:
            flags["fill"], flags["observed"] = _observed_means(array, weights)
        return cls(array, weights, counts, positive, n_total, **flags)

    @classmethod
    def for_use(cls, estimator, X, sample_weight=None, reset=False):
        """Validate Dask data for a fitted model (``reset``: new training data) without a
        pass over it; weights, when given, are aligned with the row chunks."""
        array = _checked_array(estimator, X, reset=reset)
        allow_nan = estimator.__sklearn_tags__().input_tags.allow_nan
        if sample_weight is None:
            return cls(array, None, allow_nan=allow_nan)
        counts = _row_counts(array)
        return cls(array, _weight_array(sample_weight, counts)[0], counts,
                   allow_nan=allow_nan)

    def statistics(self, args, entropy=False):
        """(s0, s1, s2, loglik) of one E-step under the model ``args``, summed over chunks;
        with ``entropy``, also sum_i w_i sum_k r_ik log r_ik."""
        s0, s1, s2, loglik, *rest = self._over_chunks(_chunk_statistics, args, entropy,
                                                      self.missing)
        return (s0, s1, s2, float(loglik)) + tuple(float(r) for r in rest)

    def per_row(self, args, output):
        """One per-row output of the model, as a lazy Dask array (see
        :func:`gmmfast._rows.per_row_output`)."""
        return _lazy_output(self.X, args, output, self.allow_nan)

    def log_likelihood(self, args):
        """(sum_i w_i log p(x_i), sum_i w_i) under the model ``args``, computed now."""
        args = dask.delayed(args)
        parts = dask.compute(*[
            _delayed(_chunk_log_likelihood)(block, weight, args, self.allow_nan)
            for block, weight, _ in self._pieces
        ])
        _check_weight_values(all(p[2] for p in parts), min(p[3] for p in parts))
        total = math.fsum(p[0] for p in parts)
        count = math.fsum(p[1] for p in parts)
        check_total_weight(count)
        return total, count

    def _over_chunks(self, function, *args):
        """``function(block, weight, *args)`` on every chunk, the results added in order."""
        args = [dask.delayed(a) for a in args]
        parts = [
            _delayed(function)(block, weight, *args)
            for block, weight, n in self._pieces
            if n != 0
        ]
        return _reduce_in_order(parts)

    def first_row(self):
        """The first row of X (D,), in its dtype (missing values filled)."""
        return _kmeans.filled(np.asarray(self.X[0].compute(), dtype=self.dtype), self.fill)

    def column_mean(self):
        """Column means of X in its dtype (the centre k-means works around); with missing
        values, the means of the observed ones."""
        if self.fill is not None:
            return self.fill.copy()
        return np.asarray(self.X.mean(axis=0).compute(), dtype=self.dtype)

    def nearest_centre_sums(self, shift, centres, inertia=False):
        """(s0, s1) of each row given to its nearest centre, around ``shift`` (and the
        inertia, with ``inertia``): one pass of the workers."""
        s0, s1, total = self._over_chunks(_chunk_nearest, shift, centres, inertia, self.fill)
        return (s0, s1, float(total)) if inertia else (s0, s1)

    def farthest_rows(self, shift, centres, n_rows):
        """The rows farthest from their nearest centre, as in memory (see
        :func:`gmmfast._kmeans.farthest_rows`): each chunk sends its farthest ones."""
        args = [dask.delayed(a) for a in (shift, centres, n_rows, self.fill)]
        parts = dask.compute(*[
            _delayed(_chunk_farthest)(block, weight, *args)
            for block, weight, n in self._pieces
            if n != 0
        ])
        distance = np.concatenate([p[0] for p in parts])
        if np.max(distance) == 0:
            return None
        far = np.argpartition(distance, -n_rows)[: -n_rows - 1 : -1]
        z, weight, labels = (np.concatenate([p[i] for p in parts])[far] for i in (1, 2, 3))
        return z, weight, labels

    def statistics_of_nearest(self, centres, base, covariance_type):
        """Sums around ``base`` of each row given to its nearest centre."""
        s0, s1, s2 = self._over_chunks(
            _chunk_statistics_of_nearest, centres, base, covariance_type, self.fill
        )
        return s0, s1, s2, _passes.nearest_layout(centres, base, self.dtype)[2]

    def kmeans_centres(self, n_components, random_state):
        """Centres of the 'kmeans' initialisation: k-means++ seeds drawn from the initial
        sample of rows (all rows, in order, when there are no more), then Lloyd
        iterations over every row, one pass of the workers each."""
        rows, weights = self._sample(n_components, random_state)
        return _kmeans.kmeans_centres(
            self, n_components, random_state, seeding_rows=self._in_memory(rows, weights)
        )

    def initial_statistics(self, init_params, n_components, covariance_type, random_state):
        """(s0, s1, s2, base) of the initialisation: 'kmeans' from k-means over every row,
        the others run in memory on a sample of rows."""
        if init_params == "kmeans":
            centres = self.kmeans_centres(n_components, random_state)
            return kmeans_statistics(self, centres, covariance_type)
        rows, weights = self._sample(n_components, random_state)
        s0, s1, s2, base = self._in_memory(rows, weights).initial_statistics(
            init_params, n_components, covariance_type, random_state
        )
        if init_params == "random":
            # Sums of responsibilities over the sample, scaled to the whole data.
            sample_total = len(rows) if weights is None else float(weights.sum())
            scale = self.n_total / sample_total
            if scale != 1.0:
                s0, s1, s2 = s0 * scale, s1 * scale, s2 * scale
        return s0, s1, s2, base

    def _in_memory(self, rows, weights):
        """Rows of the initial sample in memory, with the data's missing-value fill."""
        return InMemoryRows(rows, weights, fill=self.fill,
                            missing=self.missing and bool(np.isnan(rows).any()))

    def _sample(self, n_components, random_state):
        """Eligible rows drawn uniformly without replacement (all of them, in order, when
        there are no more than the sample size), with their weights."""
        n_eligible = sum(self._eligible)
        n_sample = min(
            n_eligible,
            _init_sample_size(n_components, self.n_features, self.dtype.itemsize),
        )
        if n_sample == n_eligible:
            picks = [None] * len(self._eligible)
        else:
            seed = random_state.randint(np.iinfo(np.int64).max, dtype=np.int64)
            chosen = np.random.default_rng(seed).choice(
                n_eligible, size=n_sample, replace=False, shuffle=False
            )
            chosen.sort()
            bounds = np.concatenate([[0], np.cumsum(self._eligible)])
            cuts = np.searchsorted(chosen, bounds)
            picks = [
                chosen[cuts[c] : cuts[c + 1]] - bounds[c] for c in range(len(self._eligible))
            ]
        tasks = [
            _delayed(_take_rows)(block, weight, pick)
            for (block, weight, _), pick, n in zip(self._pieces, picks, self._eligible)
            if n > 0 and (pick is None or len(pick) > 0)
        ]
        parts = dask.compute(*tasks)
        rows = np.concatenate([p[0] for p in parts])
        weights = None if self.sample_weight is None else np.concatenate([p[1] for p in parts])
        return rows, weights


###############################################################################
# Using a fitted model on Dask data


def _lazy_output(array, args, output, allow_nan=False):
    """A per-row output of the model over a Dask array, computed chunk by chunk when asked."""
    n_components = args.n_components
    args = dask.delayed(args)
    if output == "resp":
        return array.map_blocks(
            _chunk_outputs, args, output, allow_nan, dtype=array.dtype,
            chunks=(array.chunks[0], (n_components,)),
        )
    dtype = np.dtype(np.intp) if output == "labels" else array.dtype
    return array.map_blocks(
        _chunk_outputs, args, output, allow_nan, drop_axis=1, dtype=dtype,
        meta=np.empty((0,), dtype=dtype),
    )


def _observed_means(array, weights):
    """Each feature's weighted mean over its observed values, in the data's dtype (what the
    starts read in place of a missing value), and the total weight of those values (one
    pass of the workers)."""
    parts = dask.compute(*[
        _delayed(_chunk_observed_sums)(b, w) for b, w in zip(_blocks(array), _blocks(weights))
    ])
    observed = np.sum([p[1] for p in parts], axis=0)
    return observed_means(np.sum([p[0] for p in parts], axis=0), observed,
                          array.dtype), observed


###############################################################################
# Mini-batch fitting: the chunks, one at a time, as batches


class DaskBatches:
    """A Dask array or DataFrame as the batches of a mini-batch fit.

    Each pass visits the row chunks in a new random order; a chunk is computed (on the
    workers, then sent to the client) when its turn comes, its values checked, its rows
    put in a random order and split into ``ceil(rows / batch_size)`` batches of nearly
    equal size (at most ``batch_size`` rows). One chunk is in memory at a time; the steps
    run on the client. The validation that needs no pass over the data runs first.
    """

    def __init__(self, estimator, X, sample_weight=None):
        array = _checked_array(estimator, X, reset=True)
        counts = _known_counts(array)
        if counts is None and sample_weight is not None:
            # The weights are split like the rows: the rows of each chunk are counted.
            counts = _row_counts(array)
            array = _with_known_chunks(array, counts)
        if counts is not None:
            _check_training_rows(estimator, sum(counts), array.shape[1])
        weights = None
        if sample_weight is not None:
            weights = _weight_array(sample_weight, counts)[0]
        estimator._check_parameters(int(array.shape[1]))
        self.dtype = array.dtype
        self.rows = DaskRows(array, weights, counts,
                             allow_nan=estimator.__sklearn_tags__().input_tags.allow_nan)
        self._blocks = _blocks(array)
        self._weights = [None] * len(self._blocks) if weights is None else _blocks(weights)
        self._counts = counts

    def batches(self, batch_size, random_state):
        for c in random_state.permutation(len(self._blocks)):
            if self._counts is not None and self._counts[c] == 0:
                continue
            block, weight = dask.compute(self._blocks[c], self._weights[c])
            block = _as_ndarray(block)
            if block.shape[0] == 0:
                continue
            weight = _weight_block(weight, block)
            if weight is not None:
                _check_weight_values(
                    bool(np.all(np.isfinite(weight))), float(weight.min(initial=np.inf))
                )
            fill, missing = self._missing_values(block, weight)
            order = random_state.permutation(block.shape[0])
            n_batches = -(-block.shape[0] // batch_size)
            if n_batches == 1:
                yield InMemoryRows(block, weight, fill=fill, missing=missing,
                                   list_patterns=False)
                continue
            for part in np.array_split(order, n_batches):
                part.sort()
                yield InMemoryRows(block[part], None if weight is None else weight[part],
                                   fill=fill, missing=missing, list_patterns=False)

    def _missing_values(self, block, weight):
        """(fill, missing) of a computed chunk (see gmmfast._rows.missing_values): NaN
        only for a mixture that takes missing values, infinity never; the fill, each
        feature's observed mean in the chunk (0 where it has none), is what a start on one
        of its batches reads in place of a missing value."""
        if not self.rows.allow_nan:
            assert_all_finite(block, input_name="X")
            return None, False
        return missing_values(block, weight, fit=True, n_threads=1, unobserved="zero")[:2]
