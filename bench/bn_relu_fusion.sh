#!/usr/bin/env bash
# Batch norm + ReLU as one op against two, side by side on this machine: bench_train_step with
# --fuse-bn-relu 1 and 0, alternating --repeats times per model, the median of the runs' median step
# images/s and the peak step memory, as a markdown table for bench/results/. Both give the same weights
# bit for bit (tests/test_batch_norm_relu.cpp); only speed and memory are measured here. --base DIR adds
# a third column from another build's bench_train_step (an earlier commit's, without the option) run in
# the same rotation.
# Usage: bench/bn_relu_fusion.sh [--build DIR] [--base DIR] [--device cpu|cuda] [--repeats R] [--threads N]
set -euo pipefail
build=build base="" device=cpu repeats=3 threads=0
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --base) base=$2; shift 2 ;;
    --device) device=$2; shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    *) echo "bn_relu_fusion.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
for dir in "$build" ${base:+"$base"}; do
  [ -x "$dir/bench_train_step" ] || { echo "bn_relu_fusion.sh: $dir/bench_train_step not found (build it first)" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
models=("quicknet --channels 1 --size 28 --batch 128 --steps 20" "preact-resnet18 --channels 3 --size 32 --batch 32 --steps 6"
        "vgg11 --channels 3 --size 32 --batch 32 --steps 10" "densenet-bc-100 --channels 3 --size 32 --batch 32 --steps 6")
variants=(fused unfused ${base:+base})
echo "bench_train_step --threads $threads --device $device, $repeats alternating runs each," \
     "$(date -u +%F), $(nproc) cores"
echo
echo "| model | variant | images/s, median | runs | peak step memory |"
echo "|---|---|---|---|---|"
for spec in "${models[@]}"; do
  name=${spec%% *}
  for r in $(seq "$repeats"); do
    for v in "${variants[@]}"; do
      case $v in
        fused) cmd=("$build/bench_train_step" --fuse-bn-relu 1) ;;
        unfused) cmd=("$build/bench_train_step" --fuse-bn-relu 0) ;;
        base) cmd=("$base/bench_train_step") ;;
      esac
      # shellcheck disable=SC2086  # spec holds the model's flags
      "${cmd[@]}" --model $spec --threads "$threads" --device "$device" \
        --json "$tmp/$name-$v-$r.json" >"$tmp/log" 2>&1 ||
        { echo "bn_relu_fusion.sh: $name ($v) failed:" >&2; tail -3 "$tmp/log" >&2; exit 1; }
      json_field "$tmp/$name-$v-$r.json" images_per_s >>"$tmp/$name-$v.ips"
      json_field "$tmp/$name-$v-$r.json" peak_step_mib >"$tmp/$name-$v.mib"
    done
  done
  for v in "${variants[@]}"; do
    printf '| %s | %s | %.1f | %s | %.1f MiB |\n' "$name" "$v" "$(median <"$tmp/$name-$v.ips")" \
      "$(awk '{printf "%s%.1f", (NR > 1 ? ", " : ""), $1}' "$tmp/$name-$v.ips")" "$(cat "$tmp/$name-$v.mib")"
  done
done
