#!/usr/bin/env bash
# --data-on-device off against on, side by side on this machine: `mixup train --recipe quick` for
# --epochs epochs, the two alternating --repeats times, median train images/s of each (summary.json's
# train_images_per_s) and their ratio, as a markdown table for bench/results/. Off is the loader thread
# making float batches beside the training step; on builds each batch inside the step with the fused
# augment_mix kernel (on a GPU from the uint8 set kept there). Both give the same weights (the test
# DataOnDevice.ARunEndsWithTheWeightsOfARunWithALoaderThread); only the speed is measured here.
# Usage: bench/data_on_device.sh [--build DIR] [--device cpu|cuda] [--epochs N] [--repeats R] [--threads N]
set -euo pipefail
build=build device=cpu epochs=1 repeats=3 threads=0
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --device) device=$2; shift 2 ;;
    --epochs) epochs=$2; shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    *) echo "data_on_device.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[ -x "$build/mixup" ] || { echo "data_on_device.sh: $build/mixup not found (build it first)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
for r in $(seq "$repeats"); do
  for mode in off on; do
    "$build/mixup" train --recipe quick --device "$device" --epochs "$epochs" --threads "$threads" \
      --data-on-device "$mode" --out "$tmp/$mode-$r" >"$tmp/$mode-$r.log" 2>&1 ||
      { echo "data_on_device.sh: the run with --data-on-device $mode failed:" >&2; tail -3 "$tmp/$mode-$r.log" >&2; exit 1; }
    json_field "$tmp/$mode-$r/summary.json" train_images_per_s >>"$tmp/$mode.ips"
  done
done
runs() { awk '{printf "%s%.0f", (NR > 1 ? ", " : ""), $1}' "$1"; }
off=$(median <"$tmp/off.ips") on=$(median <"$tmp/on.ips")
echo "quick recipe, $epochs epoch(s), --device $device, --threads $threads, $(date -u +%F), $(nproc) cores"
echo
echo "| --data-on-device | train images/s, median of $repeats | runs |"
echo "|---|---|---|"
printf '| off (loader thread) | %.0f | %s |\n' "$off" "$(runs "$tmp/off.ips")"
printf '| on (augment_mix inside the step) | %.0f | %s |\n' "$on" "$(runs "$tmp/on.ips")"
awk -v a="$on" -v b="$off" 'BEGIN {printf "\non / off = %.3f\n", a / b}'
