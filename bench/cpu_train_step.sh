#!/usr/bin/env bash
# CPU training-step throughput, ours and PyTorch's side by side in one run (same models, batch, inputs
# and thread count). Usage: bench/cpu_train_step.sh [BUILD_DIR]   (PyTorch optional: skipped if absent)
set -euo pipefail
build=${1:-build}
have_torch=$(python3 -c "import torch" 2>/dev/null && echo yes || echo no)
echo "# $(date -u +%F) $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
run() {
  "$build/bench_train_step" "$@"
  if [ "$have_torch" = yes ]; then python3 -W ignore "$(dirname "$0")/torch_train_step.py" "$@"; fi
}
run --model quicknet --channels 1 --size 28 --batch 128 --steps 20 --threads 2
run --model quicknet --channels 1 --size 28 --batch 128 --steps 20 --threads 1
run --model preact-resnet18 --channels 3 --size 32 --batch 128 --steps 3 --warmup 1 --threads 2
run --model vgg11 --channels 3 --size 32 --batch 128 --steps 3 --warmup 1 --threads 2
