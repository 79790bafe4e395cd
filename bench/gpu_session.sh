#!/usr/bin/env bash
# The GPU session in one device command of at most 600 s: prints the machine and versions, builds with
# the CUDA backend (sm_90 code + compute_90 PTX), runs the GPU tests (ctest label gpu) with
# MIXUP_REQUIRE_GPU=1, so that a broken driver fails them instead of skipping them, a short
# compute-sanitizer memcheck of a few kernel test suites, the fused-mixup and training-step benchmarks,
# the PyTorch reference on the same GPU, the quick recipe on the GPU and the communicator's overhead
# (one epoch as a plain process against world size 1 over NCCL under torchrun, and against the loader
# thread in place of the training images kept on the GPU). Each stage has its own time
# limit (the table below); a stage that fails or runs out of time does not stop the later ones, but it
# is listed in the summary and makes the exit status 1. Logs go to $OUT (7 files; the device tool
# returns at most 8), and the summary, printed last, is also $OUT/summary.md, laid out as a draft of
# bench/results/DEVICE-DATE.md.
#
# Stage budgets, seconds (they add up to 530; with ~10 s for the machine report and the summary the
# script ends by about 540 s, leaving 60 s of the 600; a backstop stops any stage at 540 s):
#   build 160 | gpu-tests 110 | sanitize 45 | bench-mixup 30 | bench-train 45 | torch 45 | quick 55 | dist 40
# The build estimate (2026-12-03): a full build of this configuration (CUDA, tests, benchmarks; no
# ccache) was timed file by file on the 2-core CI machine through a compiler launcher: 544 CPU-seconds
# of compiling in 98 files, the longest 41 s (bench/mixup_kernels.cu), links under 1 s each; 298 s of
# wall time at -j2. On 16 cores the work alone would take 544 / 16 = 34 s, but with the Makefile
# generator a target's files wait until the libraries it links are built, and the chain runtime ->
# kernels -> engine -> mixing/datasets -> viz -> train -> analysis -> mixup -> mixup_tests costs
# 118 s by its slowest file per step; a 16-worker simulation of that schedule gives 148 s. Ninja
# (used when the machine has it; the GPU image has it) compiles across targets and needs about 50 s.
# 160 s covers the Makefile case with ~8 % to spare and the Ninja case three times over. Timed again on
# 2026-12-07 the same way, after the step guard, sliced batch norm and NCCL code came in: 502
# CPU-seconds in 163 files, the longest 22 s, 270 s of wall time at -j2. 10 s of the first 170 went to
# the dist stage when it got its third run (the loader thread). No GPU has run this script yet: revise
# the budgets from its first summary.
#
# Needs on the machine: nvcc, CMake, python3 with PyTorch (its site-packages/nvidia/{cudnn,nccl} wheels
# serve as cuDNN and NCCL: CUDNN_ROOT, NCCL_ROOT and LD_LIBRARY_PATH point at them), and .gpu-carry in
# the repository root, filled beforehand by bench/gpu_prepare.sh (../shared/gpu/pack-carry.sh's
# header-only dependencies, zlib, GoogleTest sources, Fashion-MNIST and the peers' wheels, those built
# for Python 3.12), named in the device call's carry list.
#
# Usage: bench/gpu_session.sh [STAGE...]   STAGE: build gpu-tests sanitize bench-mixup bench-train torch
#        quick dist (default: all, in this order)
# Environment: OUT (default ./gpu-session-out), JOBS (default: all cores), BUILD (default build-gpu).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
root=$PWD
out=${OUT:-$root/gpu-session-out}
build=${BUILD:-build-gpu}
jobs=${JOBS:-$(nproc)}
deadline=$((SECONDS + 540))  # a backstop: no stage runs past 540 s, whatever its budget
stages=${*:-build gpu-tests sanitize bench-mixup bench-train torch quick dist}
work=$build/session
carry=$root/.gpu-carry
export PATH=/usr/local/cuda/bin:/usr/local/cuda/compute-sanitizer:$PATH PYTHONUNBUFFERED=1 MIXUP_REQUIRE_GPU=1
mkdir -p "$out"
rows=()
failed=()

# The folder of a Python package (namespace packages such as nvidia.cudnn have no __file__).
package_dir() { python3 -c "import $1 as m; print(list(m.__path__)[0])" 2>/dev/null; }

# run_stage NAME BUDGET_S LOG COMMAND: runs COMMAND with its output appended to LOG, cut off after
# BUDGET_S (or at the deadline, if that comes first; COMMAND sees the seconds it has as $STAGE_BUDGET);
# records the row, and the stage as failed unless COMMAND exited 0 in time.
run_stage() {
  local name=$1 budget=$2 log=$3 cmd=$4
  local left=$((deadline - SECONDS))
  ((budget > left)) && budget=$left
  if ((budget < 5)); then
    rows+=("$name|skipped: out of time|0")
    failed+=("$name")
    return
  fi
  local t0=$SECONDS
  echo "== $name (limit ${budget}s): ${cmd//$'\n'/ }" | tee -a "$log"
  STAGE_BUDGET=$budget timeout --kill-after=5 "$budget" bash -c "$cmd" >>"$log" 2>&1
  local rc=$? status=ok
  if ((rc == 124 || rc == 137)); then
    status="timed out after ${budget}s"
  elif ((rc != 0)); then
    status="failed (exit $rc)"
  fi
  [[ $status == ok ]] || failed+=("$name")
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
env_report=$(
  echo "$(date -u '+%F %T UTC') $(hostname), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB"
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,clocks.max.mem --format=csv 2>&1 ||
    echo "nvidia-smi failed"
  nvcc --version | tail -2
  cmake --version | head -1
  python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'cudnn', torch.backends.cudnn.version())" 2>&1
  echo "cuDNN wheel: ${cudnn_root:-none}; NCCL wheel: ${nccl_root:-none}; .gpu-carry: $([[ -d $carry ]] && echo present || echo MISSING)"
  echo "git: $(git log -1 --format='%h %<(60,trunc)%s' 2>/dev/null), $(git status --porcelain 2>/dev/null | wc -l) changed files"
)
echo "$env_report"
device=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
device=${device:-no GPU}

# ---- build: the bundled dependencies of .gpu-carry, cuDNN and NCCL from PyTorch's wheels ----
if wants build; then
  cfg=(-S . -B "$build" -DMIXUP_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 "-DMIXUP_DEPS_DIR=$carry")
  [[ ! -f $build/CMakeCache.txt ]] && command -v ninja >/dev/null && cfg+=(-G Ninja)
  [[ -n $cudnn_root ]] && cfg+=("-DCUDNN_ROOT=$cudnn_root")
  [[ -n $nccl_root ]] && cfg+=("-DNCCL_ROOT=$nccl_root")
  run_stage build 160 "$out/build.log" \
    "test -d $carry || { echo 'no .gpu-carry: run bench/gpu_prepare.sh and carry .gpu-carry'; exit 1; }
     cmake ${cfg[*]} && cmake --build $build -j$jobs"
fi
mkdir -p "$work"

# ---- the GPU tests alone (the CPU tests are proven elsewhere); none found is a failure, and so is a
# build without the NCCL tests (compiled only where NCCL was found) ----
if wants gpu-tests; then
  run_stage gpu-tests 110 "$out/gpu_tests.log" \
    "OMP_NUM_THREADS=2 ctest --test-dir $build -L gpu --no-tests=error -j8 --output-on-failure; rc=\$?
     ctest --test-dir $build -N -R '^CudaNccl[.]' | grep -q 'Total Tests: [1-9]' ||
       { echo 'no CudaNccl tests: this build has no NCCL (see build.log)'; rc=1; }
     exit \$rc"
fi

# ---- out-of-bounds and uninitialised accesses: a few kernel test suites under memcheck ----
if wants sanitize; then
  run_stage sanitize 45 "$out/sanitize.log" \
    "compute-sanitizer --tool memcheck --error-exitcode 9 $build/tests/mixup_tests \
       --gtest_filter='*CudaElementwise.*:*CudaPool.*:*CudaCrossEntropy.*:*CudaMixBatch.*:*CudaAugmentMix.*:*CudaBatchNorm.*'"
fi

# ---- benchmarks ----
if wants bench-mixup; then
  run_stage bench-mixup 30 "$out/bench.log" \
    "$build/bench_mixup --batches 128,512,8192 --reps 50 --json $work/mixup.json && cat $work/mixup.json"
fi
if wants bench-train; then
  run_stage bench-train 45 "$out/bench.log" \
    "$build/bench_train_step --device cuda --model preact-resnet18 --channels 3 --size 32 --batch 128 --steps 30 \
       --warmup 5 --json $work/train.json && cat $work/train.json && \
     $build/bench_train_step --device cuda --model preact-resnet18 --channels 3 --size 32 --batch 128 --steps 30 \
       --warmup 5 --profile-steps 0 --fuse-bn-relu 0 && \
     $build/bench_train_step --device cuda --model quicknet --channels 1 --size 28 --batch 128 --steps 30 --warmup 5"
fi

# ---- the PyTorch reference on the same GPU, with the carried wheels (the peers) on its path ----
# Where the wheels do not install together, each is installed on its own, so one that does not suit this
# Python (kornia_rs is built for one CPython version) drops only its peer: torch_reference.py prints
# "skipped: <peer> (<reason>)" for each peer that does not import, and, past --end-by (9 s before the
# stage's time is up, counted from its start, so the installs and imports count; 9 s for the last peer
# begun and the exit), for each it has not reached.
if wants torch; then
  site=$(realpath -m "$work/site")
  pip_install="python3 -m pip install -q --no-index --no-deps --no-compile --disable-pip-version-check \
    --root-user-action=ignore --target $site"
  run_stage torch 45 "$out/torch_reference.log" \
    "end_by=\$((\$(date +%s) + STAGE_BUDGET - 9))
     ls $carry/wheels/*.whl >/dev/null 2>&1 || echo 'note: no carried wheels in $carry/wheels'
     $pip_install $carry/wheels/*.whl 2>/dev/null || for w in $carry/wheels/*.whl; do
       $pip_install --upgrade \"\$w\" || echo \"note: \${w##*/} did not install\"
     done
     PYTHONPATH=$site\${PYTHONPATH:+:\$PYTHONPATH} python3 -W ignore bench/torch_reference.py \
       --ours-mixup $work/mixup.json --ours-train $work/train.json --end-by \$end_by"
fi

# ---- the quick recipe on the GPU (accuracy) ----
if wants quick; then
  run_stage quick 55 "$out/quick.log" \
    "$build/mixup train --recipe quick --device cuda --data-dir $carry/data/fashion-mnist --out $work/quick && \
     cat $work/quick/metrics.csv $work/quick/summary.json"
fi

# ---- one short epoch each: no communicator, NCCL world size 1 (torchrun), and the loader thread (--data-on-device off) ----
if wants dist; then
  torchrun1="python3 -m torch.distributed.run --no-python --nproc-per-node 1 --master-port 29611"
  run_stage dist 40 "$out/quick.log" \
    "for mode in plain nccl-world-1 loader-thread; do
       launcher=env; [ \$mode = nccl-world-1 ] && launcher='$torchrun1'
       on_device=auto; [ \$mode = loader-thread ] && on_device=off
       \$launcher $build/mixup train --recipe quick --device cuda --data-dir $carry/data/fashion-mnist --epochs 1 \
         --train-limit 12800 --test-limit 1000 --data-on-device \$on_device --out $work/dist-\$mode >/dev/null || exit 1
       python3 -c \"import json,sys; d = json.load(open(sys.argv[2])); print(sys.argv[1], d['train_images_per_s'], 'images/s, data on device:', d.get('data_on_device'))\" \
         \$mode $work/dist-\$mode/summary.json
     done"
fi

# ---- summary ----
result() {  # the figure worth a glance, from a stage's log
  case $1 in
    build) grep -m1 -E "error|Error" "$out/build.log" || grep -m1 "CUDA backend on" "$out/build.log" | sed 's/^-- //' ;;
    gpu-tests) grep -E "tests passed|tests failed" "$out/gpu_tests.log" | tail -1 |
      sed "s/\$/, $(grep -c '(Skipped)' "$out/gpu_tests.log" 2>/dev/null) skipped/" ;;
    sanitize) grep -E "ERROR SUMMARY|PASSED|FAILED" "$out/sanitize.log" | tail -2 ;;
    bench-mixup) awk '/^# bench_mixup on/ {stored = 0} /^# from stored/ {stored = 1}
                      !stored && $1 == 8192 && ($2 == "c" || $2 == "h") {printf "8192 %s: %s us, %.2f of copy BW, %s vs naive; ", $2, $3, $5, $7}
                      stored && $1 == 8192 && $2 == "c" {printf "8192 c from uint8: %s us, %s vs upload+fused; ", $3, $7}' "$out/bench.log" ;;
    bench-train) grep -m2 -oE "preact-resnet18 .*images/s" "$out/bench.log" | sed 's/ input.*step//'
                 grep -m1 -oE "split per step.*" "$out/bench.log" ;;
    torch) grep -E "ratio ours" "$out/torch_reference.log" | sed 's/^ *//' ;;
    quick) grep -m1 "final test accuracy" "$out/quick.log" ;;
    dist) grep -E "^(plain|nccl-world-1|loader-thread) " "$out/quick.log" ;;
  esac 2>/dev/null | tr '\n' ' ' | cut -c1-220
}
{
  echo "# GPU session — $device — $(date -u +%F)"
  echo
  echo "Command: \`bench/gpu_session.sh $stages\` (commit $(git log --format=%h -1 2>/dev/null)), $SECONDS s in all."
  echo
  echo '```'
  echo "$env_report"
  echo '```'
  echo
  echo "| stage | status | seconds | result |"
  echo "|---|---|---|---|"
  for r in "${rows[@]}"; do
    IFS='|' read -r name status secs <<<"$r"
    echo "| $name | $status | $secs | $(result "$name") |"
  done
  echo
  if ((${#failed[@]})); then echo "Failed: ${failed[*]}."; else echo "Every stage passed."; fi
  for f in bench.log torch_reference.log; do
    [[ -f $out/$f ]] || continue
    echo
    echo "\`$f\`:"
    echo '```'
    grep -vE '^(==|[[:space:]]*([][{}"]|},?$))' "$out/$f" | head -90
    echo '```'
  done
} >"$out/summary.md"
cat "$out/summary.md"
((${#failed[@]} == 0))
