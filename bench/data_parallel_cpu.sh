#!/usr/bin/env bash
# Data-parallel training on the CPU, measured side by side in one run: the quick recipe as 2 MPI ranks
# x 1 thread (batch 64 per rank = 128 global, the same global batch and lr) against 1 rank x 2 threads
# (batch 128). Prints a markdown table (images/s, final test accuracy, wall time) and the machine's
# load average sampled during each run, so that a disturbed measurement shows.
# Usage: bench/data_parallel_cpu.sh [OUT_DIR] [extra train flags...]   (run from the project root)
set -euo pipefail
out=${1:-runs/bench-dp}; shift || true
bin=build/mixup
[ -x "$bin" ] || { echo "bench/data_parallel_cpu.sh: $bin not found; build first" >&2; exit 1; }
command -v mpirun >/dev/null || { echo "bench/data_parallel_cpu.sh: mpirun not found (scripts/install-deps.sh)" >&2; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mkdir -p "$out"

# run NAME COMMAND...: times the command, samples the load average every 10 s while it runs.
run() {
  local name=$1; shift
  ( while sleep 10; do cut -d' ' -f1 /proc/loadavg; done ) >"$out/$name.load" &
  local sampler=$!
  local start=$(date +%s.%N)
  "$@" >"$out/$name.log" 2>&1
  local end=$(date +%s.%N)
  kill $sampler
  echo "$(echo "$end - $start" | bc)" >"$out/$name.wall"
}

run one-rank-2-threads "$bin" train --recipe quick --batch-size 128 --threads 2 --out "$out/one-rank" "$@"
run two-ranks-1-thread mpirun --oversubscribe --bind-to none -np 2 "$bin" train --recipe quick --batch-size 64 \
  --threads 1 --out "$out/two-ranks" "$@"

echo "| run | ranks x threads | global batch | train images/s | final test acc | wall s | load avg (min-max) |"
echo "|---|---|---|---|---|---|---|"
for r in one-rank:one-rank-2-threads:"1 x 2" two-ranks:two-ranks-1-thread:"2 x 1"; do
  IFS=: read -r dir name layout <<<"$r"
  python3 - "$out/$dir/summary.json" "$out/$name.wall" "$out/$name.load" "$name" "$layout" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); wall = float(open(sys.argv[2]).read())
load = [float(x) for x in open(sys.argv[3]).read().split()] or [0.0]
print(f"| {sys.argv[4]} | {sys.argv[5]} | 128 | {s['train_images_per_s']:.0f} | {100 * s['final_test_acc']:.2f} % "
      f"| {wall:.0f} | {min(load):.2f}-{max(load):.2f} |")
PY
done
