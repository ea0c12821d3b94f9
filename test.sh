#!/usr/bin/env bash
# The default test run (fast tests only; slow ones carry [Trait("Category","Slow")]).
# Ends with one plain line "tests: N passed, N failed, N skipped" taken from the runner's summary.
set -uo pipefail
cd "$(dirname "$0")"
scripts/ensure-data.sh
log=$(mktemp)
# Extra arguments go to dotnet test; a --filter of the caller's replaces the default one.
filter=(--filter "Category!=Slow")
for a in "$@"; do [ "$a" = "--filter" ] && filter=(); done
dotnet test tests/Tbar.Tests/Tbar.Tests.csproj -c Release --nologo "${filter[@]}" "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
summary=$(grep -E '(Passed|Failed)! +- ' "$log" | tail -n 1)
num() { sed -nE "s/.*$1: +([0-9]+).*/\1/p" <<<"$summary"; }
[ -n "$summary" ] && echo "tests: $(num Passed) passed, $(num Failed) failed, $(num Skipped) skipped"
rm -f "$log"
exit "$rc"
