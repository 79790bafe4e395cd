#!/usr/bin/env bash
# The quick recipe end to end, the engine's `mixup train --recipe quick` and the same recipe in PyTorch
# CPU (bench/torch_quick_recipe.py), back to back on this machine with the same thread count. The cost of
# the loop around the step two ways: inside each engine run (summary.json's time outside Trainer::step
# over the training time; immune to the machine's drift, but blind to what the loader's background thread
# takes from the step's cores) and against the bare training step (bench_train_step, measured before and
# after; includes everything, but varies with the machine). With --busy the
# pair runs again while a spinning shell (`sh -c 'while :; do :; done'`) keeps one core busy, and the
# slowdown of each is printed. With --repeats R every measurement is taken R times, the engine and
# PyTorch alternating, and the medians are reported (a shared machine varies by 10 % or more from one
# minute to the next). Prints a markdown table for bench/results/.
# Usage: bench/quick_recipe.sh [--build DIR] [--epochs N] [--threads N] [--repeats R] [--busy]
set -euo pipefail
build=build epochs=7 threads=2 busy=no repeats=1
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --epochs) epochs=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    --busy) busy=yes; shift ;;
    *) echo "quick_recipe.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
here=$(cd "$(dirname "$0")" && pwd)
[ -x "$build/mixup" ] || { echo "quick_recipe.sh: $build/mixup not found (build it first)" >&2; exit 1; }
[ -x "$build/bench_train_step" ] || { echo "quick_recipe.sh: $build/bench_train_step not found" >&2; exit 1; }
python3 -c "import torch" 2>/dev/null || { echo "quick_recipe.sh: PyTorch is not installed (pip install torch)" >&2; exit 1; }
tmp=$(mktemp -d)
spinner=""
cleanup() { [ -n "$spinner" ] && kill "$spinner" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

engine_ips() {  # train images/s, test accuracy and the loop's share of the training time (%) of the engine's run
  "$build/mixup" train --recipe quick --epochs "$epochs" --threads "$threads" --out "$tmp/run" >"$tmp/engine.log" 2>&1
  python3 -c "import json,sys; s=json.load(open('$tmp/run/summary.json')); print(f\"{s['train_images_per_s']:.0f} {100*s['final_test_acc']:.2f} {100*(1-s['step_seconds']/s['train_seconds']):.1f}\")"
  rm -rf "$tmp/run"
}
torch_ips() {
  python3 -W ignore "$here/torch_quick_recipe.py" --epochs "$epochs" --threads "$threads" 2>"$tmp/torch.log" |
    python3 -c "import json,sys; s=json.loads(sys.stdin.read()); print(f\"{s['train_images_per_s']:.0f} {100*s['test_acc']:.2f}\")"
}
step_ips() {
  "$build/bench_train_step" --model quicknet --channels 1 --size 28 --batch 128 --steps 40 --warmup 3 \
    --threads "$threads" | sed -n 's/.* \([0-9]*\) images\/s$/\1/p'
}
ratio() { python3 -c "print(f'{$1/$2:.3f}')"; }
median() { python3 -c "import statistics,sys; print(round(statistics.median(float(v) for v in sys.argv[1:])))" "$@"; }

# Medians over the repeats of the engine's and PyTorch's images/s, alternating, and the engine's loop
# shares: "ENGINE TORCH E_ACC T_ACC LOOPS (runs: ...)".
pair() {
  local es=() ts=() ls=() e a l t b
  for _ in $(seq "$repeats"); do
    read -r e a l <<<"$(engine_ips)"
    read -r t b <<<"$(torch_ips)"
    es+=("$e") ts+=("$t") ls+=("$l")
  done
  echo "$(median "${es[@]}") $(median "${ts[@]}") $a $b $(IFS=/; echo "${ls[*]}") (runs: engine ${es[*]}, PyTorch ${ts[*]})"
}

echo "# quick recipe end to end, $(date -u +%F), $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
echo "# command: bench/quick_recipe.sh --epochs $epochs --threads $threads --repeats $repeats$([ $busy = yes ] && echo ' --busy')"
s1=$(step_ips)
read -r e_ips t_ips e_acc t_acc loops runs <<<"$(pair)"
s_ips=$(median "$s1" "$(step_ips)")
echo
echo "| run | engine img/s | PyTorch img/s | engine / PyTorch | test acc (engine, PyTorch) |"
echo "|---|---|---|---|---|"
echo "| quiet machine | $e_ips | $t_ips | $(ratio "$e_ips" "$t_ips") | $e_acc %, $t_acc % |"
busy_runs=""
if [ "$busy" = yes ]; then
  sh -c 'while :; do :; done' &
  spinner=$!
  read -r eb_ips tb_ips eb_acc tb_acc busy_loops busy_runs <<<"$(pair)"
  kill "$spinner"; spinner=""
  echo "| one core busy | $eb_ips | $tb_ips | $(ratio "$eb_ips" "$tb_ips") | $eb_acc %, $tb_acc % |"
  echo
  echo "Slowdown with one core busy: engine $(ratio "$e_ips" "$eb_ips")x, PyTorch $(ratio "$t_ips" "$tb_ips")x."
fi
echo
echo "Bare engine step (bench_train_step, quicknet batch 128, $threads threads, median of one measurement before" \
     "and one after the runs): $s_ips img/s; end to end / bare step = $(ratio "$e_ips" "$s_ips") (the loop costs" \
     "1 minus that)."
echo
echo "The loop around the step, measured inside each engine run (1 - step_seconds / train_seconds of its" \
     "summary.json: time outside Trainer::step while training): $loops %${busy_loops:+ quiet, $busy_loops % busy}."
echo
echo "Quiet $runs${busy_runs:+; busy $busy_runs}"
