#!/usr/bin/env bash
# Where a service's CPU goes per call, by thread (docs/performance.md,
# "Where AppendInteraction stands"): starts context_service on a dataset
# directory, drives one cxp_loadgen scenario at a fixed concurrency, and over
# a window in the middle of the run reads utime+stime of every server thread
# (threads are named: cxp-handler, cxp-walsync, cxp-walack, gRPC's nexting_thread and
# default-executor, rocksdb:high/low) and of the loadgen from /proc. Prints
# req/s and CPU microseconds per call for each thread name and the loadgen.
# CPU time per call does not depend on how busy the machine is the way req/s
# does, so it tells which part a change made cheaper.
#
# Usage:
#   scripts/bench_cpu_split.sh [--build-dir DIR] [--data-dir DIR]
#       [--scenario get_customer_context|append_interaction|...]
#       [--concurrency 64] [--before 8] [--window 8]
#       [--customers 100000] [--id-prefix c] [-- SERVER_FLAGS...]
#
# --data-dir is a RocksDB directory of a loaded dataset (default
# /tmp/cxp-bench-context-data/db, as scripts/bench_context.sh leaves it);
# appends add rows to it. --before seconds of load pass before the window
# (warm-up), --window seconds are measured; the loadgen stops with the window
# and its count of calls completed inside it gives the per-call figures.
# Server flags default to the cache sizes bench_context.sh measures with.
set -euo pipefail

build_dir=build
data_dir=/tmp/cxp-bench-context-data/db
scenario=get_customer_context
concurrency=64
before=8
window=8
customers=100000
id_prefix=c
server_flags=()

die() { echo "bench_cpu_split: $*" >&2; exit 1; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-dir) build_dir="$2"; shift 2 ;;
    --data-dir) data_dir="$2"; shift 2 ;;
    --scenario) scenario="$2"; shift 2 ;;
    --concurrency) concurrency="$2"; shift 2 ;;
    --before) before="$2"; shift 2 ;;
    --window) window="$2"; shift 2 ;;
    --customers) customers="$2"; shift 2 ;;
    --id-prefix) id_prefix="$2"; shift 2 ;;
    --help|-h) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --) shift; server_flags=("$@"); break ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
[[ ${#server_flags[@]} -gt 0 ]] || server_flags=(--block_cache_mb=1024 --context_cache_mb=1024)
server="$build_dir/context_service/context_service"
loadgen="$build_dir/bench/cxp_loadgen"
[[ -x "$server" && -x "$loadgen" ]] || die "build context_service and cxp_loadgen in $build_dir first"
[[ -d "$data_dir" ]] || die "no dataset in $data_dir (scripts/bench_context.sh --load-only makes one)"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log=$(mktemp)
trap 'kill ${load_pid:-} ${server_pid:-} 2>/dev/null || true; rm -f "$log"' EXIT
"$server" --listen "127.0.0.1:$port" --metrics_listen off --data_dir "$data_dir" \
  "${server_flags[@]}" >/dev/null 2>"$log" &
server_pid=$!
for _ in $(seq 1 300); do
  grep -q '"msg":"serving' "$log" 2>/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || die "server exited: $(tail -3 "$log")"
  sleep 0.2
done

load_out=$(mktemp)
"$loadgen" --target "127.0.0.1:$port" --scenario "$scenario" --concurrency "$concurrency" \
  --duration "${window}s" --warmup "${before}s" \
  "--scenario_param=customers=$customers,id_prefix=$id_prefix" >"$load_out" 2>&1 &
load_pid=$!

# ticks per thread name (server) and of the loadgen process; one awk over
# all stat files, so a snapshot takes milliseconds, not a fork per thread.
stat_ticks() {
  awk '{ match($0, /\(.*\)/); name = substr($0, RSTART + 1, RLENGTH - 2); gsub(/ /, "_", name)
         split(substr($0, RSTART + RLENGTH + 1), field, " "); ticks[name] += field[12] + field[13] }
       END {for (name in ticks) print name, ticks[name]}' "$@" 2>/dev/null
}
snapshot() {
  # idle and iowait ticks of the whole machine, and all its ticks
  awk '/^cpu / {print "MACHINE_IDLE", $5 + $6; print "MACHINE_ALL", $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat
  echo "LOADGEN $(stat_ticks /proc/"$load_pid"/stat | awk '{print $2}')"
  stat_ticks /proc/"$server_pid"/task/*/stat
}
sleep "$before"
start=$(snapshot)
# End a little early: the loadgen exits as its window closes.
cpu_window=$(awk -v w="$window" 'BEGIN {print w - 0.05}')
sleep "$cpu_window"
end=$(snapshot)
wait "$load_pid" || die "loadgen failed: $(tail -3 "$load_out")"
load_pid=
# The loadgen counts exactly the calls that completed inside its measured
# window, which is the one the snapshots bracket.
rps=$(grep -m1 'Requests/sec' "$load_out" | awk '{print $2}')
rm -f "$load_out"

hz=$(getconf CLK_TCK)
echo "scenario $scenario, concurrency $concurrency: $rps req/s in the ${window}s window"
# Idle time means the calls wait on something other than CPU (an fsync, a
# serial stage) and adding concurrency or overlap would pay.
join <(sort <<<"$start") <(sort <<<"$end") |
  awk '$1 == "MACHINE_IDLE" {idle = $3 - $2} $1 == "MACHINE_ALL" {all = $3 - $2}
       END {if (all > 0) printf "machine idle in the window: %.0f %%\n", 100 * idle / all}'
echo "CPU µs per call in that window:"
join <(sort <<<"$start") <(sort <<<"$end") | grep -v '^MACHINE_' |
  awk -v hz="$hz" -v rps="$rps" -v window="$cpu_window" \
    '{d = $3 - $2; if (d <= 0) next; us = d / hz * 1e6 / (rps * window)
      printf "  %-18s %7.1f\n", $1, us; if ($1 != "LOADGEN") server += us}
      END {printf "  %-18s %7.1f\n", "(server total)", server}' |
  sort -k2 -n -r
