#!/usr/bin/env bash
# Benchmarks notify_service's SendNotification (the durable accept) through
# gRPC against the null RPC (docs/performance.md, "notify_service",
# "SendNotification accept rate"), as a ratio measured in the same run by
# scripts/bench_ratio.sh.
#
# It builds nothing. It starts notify_service on a free loopback port with a
# new temporary data dir (removed on exit unless --keep-data), synced writes
# (the default: every send is answered once its batch is in the fsynced
# WAL), request log to /dev/null like the null server, metrics off, no API
# keys file (single tenant 'default' on loopback, like the null server: no
# key is sent on either side), and --context_service= : the recipient
# lookup is off, so every send is accepted unjudged (validated, template
# and variables checked, idempotency key looked up, the notification, its
# index rows and its outbox row written in one batch) and no dispatcher
# runs, so nothing is delivered and the sends stay QUEUED. That isolates
# the accept path the target is about; with context_service on, each send
# would also wait for a GetCustomerContext (up to --context_timeout) served
# by a second process on the same two cores. Then it runs bench_ratio.sh
# with the loadgen scenario send_notification once per concurrency and
# prints a summary table.
#
# The scenario's setup (run before every scenario round) creates the
# template templates/bench-send (webhook content) or reuses it. Each call
# sends to a random customers/c<i> (i < 100000; --recipient identity: the
# chat handle bench-<i>) with a random idempotency key, so every call is a
# new notification; rounds against one server add to the same store.
#
# Usage:
#   scripts/bench_notify.sh [--build-dir DIR] [--concurrency "64"] [--rounds 5]
#       [--duration 10s] [--warmup 2s] [--recipient customer|identity]
#       [--out-dir DIR] [--keep-data] [--server-arg ARG]...
#       [-- EXTRA_BENCH_RATIO_ARGS...]
#
#   --build-dir DIR     build tree with notify_service/notify_service,
#                       bench/cxp_loadgen and bench/cxp_null_server (default: build)
#   --concurrency "C D" concurrencies (default "64", the target's)
#   --rounds, --duration, --warmup   passed to bench_ratio.sh (5, 10s, 2s)
#   --recipient KIND    customer (a customer name, default) or identity
#   --out-dir DIR       where the outputs go (default: a new
#                       ${TMPDIR:-/tmp}/cxp-bench-notify.XXXXXX, kept)
#   --keep-data         keep the server's data dir (in --out-dir/data)
#   --server-arg ARG    extra notify_service flag (repeatable)
#   -- ARGS             passed on to every bench_ratio.sh run
#
# Exit status: 0 when every run succeeded (whether the target is met is in
# the summary), 1 when a run failed, 2 on bad usage.

set -euo pipefail

usage() { sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0"; }
die() { echo "bench_notify: $*" >&2; exit 2; }
say() { echo "bench_notify: $*" >&2; }

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# run_child, port_in_use, stop_server, stop_child
source "$REPO_ROOT/scripts/lib/bench_common.sh"

build_dir="build"
concurrencies="64"
rounds=5
duration="10s"
warmup="2s"
recipient=customer
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
    --recipient) need_value "$@"; recipient="$2"; shift 2 ;;
    --recipient=*) recipient="${1#*=}"; shift ;;
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

[[ "$recipient" == customer || "$recipient" == identity ]] || die "--recipient wants customer or identity"

if [[ "$build_dir" != /* ]]; then
  if [[ -d "$PWD/$build_dir" ]]; then build_dir="$PWD/$build_dir"; else build_dir="$REPO_ROOT/$build_dir"; fi
fi
SERVER="$build_dir/notify_service/notify_service"
for bin in "$SERVER" "$build_dir/bench/cxp_loadgen" "$build_dir/bench/cxp_null_server"; do
  [[ -x "$bin" ]] || die "missing $bin; build it with: cmake --build $build_dir --target notify_service cxp_loadgen cxp_null_server"
done
if [[ -z "$out_dir" ]]; then
  out_dir="$(mktemp -d "${TMPDIR:-/tmp}/cxp-bench-notify.XXXXXX")"
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


# start_server LOG: notify_service on a free loopback port over $data_dir,
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
    say "notify_service did not start on port $port:"
    tail -n 5 "$log" >&2 || true
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
    rm -rf "$data_dir"
  done
  say "could not start notify_service"
  exit 1
}

server_rss() { awk '/^VmRSS:/ { printf "%.0f MiB", $2 / 1024 }' "/proc/$server_pid/status"; }

say "$(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
start_server "$out_dir/notify_service.log"
say "notify_service on $server_addr (data $data_dir; extra flags: ${server_args[*]:-none}), RSS $(server_rss); outputs in $out_dir"

results=()
for c in $concurrencies; do
  say "send_notification at concurrency $c (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  base="$out_dir/send_notification.c$c"
  if ! run_child "$REPO_ROOT/scripts/bench_ratio.sh" --build-dir "$build_dir" \
      --target "$server_addr" --scenario send_notification --concurrency "$c" \
      --rounds "$rounds" --duration "$duration" --warmup "$warmup" --json "$base.json" \
      "--scenario-arg=--scenario_param=recipient=$recipient" \
      ${ratio_args[@]+"${ratio_args[@]}"} >"$base.txt" 2> >(tee "$base.log" >&2); then
    cat "$base.txt" >&2
    say "bench_ratio failed at concurrency $c"
    exit 1
  fi
  cat "$base.txt"
  kill -0 "$server_pid" 2>/dev/null || { say "notify_service died (see $out_dir/notify_service.log)"; exit 1; }
  say "notify_service RSS now $(server_rss)"
  results+=("$c")
done

# json_field FILE KEY: the scalar "KEY": value of a bench_ratio --json file.
json_field() {
  awk -v key="\"$2\":" '$1 == key { v = $2; sub(/,$/, "", v); gsub(/"/, "", v); print v; exit }' "$1"
}

echo
echo "notify_service SendNotification benchmark: $(nproc) CPUs; rounds $rounds x $duration; recipient $recipient; context_service off"
echo "server RSS at the end: $(server_rss); load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf '| %-11s | %4s | %10s | %8s | %10s | %8s | %6s | %-24s | %-18s |\n' \
  scenario conc "req/s" "p99 ms" "null req/s" "null p99" ratio "round ratios med (range)" "target (conc 64)"
printf '| %-11s | %4s | %10s | %8s | %10s | %8s | %6s | %-24s | %-18s |\n' \
  "---" "---:" "---:" "---:" "---:" "---:" "---:" "---" "---"
for c in "${results[@]}"; do
  j="$out_dir/send_notification.c$c.json"
  ratio=$(json_field "$j" ratio)
  verdict="-"
  if [[ "$c" == 64 ]]; then
    verdict=$(awk -v r="$ratio" 'BEGIN { printf "%s (>=0.30)", ((r >= 0.30) ? "MET" : "NOT MET") }')
  fi
  printf '| %-11s | %4s | %10.0f | %8.3f | %10.0f | %8.3f | %6.3f | %-24s | %-18s |\n' \
    send_notif "$c" "$(json_field "$j" scenario_rps_median)" "$(json_field "$j" scenario_p99_ms_median)" \
    "$(json_field "$j" null_rps_median)" "$(json_field "$j" null_p99_ms_median)" "$ratio" \
    "$(printf '%.2f (%.2f-%.2f)' "$(json_field "$j" round_ratio_median)" \
        "$(json_field "$j" round_ratio_min)" "$(json_field "$j" round_ratio_max)")" \
    "$verdict"
done
echo
echo "ratio = ratio of the medians (as bench_ratio.sh); on a machine whose speed drifts between"
echo "rounds the per-round ratios' median is the steadier figure: compare both."
echo "outputs: $out_dir"
