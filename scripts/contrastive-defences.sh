#!/usr/bin/env bash
# The contrastive setting: a mini-CLIP backdoored through image–caption pairs (BadNet, 3%), cleaned by TBAR, its 75%-floor and refit variants, gradient ascent,
# rule, clean fine-tuning and the CleanCLIP-style defence on the same clean budget; test CA/ASR of each into
# experiments/contrastive/ (eval JSONs, unlearn reports, table.md). Usage: scripts/contrastive-defences.sh [SEED]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
seed="${1:-0}"
out=experiments/contrastive
runs=runs/contrastive-seed$seed
mkdir -p "$out" "$runs"
trigger=badnet:size=3
[ -f "$runs/backdoored/model.safetensors" ] || ./tbar attack --mode contrastive --trigger "$trigger" --target Bag --seed "$seed" --out "$runs/backdoored"
./tbar eval --model "$runs/backdoored" --trigger "$trigger" --target Bag --json "$out/backdoored.json" > /dev/null
for method in tbar tbar-floor75 tbar-refit finetune ga cleanclip; do
  ./tbar unlearn --model "$runs/backdoored" --forget "trigger:$trigger" --target Bag --method "$method" --seed "$seed" --out "$runs/$method" > /dev/null
  cp "$runs/$method/report.json" "$out/unlearn-$method.json"
  ./tbar eval --model "$runs/$method" --trigger "$trigger" --target Bag --json "$out/$method.json" > /dev/null
done
./tbar report defences --in "$out" --methods tbar tbar-floor75 tbar-refit finetune ga cleanclip --label "backdoored (contrastive)" \
  --out "$out/table.md"
