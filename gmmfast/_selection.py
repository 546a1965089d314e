"""Choosing a mixture by an information criterion: every candidate fitted, the best kept."""

import functools
import warnings
from numbers import Integral
from time import perf_counter

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.exceptions import ConvergenceWarning, FitFailedWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._covariance_shapes import COVARIANCE_TYPES
from ._gaussian_mixture import GaussianMixture
from ._kmeans import kmeans_centres as _kmeans_centres
from ._progress import report
from ._rows import rows_for

# The order of covariance_type="all": fewest parameters first, so that a tie in the
# criterion goes to the simpler model.
ALL_COVARIANCE_TYPES = ("spherical", "diag", "tied", "full")
CRITERIA = ("bic", "aic")
RESULT_COLUMNS = (
    "n_components", "covariance_type", "bic", "aic", "lower_bound", "n_iter", "converged",
    "n_parameters", "fit_time",
)
# Parameters passed as they are to every candidate GaussianMixture.
CANDIDATE_PARAMETERS = ("tol", "reg_covar", "max_iter", "n_init", "init_params")


###############################################################################
# Checks of the search grid


def _check_n_components(n_components):
    """The candidate numbers of components: 1..n for an int, else the sorted unique values."""
    if isinstance(n_components, Integral) and not isinstance(n_components, bool):
        return np.arange(1, int(n_components) + 1)
    values = np.asarray(list(n_components) if isinstance(n_components, range) else n_components)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(
            "n_components must be an int n (meaning 1..n) or a non-empty 1-D sequence of "
            f"ints such as range(1, 11), got {n_components!r}."
        )
    if values.dtype.kind not in "iu":
        raise ValueError(
            f"n_components must hold integers, got {n_components!r} (dtype {values.dtype})."
        )
    if np.any(values < 1):
        raise ValueError(f"every n_components must be at least 1, got {n_components!r}.")
    return np.unique(values).astype(np.int64)


def _check_covariance_types(covariance_type):
    """The candidate covariance types, in the given order without repeats."""
    if isinstance(covariance_type, str):
        return ALL_COVARIANCE_TYPES if covariance_type == "all" else (covariance_type,)
    types = list(covariance_type)
    if not types:
        raise ValueError("covariance_type must name at least one covariance type.")
    for value in types:
        if value not in COVARIANCE_TYPES:
            raise ValueError(
                f"covariance_type holds {value!r}; each must be one of {list(COVARIANCE_TYPES)} "
                "(or pass 'all' alone)."
            )
    return tuple(dict.fromkeys(types))


###############################################################################
# One k-means per number of components, shared by the covariance types


class _KMeansCentres:
    """k-means centres of one data set, keyed by the number of clusters and the generator state.

    A candidate's 'kmeans' initialisation runs ``KMeans(K, n_init=1, random_state=rng)``
    over its rows: the centres depend on K, the rows and
    the state of ``rng`` only, not on the covariance type. Replaying the stored centres and
    moving ``rng`` to the state the k-means run left it in gives each candidate exactly the
    start it has when fitted alone.
    """

    def __init__(self):
        self._store = {}

    @staticmethod
    def _key(n_clusters, random_state):
        name, keys, pos, has_gauss, cached = random_state.get_state()
        return n_clusters, name, keys.tobytes(), int(pos), int(has_gauss), float(cached)

    def centres(self, rows, n_clusters, random_state):
        key = self._key(n_clusters, random_state)
        if key not in self._store:
            centres = _kmeans_centres(rows, n_clusters, random_state)
            self._store[key] = (centres, random_state.get_state())
        centres, state_after = self._store[key]
        random_state.set_state(state_after)
        return centres

    def forget(self, n_clusters):
        """Drop the centres of one number of clusters once every candidate has used them."""
        self._store = {k: v for k, v in self._store.items() if k[0] != n_clusters}


def _chosen_model_method(name):
    """The method ``name`` of the chosen model, ``best_estimator_``, as a method of the
    search (with the mixture's docstring)."""
    mixture_method = getattr(GaussianMixture, name)

    @functools.wraps(mixture_method)
    def method(self, *args, **kwargs):
        check_is_fitted(self)
        return getattr(self.best_estimator_, name)(*args, **kwargs)

    summary, _, rest = mixture_method.__doc__.partition("\n")
    method.__doc__ = (
        f"{summary}\n\n        Computed by the chosen model, ``best_estimator_``.\n{rest}"
    )
    method.__qualname__ = f"GaussianMixtureIC.{name}"
    return method


###############################################################################
# The estimator


class GaussianMixtureIC(DensityMixin, BaseEstimator):
    """Gaussian mixture whose number of components and covariance type minimise BIC or AIC.

    ``fit`` fits a :class:`GaussianMixture` for every pair of candidate number of
    components and covariance type, records each one's criteria in ``results_`` and keeps
    the best; ``predict``, ``predict_proba``, ``score_samples``, ``score`` and ``sample``
    use that model.

    Parameters
    ----------
    n_components : int or sequence of int, default=10
        The candidate numbers of components: an int n means 1, 2, ..., n; a sequence
        (``range(2, 8)``, ``[2, 4, 8]``) lists them.
    covariance_type : {'full', 'tied', 'diag', 'spherical', 'all'} or list of them, \
            default='full'
        The candidate covariance types; 'all' is ['spherical', 'diag', 'tied', 'full'].
    criterion : {'bic', 'aic'}, default='bic'
        The criterion minimised: BIC = -2 log L + p log n, AIC = -2 log L + 2 p, with L the
        likelihood of the training data, p the number of free parameters and n the number
        of rows (the sum of ``sample_weight`` when given).
    tol, reg_covar, max_iter, n_init, init_params, verbose
        Passed to every candidate :class:`GaussianMixture`. ``verbose=1`` also prints one
        line per candidate; ``verbose=2`` passes ``verbose=1`` on to the candidates.
    random_state : int, RandomState instance or None, default=None
        An int seeds every candidate with that int, so that each candidate is the model
        ``GaussianMixture(K, covariance_type=..., random_state=int)`` gives. None or a
        RandomState instance draws one int from it, which every candidate then gets; the
        chosen model's ``random_state`` holds that int.

    Attributes
    ----------
    best_estimator_ : GaussianMixture
        The candidate with the lowest criterion (the first one, in the order of
        ``results_``, on a tie).
    best_index_ : int
        Its row in ``results_``.
    n_components_ : int
        Its number of components.
    covariance_type_ : str
        Its covariance type.
    criterion_ : float
        Its value of the criterion.
    results_ : dict of ndarray
        One entry per candidate, ordered by number of components, then covariance type:
        ``n_components``, ``covariance_type``, ``bic``, ``aic``, ``lower_bound``,
        ``n_iter``, ``converged``, ``n_parameters`` and ``fit_time`` (seconds). A candidate
        whose fit failed has ``inf`` criteria and ``nan`` lower bound.
        ``pandas.DataFrame(search.results_)`` makes it a table.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Defined only when X has feature names that are all strings.

    See Also
    --------
    GaussianMixture : one mixture with a given number of components and covariance type.

    Notes
    -----
    Candidates share work where that leaves each one exactly as it would be alone: with
    ``init_params='kmeans'``, k-means runs once per number of components (and per
    initialisation) and every covariance type starts from its centres. Each candidate is
    then the same model, to the bit, as ``GaussianMixture`` with the same parameters and
    the same int ``random_state`` fitted on its own. The shared k-means counts in the
    ``fit_time`` of the first covariance type of each number of components.

    A candidate whose fit fails (a covariance that is not positive definite even with
    ``reg_covar``, typically too many components for the data) is reported with a
    ``FitFailedWarning`` and never chosen; the search fails only if every candidate does.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from gmmfast import GaussianMixtureIC
    >>> X, _ = make_blobs(n_samples=400, centers=4, cluster_std=0.6, random_state=0)
    >>> search = GaussianMixtureIC(n_components=range(1, 8), covariance_type="all",
    ...                            random_state=0).fit(X)
    >>> search.n_components_, search.covariance_type_
    (4, 'tied')
    >>> int(search.results_["n_components"][search.best_index_])
    4
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "covariance_type": [StrOptions(set(COVARIANCE_TYPES) | {"all"}), "array-like"],
        "criterion": [StrOptions(set(CRITERIA))],
        **{
            name: GaussianMixture._parameter_constraints[name]
            for name in CANDIDATE_PARAMETERS + ("random_state", "verbose")
        },
    }

    def __init__(
        self,
        n_components=10,
        *,
        covariance_type="full",
        criterion="bic",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        random_state=None,
        verbose=0,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.criterion = criterion
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        # The candidates fit rows with missing values (NaN) by exact EM.
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def _seed(self):
        if isinstance(self.random_state, Integral):
            return int(self.random_state)
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def fit(self, X, y=None, sample_weight=None):
        """Fit every candidate mixture and keep the one with the lowest criterion.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, float32 or float64; or a Dask array or DataFrame, which every
            candidate then fits chunk by chunk on the Dask workers.
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights, passed to every candidate and used in the criteria.

        Returns
        -------
        self : GaussianMixtureIC
        """
        self._validate_params()
        candidate_ks = _check_n_components(self.n_components)
        candidate_types = _check_covariance_types(self.covariance_type)
        # The search's own check of X: no pass over a Dask collection, whose candidates
        # then fit, and whose criteria are computed, chunk by chunk on the workers.
        rows = rows_for(self, X, sample_weight, reset=True)
        # (Unknown, nan, for Dask chunks of unknown sizes: each candidate checks its own.)
        if candidate_ks[-1] > rows.n_samples:
            raise ValueError(
                f"n_components goes up to {candidate_ks[-1]} but X has only "
                f"{rows.n_samples} rows; a mixture cannot have more components than rows."
            )
        seed = self._seed()
        kmeans_centres = _KMeansCentres()
        passed = {name: getattr(self, name) for name in CANDIDATE_PARAMETERS}

        columns = {name: [] for name in RESULT_COLUMNS}
        models, failures, not_converged = [], [], []
        n_candidates = len(candidate_ks) * len(candidate_types)
        for n_components in candidate_ks:
            for covariance_type in candidate_types:
                candidate = GaussianMixture(
                    int(n_components),
                    covariance_type=covariance_type,
                    random_state=seed,
                    verbose=max(self.verbose - 1, 0),
                    **passed,
                )
                start = perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    try:
                        # fit, with the k-means centres shared by the covariance types.
                        candidate._fit(X, sample_weight, kmeans_centres=kmeans_centres.centres)
                    except ValueError as exc:
                        failures.append((int(n_components), covariance_type, str(exc)))
                        candidate = None
                fit_time = perf_counter() - start
                row = self._criteria(candidate, rows)
                row.update(
                    n_components=int(n_components),
                    covariance_type=covariance_type,
                    fit_time=fit_time,
                )
                for name in RESULT_COLUMNS:
                    columns[name].append(row[name])
                models.append(candidate)
                if candidate is not None and not candidate.converged_ and self.max_iter > 0:
                    not_converged.append(f"({n_components}, {covariance_type!r})")
                best = int(np.argmin(columns[self.criterion]))
                report(
                    "candidate", done=len(models), total=n_candidates,
                    n_components=int(n_components), covariance_type=covariance_type,
                    criterion=self.criterion, value=row[self.criterion],
                    best=(columns["n_components"][best], columns["covariance_type"][best],
                          columns[self.criterion][best]),
                )
                if self.verbose >= 1:
                    print(
                        f"n_components={n_components} covariance_type={covariance_type!r}: "
                        f"{self.criterion} {row[self.criterion]:.6g}, "
                        f"{row['n_iter']} iterations, {fit_time:.3f} s"
                    )
            kmeans_centres.forget(int(n_components))

        if len(failures) == len(models):
            raise ValueError(
                "every candidate mixture failed to fit; the first error was: "
                + failures[0][2]
            )
        for n_components, covariance_type, message in failures:
            warnings.warn(
                f"The candidate n_components={n_components}, covariance_type="
                f"{covariance_type!r} failed to fit and is left out of the choice: {message}",
                FitFailedWarning,
            )

        self.results_ = {
            "n_components": np.asarray(columns["n_components"], dtype=np.int64),
            "covariance_type": np.asarray(columns["covariance_type"], dtype=str),
            "bic": np.asarray(columns["bic"], dtype=np.float64),
            "aic": np.asarray(columns["aic"], dtype=np.float64),
            "lower_bound": np.asarray(columns["lower_bound"], dtype=np.float64),
            "n_iter": np.asarray(columns["n_iter"], dtype=np.int64),
            "converged": np.asarray(columns["converged"], dtype=bool),
            "n_parameters": np.asarray(columns["n_parameters"], dtype=np.int64),
            "fit_time": np.asarray(columns["fit_time"], dtype=np.float64),
        }
        self.best_index_ = int(np.argmin(self.results_[self.criterion]))
        self.best_estimator_ = models[self.best_index_]
        self.n_components_ = int(self.results_["n_components"][self.best_index_])
        self.covariance_type_ = str(self.results_["covariance_type"][self.best_index_])
        self.criterion_ = float(self.results_[self.criterion][self.best_index_])
        if not_converged:
            warnings.warn(
                f"{len(not_converged)} of {len(models)} candidates did not converge "
                f"(n_components, covariance_type): {', '.join(not_converged)}. Increase "
                "max_iter or tol, or check for degenerate data.",
                ConvergenceWarning,
            )
        return self

    @staticmethod
    def _criteria(model, rows):
        """BIC, AIC and the fit's summary, computed as GaussianMixture.bic/aic compute them."""
        if model is None:
            return dict(bic=np.inf, aic=np.inf, lower_bound=np.nan, n_iter=0,
                        converged=False, n_parameters=0)
        return dict(
            model._criteria(rows),
            lower_bound=float(model.lower_bound_),
            n_iter=int(model.n_iter_),
            converged=bool(model.converged_),
            n_parameters=model._n_parameters(),
        )

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit the candidates and return the best model's label of each row of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        return self.fit(X, sample_weight=sample_weight).predict(X)

    # -- the chosen model ------------------------------------------------------------------

    predict = _chosen_model_method("predict")
    predict_proba = _chosen_model_method("predict_proba")
    score_samples = _chosen_model_method("score_samples")
    score = _chosen_model_method("score")
    bic = _chosen_model_method("bic")
    aic = _chosen_model_method("aic")
    sample = _chosen_model_method("sample")
