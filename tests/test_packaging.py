"""The installed package: version, metadata, typing marker, and the show_config() report."""

import platform
import re
import sys
from importlib import metadata

import pytest
from threadpoolctl import threadpool_limits

import gmmfast

SUPPORTED_PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
# Flags that trade IEEE arithmetic for speed: results would change across machines and builds.
UNSAFE_MATH_FLAGS = ["-ffast-math", "-Ofast", "-funsafe-math-optimizations", "/fp:fast"]


@pytest.fixture(scope="module")
def config():
    return gmmfast.show_config(mode="dicts")


def test_version_is_the_distribution_version():
    assert gmmfast.__version__ == metadata.version("gmmfast")
    # A normalised PEP 440 release, pre-release, post-release or development version.
    assert re.fullmatch(r"\d+\.\d+\.\d+((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?",
                        gmmfast.__version__)


def test_metadata_is_release_ready():
    meta = metadata.metadata("gmmfast")
    assert meta["Requires-Python"] == ">=3.10"
    assert meta["License-Expression"] == "BSD-3-Clause"
    assert "LICENSE" in meta.get_all("License-File")
    classifiers = meta.get_all("Classifier")
    for version in SUPPORTED_PYTHONS:
        assert f"Programming Language :: Python :: {version}" in classifiers
    # The public API is not annotated: the package does not claim to be typed.
    assert "Typing :: Typed" not in classifiers
    urls = dict(url.split(", ", 1) for url in meta.get_all("Project-URL"))
    assert {"Homepage", "Source", "Issues"} <= set(urls)
    assert all(url.startswith("https://") for url in urls.values())
    requires = [req.split(";")[0] for req in meta.get_all("Requires-Dist")]
    names = {req.split(">")[0].split("=")[0].split("<")[0].strip() for req in requires}
    assert {"numpy", "scipy", "scikit-learn", "threadpoolctl", "pytest", "pandas"} <= names
    assert "test" in meta.get_all("Provides-Extra")


def test_show_config_prints_the_report(capsys):
    assert gmmfast.show_config() is None
    out = capsys.readouterr().out
    assert out.startswith(f"gmmfast {gmmfast.__version__}\n")
    for section in ["Python:", "Dependencies:", "Build:", "Threads:", "OpenMP runtimes loaded",
                    "BLAS loaded"]:
        assert section in out
    config = gmmfast.show_config(mode="dicts")
    assert config["build"]["c_flags"] in out
    assert f"pass threads:    {config['threads']['n_threads']}" in out


def test_show_config_dicts_describe_this_process(config):
    assert config["gmmfast"]["version"] == gmmfast.__version__
    assert config["python"]["version"] == platform.python_version()
    assert config["python"]["executable"] == sys.executable
    assert config["dependencies"]["numpy"] == metadata.version("numpy")
    assert config["dependencies"]["scikit-learn"] == metadata.version("scikit-learn")
    info = gmmfast.parallel_info()
    assert config["threads"]["openmp"] == info["openmp"]
    assert config["threads"]["n_threads"] == info["n_threads"]
    for runtime in config["openmp_runtimes"] + config["blas"]:
        assert runtime["num_threads"] >= 1 and runtime["filepath"]
        assert isinstance(runtime["bundled_with_gmmfast"], bool)
    if sys.platform.startswith("linux"):
        # NumPy's and SciPy's Linux wheels and distributions load an OpenBLAS or similar.
        assert config["blas"]


def test_show_config_reports_thread_limits_as_they_are_now():
    with threadpool_limits(limits=1, user_api="openmp"):
        limited = gmmfast.show_config(mode="dicts")
    assert limited["threads"]["n_threads"] == 1
    assert all(runtime["num_threads"] == 1 for runtime in limited["openmp_runtimes"])


def test_build_record_matches_the_compiled_extension(config):
    build = config["build"]
    assert build is not None, "the CMake project did not record the build (_build_info.py)"
    assert build["openmp"]["found"] == gmmfast.parallel_info()["openmp"]
    built_for = build["python_version"].split(".")[:2]
    assert built_for == [str(part) for part in sys.version_info[:2]]
    assert build["compiler"]["id"] and build["cython_version"] and build["numpy_version"]


def test_release_flags_are_portable(config):
    build = config["build"]
    flags = build["c_flags"].split()
    for flag in UNSAFE_MATH_FLAGS:
        assert flag not in flags
    # -march=native only when asked for with the GMMFAST_NATIVE CMake option.
    assert ("-march=native" in flags) == build["native"]


@pytest.mark.parametrize("mode", ["json", "", None, 1])
def test_show_config_rejects_unknown_modes(mode):
    with pytest.raises(ValueError, match="mode must be one of"):
        gmmfast.show_config(mode=mode)
