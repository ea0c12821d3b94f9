#!/usr/bin/env bash
# The README's bad-input table: builds a corpus of malformed inputs (tools/Tbar.Fuzz/BadInputs.cs), runs each through the
# real CLI as its own process, and writes experiments/bad-inputs/bad-inputs.md (+ .json). Exit 1 unless every case got a
# clear error (exit code 1, an "error:" line on stderr, no stack trace).
set -euo pipefail
cd "$(dirname "$0")/.."
./tbar --help >/dev/null   # builds the CLI when its sources changed
dotnet build tools/Tbar.Fuzz/Tbar.Fuzz.csproj -c Release -nologo -v quiet >/dev/null
out=${1:-experiments/bad-inputs}
mkdir -p "$out"
dotnet tools/Tbar.Fuzz/bin/Release/net10.0/Tbar.Fuzz.dll bad-inputs --cli src/Tbar.Cli/bin/Release/net10.0/Tbar.Cli.dll \
  --model models/mini-clip --out "$out"
