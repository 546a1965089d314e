"""The EM skeleton every mixture estimator shares: fitting, using the model, messages.

A mixture estimator is a subclass of :class:`BaseMixture` that fills its hooks: the checks
of its own parameters, the initial parameters, one EM step, its parameters in and out, the
model as the compiled passes read it and how a component is sampled; one whose score is a
likelihood also takes :class:`InformationCriteriaMixin` (BIC, AIC) and gives its number of
free parameters. Everything that reads data goes through a rows object
(:func:`gmmfast._rows.rows_for`), whatever the kind of data.
"""

import math
import warnings
import weakref
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real
from time import time

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._parallel import single_threaded_blas
from ._progress import report
from ._rows import rows_for

# Each fitted estimator's model as the evaluation passes read it, with the parameter values
# it was made from (see BaseMixture._evaluation_arguments); kept beside the estimators, not
# in them, so that predict leaves their __dict__ (and their pickles) as they were.
_EVALUATION_MODELS = weakref.WeakKeyDictionary()
_KEPT_NUMBERS = 1 << 16


def _parameter_arrays(params):
    """The arrays of a (nested) tuple of parameters, in order, as float64."""
    if isinstance(params, tuple):
        return [a for p in params for a in _parameter_arrays(p)]
    return [np.asarray(params, dtype=np.float64)]


def _same_arrays(kept, arrays):
    return len(kept) == len(arrays) and all(
        a.shape == b.shape and np.array_equal(a, b) for a, b in zip(kept, arrays)
    )


def information_criteria(log_likelihood, n, n_parameters):
    """BIC = -2 log L + p log n and AIC = -2 log L + 2 p, with log L the (weighted)
    log-likelihood of n rows (the sum of their weights) and p free parameters.

    log L is taken as n times the mean log-likelihood, as scikit-learn computes it, so that
    the criteria are its numbers to the last bit.
    """
    mean = log_likelihood / n
    return {
        "bic": -2 * mean * n + n_parameters * math.log(n),
        "aic": -2 * mean * n + 2 * n_parameters,
    }


class BaseMixture(DensityMixin, BaseEstimator, metaclass=ABCMeta):
    """Base class of the mixture estimators: the EM loop and the use of a fitted model.

    ``fit`` runs ``n_init`` initialisations (or, with ``warm_start``, continues from the
    fitted parameters) of at most ``max_iter`` EM steps, stops one when its lower bound
    gains less than ``tol`` and keeps the best. ``predict``, ``predict_proba``,
    ``score_samples``, ``score`` and ``sample`` use the fitted model.
    A subclass implements the hooks ``_check_parameters``, ``_initial_parameters``,
    ``_current_parameters``, ``_em_step``, ``_set_parameters``, ``_pass_arguments`` and
    ``_sample_components``; a model with a likelihood adds ``bic`` and ``aic`` with
    :class:`InformationCriteriaMixin`.

    Parameters
    ----------
    n_components, tol, reg_covar, max_iter, n_init, init_params, random_state, \
warm_start, verbose, verbose_interval
        As in :class:`gmmfast.GaussianMixture`.

    See Also
    --------
    gmmfast.GaussianMixture : the Gaussian mixture fitted by EM.
    gmmfast.BayesianGaussianMixture : the variational Gaussian mixture.

    Examples
    --------
    >>> import numpy as np
    >>> from gmmfast import GaussianMixture
    >>> from gmmfast._base import BaseMixture
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]])
    >>> gm = GaussianMixture(n_components=2, random_state=0).fit(X)
    >>> isinstance(gm, BaseMixture)
    True
    >>> round(gm.score(X), 4) == round(float(np.mean(gm.score_samples(X))), 4)
    True
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0.0, None, closed="left")],
        "reg_covar": [Interval(Real, 0.0, None, closed="left")],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "init_params": [StrOptions({"kmeans", "random", "random_from_data", "k-means++"})],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "verbose_interval": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        n_components,
        tol,
        reg_covar,
        max_iter,
        n_init,
        init_params,
        random_state,
        warm_start,
        verbose,
        verbose_interval,
    ):
        self.n_components = n_components
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval

    # -- the hooks of an estimator ----------------------------------------------------------

    @abstractmethod
    def _check_parameters(self, n_features):
        """Raise ValueError for parameters that do not fit data of ``n_features`` columns
        (initial values of the wrong shape, ...); runs before any pass over the data."""

    @abstractmethod
    def _initial_parameters(self, rows, random_state):
        """The parameters EM starts from (any tuple the other hooks read)."""

    @abstractmethod
    def _current_parameters(self):
        """The fitted parameters, as ``_initial_parameters`` gives them (warm start)."""

    @abstractmethod
    def _em_step(self, rows, params, eps):
        """One E-step and M-step: (new parameters, lower bound of ``params``)."""

    @abstractmethod
    def _set_parameters(self, params, dtype):
        """Store ``params`` as the fitted attributes, in ``dtype``."""

    @abstractmethod
    def _pass_arguments(self, dtype):
        """The fitted model as the compiled passes read it (a ``PassArguments``)."""

    @abstractmethod
    def _sample_components(self, random_state, counts):
        """``counts[k]`` draws from each component k: a list of (counts[k], D) arrays."""

    # -- fitting ----------------------------------------------------------------------------

    def fit(self, X, y=None, sample_weight=None):
        """Estimate the model parameters with the EM algorithm.

        Runs ``n_init`` initialisations of at most ``max_iter`` iterations each and keeps
        the one with the largest lower bound. With ``warm_start``, continues from the
        current parameters instead.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, float32 or float64 (float32 is kept, not copied). A memory map
            is read in place; a Dask array or DataFrame is fitted chunk by chunk on the
            Dask workers.
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; an integer weight is the same as repeating the row.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._fit(X, sample_weight)
        return self

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit the model and return the most likely component of each row of X.

        ``fit_predict(X)`` equals ``fit(X).predict(X)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            A lazy Dask array when X is a Dask array or DataFrame.
        """
        rows = self._fit(X, sample_weight)
        # Labels from the stored parameters, so that fit_predict(X) == fit(X).predict(X).
        with single_threaded_blas():
            return rows.per_row(self._pass_arguments(rows.dtype), "labels")

    def _rows_for_fit(self, X, sample_weight, kmeans_centres=None):
        """The validated training rows (``kmeans_centres``: see :func:`rows_for`)."""
        return rows_for(self, X, sample_weight, fit=True, kmeans_centres=kmeans_centres)

    def _fit(self, X, sample_weight, kmeans_centres=None):
        """EM on X; stores the best parameters and returns the rows it read.

        Allocates nothing of the size of X (not even labels), so that a memory-mapped X
        larger than RAM is fitted in memory independent of its number of rows.
        """
        self._validate_params()
        rows = self._rows_for_fit(X, sample_weight, kmeans_centres)

        do_init = not (self.warm_start and hasattr(self, "converged_"))
        n_init = self.n_init if do_init else 1
        random_state = check_random_state(self.random_state)
        eps = float(np.finfo(rows.dtype).eps)

        max_lower_bound = -np.inf
        best_lower_bounds = []
        self.converged_ = False
        with single_threaded_blas():
            for init in range(n_init):
                self._print_verbose_msg_init_beg(init)
                if do_init:
                    params = self._initial_parameters(rows, random_state)
                else:
                    params = self._current_parameters()
                lower_bound = -np.inf if do_init else self.lower_bound_
                current_lower_bounds = []

                if self.max_iter == 0:
                    best_params = params
                    best_n_iter = 0
                    continue
                converged = False
                for n_iter in range(1, self.max_iter + 1):
                    prev_lower_bound = lower_bound
                    params, lower_bound = self._em_step(rows, params, eps)
                    current_lower_bounds.append(lower_bound)
                    report("em_iteration", n_iter=n_iter, max_iter=self.max_iter, init=init,
                           n_init=n_init, lower_bound=lower_bound)
                    change = lower_bound - prev_lower_bound
                    self._print_verbose_msg_iter_end(n_iter, change)
                    if abs(change) < self.tol:
                        converged = True
                        break
                self._print_verbose_msg_init_end(lower_bound, converged)
                if lower_bound > max_lower_bound or max_lower_bound == -np.inf:
                    max_lower_bound = lower_bound
                    best_params = params
                    best_n_iter = n_iter
                    best_lower_bounds = current_lower_bounds
                    self.converged_ = converged

        if not self.converged_ and self.max_iter > 0:
            warnings.warn(
                "Best performing initialization did not converge. Try different init "
                "parameters, or increase max_iter, tol, or check for degenerate data.",
                ConvergenceWarning,
            )
        self._set_parameters(best_params, rows.dtype)
        self.n_iter_ = best_n_iter
        self.lower_bound_ = max_lower_bound
        self.lower_bounds_ = best_lower_bounds
        return rows

    # -- using the model --------------------------------------------------------------------

    def _evaluation_arguments(self, dtype):
        """``_pass_arguments(dtype)``, made once and used again while the fitted parameters
        (``_current_parameters``), the covariance type and the dtype are those it was made
        from: laying the model out takes tens of microseconds, as long as the pass over a
        few rows. A parameter set or changed in place makes it again. Models of more than
        _KEPT_NUMBERS parameters are laid out for every call (a small part of their
        pass), so that no large copy outlives the call."""
        key = (np.dtype(dtype), self.covariance_type,
               getattr(self, "weight_concentration_prior_type", None))
        arrays = _parameter_arrays(self._current_parameters())
        try:
            kept = _EVALUATION_MODELS.get(self)
        except TypeError:  # an estimator that cannot be a dictionary key (no __hash__)
            return self._pass_arguments(dtype)
        if kept is not None and kept[0] == key and _same_arrays(kept[1], arrays):
            return kept[2]
        if sum(a.size for a in arrays) > _KEPT_NUMBERS:
            _EVALUATION_MODELS.pop(self, None)
            return self._pass_arguments(dtype)
        before = [a.copy() for a in arrays]
        args = self._pass_arguments(dtype)
        # Kept only if the parameters did not change while the layout was made (by another
        # thread), so that it is the layout of the kept values.
        if _same_arrays(before, _parameter_arrays(self._current_parameters())):
            _EVALUATION_MODELS[self] = (key, before, args)
        return args

    def _per_row(self, X, output):
        """One per-row output of the fitted model for X: "labels", "resp" or "log_prob"."""
        rows = rows_for(self, X, evaluation=True)
        with single_threaded_blas():
            return rows.per_row(self._evaluation_arguments(rows.dtype), output)

    def _log_likelihood(self, rows):
        """(sum_i w_i log p(x_i), sum_i w_i) of the fitted model over ``rows``."""
        with single_threaded_blas():
            return rows.log_likelihood(self._evaluation_arguments(rows.dtype))

    def predict(self, X):
        """The most likely component of each row of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            A lazy Dask array when X is a Dask array or DataFrame.
        """
        return self._per_row(X, "labels")

    def predict_proba(self, X):
        """Posterior probability of each component for each row of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components)
            Rows sum to one; in the dtype of X. A lazy Dask array for Dask input.
        """
        return self._per_row(X, "resp")

    def score_samples(self, X):
        """Log-likelihood log p(x) of each row of X under the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_prob : ndarray of shape (n_samples,)
            In the dtype of X. Low values flag rows the model finds unlikely. A lazy
            Dask array for Dask input.
        """
        return self._per_row(X, "log_prob")

    def score(self, X, y=None, sample_weight=None):
        """Mean log-likelihood of the rows of X, weighted by ``sample_weight`` if given.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        log_likelihood : float
        """
        total, n = self._log_likelihood(rows_for(self, X, sample_weight, evaluation=True))
        return total / n

    def sample(self, n_samples=1):
        """Draw samples from the fitted mixture.

        Parameters
        ----------
        n_samples : int, default=1

        Returns
        -------
        X : ndarray of shape (n_samples, n_features), float64
        y : ndarray of shape (n_samples,)
            The component each sample was drawn from.
        """
        check_is_fitted(self)
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(
                "Invalid value for 'n_samples': %r . The sampling requires at least one "
                "sample." % (n_samples,)
            )
        rng = check_random_state(self.random_state)
        weights = np.asarray(self.weights_, dtype=np.float64)
        counts = rng.multinomial(n_samples, weights / weights.sum())
        X = np.vstack(self._sample_components(rng, counts))
        y = np.concatenate(
            [np.full(int(count), k, dtype=np.int64) for k, count in enumerate(counts)]
        )
        return X, y

    # -- messages ---------------------------------------------------------------------------

    def _print_verbose_msg_init_beg(self, n_init):
        if self.verbose >= 1:
            print("Initialization %d" % n_init)
        if self.verbose >= 2:
            self._init_prev_time = time()
            self._iter_prev_time = self._init_prev_time

    def _print_verbose_msg_iter_end(self, n_iter, diff_ll):
        if n_iter % self.verbose_interval == 0:
            if self.verbose == 1:
                print("  Iteration %d" % n_iter)
            elif self.verbose >= 2:
                cur_time = time()
                print(
                    "  Iteration %d\t time lapse %.5fs\t ll change %.5f"
                    % (n_iter, cur_time - self._iter_prev_time, diff_ll)
                )
                self._iter_prev_time = cur_time

    def _print_verbose_msg_init_end(self, lb, init_has_converged):
        converged_msg = "converged" if init_has_converged else "did not converge"
        if self.verbose == 1:
            print(f"Initialization {converged_msg}.")
        elif self.verbose >= 2:
            t = time() - self._init_prev_time
            print(
                f"Initialization {converged_msg}. time lapse {t:.5f}s\t lower bound {lb:.5f}."
            )


class InformationCriteriaMixin:
    """``bic`` and ``aic`` of a fitted mixture whose score is a likelihood.

    For a :class:`BaseMixture` subclass that implements ``_n_parameters()``, the number of
    free parameters of the fitted model. A variational mixture has no such count (its
    score is not a maximum likelihood) and does not take this mixin.
    """

    def _criteria(self, rows):
        """BIC and AIC of the fitted model over ``rows`` (see :func:`information_criteria`)."""
        total, n = self._log_likelihood(rows)
        return information_criteria(total, n, self._n_parameters())

    def bic(self, X, sample_weight=None):
        """Bayesian information criterion of the model on X; lower is better.

        ``-2 log L + n_parameters log n``, with n the number of rows (or the sum of
        ``sample_weight``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        bic : float
        """
        return self._criteria(rows_for(self, X, sample_weight, evaluation=True))["bic"]

    def aic(self, X, sample_weight=None):
        """Akaike information criterion of the model on X; lower is better.

        ``-2 log L + 2 n_parameters``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        aic : float
        """
        return self._criteria(rows_for(self, X, sample_weight, evaluation=True))["aic"]
