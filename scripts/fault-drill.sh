#!/usr/bin/env bash
# Fault drill for `mixup train`: stops a short run with SIGTERM or SIGKILL at random moments, resumes it
# from whatever it left (or starts it again when it left no checkpoint) until it completes, and checks
# that the final checkpoint equals an uninterrupted run's byte for byte. Not part of ctest (it takes a
# few minutes); the tests cover each fault at fixed points.
#   scripts/fault-drill.sh [BINARY] [ROUNDS]     e.g. scripts/fault-drill.sh build/mixup 6
set -euo pipefail
bin=$(realpath "${1:-build/mixup}")
rounds=${2:-6}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
args="--train-limit 3000 --test-limit 300 --epochs 2 --batch-size 32 --threads 1 --mix r --translate 2 --save-minutes 0.02"
"$bin" train $args --out full >/dev/null 2>&1
failed=0
for round in $(seq "$rounds"); do
  for sig in TERM KILL; do
    out="r$round-$sig"
    delay=$(awk -v s="$RANDOM" 'BEGIN { srand(s); printf "%.2f", 0.1 + 6 * rand() }')
    "$bin" train $args --out "$out" >/dev/null 2>&1 &
    pid=$!
    sleep "$delay"
    kill -"$sig" "$pid" 2>/dev/null || true
    status=0
    wait "$pid" 2>/dev/null || status=$?
    tries=0
    while [ "$status" -ne 0 ] && [ "$tries" -lt 3 ]; do
      resume=""
      [ -f "$out/checkpoint.state.safetensors" ] && resume="--resume $out/checkpoint.safetensors"
      status=0
      "$bin" train $args --out "$out" $resume >/dev/null 2>&1 || status=$?
      tries=$((tries + 1))
    done
    if [ "$status" -eq 0 ] && cmp -s full/checkpoint.safetensors "$out/checkpoint.safetensors"; then
      echo "SIG$sig after ${delay}s: resumed, identical to the uninterrupted run"
    else
      echo "SIG$sig after ${delay}s: FAILED (status $status)"
      failed=1
    fi
  done
done
exit "$failed"
