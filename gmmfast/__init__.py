"""gmmfast: Gaussian mixture models fitted by EM, fast, as a drop-in for scikit-learn.

>>> from gmmfast import BayesianGaussianMixture, GaussianMixture, MiniBatchGaussianMixture
"""

try:
    from . import _kernels  # noqa: F401
except ImportError as exc:  # pragma: no cover - only in an unbuilt source tree
    raise ImportError(
        "gmmfast's compiled extension could not be imported. Install the package with "
        "'pip install .' and run Python (and 'pytest') from a directory where the source "
        "folder 'gmmfast/' does not shadow the installed package."
    ) from exc

from . import plot
from ._bayesian_mixture import BayesianGaussianMixture
from ._config import show_config
from ._gaussian_mixture import GaussianMixture
from ._impute import GaussianMixtureImputer
from ._io import load, save
from ._mini_batch import MiniBatchGaussianMixture
from ._parallel import parallel_info
from ._selection import GaussianMixtureIC
from ._version import __version__

__all__ = [
    "BayesianGaussianMixture", "GaussianMixture", "GaussianMixtureIC",
    "GaussianMixtureImputer", "load",
    "MiniBatchGaussianMixture",
    "parallel_info", "plot", "save", "show_config",
    "__version__",
]
