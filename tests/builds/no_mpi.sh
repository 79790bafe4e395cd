#!/usr/bin/env bash
# The sources that differ with and without MPI (#ifdef MIXUP_HAVE_MPI / MIXUP_MPIEXEC), compiled in a build
# configured with -DMIXUP_MPI=OFF, as on the GPU machine, which has no MPI: the suite's own build has MPI, so
# without this a source that only compiles with MPI would first fail there. CUDA is left at its default
# (AUTO), so where nvcc, cuDNN and NCCL are found, as in CI, this is the GPU machine's configuration: CUDA and
# NCCL on, MPI off. Only the .cpp files are compiled (objects, no link), with warnings as errors (an unused
# helper left outside its #ifdef); headers are covered through them, .cu files not.
# Usage: tests/builds/no_mpi.sh BUILD_DIR [DEPS_DIR]   (DEPS_DIR: the suite's MIXUP_DEPS_DIR, if any)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:?usage: no_mpi.sh BUILD_DIR [DEPS_DIR]}
deps=${2:-}
# tests/mpi is built only with MPI and tests/fuzz only with MIXUP_FUZZ: neither has objects in this tree.
mapfile -t sources < <(cd "$root" && grep -rlE 'MIXUP_HAVE_MPI|MIXUP_MPIEXEC' --include='*.cpp' \
  --exclude-dir=mpi --exclude-dir=fuzz engine tests train apps)
((${#sources[@]} > 0)) || { echo "no_mpi: no source mentions MIXUP_HAVE_MPI or MIXUP_MPIEXEC" >&2; exit 1; }
cmake -S "$root" -B "$build" -G "Unix Makefiles" -DMIXUP_MPI=OFF -DCMAKE_CXX_FLAGS=-Werror \
  "-DMIXUP_DEPS_DIR=$deps" >/dev/null
for src in "${sources[@]}"; do
  # The object target lives in the folder whose CMakeLists.txt owns the source: tests/test_*.cpp belong to
  # mixup_tests (tests/CMakeLists.txt), everything else (tests/ops too) to the top-level one.
  dir=.
  [[ $src == tests/test_*.cpp ]] && dir=tests && src=${src#tests/}
  echo "no_mpi: $dir/$src"
  make -s -C "$build/$dir" "${src%.cpp}.o"
done
