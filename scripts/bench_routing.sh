#!/usr/bin/env bash
# Benchmarks routing_service's SubmitTask through gRPC against the null RPC
# (docs/performance.md, "routing_service", "SubmitTask through gRPC"), as a
# ratio measured in the same run by scripts/bench_ratio.sh.
#
# It builds nothing. It starts routing_service on a free loopback port with a
# new temporary data dir (removed on exit unless --keep-data), synced writes
# (the default: every SubmitTask is answered once its batch is in the
# fsynced WAL), context enrichment off (--context_service=, and the tasks
# carry no customer, so there is no lookup either way), request log to
# /dev/null like the null server, metrics off, no API keys file (single
# tenant 'default' on loopback, like the null server: no key is sent on
# either side). Then it runs bench_ratio.sh with the loadgen scenario
# submit_task once per concurrency and prints a summary table.
#
# The scenario's setup (run before every scenario round) creates the queue
# queues/bench-submit, or reuses it, and tells the loadgen's stderr how many
# tasks already wait in it. Submitted tasks stay QUEUED in the service's
# memory (no agent takes them), so each round adds to the last — tens of
# thousands of tasks per round. That is the realistic state of a busy queue;
# the server's RSS is printed before and after each concurrency so the growth
# is visible, and the script fails if the server died.
#
# Usage:
#   scripts/bench_routing.sh [--build-dir DIR] [--concurrency "64"] [--rounds 5]
#       [--duration 10s] [--warmup 2s] [--agents N] [--out-dir DIR] [--keep-data]
#       [--server-arg ARG]... [-- EXTRA_BENCH_RATIO_ARGS...]
#
#   --build-dir DIR     build tree with routing_service/routing_service,
#                       bench/cxp_loadgen and bench/cxp_null_server (default: build)
#   --concurrency "C D" concurrencies (default "64", the target's)
#   --rounds, --duration, --warmup   passed to bench_ratio.sh (5, 10s, 2s)
#   --agents N          offline agents serving the queue (scenario param
#                       agents; default 0): every submit checks each of them
#                       and records them as candidates
#   --out-dir DIR       where the outputs go (default: a new
#                       ${TMPDIR:-/tmp}/cxp-bench-routing.XXXXXX, kept)
#   --keep-data         keep the server's data dir (in --out-dir/data)
#   --server-arg ARG    extra routing_service flag (repeatable)
#   -- ARGS             passed on to every bench_ratio.sh run
#
# Exit status: 0 when every run succeeded (whether the target is met is in
# the summary), 1 when a run failed, 2 on bad usage.

set -euo pipefail

usage() { sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0"; }
die() { echo "bench_routing: $*" >&2; exit 2; }
say() { echo "bench_routing: $*" >&2; }

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# run_child, port_in_use, stop_server, stop_child
source "$REPO_ROOT/scripts/lib/bench_common.sh"

build_dir="build"
concurrencies="64"
rounds=5
duration="10s"
warmup="2s"
agents=0
out_dir=""
keep_data=false
server_args=()
ratio_args=()

need_value() { [[ $# -ge 2 ]] || die "$1 needs a value"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-dir) need_value "$@"; build_dir="$2"; shift 2 ;;
    --build-dir=*) build_dir="${1#*=}"; shift ;;
    --concurrency) need_value "$@"; concurrencies="$2"; shift 2 ;;
    --concurrency=*) concurrencies="${1#*=}"; shift ;;
    --rounds) need_value "$@"; rounds="$2"; shift 2 ;;
    --rounds=*) rounds="${1#*=}"; shift ;;
    --duration) need_value "$@"; duration="$2"; shift 2 ;;
    --duration=*) duration="${1#*=}"; shift ;;
    --warmup) need_value "$@"; warmup="$2"; shift 2 ;;
    --warmup=*) warmup="${1#*=}"; shift ;;
    --agents) need_value "$@"; agents="$2"; shift 2 ;;
    --agents=*) agents="${1#*=}"; shift ;;
    --out-dir) need_value "$@"; out_dir="$2"; shift 2 ;;
    --out-dir=*) out_dir="${1#*=}"; shift ;;
    --keep-data) keep_data=true; shift ;;
    --server-arg) need_value "$@"; server_args+=("$2"); shift 2 ;;
    --server-arg=*) server_args+=("${1#*=}"); shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; ratio_args=("$@"); break ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

[[ "$agents" =~ ^[0-9]+$ ]] || die "--agents wants an integer"

if [[ "$build_dir" != /* ]]; then
  if [[ -d "$PWD/$build_dir" ]]; then build_dir="$PWD/$build_dir"; else build_dir="$REPO_ROOT/$build_dir"; fi
fi
SERVER="$build_dir/routing_service/routing_service"
for bin in "$SERVER" "$build_dir/bench/cxp_loadgen" "$build_dir/bench/cxp_null_server"; do
  [[ -x "$bin" ]] || die "missing $bin; build it with: cmake --build $build_dir --target routing_service cxp_loadgen cxp_null_server"
done
if [[ -z "$out_dir" ]]; then
  out_dir="$(mktemp -d "${TMPDIR:-/tmp}/cxp-bench-routing.XXXXXX")"
else
  mkdir -p "$out_dir"
fi
data_dir="$out_dir/data"
[[ -e "$data_dir" ]] && die "$data_dir exists; choose another --out-dir"

server_pid=""
child_pid=""
cleanup() {
  local rc=$?
  stop_child
  stop_server
  $keep_data || rm -rf "$data_dir"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM


# start_server LOG: routing_service on a free loopback port over $data_dir,
# stdout (request log) to /dev/null; sets server_pid, server_addr.
start_server() {
  local log="$1" port
  for _ in 1 2 3 4 5; do
    port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
    port_in_use "$port" && continue
    mkdir -p "$data_dir"
    "$SERVER" --listen "127.0.0.1:$port" --metrics_listen off --data_dir "$data_dir" \
      --context_service= ${server_args[@]+"${server_args[@]}"} >/dev/null 2>"$log" &
    server_pid=$!
    for _ in $(seq 1 300); do
      if grep -q '"msg":"serving"' "$log" 2>/dev/null; then
        server_addr="127.0.0.1:$port"
        return 0
      fi
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    say "routing_service did not start on port $port:"
    tail -n 5 "$log" >&2 || true
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
    rm -rf "$data_dir"
  done
  say "could not start routing_service"
  exit 1
}

server_rss() { awk '/^VmRSS:/ { printf "%.0f MiB", $2 / 1024 }' "/proc/$server_pid/status"; }

say "$(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
start_server "$out_dir/routing_service.log"
say "routing_service on $server_addr (data $data_dir; extra flags: ${server_args[*]:-none}), RSS $(server_rss); outputs in $out_dir"

results=()
for c in $concurrencies; do
  say "submit_task at concurrency $c (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  base="$out_dir/submit_task.c$c"
  if ! run_child "$REPO_ROOT/scripts/bench_ratio.sh" --build-dir "$build_dir" \
      --target "$server_addr" --scenario submit_task --concurrency "$c" \
      --rounds "$rounds" --duration "$duration" --warmup "$warmup" --json "$base.json" \
      "--scenario-arg=--scenario_param=agents=$agents" \
      ${ratio_args[@]+"${ratio_args[@]}"} >"$base.txt" 2> >(tee "$base.log" >&2); then
    cat "$base.txt" >&2
    say "bench_ratio failed at concurrency $c"
    exit 1
  fi
  cat "$base.txt"
  kill -0 "$server_pid" 2>/dev/null || { say "routing_service died (see $out_dir/routing_service.log)"; exit 1; }
  say "routing_service RSS now $(server_rss)"
  results+=("$c")
done

# json_field FILE KEY: the scalar "KEY": value of a bench_ratio --json file.
json_field() {
  awk -v key="\"$2\":" '$1 == key { v = $2; sub(/,$/, "", v); gsub(/"/, "", v); print v; exit }' "$1"
}

echo
echo "routing_service SubmitTask benchmark: $(nproc) CPUs; rounds $rounds x $duration; agents $agents"
echo "server RSS at the end: $(server_rss); load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf '| %-11s | %4s | %10s | %8s | %10s | %8s | %6s | %-24s | %-18s |\n' \
  scenario conc "req/s" "p99 ms" "null req/s" "null p99" ratio "round ratios med (range)" "target (conc 64)"
printf '| %-11s | %4s | %10s | %8s | %10s | %8s | %6s | %-24s | %-18s |\n' \
  "---" "---:" "---:" "---:" "---:" "---:" "---:" "---" "---"
for c in "${results[@]}"; do
  j="$out_dir/submit_task.c$c.json"
  ratio=$(json_field "$j" ratio)
  verdict="-"
  if [[ "$c" == 64 ]]; then
    verdict=$(awk -v r="$ratio" 'BEGIN { printf "%s (>=0.40)", ((r >= 0.40) ? "MET" : "NOT MET") }')
  fi
  printf '| %-11s | %4s | %10.0f | %8.3f | %10.0f | %8.3f | %6.3f | %-24s | %-18s |\n' \
    submit_task "$c" "$(json_field "$j" scenario_rps_median)" "$(json_field "$j" scenario_p99_ms_median)" \
    "$(json_field "$j" null_rps_median)" "$(json_field "$j" null_p99_ms_median)" "$ratio" \
    "$(printf '%.2f (%.2f-%.2f)' "$(json_field "$j" round_ratio_median)" \
        "$(json_field "$j" round_ratio_min)" "$(json_field "$j" round_ratio_max)")" \
    "$verdict"
done
echo
echo "ratio = ratio of the medians (as bench_ratio.sh); on a machine whose speed drifts between"
echo "rounds the per-round ratios' median is the steadier figure: compare both."
echo "outputs: $out_dir"
