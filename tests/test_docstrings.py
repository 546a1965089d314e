"""The examples in the public docstrings run and print what they say."""

import doctest
import importlib

import pytest

MODULES = ["gmmfast", "gmmfast._base", "gmmfast._gaussian_mixture",
           "gmmfast._bayesian_mixture", "gmmfast._mini_batch", "gmmfast._selection",
           "gmmfast._io", "gmmfast.plot", "gmmfast._config", "gmmfast._parallel",
           "gmmfast.datasets"]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    if name == "gmmfast.plot":
        pytest.importorskip("matplotlib")
    result = doctest.testmod(importlib.import_module(name),
                             optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
