"""Progress of long fits, for a display such as the command line's progress bar.

A fit tells what it has just done (an EM iteration, a mini-batch step, a candidate of a
model search) to the listener installed by :func:`reporting` for the duration of a call;
with none installed, nothing happens. Reports never change a result.
"""

import contextvars
from contextlib import contextmanager

_listener = contextvars.ContextVar("gmmfast_progress_listener", default=None)


def report(event, **values):
    """Tell the installed listener ``listener(event, values)``, if there is one.

    Events: "em_iteration" (n_iter, max_iter, init, n_init, lower_bound),
    "mini_batch_step" (n_rows, lower_bound, n_steps, epoch, max_iter) and "candidate"
    (done, total, n_components, covariance_type, criterion, value, best).
    """
    listener = _listener.get()
    if listener is not None:
        listener(event, values)


@contextmanager
def reporting(listener):
    """Install ``listener(event, values)`` for the fits run inside the ``with`` block."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)
