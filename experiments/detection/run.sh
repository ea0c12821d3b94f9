#!/usr/bin/env bash
# The mini-CLIP calibration of `tbar scan` and the WaNet check, end to end (≈ 40 clean fine-tunes + their scans:
# hours on 2 shared cores; every step resumes). Run from the repository root; WORK holds the models (not committed).
set -euo pipefail
WORK=${WORK:-/tmp/det}
T="nice -n 10 ${TBAR:-./tbar}"  # TBAR: a fixed CLI build (e.g. "dotnet /tmp/tbar-run/Tbar.Cli.dll") for runs that outlive source edits
$T scan clean-models --count 40 --first-seed 1000 --out "$WORK/clean" --threads 1
fit=(); held=()
for k in $(seq 0 19); do fit+=("$WORK/clean/clean-seed-$((1000 + k))"); held+=("$WORK/clean/clean-seed-$((1020 + k))"); done
$T scan calibrate --models "${fit[@]}" --held-out "${held[@]}" --target-fpr 0.05 --steps 100 --batch 32 \
  --parts "$WORK/calibration-parts" --out models/mini-clip/scan-calibration.json --threads 1
for s in 1 2 3; do
  [ -d "$WORK/wanet-$s" ] || $T attack --trigger wanet:k=4,s=6 --target Bag --epochs 3 --seed "$s" --out "$WORK/wanet-$s" --threads 1
done
for s in 1 2 3; do
  $T scan --model "$WORK/wanet-$s" --out "experiments/detection/wanet-seed-$s" --threads 1 --fail-on-backdoor || echo "wanet seed $s: exit $?"
done
