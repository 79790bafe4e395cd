#!/usr/bin/env bash
# The quick recipe end to end, the engine's `mixup train --recipe quick` and the same recipe in PyTorch
# CPU (bench/torch_quick_recipe.py), back to back on this machine with the same thread count; then the
# engine's bare training step (bench_train_step) for the cost of the loop around it. With --busy the
# pair runs again while a spinning shell (`sh -c 'while :; do :; done'`) keeps one core busy, and the
# slowdown of each is printed. Prints a markdown table for bench/results/.
# Usage: bench/quick_recipe.sh [--build DIR] [--epochs N] [--threads N] [--busy]
set -euo pipefail
build=build epochs=7 threads=2 busy=no
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --epochs) epochs=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
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

engine_ips() {  # train images/s of the engine's quick recipe
  "$build/mixup" train --recipe quick --epochs "$epochs" --threads "$threads" --out "$tmp/run" >"$tmp/engine.log" 2>&1
  python3 -c "import json,sys; s=json.load(open('$tmp/run/summary.json')); print(f\"{s['train_images_per_s']:.0f} {100*s['final_test_acc']:.2f}\")"
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

echo "# quick recipe end to end, $(date -u +%F), $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
echo "# command: bench/quick_recipe.sh --epochs $epochs --threads $threads$([ $busy = yes ] && echo ' --busy')"
read -r e_ips e_acc <<<"$(engine_ips)"
read -r t_ips t_acc <<<"$(torch_ips)"
s_ips=$(step_ips)
echo
echo "| run | engine img/s | PyTorch img/s | engine / PyTorch | test acc (engine, PyTorch) |"
echo "|---|---|---|---|---|"
echo "| quiet machine | $e_ips | $t_ips | $(ratio "$e_ips" "$t_ips") | $e_acc %, $t_acc % |"
if [ "$busy" = yes ]; then
  sh -c 'while :; do :; done' &
  spinner=$!
  read -r eb_ips eb_acc <<<"$(engine_ips)"
  read -r tb_ips tb_acc <<<"$(torch_ips)"
  kill "$spinner"; spinner=""
  echo "| one core busy | $eb_ips | $tb_ips | $(ratio "$eb_ips" "$tb_ips") | $eb_acc %, $tb_acc % |"
  echo
  echo "Slowdown with one core busy: engine $(ratio "$e_ips" "$eb_ips")x, PyTorch $(ratio "$t_ips" "$tb_ips")x."
fi
echo
echo "Bare engine step (bench_train_step, quicknet batch 128, $threads threads): $s_ips img/s;" \
     "end to end / bare step = $(ratio "$e_ips" "$s_ips") (the loop's cost is 1 minus that)."
