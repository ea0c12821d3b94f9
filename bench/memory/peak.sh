#!/bin/bash
# bench/memory/peak.sh NAME CLI_DIR ARGS...: runs `dotnet CLI_DIR/Tbar.Cli.dll ARGS` under nice (NICE, default 10) and /usr/bin/time -v with
# OMP_NUM_THREADS=1; writes NAME.time (time -v), NAME.rss (VmRSS in kB once a second: "seconds kB"), NAME.out, NAME.load.
set -uo pipefail
name=$1; bin=$2; shift 2
export OMP_NUM_THREADS=1
uptime > "$name.load"
nice -n "${NICE:-10}" /usr/bin/time -v -o "$name.time" dotnet "$bin/Tbar.Cli.dll" "$@" > "$name.out" 2>&1 &
timer=$!
sleep 1
pid=$(pgrep -P $timer | head -1)
start=$(date +%s)
: > "$name.rss"
while kill -0 $timer 2>/dev/null; do
  rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status 2>/dev/null)
  [ -n "$rss" ] && echo "$(( $(date +%s) - start )) $rss" >> "$name.rss"
  sleep 1
done
wait $timer
uptime >> "$name.load"
grep -E "Maximum resident|Elapsed|Exit status" "$name.time"
