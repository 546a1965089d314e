"""Model files: a fitted GaussianMixture, BayesianGaussianMixture or
MiniBatchGaussianMixture as plain arrays in a ``.npz`` archive, no pickle.

The archive holds one ``metadata`` entry (a JSON string: format name and version, the
gmmfast version that wrote it, the constructor parameters, the scalar fitted attributes and
a SHA-256 digest of the metadata and the arrays) and one ``.npy`` entry per array. Reading
it never unpickles anything (``allow_pickle=False``), and the arrays come back with their
dtype and bytes, so the loaded model predicts exactly what the saved one did. A mini-batch
model also keeps its running state (the statistics, the parameters in float64, the step
count and the early-stopping counters): the loaded model continues ``partial_fit`` with the
same bits as the saved one.
"""

import hashlib
import json
import os
import tempfile
import zipfile
import zlib
from numbers import Integral, Real

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._bayesian_mixture import BayesianGaussianMixture
from ._covariance_shapes import COVARIANCE_TYPES, covariance_shape
from ._gaussian_mixture import GaussianMixture
from ._mini_batch import MiniBatchGaussianMixture

FORMAT = "gmmfast-model"
# The layout's version: increased when a change means that an older gmmfast would read a
# file wrongly. A file of a newer format is refused, not guessed at.
FORMAT_VERSION = 1

_FITTED_ARRAYS = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_")
_SCALAR_PARAMS = (
    "n_components", "covariance_type", "tol", "reg_covar", "max_iter", "n_init",
    "init_params", "warm_start", "verbose", "verbose_interval",
)


class _Layout:
    """What a model file holds for one estimator class, beyond the shared entries: the
    parameters that are numbers or None, those that are arrays or None (or numbers), and
    the fitted arrays and numbers."""

    def __init__(self, estimator, scalar_params=(), array_params=(), fitted_arrays=(),
                 fitted_scalars=(), without=()):
        self.estimator = estimator
        self.scalar_params = tuple(p for p in _SCALAR_PARAMS if p not in without) + scalar_params
        self.array_params = array_params
        self.fitted_arrays = _FITTED_ARRAYS + fitted_arrays
        self.fitted_scalars = fitted_scalars


_LAYOUTS = {
    "GaussianMixture": _Layout(
        GaussianMixture, array_params=("weights_init", "means_init", "precisions_init")
    ),
    "BayesianGaussianMixture": _Layout(
        BayesianGaussianMixture,
        scalar_params=(
            "weight_concentration_prior_type", "weight_concentration_prior",
            "mean_precision_prior", "degrees_of_freedom_prior",
        ),
        array_params=("mean_prior", "covariance_prior"),
        fitted_arrays=(
            "mean_precision_", "degrees_of_freedom_", "mean_prior_", "covariance_prior_",
        ),
        fitted_scalars=(
            "weight_concentration_prior_", "mean_precision_prior_", "degrees_of_freedom_prior_",
        ),
    ),
    "MiniBatchGaussianMixture": _Layout(
        MiniBatchGaussianMixture,
        scalar_params=("batch_size", "learning_offset", "learning_decay",
                       "max_no_improvement"),
        array_params=("weights_init", "means_init", "precisions_init"),
        fitted_scalars=("n_steps_", "n_rows_seen_"),
        without=("n_init",),
    ),
}
# The stick-breaking posterior's two Beta parameter arrays, as stored.
_STICKS = ("weight_concentration_a", "weight_concentration_b")
# A mini-batch model's running state: its parameters (float64, as the next step reads
# them), its running statistics (s0, s1, s2 and the points they are taken around) and its
# numbers.
_STATE_PARAMS = ("state_weights", "state_means", "state_covariances",
                 "state_precisions_cholesky")
_STATE_STATISTICS = ("statistics_s0", "statistics_s1", "statistics_s2", "statistics_base")
_STATE_NUMBERS = ("n_steps", "n_rows_seen", "lower_bound", "best", "no_improvement")


def _gmmfast_version():
    from . import __version__

    return __version__


def _json_scalar(name, value):
    """A parameter as a JSON value: None, Python bool, int, float or str (numpy scalars
    converted)."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real):
        return float(value)
    if isinstance(value, str):
        return value
    raise TypeError(f"parameter {name}={value!r} cannot be stored in a model file.")


def _digest(metadata, arrays):
    """SHA-256 over the metadata (but its digest) and each array's name, dtype, shape, bytes."""
    sha = hashlib.sha256()
    described = {key: value for key, value in metadata.items() if key != "sha256"}
    sha.update(json.dumps(described, sort_keys=True).encode())
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        sha.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        sha.update(array.tobytes())
    return sha.hexdigest()


def save(model, path):
    """Write a fitted mixture to a ``.npz`` model file that loads without pickle.

    Parameters
    ----------
    model : GaussianMixture, BayesianGaussianMixture or MiniBatchGaussianMixture
        A fitted :class:`gmmfast.GaussianMixture`,
        :class:`gmmfast.BayesianGaussianMixture` or
        :class:`gmmfast.MiniBatchGaussianMixture` (with its running state, so that the
        loaded model continues ``partial_fit``). For a
        :class:`gmmfast.GaussianMixtureIC`, save its ``best_estimator_``.
    path : str, path-like or binary file object
        Where to write. A path is written whole or not at all (through a temporary file in
        the same folder); its name is kept as given, no suffix is added.

    See Also
    --------
    load : read the file back.

    Examples
    --------
    >>> import numpy as np
    >>> import gmmfast
    >>> X = np.random.RandomState(0).normal(size=(500, 2))
    >>> model = gmmfast.GaussianMixture(2, random_state=0).fit(X)
    >>> gmmfast.save(model, "model.npz")  # doctest: +SKIP
    >>> again = gmmfast.load("model.npz")  # doctest: +SKIP

    Any binary file object serves as well, here one in memory:

    >>> import io
    >>> buffer = io.BytesIO()
    >>> gmmfast.save(model, buffer)
    >>> _ = buffer.seek(0)
    >>> again = gmmfast.load(buffer)
    >>> bool((again.predict_proba(X) == model.predict_proba(X)).all())
    True
    """
    layout = _LAYOUTS.get(type(model).__name__)
    if layout is None or type(model) is not layout.estimator:
        hint = (
            " For a GaussianMixtureIC, save its best_estimator_."
            if hasattr(model, "best_estimator_") else ""
        )
        raise TypeError(
            "save expects a fitted gmmfast.GaussianMixture, gmmfast.BayesianGaussianMixture "
            f"or gmmfast.MiniBatchGaussianMixture, got {type(model).__name__}." + hint
        )
    check_is_fitted(model)

    arrays = {name: np.asarray(getattr(model, name)) for name in layout.fitted_arrays}
    arrays["lower_bounds_"] = np.asarray(getattr(model, "lower_bounds_", []), dtype=np.float64)
    if hasattr(model, "feature_names_in_"):
        arrays["feature_names_in_"] = np.asarray(model.feature_names_in_, dtype=str)
    params = {name: _json_scalar(name, getattr(model, name)) for name in layout.scalar_params}
    for name in layout.array_params:
        value = getattr(model, name)
        if isinstance(value, Real) or value is None:
            params[name] = _json_scalar(name, value)
        else:
            arrays[name] = np.asarray(value)
    fitted_scalars = {
        name: _json_scalar(name, getattr(model, name)) for name in layout.fitted_scalars
    }
    if layout.estimator is BayesianGaussianMixture:
        concentration = model.weight_concentration_
        if isinstance(concentration, tuple):
            arrays.update(zip(_STICKS, (np.asarray(c) for c in concentration)))
        else:
            arrays["weight_concentration_"] = np.asarray(concentration)
    if layout.estimator is MiniBatchGaussianMixture:
        state = model._state
        arrays.update(zip(_STATE_PARAMS, (np.asarray(a) for a in state["params"])))
        arrays.update(zip(_STATE_STATISTICS, (np.asarray(a) for a in state["statistics"])))
        fitted_scalars["state"] = {name: _json_scalar(name, state[name])
                                   for name in _STATE_NUMBERS}
    random_state = model.random_state
    if isinstance(random_state, np.random.RandomState):
        _, keys, pos, has_gauss, cached = random_state.get_state()
        arrays["random_state_keys"] = keys
        random_state = {"pos": int(pos), "has_gauss": int(has_gauss), "cached": float(cached)}
    elif random_state is not None:
        random_state = _json_scalar("random_state", random_state)
    for name, array in arrays.items():
        if array.dtype.hasobject:
            raise TypeError(f"{name} holds Python objects and cannot be stored without pickle.")

    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "gmmfast_version": _gmmfast_version(),
        "class": type(model).__name__,
        "params": params,
        "random_state": random_state,
        "fitted": {
            "converged_": bool(model.converged_),
            "n_iter_": int(model.n_iter_),
            "lower_bound_": float(model.lower_bound_),
            "n_features_in_": int(model.n_features_in_),
            **fitted_scalars,
        },
    }
    metadata["sha256"] = _digest(metadata, arrays)
    entries = dict(arrays, metadata=np.asarray(json.dumps(metadata)))

    if hasattr(path, "write"):
        np.savez(path, **entries)
        return
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot save the model to {path}: no folder {folder}.")
    handle, temporary = tempfile.mkstemp(prefix=".gmmfast-", suffix=".npz", dir=folder)
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez(file, **entries)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _read_archive(path):
    """The archive's metadata and arrays; ValueError for anything that is not a model file."""
    name = getattr(path, "name", path)
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise ValueError("it holds a single array, not a .npz archive")
        with archive:
            entries = {key: archive[key] for key in archive.files}
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, KeyError) as exc:
        raise ValueError(
            f"{name} is not a readable gmmfast model file ({exc}); it may be truncated "
            "or corrupted. Save the model again with gmmfast.save."
        ) from None
    if "metadata" not in entries:
        raise ValueError(f"{name} is a .npz archive but not a gmmfast model file (no metadata).")
    try:
        metadata = json.loads(str(entries.pop("metadata")))
    except ValueError:
        raise ValueError(f"{name} has unreadable metadata; the file is corrupted.") from None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise ValueError(f"{name} is a .npz archive but not a gmmfast model file.")
    return metadata, entries


def load(path):
    """Read a model file written by :func:`save`.

    Parameters
    ----------
    path : str, path-like or binary file object

    Returns
    -------
    model : GaussianMixture, BayesianGaussianMixture or MiniBatchGaussianMixture
        The fitted model, with the same parameters and fitted arrays (dtype and bytes) as
        the saved one: it predicts exactly the same.

    Raises
    ------
    ValueError
        If the file is not a gmmfast model file, is truncated or corrupted (its arrays do
        not match the digest recorded when it was written), or was written in a newer
        format than this gmmfast reads.

    See Also
    --------
    save : write a model file.

    Examples
    --------
    >>> import io
    >>> import numpy as np
    >>> import gmmfast
    >>> X = np.random.RandomState(0).normal(size=(500, 2))
    >>> buffer = io.BytesIO()
    >>> gmmfast.save(gmmfast.GaussianMixture(2, random_state=0).fit(X), buffer)
    >>> _ = buffer.seek(0)
    >>> model = gmmfast.load(buffer)
    >>> type(model).__name__, model.n_components, model.means_.shape
    ('GaussianMixture', 2, (2, 2))
    """
    metadata, arrays = _read_archive(path)
    name = getattr(path, "name", path)
    version = metadata.get("format_version")
    written_by = metadata.get("gmmfast_version", "an unknown version")
    if not isinstance(version, int) or version > FORMAT_VERSION or version < 1:
        raise ValueError(
            f"{name} was written by gmmfast {written_by} in model file format {version!r}; "
            f"this gmmfast ({_gmmfast_version()}) reads format {FORMAT_VERSION} and older. "
            "Upgrade gmmfast to read it."
        )
    layout = _LAYOUTS.get(metadata.get("class"))
    if layout is None:
        raise ValueError(
            f"{name} holds a {metadata.get('class')!r}, not a GaussianMixture, a "
            "BayesianGaussianMixture or a MiniBatchGaussianMixture."
        )
    if _digest(metadata, arrays) != metadata.get("sha256"):
        raise ValueError(
            f"{name} is corrupted: its contents do not match the digest recorded when it was "
            "written. Save the model again with gmmfast.save."
        )
    try:
        return _build_model(layout, metadata, arrays)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{name} is not a consistent gmmfast model file: {exc!r}") from None


def _build_model(layout, metadata, arrays):
    params = {name: metadata["params"][name] for name in layout.scalar_params}
    random_state = metadata["random_state"]
    if isinstance(random_state, dict):
        state = np.random.RandomState()
        state.set_state((
            "MT19937", arrays.pop("random_state_keys"), random_state["pos"],
            random_state["has_gauss"], random_state["cached"],
        ))
        random_state = state
    for param in layout.array_params:
        params[param] = arrays.pop(param, metadata["params"].get(param))
    model = layout.estimator(random_state=random_state, **params)

    n_components, covariance_type = model.n_components, model.covariance_type
    n_features = int(metadata["fitted"]["n_features_in_"])
    if covariance_type not in COVARIANCE_TYPES:
        raise ValueError(f"unknown covariance_type {covariance_type!r}")
    shape = covariance_shape(covariance_type, n_components, n_features)
    expected = {
        "weights_": (n_components,),
        "means_": (n_components, n_features),
        "covariances_": shape,
        "precisions_": shape,
        "precisions_cholesky_": shape,
    }
    if layout.estimator is BayesianGaussianMixture:
        expected.update(_bayesian_shapes(model, arrays, n_features))
    if layout.estimator is MiniBatchGaussianMixture:
        expected.update(_mini_batch_state_shapes(model, n_features))
    values = {}
    for attribute, shape in expected.items():
        value = arrays[attribute]
        if value.shape != shape or value.dtype not in (np.float32, np.float64):
            raise ValueError(f"{attribute} has shape {value.shape}, dtype {value.dtype}")
        # A 0-d array is stored for a number (a tied model's degrees of freedom, ...).
        values[attribute] = value[()] if value.ndim == 0 else value
    if all(name in values for name in _STICKS):
        values["weight_concentration_"] = tuple(values.pop(name) for name in _STICKS)
    fitted = metadata["fitted"]
    for attribute in layout.fitted_scalars:
        values[attribute] = fitted[attribute]
    if layout.estimator is MiniBatchGaussianMixture:
        numbers = fitted["state"]
        state = {name: numbers[name] for name in _STATE_NUMBERS}
        state["params"] = tuple(values.pop(name) for name in _STATE_PARAMS)
        state["statistics"] = tuple(values.pop(name) for name in _STATE_STATISTICS)
        if (state["n_steps"], state["n_rows_seen"]) != (
                values["n_steps_"], values["n_rows_seen_"]):
            raise ValueError("the running state does not match n_steps_ and n_rows_seen_")
        values["_state"] = state
    for attribute, value in values.items():
        setattr(model, attribute, value)
    model.converged_ = bool(fitted["converged_"])
    model.n_iter_ = int(fitted["n_iter_"])
    model.lower_bound_ = float(fitted["lower_bound_"])
    model.n_features_in_ = int(n_features)
    model.lower_bounds_ = arrays["lower_bounds_"].tolist()
    if "feature_names_in_" in arrays:
        names = arrays["feature_names_in_"].astype(object)
        if names.shape != (n_features,):
            raise ValueError(f"feature_names_in_ has shape {names.shape}")
        model.feature_names_in_ = names
    return model


def _bayesian_shapes(model, arrays, n_features):
    """The shapes of a variational mixture's own fitted arrays."""
    n_components, covariance_type = model.n_components, model.covariance_type
    prior_shape = {
        "full": (n_features, n_features), "tied": (n_features, n_features),
        "diag": (n_features,), "spherical": (),
    }[covariance_type]
    shapes = {
        "mean_precision_": (n_components,),
        "degrees_of_freedom_": () if covariance_type == "tied" else (n_components,),
        "mean_prior_": (n_features,),
        "covariance_prior_": prior_shape,
    }
    if model.weight_concentration_prior_type == "dirichlet_process":
        shapes.update(dict.fromkeys(_STICKS, (n_components,)))
    else:
        shapes["weight_concentration_"] = (n_components,)
    return shapes


def _mini_batch_state_shapes(model, n_features):
    """The shapes of a mini-batch model's running state."""
    n_components, covariance_type = model.n_components, model.covariance_type
    shape = covariance_shape(covariance_type, n_components, n_features)
    s2_shape = {
        "full": (n_components, n_features, n_features), "tied": (n_features, n_features),
        "diag": (n_components, n_features), "spherical": (n_components, n_features),
    }[covariance_type]
    return dict(zip(
        _STATE_PARAMS + _STATE_STATISTICS,
        [(n_components,), (n_components, n_features), shape, shape,
         (n_components,), (n_components, n_features), s2_shape, (n_components, n_features)],
    ))
