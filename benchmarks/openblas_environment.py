"""Run a benchmark script without the environment variables that change OpenBLAS's speed.

OpenBLAS reads ``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` as it loads: set, they choose
other kernels than the processor's own (Haswell's on an AVX-512 machine) and another cache
size for both libraries' products, which slows scikit-learn's more than gmmfast's and
inflates the ratios. The side-by-side scripts call :func:`restart_without` before NumPy is
imported: if either variable is set, the script starts again with both removed, unless
``--keep-openblas-env`` is on its command line.
"""

import os
import sys

VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
KEEP_FLAG = "--keep-openblas-env"


def restart_without():
    """Replace this process by the same command without the variables (if any is set)."""
    found = [name for name in VARIABLES if name in os.environ]
    if not found or KEEP_FLAG in sys.argv:
        return
    print("Unsetting " + ", ".join(found) + " for both libraries.", flush=True)
    environment = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    os.execve(sys.executable, [sys.executable, *sys.argv], environment)


def add_flag(parser):
    """The command-line flag that keeps the variables."""
    parser.add_argument(KEEP_FLAG, action="store_true",
                        help="keep OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE if they are set (by "
                             "default the script unsets them and starts again)")
