"""Gaussian mixture fitted by stepwise (online) EM over mini-batches of the rows."""

import warnings
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval

from ._gaussian_mixture import (
    GaussianMixture,
    _check_finite_log_likelihood,
    _estimate_parameters,
    _precision_cholesky_from_covariances,
)
from ._parallel import single_threaded_blas
from ._passes import PassArguments, needs_second_pass
from ._progress import report
from ._rows import (
    InMemoryRows,
    check_n_samples,
    check_positive_weights,
    check_total_weight,
    is_dask_collection,
    rows_for,
)

###############################################################################
# Running statistics: per unit weight, around one point per component


def _shifted_statistics(statistics, new_base, covariance_type):
    """The same sums taken around ``new_base`` (parallel-axis rule, exact algebra).

    With e_k = c_k - b_k, sums around b_k become sums around c_k:
        sum_i r_ik (x_i - c_k)             = s1_k - s0_k e_k
        sum_i r_ik (x_i - c_k)(x_i - c_k)^T = s2_k - s1_k e_k^T - e_k s1_k^T + s0_k e_k e_k^T
    (diag and spherical: the diagonal of it; tied: its sum over the components).
    """
    s0, s1, s2, base = statistics
    e = new_base - base
    new_s1 = s1 - s0[:, np.newaxis] * e
    if covariance_type in ("full", "tied"):
        cross = s1[:, :, np.newaxis] * e[:, np.newaxis, :]
        change = (
            s0[:, np.newaxis, np.newaxis] * e[:, :, np.newaxis] * e[:, np.newaxis, :]
            - cross
            - cross.transpose(0, 2, 1)
        )
        new_s2 = s2 + (change if covariance_type == "full" else change.sum(axis=0))
    else:
        new_s2 = s2 - 2.0 * s1 * e + s0[:, np.newaxis] * e * e
    return s0, new_s1, new_s2, new_base


def _statistics_of_parameters(weights, means, covariances, covariance_type, reg_covar):
    """Normalised sums whose M-step gives back (weights, means, covariances): s0 = pi,
    s1 = 0 around the means, s2 = pi (Sigma - reg_covar I) (tied: Sigma - reg_covar I)."""
    n_components, n_features = means.shape
    s0 = np.asarray(weights, dtype=np.float64).copy()
    s1 = np.zeros((n_components, n_features))
    covariances = np.asarray(covariances, dtype=np.float64)
    if covariance_type == "full":
        s2 = s0[:, np.newaxis, np.newaxis] * (covariances - reg_covar * np.eye(n_features))
    elif covariance_type == "tied":
        s2 = s0.sum() * (covariances - reg_covar * np.eye(n_features))
    elif covariance_type == "diag":
        s2 = s0[:, np.newaxis] * (covariances - reg_covar)
    else:
        s2 = s0[:, np.newaxis] * np.repeat(
            (covariances - reg_covar)[:, np.newaxis], n_features, axis=1
        )
    return s0, s1, s2, np.asarray(means, dtype=np.float64).copy()


def _blend(old, new, rho):
    """S <- (1 - rho) S + rho s, sums around the same points; rho = 1 gives s exactly."""
    if old is None or rho == 1.0:
        return new
    return tuple((1.0 - rho) * a + rho * b for a, b in zip(old[:3], new[:3])) + (new[3],)


###############################################################################
# Where the batches come from: one pass at a time, one batch in memory at a time


def batch_source(estimator, X, sample_weight=None, kmeans_centres=None):
    """The training rows of ``estimator`` as a source of batches: rows in memory (or a
    memory map), validated once, or a Dask collection, each chunk validated when it is
    computed. The one place that tells them apart."""
    if is_dask_collection(X):
        from ._dask import DaskBatches

        return DaskBatches(estimator, X, sample_weight)
    return InMemoryBatches(
        rows_for(estimator, X, sample_weight, fit=True, kmeans_centres=kmeans_centres)
    )


class InMemoryBatches:
    """Validated rows in memory or memory-mapped: each pass visits every row once, in a
    new random order, ``batch_size`` rows at a time (the last batch takes the rest)."""

    def __init__(self, rows):
        self.rows = rows
        self.dtype = rows.dtype

    def batches(self, batch_size, random_state):
        rows = self.rows
        n_samples = rows.n_samples
        order = random_state.permutation(n_samples)
        for start in range(0, n_samples, batch_size):
            yield self._batch(order[start:start + batch_size])

    def _batch(self, indices):
        """The rows at ``indices`` (in increasing order, for the locality of a memory map)
        as rows in memory; all the rows as they are when the batch holds every row."""
        rows = self.rows
        if len(indices) == rows.n_samples:
            return rows
        indices = np.sort(indices)
        weight = None if rows.sample_weight is None else rows.sample_weight[indices]
        return InMemoryRows(np.asarray(rows.X[indices]), weight, fill=rows.fill,
                            missing=rows.missing, list_patterns=False)


class StreamBatches:
    """Batches that arrive as arrays (a file read piece by piece): ``passes(random_state)``
    gives the batches of one pass, 2-D arrays; each is validated for ``estimator`` as it
    arrives, the first as training data (it sets ``n_features_in_``), the others against
    it, so that a batch with other columns is refused before its step."""

    rows = None  # nothing to predict on after the fit
    dtype = np.dtype(np.float64)  # the batches' own dtype once one has arrived

    def __init__(self, estimator, passes):
        self.estimator = estimator
        self.passes = passes
        self._first = True

    def batches(self, batch_size, random_state):
        for X in self.passes(random_state):
            if self._first:
                rows = rows_for(self.estimator, X, fit=True)
                self._first = False
            else:
                # Data for the model of the first batch: its n_features_in_ is set.
                rows = rows_for(self.estimator, X)
            yield rows


def pooled_batches(pieces, batch_size, pool_batches, random_state):
    """Batches of ``batch_size`` rows from ``pieces``, 2-D arrays of any number of rows read
    one after the other (a file, a stream), every row once.

    The rows are gathered in a pool of at least ``pool_batches`` batches, shuffled in place
    and cut into batches; the rows left over (fewer than a batch) join the next pool, and
    the last batch of the stream holds what remains. Rows farther apart in the stream than a
    pool are never in the same batch. In memory: one pool (and the pieces while they are
    gathered into it).
    """
    pool_rows = batch_size * pool_batches
    parts, n_rows = [], 0

    def shuffled(parts):
        pool = np.concatenate(parts) if len(parts) > 1 else np.array(parts[0])
        parts.clear()  # the pieces are in the pool now
        random_state.shuffle(pool)
        return pool

    for piece in pieces:
        if len(piece) == 0:
            continue
        parts.append(piece)
        n_rows += len(piece)
        if n_rows >= pool_rows:
            pool = shuffled(parts)
            n_full = n_rows - n_rows % batch_size
            for start in range(0, n_full, batch_size):
                yield pool[start:start + batch_size]
            if n_full < n_rows:
                parts.append(pool[n_full:].copy())
            n_rows -= n_full
            del pool
    if n_rows:
        pool = shuffled(parts)
        for start in range(0, n_rows, batch_size):
            yield pool[start:start + batch_size]


###############################################################################
# The estimator


class MiniBatchGaussianMixture(GaussianMixture):
    """Gaussian mixture fitted by stepwise (online) EM on mini-batches of the rows.

    The model of :class:`gmmfast.GaussianMixture`; each step reads one batch only. The
    E-step of a batch gives its sufficient statistics s (sums of r, r x and r x x^T per
    unit weight of the batch, taken around the current means); running statistics S are
    blended, S <- (1 - rho_t) S + rho_t s, and the M-step is taken from S after every
    batch (Cappé & Moulines 2009; Liang & Klein 2009). The step size of step t = 0, 1, ...
    is ``rho_t = (t + learning_offset) ** -learning_decay``: with ``learning_decay`` in
    (0.5, 1], sum rho_t diverges and sum rho_t^2 converges, so that S converges to the
    statistics of a fixed point of EM. S starts as the statistics of the initial
    parameters; with ``learning_offset=1``, rho_0 = 1 and the first step from those
    parameters on a batch of every row is exactly one step of GaussianMixture's EM.

    ``fit`` runs at most ``max_iter`` passes (epochs) over the rows, each in a new random
    order, in batches of ``batch_size`` rows; ``partial_fit`` takes one step on the rows
    it is given. Only one batch of X is in memory at a time (X may be a memory map). A
    Dask array or DataFrame is read one chunk at a time, the chunks in a new random order
    each pass, each chunk's rows shuffled and split into batches of at most
    ``batch_size`` rows (rechunk X to chunks of at least ``batch_size`` rows for full
    batches). There is no ``n_init``: one initialisation, from the first batch.

    Parameters
    ----------
    n_components : int, default=1
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
    tol : float, default=1e-3
        The fit stops when the smoothed lower bound (see ``lower_bound_``) has not gained
        more than ``tol`` over ``max_no_improvement`` consecutive batches.
    reg_covar : float, default=1e-6
    max_iter : int, default=100
        The number of passes over the rows in ``fit``.
    batch_size : int, default=4096
        Rows per batch.
    learning_offset : float, default=10.0
        tau >= 1 of the step size (t + tau) ** -kappa; larger is slower at the start.
    learning_decay : float, default=0.7
        kappa in (0.5, 1] of the step size; larger forgets the early batches sooner.
    max_no_improvement : int or None, default=10
        Batches without a gain of more than ``tol`` in the smoothed lower bound after which
        the fit stops; None turns the early stopping off.
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}, default='kmeans'
        How the first batch is turned into initial parameters (GaussianMixture's
        initialisations, on that batch only).
    weights_init, means_init, precisions_init : array-like, default=None
        Initial parameters, as in :class:`gmmfast.GaussianMixture`.
    random_state : int, RandomState instance or None, default=None
        Seeds the order of the rows, the initialisation and :meth:`sample`.
    warm_start : bool, default=False
        If True, ``fit`` continues from the fitted state (parameters, running statistics
        and step count).
    verbose : int, default=0
    verbose_interval : int, default=10
        Passes between two messages.

    Attributes
    ----------
    weights_, means_, covariances_, precisions_, precisions_cholesky_ : ndarray
        As in :class:`gmmfast.GaussianMixture`.
    converged_ : bool
        Whether the early stopping rule was met.
    n_iter_ : int
        Passes over the rows in the last ``fit`` (0 after ``partial_fit`` alone).
    n_steps_ : int
        Steps (batches) taken since the initialisation.
    n_rows_seen_ : float
        Total weight of the rows of those steps.
    lower_bound_ : float
        Smoothed per-row lower bound: L <- (1 - rho_t) L + rho_t l_t, with l_t the mean
        log-likelihood of batch t under the parameters before its M-step.
    lower_bounds_ : list of float
        ``lower_bound_`` after each step of the last ``fit`` (one per batch, as
        GaussianMixture's holds one per EM iteration, its last entry ``lower_bound_``),
        then after each ``partial_fit`` since. Each entry is an estimate of the mean
        log-likelihood of the rows from the latest batches, not the mean over every row:
        compute that with :meth:`score`.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)

    See Also
    --------
    gmmfast.GaussianMixture : the same model fitted by full-batch EM.
    sklearn.cluster.MiniBatchKMeans : the same idea for k-means.

    Notes
    -----
    Integer sample weights equal repeated rows for one batch holding all of them
    (``partial_fit``); in ``fit`` the batches of repeated rows are other batches.
    A fitted model saves with :func:`gmmfast.save` with its running statistics: the
    loaded model continues ``partial_fit`` (or a warm ``fit``) exactly as the saved one.

    Examples
    --------
    >>> import numpy as np
    >>> from gmmfast import MiniBatchGaussianMixture
    >>> rng = np.random.RandomState(0)
    >>> X = np.vstack([rng.normal(-5, 1, (500, 2)), rng.normal(5, 1, (500, 2))])
    >>> gm = MiniBatchGaussianMixture(2, batch_size=200, random_state=0).fit(X)
    >>> np.round(np.sort(gm.means_[:, 0]))
    array([-5.,  5.])
    """

    _parameter_constraints: dict = {
        **{k: v for k, v in GaussianMixture._parameter_constraints.items() if k != "n_init"},
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_offset": [Interval(Real, 1.0, None, closed="left")],
        "learning_decay": [Interval(Real, 0.5, 1.0, closed="right")],
        "max_no_improvement": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        batch_size=4096,
        learning_offset=10.0,
        learning_decay=0.7,
        max_no_improvement=10,
        init_params="kmeans",
        weights_init=None,
        means_init=None,
        precisions_init=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_offset = learning_offset
        self.learning_decay = learning_decay
        self.max_no_improvement = max_no_improvement
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval

    # -- one step ---------------------------------------------------------------------------

    def _step_size(self, n_steps):
        return float((n_steps + self.learning_offset) ** -self.learning_decay)

    def _start(self, rows, random_state):
        """The state before the first step: initial parameters from ``rows`` (or the given
        ones) and the statistics that give them back."""
        check_n_samples(rows.n_samples, self.n_components)
        if rows.sample_weight is not None:
            check_positive_weights(
                int(np.count_nonzero(rows.sample_weight)), self.n_components
            )
        params = self._initial_parameters(rows, random_state)
        weights, means, covariances, _ = params
        statistics = _statistics_of_parameters(
            weights, means, covariances, self.covariance_type, self.reg_covar
        )
        return {
            "params": params, "statistics": statistics, "n_steps": 0, "n_rows_seen": 0.0,
            "lower_bound": -np.inf, "best": -np.inf, "no_improvement": 0,
        }

    def _step(self, state, rows, eps):
        """One E-step on ``rows``, the blend and the M-step: a new state (``state`` is not
        changed, so that an error leaves the estimator as it was)."""
        total = rows.n_total
        check_total_weight(total)
        weights, means, _, chol = state["params"]
        args = PassArguments(weights, means, chol, self.covariance_type, rows.dtype)
        s0, s1, s2, loglik = rows.statistics(args)
        batch_lower_bound = loglik / total
        _check_finite_log_likelihood(batch_lower_bound)
        rho = self._step_size(state["n_steps"])

        def blended(base, sums):
            batch = (sums[0] / total, sums[1] / total, sums[2] / total, base)
            old = state["statistics"]
            old = _shifted_statistics(old, base, self.covariance_type) if rho != 1.0 else old
            return _blend(old, batch, rho)

        def scaled(running):
            # The M-step reads the statistics at the scale of this batch's weight, where
            # its 10 eps guard of s0 is the one of GaussianMixture's M-step on these rows.
            return tuple(a * total for a in running[:3]) + (running[3],)

        running = blended(args.base, (s0, s1, s2))
        weights, means, covariances = _estimate_parameters(
            *scaled(running), self.covariance_type, self.reg_covar, eps
        )
        if needs_second_pass(*scaled(running), self.covariance_type, rows.dtype):
            # The same responsibilities, their sums taken again around the new means.
            args = args.centred_on(means)
            s0, s1, s2, _ = rows.statistics(args)
            running = blended(args.base, (s0, s1, s2))
            weights, means, covariances = _estimate_parameters(
                *scaled(running), self.covariance_type, self.reg_covar, eps
            )
        chol = _precision_cholesky_from_covariances(
            covariances, self.covariance_type, rows.dtype
        )
        # The lower bound smoothed with the step size of the statistics.
        previous = state["lower_bound"]
        lower_bound = (
            batch_lower_bound if previous == -np.inf
            else (1.0 - rho) * previous + rho * batch_lower_bound
        )
        best, no_improvement = state["best"], state["no_improvement"]
        if lower_bound > best + self.tol:
            best, no_improvement = lower_bound, 0
        else:
            no_improvement += 1
        return {
            "params": (weights, means, covariances, chol), "statistics": running,
            "n_steps": state["n_steps"] + 1, "n_rows_seen": state["n_rows_seen"] + total,
            "lower_bound": lower_bound, "best": best, "no_improvement": no_improvement,
        }

    def _converged(self, state):
        return (
            self.max_no_improvement is not None
            and state["no_improvement"] >= self.max_no_improvement
        )

    def _store(self, state, dtype, lower_bounds):
        self._set_parameters(state["params"], dtype)
        self._state = state
        self.lower_bounds_ = lower_bounds
        self.n_steps_ = state["n_steps"]
        self.n_rows_seen_ = state["n_rows_seen"]
        self.lower_bound_ = state["lower_bound"]
        self.converged_ = self._converged(state)

    # -- fitting ----------------------------------------------------------------------------

    def _fit(self, X, sample_weight, kmeans_centres=None):
        """Mini-batch EM over X; stores the parameters and returns the rows it read."""
        self._validate_params()
        with self._unchanged_on_error():
            source = batch_source(self, X, sample_weight, kmeans_centres)
            self._fit_batches(source)
        return source.rows

    @contextmanager
    def _unchanged_on_error(self):
        """An error inside leaves the estimator as it was before (fitted or not): the
        validation of X sets n_features_in_ before a batch can be refused."""
        saved = dict(self.__dict__)
        try:
            yield
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise

    def _fit_batches(self, source):
        """At most ``max_iter`` passes of ``source.batches`` (rows in memory, one batch at a
        time), a step on each, with early stopping; stores the fitted state."""
        random_state = check_random_state(self.random_state)
        warm = self.warm_start and hasattr(self, "n_steps_")
        # A warm fit continues the statistics and the step count; its early stopping
        # counts from its own first batch.
        state = dict(self._state, best=-np.inf, no_improvement=0) if warm else None
        if state is None and self.batch_size < self.n_components:
            raise ValueError(
                "batch_size = %d is smaller than n_components = %d; the first batch must "
                "hold one row per component." % (self.batch_size, self.n_components)
            )
        n_epochs, dtype, lower_bounds = 0, None, []
        previous = -np.inf if state is None else state["lower_bound"]
        with single_threaded_blas():
            self._print_verbose_msg_init_beg(0)
            for epoch in range(max(self.max_iter, 1)):
                for batch in source.batches(self.batch_size, random_state):
                    if state is None:
                        state = self._start(batch, random_state)
                    elif batch.n_features != state["params"][1].shape[1]:
                        raise ValueError(
                            f"X has {batch.n_features} features, but {type(self).__name__} "
                            f"is expecting {state['params'][1].shape[1]} features as input."
                        )
                    dtype = batch.dtype
                    if self.max_iter == 0:
                        break
                    if batch.n_total <= 0.0:
                        continue  # a batch of weight zero carries no information
                    state = self._step(state, batch, float(np.finfo(batch.dtype).eps))
                    lower_bounds.append(state["lower_bound"])
                    report("mini_batch_step", n_rows=batch.n_samples,
                           lower_bound=state["lower_bound"], n_steps=state["n_steps"],
                           epoch=epoch, max_iter=self.max_iter)
                    if self._converged(state):
                        break
                if state is None:
                    raise ValueError("The batches of X hold no rows; nothing to fit.")
                if self.max_iter == 0:
                    break
                n_epochs = epoch + 1
                self._print_verbose_msg_iter_end(n_epochs, state["lower_bound"] - previous)
                previous = state["lower_bound"]
                if self._converged(state):
                    break
            self._print_verbose_msg_init_end(state["lower_bound"], self._converged(state))
        if not self._converged(state) and self.max_iter > 0 and self.max_no_improvement:
            warnings.warn(
                "The smoothed lower bound was still improving after max_iter passes. Try "
                "increasing max_iter or tol, or decreasing max_no_improvement.",
                ConvergenceWarning,
            )
        self._store(state, dtype if dtype is not None else source.dtype, lower_bounds)
        self.n_iter_ = n_epochs

    def _fit_stream(self, passes):
        """``fit`` on batches that arrive as arrays: ``passes(random_state)`` gives the
        batches of one pass (a file read piece by piece, see ``StreamBatches``)."""
        self._validate_params()
        with self._unchanged_on_error():
            self._fit_batches(StreamBatches(self, passes))
        return self

    def partial_fit(self, X, y=None, sample_weight=None):
        """One step of stepwise EM on the rows of X (one batch).

        The first call initialises the model from these rows (or from the initial
        parameters) before its step. On an error the estimator is left as it was.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        self._validate_params()
        if is_dask_collection(X):
            raise TypeError(
                "partial_fit takes one batch as an array in memory; fit takes a Dask "
                "collection, its chunks as batches (or call partial_fit on computed chunks)."
            )
        first = not hasattr(self, "n_steps_")
        if first:
            rows = rows_for(self, X, sample_weight, fit=True)
        else:
            rows = rows_for(self, X, sample_weight)
            if rows.n_samples == 0:
                raise ValueError("partial_fit needs at least one row.")
        eps = float(np.finfo(rows.dtype).eps)
        with single_threaded_blas():
            state = (
                self._start(rows, check_random_state(self.random_state)) if first
                else self._state
            )
            state = self._step(state, rows, eps)
        lower_bounds = [] if first else getattr(self, "lower_bounds_", [])
        self._store(state, rows.dtype, lower_bounds)
        # Appended once the step has succeeded: an error leaves the list as it was.
        lower_bounds.append(state["lower_bound"])
        if first:
            self.n_iter_ = 0
        return self
