#!/usr/bin/env bash
# A real SLURM run on this one machine (docs/cluster.md): starts a single-node cluster (munged, slurmctld, slurmd on
# localhost), runs a small 2-cell plan of `tbar experiment main` through deploy/slurm/plan-array.sbatch with the merge as a
# dependent job, and checks that the merged table.md equals the one-process table byte for byte. Node failure: cell 0 is
# re-queued (killed mid-run) once its first row is finished, and must resume from that row.
# Stops the daemons it started; exit 0 only when every check passed. Needs root (it installs slurm-wlm and munge from
# Debian when missing, and runs the daemons as root).
#
#   deploy/slurm/local-cluster.sh
#   TBAR="dotnet src/Tbar.Cli/bin/Release/net10.0/Tbar.Cli.dll" WORK=/tmp/slurm-run deploy/slurm/local-cluster.sh
#
# TBAR: the tbar command (default ./tbar of this checkout, built once here before any job starts).
# WORK: the folder for the cluster's files, the plan and both runs (default: a new folder under /tmp, removed on success).
# DATA: the data spec (default: the first 1,200 training and 200 test images of Debian's Fashion-MNIST, written into WORK).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
say() { echo "local-cluster: $*" >&2; }
fail() { say "FAILED: $*"; exit 1; }
[ "$(id -u)" -eq 0 ] || { say "needs root (installs slurm-wlm and munge, runs slurmd as root)"; exit 2; }
started=$(date +%s)

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
  say "installing slurm-wlm and munge from Debian"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge; } >&2
fi

keep_work=${WORK:+1}
work="${WORK:-$(mktemp -d /tmp/tbar-slurm-XXXXXX)}"
rm -rf "${work:?}"/{munge,state,spool,log,one,many,plan.json}   # a WORK kept from an earlier run starts afresh
mkdir -p "$work"/{munge,state,spool,log}
work="$(cd "$work" && pwd)"
export SLURM_CONF="$work/slurm.conf"
pids=()
stop_daemons() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done; done
}
trap stop_daemons EXIT

# munge with its own key and socket, so a system munged (if any) is left alone.
mungekey --create --keyfile="$work/munge/munge.key" --force
chmod 600 "$work/munge/munge.key"
munged --force --key-file="$work/munge/munge.key" --socket="$work/munge/munge.socket" --pid-file="$work/munge/munged.pid" \
  --log-file="$work/log/munged.log" --seed-file="$work/munge/munged.seed"
pids+=("$(cat "$work/munge/munged.pid")")

# One node, localhost, 2 CPUs; RealMemory is what slurmd measures, less 1 GiB for the system.
memory=$(( $(slurmd -C | sed -nE 's/.*RealMemory=([0-9]+).*/\1/p') - 1024 ))
cat >"$SLURM_CONF" <<EOF
ClusterName=tbar-local
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
AuthInfo=socket=$work/munge/munge.socket
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
SlurmctldPort=${SLURMCTLD_PORT:-6817}
SlurmdPort=${SLURMD_PORT:-6818}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
ReturnToService=2
JobRequeue=1
NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 RealMemory=$memory State=UNKNOWN
PartitionName=local Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -f "$SLURM_CONF"
for _ in $(seq 50); do [ -s "$work/slurmctld.pid" ] && break; sleep 0.2; done
pids+=("$(cat "$work/slurmctld.pid")")
slurmd -f "$SLURM_CONF" -N localhost
for _ in $(seq 50); do [ -s "$work/slurmd.pid" ] && break; sleep 0.2; done
pids+=("$(cat "$work/slurmd.pid")")
for _ in $(seq 60); do sinfo -h -N -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)' && break; sleep 1; done
sinfo -h -N -o "%N %T %c CPUs %m MB" >&2
sinfo -h -N -o %T | grep -qE '^(idle|mixed|allocated)' || fail "the node did not come up (see $work/log/slurmd.log)"

# The data and the tbar command, ready before any job starts (./tbar builds only when its sources changed).
if [ -z "${DATA:-}" ]; then
  python3 - "$work/data" <<'EOF'
import gzip, os, sys
src, out = "/usr/share/datasets/fashion-mnist", sys.argv[1]
os.makedirs(out, exist_ok=True)
for prefix, count in (("train", 1200), ("t10k", 200)):
    for kind, header in (("images-idx3", 16), ("labels-idx1", 8)):
        data = gzip.open(f"{src}/{prefix}-{kind}-ubyte.gz").read()
        per = 28 * 28 if kind.startswith("images") else 1
        with open(f"{out}/{prefix}-{kind}-ubyte", "wb") as f:   # the first `count` items, the count field rewritten
            f.write(data[:4] + count.to_bytes(4, "big") + data[8:header] + data[header:header + count * per])
EOF
  DATA="fashion-mnist:$work/data"
fi
TBAR="${TBAR:-$root/tbar}"
export TBAR
$TBAR --help >/dev/null

# The 2-cell plan of the Slow test CellsRunInSeparateProcessesMergeIntoTheOneProcessTable (tests/Tbar.Tests/Cli/PlanTests.cs).
experiment=(experiment main --models "$root/models/mini-clip" --attacks badnet sig --seeds 0 --methods tbar --data "$DATA"
  --forget-size 150 --val-size 150 --attack-epochs 1 --retune-k 10 --threads 1)
say "one process: $work/one"
$TBAR "${experiment[@]}" --out "$work/one" >"$work/log/one-process.log" 2>&1 || fail "the one-process run failed (see $work/log/one-process.log)"
$TBAR "${experiment[@]}" --out "$work/many" --plan "$work/plan.json" >/dev/null
cells=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["cells"]))' "$work/plan.json")
cell0=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["cells"][0]["cell_folder"])' "$work/plan.json")

# One CPU and 3 GB per cell, so both cells run at once on the 2-CPU node; the merge waits for both.
cd "$work"
array=$(sbatch --parsable --requeue --array=0-$((cells - 1)) --cpus-per-task=1 --mem=3G --output="$work/log/cell-%A_%a.log" \
  "$root/deploy/slurm/plan-array.sbatch" "$work/plan.json")
merge=$(sbatch --parsable --dependency=afterok:"$array" --cpus-per-task=1 --mem=2G --output="$work/log/merge-%j.log" \
  --wrap "$TBAR plan merge --plan $work/plan.json")
say "submitted array job $array ($cells cells) and merge job $merge"

# Node failure: once cell 0 has finished its first row, kill it by re-queueing; it must resume and keep that row.
first_row="$cell0/backdoored.json"
for _ in $(seq 1800); do [ -f "$first_row" ] && break; sleep 1; done
[ -f "$first_row" ] || fail "cell 0 wrote no $first_row"
[ -f "$cell0/tbar.json" ] && fail "cell 0 finished before it could be re-queued"
before=$(stat -c '%Y %s' "$first_row") sum_before=$(sha256sum <"$first_row")
scontrol requeue "${array}_0"
say "re-queued ${array}_0 after its first row"
sleep 2
scontrol update jobid="${array}_0" StartTime=now 2>/dev/null || true   # a re-queued job waits for a begin time otherwise

while squeue -h -j "$array,$merge" 2>/dev/null | grep -q .; do sleep 5; done
[ -f "$work/many/table.md" ] || fail "the merge wrote no table.md (merge job $merge; see $work/log/)"
restarts=$(scontrol show job "${array}_0" | sed -nE 's/.*Restarts=([0-9]+).*/\1/p')
[ "$restarts" = 1 ] || fail "cell 0 was started $((restarts + 1)) times, not twice (scontrol show job ${array}_0)"
[ "$(stat -c '%Y %s' "$first_row")" = "$before" ] && [ "$(sha256sum <"$first_row")" = "$sum_before" ] \
  || fail "the re-queued cell 0 rewrote its finished row $first_row instead of resuming"
cmp "$work/one/table.md" "$work/many/table.md" || fail "the SLURM table differs from the one-process table"
say "the merged table equals the one-process table byte for byte; the re-queued cell kept its finished row"
say "wall time $(( $(date +%s) - started )) s"
cd "$root"
[ -n "$keep_work" ] || rm -rf "$work"
