"""What this gmmfast is and what it runs on: version, build, OpenMP, threads, BLAS."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from threadpoolctl import threadpool_info

from ._parallel import parallel_info
from ._version import __version__

_PACKAGE_DIR = Path(__file__).resolve().parent
# Where wheel repair tools put the shared libraries they bundle: auditwheel and delvewheel
# in ``gmmfast.libs/`` beside the package, delocate in ``gmmfast/.dylibs/``.
_BUNDLE_DIRS = (_PACKAGE_DIR, _PACKAGE_DIR.parent / "gmmfast.libs")
_DEPENDENCIES = ("numpy", "scipy", "scikit-learn", "threadpoolctl")
_MODES = ("stdout", "dicts")


def _build_info() -> dict[str, Any] | None:
    try:
        from ._build_info import BUILD_INFO
    except ImportError:  # built by a route that did not run the CMake project
        return None
    return BUILD_INFO


def _distribution_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _is_bundled(filepath: str | None) -> bool:
    if not filepath:
        return False
    path = Path(filepath).resolve()
    return any(path.is_relative_to(directory) for directory in _BUNDLE_DIRS)


def _runtime(entry: dict[str, Any]) -> dict[str, Any]:
    """A threadpoolctl entry, with whether the library was shipped inside gmmfast's wheel."""
    keys = ("internal_api", "prefix", "version", "num_threads", "threading_layer",
            "architecture", "filepath")
    info = {key: entry[key] for key in keys if key in entry}
    info["bundled_with_gmmfast"] = _is_bundled(entry.get("filepath"))
    return info


def _config() -> dict[str, Any]:
    libraries = threadpool_info()
    return {
        "gmmfast": {"version": __version__, "path": str(_PACKAGE_DIR)},
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": sys.executable,
            "platform": platform.platform(),
            "machine": platform.machine(),
        },
        "dependencies": {name: _distribution_version(name) for name in _DEPENDENCIES},
        "build": _build_info(),
        "threads": {**parallel_info(), "cpu_count": os.cpu_count()},
        "openmp_runtimes": [_runtime(lib) for lib in libraries if lib["user_api"] == "openmp"],
        "blas": [_runtime(lib) for lib in libraries if lib["user_api"] == "blas"],
    }


def _format_runtime(info: dict[str, Any]) -> list[str]:
    # OpenMP runtimes by library (libgomp, libomp, vcomp), BLAS by implementation (openblas).
    name = info.get("prefix") if info.get("internal_api") == "openmp" else None
    name = name or info.get("internal_api", "?")
    if info.get("version"):
        name += f" {info['version']}"
    details = [f"{info.get('num_threads', '?')} threads"]
    for key in ("threading_layer", "architecture"):
        if info.get(key):
            details.append(f"{key.replace('_', ' ')} {info[key]}")
    if info["bundled_with_gmmfast"]:
        details.append("bundled with gmmfast")
    return [f"    {name} ({', '.join(details)})", f"      {info.get('filepath', '?')}"]


def _format(config: dict[str, Any]) -> str:
    def row(label: str, value: Any) -> str:
        return f"  {label + ':':<16} {value if value not in (None, '') else '-'}"

    lines = [f"gmmfast {config['gmmfast']['version']}", row("location", config["gmmfast"]["path"])]
    python = config["python"]
    lines += [
        "Python:",
        row("version", f"{python['version']} ({python['implementation']})"),
        row("executable", python["executable"]),
        row("platform", python["platform"]),
    ]
    lines.append("Dependencies:")
    lines += [row(name, version or "not installed")
              for name, version in config["dependencies"].items()]

    build = config["build"]
    lines.append("Build:")
    if build is None:
        lines.append("  not recorded (the package was not built through its CMake project)")
    else:
        compiler = build["compiler"]
        openmp = build["openmp"]
        if openmp["found"]:
            openmp_text = f"yes, OpenMP {openmp['version'] or '?'}"
            if openmp["flags"]:
                openmp_text += f", flags {openmp['flags']}"
            if openmp["libraries"]:
                openmp_text += f", libraries {openmp['libraries']}"
        else:
            openmp_text = "NO: every pass runs on one thread"
        lines += [
            row("compiler", f"{compiler['id']} {compiler['version']} ({compiler['path']})"),
            row("build type", build["build_type"]),
            row("C flags", build["c_flags"]),
            row("linker flags", build["linker_flags"]),
            row("native CPU", "yes (-march=native, this CPU only)" if build["native"] else "no"),
            row("OpenMP", openmp_text),
            row("Cython", build["cython_version"]),
            row("NumPy", build["numpy_version"]),
            row("Python", build["python_version"]),
            row("target", f"{build['system']} {build['processor']}"
                + (f", macOS {build['macos_deployment_target']}"
                   if build["macos_deployment_target"] else "")),
        ]

    threads = config["threads"]
    lines += [
        "Threads:",
        row("OpenMP", "on" if threads["openmp"] else "OFF"),
        row("pass threads", threads["n_threads"]),
        row("CPUs", threads["cpu_count"]),
    ]
    for title, key in (
        ("OpenMP runtimes loaded", "openmp_runtimes"),
        ("BLAS loaded (the passes call SciPy's, through scipy.linalg.cython_blas)", "blas"),
    ):
        lines.append(f"  {title}:")
        if config[key]:
            for info in config[key]:
                lines += _format_runtime(info)
        else:
            lines.append("    none detected by threadpoolctl")
    return "\n".join(lines)


def show_config(mode: str = "stdout") -> dict[str, Any] | None:
    """Print how gmmfast was built and what it runs on.

    Reports the gmmfast version, Python and the versions of the dependencies; how the
    compiled passes were built (compiler, build type, C flags, whether ``-march=native`` was
    used, OpenMP); whether passes run in parallel and on how many threads now; and the
    OpenMP runtimes and BLAS libraries loaded in the process (through threadpoolctl), with
    their thread counts and whether they were bundled in gmmfast's wheel. Include it in bug
    reports.

    Parameters
    ----------
    mode : {"stdout", "dicts"}, default="stdout"
        ``"stdout"`` prints the report; ``"dicts"`` returns it as a dictionary instead.

    Returns
    -------
    config : dict or None
        With ``mode="dicts"``: sections ``gmmfast``, ``python``, ``dependencies``, ``build``
        (None when the build was not recorded), ``threads`` (as
        :func:`gmmfast.parallel_info`, plus ``cpu_count``), ``openmp_runtimes`` and ``blas``
        (one dictionary per loaded library). None with ``mode="stdout"``.

    See Also
    --------
    gmmfast.parallel_info : Whether the build has OpenMP and how many threads a pass uses.

    Examples
    --------
    >>> import gmmfast
    >>> gmmfast.show_config()  # doctest: +SKIP
    gmmfast 0.1.0
    ...
    >>> gmmfast.show_config(mode="dicts")["threads"]  # doctest: +SKIP
    {'openmp': True, 'n_threads': 2, 'cpu_count': 2}
    >>> sorted(gmmfast.show_config(mode="dicts"))
    ['blas', 'build', 'dependencies', 'gmmfast', 'openmp_runtimes', 'python', 'threads']
    """
    if not isinstance(mode, str) or mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}, got {mode!r}.")
    config = _config()
    if mode == "dicts":
        return config
    print(_format(config))
    return None
