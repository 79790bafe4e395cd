#!/bin/sh
# The CycleGAN / MixCycleGAN comparison of experiments/results/cyclegan-fashion/: Fashion-MNIST sneakers (A)
# and ankle boots (B) as two unaligned domains, plain and mix trained side by side with the same budget and
# seed (one CPU thread each), then both test sets translated and scored with the quick-recipe classifier
# (build it first: build/mixup train --recipe quick --out runs/quick). Usage, from the project root:
#   experiments/cyclegan_fashion.sh [WORK_DIR] [DATA_DIR]
# WORK_DIR (default /tmp/cgx) gets the runs; DATA_DIR (default WORK_DIR/fm-domains) is written when missing.
set -e
BIN=build/mixup
WORK=${1:-/tmp/cgx}
RES=experiments/results/cyclegan-fashion
mkdir -p "$WORK" "$RES"
DATA=${2:-$WORK/fm-domains}
[ -d "$DATA" ] || build/fashion_domains --out "$DATA"
TRAIN="--data-dir $DATA --ngf 32 --g-blocks 6 --load-size 32 --crop-size 32 --max-images 1500
       --batch-size 4 --epochs 3 --epochs-decay 3 --seed 1 --threads 1"
for m in plain mix; do
  # shellcheck disable=SC2086
  $BIN cyclegan $TRAIN --mode $m --out "$WORK/$m" > "$WORK/$m.log" 2>&1 &
done
wait
# The untranslated test images, as the floor each translation must beat.
$BIN translation-score --classifier runs/quick --fake "$DATA/testA" --real "$DATA/testB" --target-class 9 \
  --out "$RES/identity-AtoB.json"
$BIN translation-score --classifier runs/quick --fake "$DATA/testB" --real "$DATA/testA" --target-class 7 \
  --out "$RES/identity-BtoA.json"
for m in plain mix; do
  $BIN cyclegan-test --checkpoint "$WORK/$m" --threads 2 --out "$WORK/$m/test"
  $BIN translation-score --classifier runs/quick --fake "$WORK/$m/test/fake_B" --real "$DATA/testB" \
    --target-class 9 --out "$RES/$m-AtoB.json"
  $BIN translation-score --classifier runs/quick --fake "$WORK/$m/test/fake_A" --real "$DATA/testA" \
    --target-class 7 --out "$RES/$m-BtoA.json"
  cp "$WORK/$m/metrics.csv" "$RES/$m-metrics.csv"
  cp "$WORK/$m/test/summary.json" "$RES/$m-test-summary.json"
  cp "$WORK/$m/test/grid.png" "$RES/$m-test-grid.png"
  for e in 001 006; do cp "$WORK/$m/samples/epoch_$e.png" "$RES/$m-train-epoch_$e.png"; done
done
