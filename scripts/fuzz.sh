#!/usr/bin/env bash
# Mutation fuzzing of the safetensors reader and the image decoder (tools/Tbar.Fuzz).
# Usage: scripts/fuzz.sh [--cases N] [--seed S] [--out DIR]   (default: 100,000 inputs per target into fuzz-out/)
# Prints one line per target; fuzz-out/fuzz.json holds the counts, fuzz-out/crashes/ any crashing input. Exit 1 on a crash.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build tools/Tbar.Fuzz/Tbar.Fuzz.csproj -c Release -nologo -v quiet >/dev/null
exec dotnet tools/Tbar.Fuzz/bin/Release/net10.0/Tbar.Fuzz.dll "$@"
