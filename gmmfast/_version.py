"""The version of gmmfast, written in this one place.

pyproject.toml reads it when the package is built (scikit-build-core's regex metadata
provider), and ``gmmfast.__version__`` imports it.
"""

__version__ = "0.1.0"
