#!/usr/bin/env bash
# Every compiled version of the element-wise loops gives the same fits, bit for bit.
#
# Builds the checkout once per version that this processor can run (GMMFAST_VARIANT 1: the
# baseline, 2: AVX2, 3: AVX-512F; see src/gmmfast/variants.h), each into its own folder,
# and compares tools/fit_digests.py of each with the installed release build's (which takes
# the best version at load time). Run it in the project's environment, with gmmfast
# installed; exits 1 on any difference.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$work" && python "$root/tools/fit_digests.py") > "$work/release.json" || exit 1
status=0
for variant in 1 2 3; do
  case $variant in
    1) name=baseline ;;
    2) name=avx2; grep -qw avx2 /proc/cpuinfo || { echo "$name: not on this processor"; continue; } ;;
    3) name=avx512f; grep -qw avx512f /proc/cpuinfo || { echo "$name: not on this processor"; continue; } ;;
  esac
  if ! python -m pip install -q --no-build-isolation --no-deps --target "$work/$name" \
       -Cbuild-dir="$work/build-$name" -Ccmake.define.GMMFAST_VARIANT=$variant "$root" \
       > "$work/$name.log" 2>&1; then
    echo "$name: build failed"; tail -20 "$work/$name.log"; status=1; continue
  fi
  echo -n "$name: "
  (cd "$work" && PYTHONPATH="$work/$name" python "$root/tools/fit_digests.py" \
     --compare "$work/release.json") | tail -1
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
done
exit $status
