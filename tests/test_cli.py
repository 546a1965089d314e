"""The command line, run as a user runs it."""

import subprocess
import sys


def run(*args):
    return subprocess.run([sys.executable, "-m", "gmmfast", *args], capture_output=True,
                          text=True, timeout=300, cwd="/")


def test_demo_prints_the_model_and_time():
    result = run("demo", "--n-samples", "20000")
    assert result.returncode == 0, result.stderr
    assert "fit:" in result.stdout and "EM iterations" in result.stdout
    assert "component" in result.stdout and "adjusted Rand index" in result.stdout


def test_bad_arguments_exit_2_without_traceback():
    result = run("demo", "--n-samples", "2")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "error" in result.stderr
    result = run("frobnicate")
    assert result.returncode == 2 and "Traceback" not in result.stderr
