#!/bin/sh
# The analyses of experiments/results/analysis/ on the two quick-recipe checkpoints (ERM and mixup-C):
# mixed-pair tests and loss landscapes. Train the checkpoints first:
#   build/mixup train --recipe quick --mix none --out runs/erm
#   build/mixup train --recipe quick --mix c --out runs/mixc
# Every landscape resumes from its CSV, so an interrupted script can simply be run again.
set -e
BIN=${1:-build/mixup}
OUT=experiments/results/analysis
for run in erm mixc; do
  ckpt=runs/$run/checkpoint.safetensors
  for method in weighted-noise random-weights filter-normalized; do
    "$BIN" landscape --checkpoint "$ckpt" --method "$method" --grid 21 --samples 1000 --threads 2 --out "$OUT/$run/"
  done
  "$BIN" landscape --checkpoint "$ckpt" --method filter-normalized --perturb weights --grid 21 --samples 1000 \
    --threads 2 --out "$OUT/$run/landscape-filter-normalized-weights"
  for seed in 1 2; do
    "$BIN" landscape --checkpoint "$ckpt" --grid 21 --samples 1000 --seed "$seed" --threads 2 \
      --out "$OUT/$run/landscape-weighted-noise-seed$seed"
  done
  "$BIN" mixtest --checkpoint "$ckpt" --limit 5000 --threads 2 --out "$OUT/$run/"
  "$BIN" mixtest --checkpoint "$ckpt" --distinct-classes --limit 2000 --threads 2 --out "$OUT/$run/mixtest-c-distinct"
done
