#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in their own build folder (cmake -DMIXUP_FUZZ=ON) and runs each
# over its seed corpus (tests/fuzz/corpus/<target>) for a bounded number of executions; exits non-zero
# when a target crashes, leaks or meets undefined behaviour (the input is kept as <build>/<target>-crash-*),
# and with 77 (ctest: skipped) when clang is missing.
# Usage: tests/fuzz/run.sh [BUILD_DIR [RUNS [SECONDS]]]  (defaults: build/fuzz, 100000 runs, 15 s per target)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build/fuzz}
runs=${2:-100000}
seconds=${3:-15}
if ! command -v clang++ >/dev/null || ! command -v clang >/dev/null; then
  echo "fuzz: clang not found (scripts/install-deps.sh installs it); skipped"
  exit 77
fi
cmake -S "$root" -B "$build" -DMIXUP_FUZZ=ON -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >/dev/null
cmake --build "$build" -j"$(nproc)"
new=$(mktemp -d)  # inputs the runs discover go here, never into the committed corpus
trap 'rm -rf "$new"' EXIT
for target in fuzz_idx fuzz_cifar fuzz_safetensors fuzz_image fuzz_mix_spec; do
  mkdir -p "$new/$target"
  echo "fuzz: $target, $runs runs or $seconds s"
  "$build/$target" -runs="$runs" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$build/$target-" "$new/$target" "$here/corpus/$target"
done
