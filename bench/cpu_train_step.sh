#!/usr/bin/env bash
# CPU training-step throughput, ours and PyTorch's side by side in one run (same models, batch, inputs
# and thread count). Usage: bench/cpu_train_step.sh [BUILD_DIR] [core|zoo|densenet-memory]
#   core (default): quicknet, PreAct ResNet-18 and VGG-11 at batch 128;
#   zoo: every model of the zoo at batch 32 on 2 threads (ImageNet models at 224x224, the others 32x32);
#   densenet-memory: DenseNet-BC-100 and -190 at batch 64, memory-efficient and naive, with the peak
#   step memory (ours only: PyTorch reports no peak for the CPU).
# PyTorch is optional: skipped if absent.
set -euo pipefail
build=${1:-build}
group=${2:-core}
have_torch=$(python3 -c "import torch, torchvision" 2>/dev/null && echo yes || echo no)
echo "# $(date -u '+%F %T UTC') $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, group $group"
run() {
  "$build/bench_train_step" "$@"
  if [ "$have_torch" = yes ]; then python3 -W ignore "$(dirname "$0")/torch_train_step.py" "$@"; fi
}
case $group in
  core)
    run --model quicknet --channels 1 --size 28 --batch 128 --steps 20 --threads 2
    run --model quicknet --channels 1 --size 28 --batch 128 --steps 20 --threads 1
    run --model preact-resnet18 --channels 3 --size 32 --batch 128 --steps 3 --warmup 1 --threads 2
    run --model vgg11 --channels 3 --size 32 --batch 128 --steps 3 --warmup 1 --threads 2
    ;;
  zoo)
    run --model densenet-bc-100 --channels 3 --size 32 --batch 32 --steps 3 --warmup 1 --threads 2
    for m in densenet-bc-190 resnext29-8x64d wrn-28-10; do
      run --model "$m" --channels 3 --size 32 --batch 32 --steps 2 --warmup 1 --threads 2
    done
    for m in resnet50 resnet101 resnext101-64x4d; do
      run --model "$m" --channels 3 --size 224 --classes 1000 --batch 32 --steps 2 --warmup 1 --threads 2
    done
    ;;
  densenet-memory)
    for m in densenet-bc-100 densenet-bc-190; do
      for mode in "" --naive-densenet; do
        "$build/bench_train_step" --model "$m" --channels 3 --size 32 --batch 64 --steps 1 --warmup 0 --threads 2 $mode
      done
    done
    ;;
  *) echo "cpu_train_step.sh: unknown group '$group' (core, zoo, densenet-memory)" >&2; exit 2 ;;
esac
