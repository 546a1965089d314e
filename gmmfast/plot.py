"""Pictures of fitted mixtures and of model searches, drawn with matplotlib.

matplotlib is an optional extra: ``pip install "gmmfast[plot]"``. It is imported when a
function here is called, not when gmmfast is.
"""

import warnings
from numbers import Integral

import numpy as np
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted

__all__ = ["ellipses", "criterion"]

# Mass of a 2-D Gaussian inside its n-sigma ellipse: 1 - exp(-n^2 / 2).
_SIGMA_LEVELS = (1, 2, 3)


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "gmmfast.plot needs matplotlib, which is an optional extra of gmmfast; install "
            "it with: pip install \"gmmfast[plot]\" (or pip install matplotlib)."
        ) from exc
    return plt


def _new_axes(ax):
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots()
    return ax


def _mixture(model):
    """The fitted GaussianMixture of a model or of a search."""
    model = getattr(model, "best_estimator_", model)
    if not (hasattr(model, "covariance_type") and hasattr(model, "predict")):
        raise TypeError(
            "expected a fitted GaussianMixture or GaussianMixtureIC, got "
            f"{type(model).__name__}."
        )
    check_is_fitted(model)
    return model


def _feature_indices(model, features, n_features):
    """Two column indices from ints or, for a model fitted with feature names, names."""
    features = tuple(features)
    if len(features) != 2:
        raise ValueError(f"features must name exactly two features, got {features!r}.")
    names = getattr(model, "feature_names_in_", None)
    indices = []
    for feature in features:
        if isinstance(feature, str):
            if names is None or feature not in list(names):
                known = "" if names is None else f" Known features: {list(names)}."
                raise ValueError(f"feature {feature!r} is not a feature of the model.{known}")
            indices.append(list(names).index(feature))
        elif isinstance(feature, Integral) and -n_features <= feature < n_features:
            indices.append(int(feature) % n_features)
        else:
            raise ValueError(
                f"feature {feature!r} is neither a column index in [0, {n_features}) nor a "
                "feature name of the model."
            )
    if indices[0] == indices[1]:
        raise ValueError(f"features must be two different features, got {features!r}.")
    return indices


def _label(model, index):
    names = getattr(model, "feature_names_in_", None)
    return str(names[index]) if names is not None else f"feature {index}"


def _covariances_2d(model, i, j):
    """Covariance of each component's marginal on features (i, j): a (K, 2, 2) array.

    The marginal of a Gaussian on some coordinates is the Gaussian with the matching
    sub-vector of the mean and sub-block of the covariance.
    """
    covariance_type = model.covariance_type
    covariances = np.asarray(model.covariances_, dtype=np.float64)
    n_components = len(model.weights_)
    pair = np.array([i, j])
    if covariance_type == "full":
        return covariances[:, pair[:, None], pair[None, :]]
    if covariance_type == "tied":
        return np.repeat(covariances[pair[:, None], pair[None, :]][None], n_components, axis=0)
    if covariance_type == "diag":
        return np.stack([np.diag(c[pair]) for c in covariances])
    return covariances[:, None, None] * np.eye(2)


def _colours(n_components):
    from matplotlib import colormaps

    name = "tab10" if n_components <= 10 else "tab20" if n_components <= 20 else "viridis"
    cmap = colormaps[name]
    if name == "viridis":
        return cmap(np.linspace(0.0, 1.0, n_components))
    return cmap(np.arange(n_components) % cmap.N)


def ellipses(model, X, ax=None, *, features=(0, 1), max_points=20_000, random_state=0):
    """Draw the rows of X coloured by component, and each component's 1-2-3 sigma ellipses.

    The n-sigma ellipse of component k is the contour (x - m_k)^T S_k^-1 (x - m_k) = n^2
    of its marginal on the two chosen features (mean m_k, covariance S_k the 2 x 2
    sub-block); in two dimensions it holds 1 - exp(-n^2 / 2) of the component's mass
    (39%, 86%, 99%). Ellipses are shaded in proportion to the component's weight.

    Parameters
    ----------
    model : GaussianMixture or GaussianMixtureIC
        A fitted mixture (for a search, its chosen model).
    X : array-like of shape (n_samples, n_features)
        Rows with the model's features; each is coloured by its most likely component.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure when None.
    features : pair of int or str, default=(0, 1)
        The two features drawn: column indices, or names for a model fitted on a
        DataFrame.
    max_points : int or None, default=20_000
        At most this many rows are drawn, a random subset of X; None draws them all.
    random_state : int, default=0
        Chooses the subset.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from gmmfast import GaussianMixture, plot
    >>> X, _ = make_blobs(n_samples=300, centers=3, random_state=0)
    >>> model = GaussianMixture(3, random_state=0).fit(X)
    >>> ax = plot.ellipses(model, X)
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('feature 0', 'feature 1')
    >>> ax.figure.savefig("mixture.png")  # doctest: +SKIP
    """
    _pyplot()
    model = _mixture(model)
    n_features = model.means_.shape[1]
    i, j = _feature_indices(model, features, n_features)
    X = check_array(X, dtype=[np.float64, np.float32])
    if X.shape[1] != n_features:
        raise ValueError(
            f"X has {X.shape[1]} features, but the model was fitted on {n_features}."
        )
    if max_points is not None:
        if not isinstance(max_points, Integral) or max_points < 1:
            raise ValueError(f"max_points must be a positive int or None, got {max_points!r}.")
        if len(X) > max_points:
            rows = np.random.RandomState(random_state).choice(len(X), max_points, replace=False)
            X = X[np.sort(rows)]

    with warnings.catch_warnings():
        # X was turned into an array above; its columns are the model's, by position.
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        labels = model.predict(X)
    ax = _new_axes(ax)
    from matplotlib.patches import Ellipse

    weights = np.asarray(model.weights_, dtype=np.float64)
    colours = _colours(len(weights))
    ax.scatter(X[:, i], X[:, j], c=colours[labels], s=4, alpha=0.5, linewidths=0,
               rasterized=len(X) > 5000)

    means = np.asarray(model.means_, dtype=np.float64)[:, [i, j]]
    shade = weights / weights.max()
    for k, (mean, covariance) in enumerate(zip(means, _covariances_2d(model, i, j))):
        # S = V diag(l) V^T: the n-sigma contour has semi-axes n sqrt(l) along V's columns.
        variances, axes = np.linalg.eigh(covariance)
        angle = np.degrees(np.arctan2(axes[1, 1], axes[0, 1]))
        for n in _SIGMA_LEVELS:
            width, height = 2.0 * n * np.sqrt(np.maximum(variances[::-1], 0.0))
            ax.add_patch(Ellipse(
                mean, width, height, angle=angle, facecolor=colours[k],
                alpha=0.35 * shade[k] / n, edgecolor="none",
            ))
            ax.add_patch(Ellipse(
                mean, width, height, angle=angle, fill=False, edgecolor=colours[k],
                linewidth=0.5 + 1.5 * shade[k], alpha=0.9,
            ))
        ax.plot(*mean, marker="x", color="black", markersize=6, linestyle="none")
    ax.set_xlabel(_label(model, i))
    ax.set_ylabel(_label(model, j))
    ax.set_title(
        f"{len(weights)} components, {model.covariance_type} covariance "
        "(1, 2, 3 sigma; shade ~ weight)",
        fontsize="medium",
    )
    ax.autoscale_view()
    return ax


def criterion(search, ax=None, *, criterion=None):
    """Draw BIC or AIC against the number of components, one line per covariance type.

    Parameters
    ----------
    search : GaussianMixtureIC
        A fitted search.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure when None.
    criterion : {'bic', 'aic'}, default=None
        The criterion drawn; by default the one the search minimised. The chosen model is
        marked with a star when it is the one drawn.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from gmmfast import GaussianMixtureIC, plot
    >>> X, _ = make_blobs(n_samples=300, centers=3, random_state=0)
    >>> search = GaussianMixtureIC(range(1, 6), covariance_type="all", random_state=0).fit(X)
    >>> ax = plot.criterion(search)
    >>> [line.get_label() for line in ax.get_lines()]
    ['spherical', 'diag', 'tied', 'full', 'chosen: 3, tied']
    >>> ax.figure.savefig("bic.png")  # doctest: +SKIP
    """
    if not hasattr(search, "results_") and not hasattr(search, "criterion"):
        raise TypeError(f"expected a fitted GaussianMixtureIC, got {type(search).__name__}.")
    check_is_fitted(search, "results_")
    criterion = search.criterion if criterion is None else criterion
    if criterion not in ("bic", "aic"):
        raise ValueError(f"criterion must be 'bic' or 'aic', got {criterion!r}.")
    ax = _new_axes(ax)
    from matplotlib.ticker import MaxNLocator

    results = search.results_
    values = results[criterion]
    for covariance_type in dict.fromkeys(results["covariance_type"]):
        rows = (results["covariance_type"] == covariance_type) & np.isfinite(values)
        ax.plot(results["n_components"][rows], values[rows], marker="o", markersize=4,
                label=str(covariance_type))
    if criterion == search.criterion:
        best = search.best_index_
        ax.plot(results["n_components"][best], values[best], marker="*", markersize=16,
                color="black", linestyle="none",
                label=f"chosen: {search.n_components_}, {search.covariance_type_}")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("number of components")
    ax.set_ylabel(f"{criterion.upper()} (lower is better)")
    ax.legend(title="covariance type", fontsize="small")
    return ax
