#!/usr/bin/env bash
# The GPU session in one command: prints the machine and versions, configures and builds with the CUDA
# backend, runs the whole test suite, the fused-mixup and training-step benchmarks, the PyTorch
# reference on the same GPU, the quick recipe on the GPU and, if time is left, the GPU tests again under
# compute-sanitizer. Logs go to $OUT (8 files at most, as the
# device tool returns them); a summary table is printed last and written to $OUT/summary.md, laid out
# as a draft of bench/results/DEVICE-DATE.md. Every stage runs under a time limit so that the whole
# script ends inside one 600-second device command and still prints its summary.
#
# Needs on the machine: nvcc, CMake, python3 with PyTorch (its nvidia-cudnn / nvidia-nccl wheels serve
# as cuDNN and NCCL when the toolkit lacks them), and .gpu-carry in the repository root
# (../shared/gpu/pack-carry.sh: header-only dependencies, zlib, GoogleTest, Fashion-MNIST).
#
# Usage: bench/gpu_session.sh [STAGE...]   STAGE: build test mixup train torch quick sanitize (default: all)
# Environment: OUT (default ./gpu-session-out), JOBS (default 16), BUILD (default build-gpu),
#              SESSION_SECONDS (default 560): the stages share this budget.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=${OUT:-$root/gpu-session-out}
build=${BUILD:-build-gpu}
jobs=${JOBS:-16}
deadline=$((SECONDS + ${SESSION_SECONDS:-560}))
stages=${*:-build test mixup train torch quick sanitize}
work=$build/session
carry=$root/.gpu-carry
export PATH=/usr/local/cuda/bin:/usr/local/cuda/compute-sanitizer:$PATH PYTHONUNBUFFERED=1
mkdir -p "$out"
rows=()

# The folder of a Python package (namespace packages such as nvidia.cudnn have no __file__).
package_dir() { python3 -c "import $1 as m; print(list(m.__path__)[0])" 2>/dev/null; }

# run_stage NAME BUDGET_S LOG COMMAND: runs COMMAND with its output appended to LOG, cut off after
# BUDGET_S or when the session's deadline (less 20 s for the summary) comes first; records the row.
run_stage() {
  local name=$1 budget=$2 log=$3 cmd=$4
  local left=$((deadline - SECONDS - 20))
  ((budget > left)) && budget=$left
  if ((budget < 10)); then
    rows+=("$name|skipped: out of time|0")
    return
  fi
  local t0=$SECONDS
  echo "== $name (limit ${budget}s): $cmd" | tee -a "$log"
  timeout --kill-after=5 "$budget" bash -c "$cmd" >>"$log" 2>&1
  local rc=$?
  local status=ok
  ((rc == 124 || rc == 137)) && status="timed out after ${budget}s"
  ((rc != 0 && rc != 124 && rc != 137)) && status="failed (exit $rc)"
  echo "   $name: $status in $((SECONDS - t0))s"
  rows+=("$name|$status|$((SECONDS - t0))")
}

wants() { [[ " $stages " == *" $1 "* ]]; }

# ---- the machine ----
cudnn_root=$(package_dir nvidia.cudnn)
nccl_root=$(package_dir nvidia.nccl)
for d in "$cudnn_root/lib" "$nccl_root/lib"; do
  [[ -d $d ]] && export LD_LIBRARY_PATH=$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
done
{
  echo "# $(date -u '+%F %T UTC') $(hostname), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB"
  nvidia-smi || echo "nvidia-smi failed"
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,clocks.max.mem --format=csv || true
  nvcc --version | tail -2
  cmake --version | head -1
  python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'cudnn', torch.backends.cudnn.version())" 2>&1
  echo "cuDNN wheel: ${cudnn_root:-none}; NCCL wheel: ${nccl_root:-none}"
  echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
  echo "git: $(git log --oneline -1 2>/dev/null) $(git status --porcelain 2>/dev/null | wc -l) changed files"
} >"$out/env.txt" 2>&1
cat "$out/env.txt"
device=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
device=${device:-no GPU}

# ---- build ----
if wants build; then
  cfg=(-S . -B "$build" -DMIXUP_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90)
  [[ -d $carry ]] && cfg+=("-DMIXUP_DEPS_DIR=$carry")
  [[ -n $cudnn_root ]] && cfg+=("-DCUDNN_ROOT=$cudnn_root")
  [[ -n $nccl_root ]] && cfg+=("-DNCCL_ROOT=$nccl_root")
  run_stage build 300 "$out/build.log" "cmake ${cfg[*]} && cmake --build $build -j$jobs"
fi
mkdir -p "$work"

# ---- tests: the whole suite; the GPU tests run here, the CPU tests too ----
if wants test; then
  run_stage test 240 "$out/ctest.log" \
    "OMP_NUM_THREADS=2 ctest --test-dir $build -j$jobs --output-on-failure --timeout 180"
fi

# ---- benchmarks ----
if wants mixup; then
  run_stage mixup 120 "$out/bench_mixup.log" \
    "$build/bench_mixup --batches 128,512,8192 --reps 50 --json $work/mixup.json && cat $work/mixup.json"
fi
if wants train; then
  run_stage train 120 "$out/bench_train.log" \
    "$build/bench_train_step --device cuda --model preact-resnet18 --channels 3 --size 32 --batch 128 --steps 30 \
       --warmup 5 --json $work/train.json && cat $work/train.json && \
     $build/bench_train_step --device cuda --model quicknet --channels 1 --size 28 --batch 128 --steps 30 --warmup 5"
fi
if wants torch; then
  run_stage torch 150 "$out/torch_reference.log" \
    "python3 -W ignore bench/torch_reference.py --ours-mixup $work/mixup.json --ours-train $work/train.json"
fi

# ---- the quick recipe on the GPU (accuracy) ----
if wants quick; then
  run_stage quick 180 "$out/train_quick.log" \
    "$build/mixup train --recipe quick --device cuda --data-dir $carry/data/fashion-mnist --out $work/quick && \
     cat $work/quick/metrics.csv $work/quick/summary.json"
fi

# ---- out-of-bounds and uninitialised accesses: the GPU kernel and op tests under memcheck ----
if wants sanitize; then
  run_stage sanitize 150 "$out/ctest.log" \
    "compute-sanitizer --tool memcheck --error-exitcode 9 $build/tests/mixup_tests \
       --gtest_filter='*Cuda*-*PreAct*:*SyncMode*:*TrainCommand*'"
fi

# ---- summary ----
result() {  # the figure worth a glance, from a stage's log
  case $1 in
    build) grep -m1 -E "error|Error" "$out/build.log" 2>/dev/null || grep -m1 "CUDA backend on" "$out/build.log" | sed 's/^-- //' ;;
    test) grep -E "tests passed|tests failed" "$out/ctest.log" | tail -1 | sed "s/\$/, $(grep -c '(Skipped)' "$out/ctest.log" 2>/dev/null) skipped/" ;;
    mixup) awk '$1 == 8192 && ($2 == "c" || $2 == "h") {printf "8192 %s: %s us, %.2f of copy BW, %s vs naive; ", $2, $3, $5, $7}' "$out/bench_mixup.log" ;;
    train) grep -m1 -oE "preact-resnet18 .*images/s" "$out/bench_train.log"; grep -m1 -oE "split per step.*" "$out/bench_train.log" ;;
    torch) grep -E "ratio ours" "$out/torch_reference.log" | sed 's/^ *//' ;;
    quick) grep -m1 "final test accuracy" "$out/train_quick.log" ;;
    sanitize) grep -E "ERROR SUMMARY" "$out/ctest.log" | tail -1 ;;
  esac 2>/dev/null | tr '\n' ' ' | cut -c1-220
}
{
  echo "# GPU session — $device — $(date -u +%F)"
  echo
  echo "Machine, versions and configuration: env.txt. Command: \`bench/gpu_session.sh $stages\` (commit $(git log --format=%h -1 2>/dev/null))."
  echo
  echo "| stage | status | seconds | result |"
  echo "|---|---|---|---|"
  for r in "${rows[@]}"; do
    IFS='|' read -r name status secs <<<"$r"
    echo "| $name | $status | $secs | $(result "$name") |"
  done
  for f in bench_mixup.log bench_train.log torch_reference.log; do
    [[ -f $out/$f ]] || continue
    echo
    echo "\`$f\`:"
    echo '```'
    grep -vE '^(==|[[:space:]]*([][{}"]|},?$))' "$out/$f" | head -60
    echo '```'
  done
} >"$out/summary.md"
cat "$out/summary.md"
