#!/usr/bin/env bash
# The sources that differ with and without MPI (#ifdef MIXUP_HAVE_MPI / MIXUP_MPIEXEC), compiled in a build
# configured with -DMIXUP_MPI=OFF, as on the GPU machine, which has no MPI: the suite's own build has MPI, so
# without this a source that only compiles with MPI would first fail there. Objects only, no link; warnings
# are errors (an unused helper left outside its #ifdef).
# Usage: tests/builds/no_mpi.sh BUILD_DIR [DEPS_DIR]   (DEPS_DIR: the suite's MIXUP_DEPS_DIR, if any)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:?usage: no_mpi.sh BUILD_DIR [DEPS_DIR]}
deps=${2:-}
mapfile -t sources < <(cd "$root" && grep -rlE 'MIXUP_HAVE_MPI|MIXUP_MPIEXEC' --include='*.cpp' engine tests train apps)
((${#sources[@]} > 0)) || { echo "no_mpi: no source mentions MIXUP_HAVE_MPI or MIXUP_MPIEXEC" >&2; exit 1; }
cmake -S "$root" -B "$build" -G "Unix Makefiles" -DMIXUP_MPI=OFF -DMIXUP_CUDA=OFF -DCMAKE_CXX_FLAGS=-Werror \
  "-DMIXUP_DEPS_DIR=$deps" >/dev/null
for src in "${sources[@]}"; do
  dir=.
  [[ $src == tests/* ]] && dir=tests && src=${src#tests/}
  echo "no_mpi: $dir/$src"
  make -s -C "$build/$dir" "${src%.cpp}.o"
done
