#!/bin/bash
# bench/memory/probe.sh OUTBIN: builds a CLI whose `tbar unlearn` logs RSS at its phase boundaries (the file named by
# TBAR_MEMLOG). The marks are added to a scratch copy of the work tree by marks.py; the library itself has none.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && git rev-parse --show-toplevel)
out=$(realpath -m "$1")
src=$(mktemp -d "${TMPDIR:-/tmp}/tbar-probe.XXXXXX")
trap 'rm -rf "$src"' EXIT
(cd "$root" && git ls-files -co --exclude-standard | tar -cf - -T -) | (cd "$src" && tar -xf -)
cp "$here/MemoryProbe.cs" "$src/src/Tbar/MemoryProbe.cs"
(cd "$src" && python3 "$here/marks.py")
dotnet build "$src/src/Tbar.Cli/Tbar.Cli.csproj" -c Release -o "$out" -nologo -v quiet
