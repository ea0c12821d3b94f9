#!/usr/bin/env bash
# Times the same image-tower cases in PyTorch (Debian's python3-torch 1.13 on OpenBLAS, bench/pytorch/case.py) and in
# Tbar (bench/Tbar.Bench case), interleaved: for each case, ROUNDS rounds of one PyTorch run then one Tbar run, so both
# see the same load. Each run reports the median of its iterations; the table takes the median over rounds.
# Runs go to bench/results/side-by-side-runs.jsonl, each with this machine's CPU (model, vendor, ISA flags); a new run
# replaces only this CPU's earlier runs, so the table keeps one block of rows per machine (APPEND=1 keeps this CPU's
# earlier runs too, e.g. to add MODELS one at a time). Tbar's runs also record the BLAS path and whether the oneMKL
# vendor fix was active (docs/speed.md). Writes bench/results/side-by-side.json and .md from all runs, and puts the table
# into bench/README.md between the speed-table markers.
#   bench/side-by-side.sh                                  # THREADS=2 ROUNDS=5, every model
#   MODELS="matmul mini-clip" bench/side-by-side.sh; APPEND=1 MODELS="vit-b-32 rn18-clip" bench/side-by-side.sh
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${THREADS:-2}
rounds=${ROUNDS:-5}
python=${PYTHON:-/usr/bin/python3}
# The PyTorch side is Debian's python3-torch on OpenBLAS. Without libopenblas0-pthread, Debian's BLAS alternative is the
# reference BLAS (≈ 6 instead of ≈ 200 GFLOP/s on a 2048² matmul here), so both are installed when missing.
missing=()
"$python" -c 'import torch' 2>/dev/null || missing+=(python3-torch)
dpkg -s libopenblas0-pthread >/dev/null 2>&1 || missing+=(libopenblas0-pthread)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} from Debian" >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >&2
fi
# Debian's OpenBLAS picks a generic kernel on this CPU unless told its core type (65 instead of ~300 GFLOP/s).
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX} OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
dotnet build bench/Tbar.Bench -c Release -nologo -v quiet >/dev/null
bench=bench/Tbar.Bench/bin/Release/net10.0/Tbar.Bench.dll
models=${MODELS:-matmul mini-clip vit-b-32 rn18-clip}
runs=bench/results/side-by-side-runs.jsonl
# This machine as every run line records it (the fields of Tbar's CpuInfo).
field() { sed -nE "s/^$1[[:space:]]*: //p" /proc/cpuinfo | head -n 1; }
isa=$(field flags | tr ' ' '\n' | grep -xE 'avx2|fma|avx512f|avx512bw|avx512_vnni|avx512_bf16|amx_tile' | sed 's/.*/"&"/' | paste -sd, -)
cpu="{\"vendor\": \"$(field vendor_id)\", \"model\": \"$(field 'model name')\", \"isa\": [$isa]}"
touch "$runs"
if [ "${APPEND:-0}" != 1 ]; then
  grep -vF "\"cpu\": $cpu" "$runs" >"$runs.tmp" || true
  mv "$runs.tmp" "$runs"
fi
# model kind iterations-per-run (ViT-B/32 and rn18-clip steps take seconds each, so fewer per run)
cases=(
  "matmul matmul 5"
  "mini-clip forward 5" "mini-clip train 5" "mini-clip eval 5"
  "vit-b-32 forward 2" "vit-b-32 train 1" "vit-b-32 eval 1"
  "rn18-clip forward 2" "rn18-clip train 3" "rn18-clip eval 2"
)
uptime_before=$(cut -d' ' -f1-3 /proc/loadavg)
for c in "${cases[@]}"; do
  read -r model kind iters <<<"$c"
  [[ " $models " == *" $model "* ]] || continue
  # The bench knows where each model lives (BenchModel.Missing); it exits 3 with the reason when one cannot run here.
  if ! reason=$(dotnet "$bench" missing --model "$model" 2>&1); then
    echo "skip $model $kind: $reason" >&2
    continue
  fi
  for r in $(seq "$rounds"); do
    load=$(cut -d' ' -f1 /proc/loadavg)
    line=$(cd bench/pytorch && "$python" case.py --model "$model" --kind "$kind" --iters "$iters" --threads "$threads")
    echo "{\"round\": $r, \"load\": $load, \"cpu\": $cpu, \"run\": $line}" >>"$runs"
    load=$(cut -d' ' -f1 /proc/loadavg)
    line=$(dotnet "$bench" case --model "$model" --kind "$kind" --iters "$iters" --threads "$threads")
    echo "{\"round\": $r, \"load\": $load, \"cpu\": $cpu, \"run\": $line}" >>"$runs"
    echo "$model $kind round $r done (load $load)" >&2
  done
done
"$python" bench/side_by_side_table.py --runs "$runs" --threads "$threads" --load-before "$uptime_before" \
  --out bench/results/side-by-side.json --table bench/results/side-by-side.md --readme bench/README.md
