"""gmmfast: Gaussian mixture models fitted by EM, fast, as a drop-in for scikit-learn.

>>> from gmmfast import GaussianMixture
"""

from ._gaussian_mixture import GaussianMixture
from ._parallel import parallel_info

__version__ = "0.1.0"

__all__ = ["GaussianMixture", "parallel_info", "__version__"]
