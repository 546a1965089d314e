#!/usr/bin/env bash
# Install the LLVM OpenMP runtime (libomp) that gmmfast's macOS wheels link and bundle.
#
#     bash tools/macos_libomp.sh PREFIX [ARCH]
#
# Apple's clang compiles OpenMP (-Xclang -fopenmp) but ships no runtime. Homebrew's libomp is
# built for the newest macOS only, so a wheel that bundles it would not load on older releases;
# conda-forge's llvm-openmp 11.1.0 is built for macOS 10.9 (x86_64) and 11.0 (arm64), at or
# below the wheels' deployment targets (pyproject.toml, which runs this before each macOS
# build). ARCH (x86_64 or arm64) defaults to this machine's. Afterwards PREFIX holds
# lib/libomp.dylib and include/omp.h: CMake finds them through OpenMP_ROOT=PREFIX, and
# -Wl,-rpath,PREFIX/lib in LDFLAGS lets delocate find the library to bundle.
set -euo pipefail

prefix=${1:?usage: macos_libomp.sh PREFIX [ARCH]}
arch=${2:-$(uname -m)}
case "$arch" in
    arm64) package=osx-arm64/llvm-openmp-11.1.0-hf3c4609_1.tar.bz2 ;;
    x86_64) package=osx-64/llvm-openmp-11.1.0-hda6cdc1_1.tar.bz2 ;;
    *) echo "macos_libomp.sh: no libomp for architecture '$arch' (x86_64 or arm64)" >&2; exit 2 ;;
esac

if [ -e "$prefix/lib/libomp.dylib" ] && [ -e "$prefix/include/omp.h" ]; then
    exit 0  # installed by an earlier build of the same architecture
fi
mkdir -p "$prefix"
curl --fail --silent --show-error --location --retry 3 \
    "https://conda.anaconda.org/conda-forge/$package" | tar -xj -C "$prefix"
for file in lib/libomp.dylib include/omp.h; do
    if [ ! -e "$prefix/$file" ]; then
        echo "macos_libomp.sh: $prefix/$file is missing after unpacking $package" >&2
        exit 1
    fi
done
echo "macos_libomp.sh: libomp for $arch in $prefix"
