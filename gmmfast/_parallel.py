"""Threads for the compiled passes: OpenMP for the rows, one BLAS thread inside them."""

from contextlib import contextmanager
from functools import lru_cache

from threadpoolctl import ThreadpoolController

from . import _kernels


@lru_cache(maxsize=1)
def _controller():
    return ThreadpoolController()


@lru_cache(maxsize=1)
def _blas_libraries():
    return tuple(_controller().select(user_api="blas").lib_controllers)


@contextmanager
def single_threaded_blas():
    """Limit BLAS to one thread while OpenMP threads each call it on their own block.

    Without this, every OpenMP thread would start a full BLAS thread pool and the cores
    would be oversubscribed. Each library's thread count is read and set directly (a few
    microseconds; a threadpoolctl limit collects every library's information first, ten
    times as long, which a call on a few rows would notice), and restored after.
    """
    changed = []
    try:
        for library in _blas_libraries():
            threads = library.get_num_threads()
            if threads is not None and threads != 1:
                library.set_num_threads(1)
                changed.append((library, threads))
        yield
    finally:
        for library, threads in reversed(changed):
            library.set_num_threads(threads)


@contextmanager
def single_threaded():
    """One OpenMP and one BLAS thread: for library code whose sums depend on thread count."""
    with _controller().limit(limits=1):
        yield


def parallel_info():
    """Whether gmmfast was built with OpenMP, and how many threads a pass would use now.

    The thread count follows ``OMP_NUM_THREADS`` and ``threadpoolctl.threadpool_limits``.

    Returns
    -------
    info : dict
        ``{"openmp": bool, "n_threads": int}``. ``openmp`` is False when the extension was
        compiled without OpenMP; every pass then runs on one thread.

    Examples
    --------
    >>> import gmmfast
    >>> gmmfast.parallel_info()  # doctest: +SKIP
    {'openmp': True, 'n_threads': 2}
    >>> info = gmmfast.parallel_info()
    >>> sorted(info), info["n_threads"] >= 1
    (['n_threads', 'openmp'], True)
    """
    enabled = _kernels.openmp_enabled()
    return {"openmp": enabled, "n_threads": _kernels.max_threads() if enabled else 1}
