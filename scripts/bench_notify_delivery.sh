#!/usr/bin/env bash
# Benchmarks notify_service's delivery throughput: notifications delivered
# per second to a local webhook receiver, from the first delivery to the
# last (docs/performance.md, "notify_service", "Delivery throughput").
#
# It builds nothing. It starts, each on a free loopback port with a new
# temporary data dir (removed on exit unless --keep-data):
#   - context_service (defaults: synced writes; request log to /dev/null,
#     metrics off, no API keys), loaded with --customers customers by
#     cxp_context_loader (no interactions): the dispatcher looks every
#     recipient up there before delivering, and appends each delivered
#     notification to the customer's timeline there;
#   - cxp_webhook_receiver (bench/notify/webhook_receiver.cc, civetweb),
#     verifying every signature against a random whsec_ secret;
#   - notify_service with --context_service pointing at the first and
#     --webhook_url / --webhook_secret_file at the second (defaults
#     otherwise: synced writes, --dispatch_workers 8).
# Then it runs cxp_notify_delivery_bench --rounds times: each round sends
# --notifications notifications (BatchSendNotifications, 100 per call, to
# customers/c<i % customers>, channel WEB, TRANSACTIONAL), all with the same
# send_time --schedule-delay after the round starts (so the delivery is
# timed on its own, not alongside the enqueue), and waits until the receiver
# has seen every one. Between rounds it waits until notify_service and
# context_service are idle (timeline appends done, RocksDB settled). It
# prints each round's deliveries/s, the CPU seconds each process used in
# the delivery alone (from just before the notifications fall due to the
# last delivery; the enqueue is not in it), and the median.
#
# The target is absolute, but this 2-core VM's speed drifts with its
# neighbours' load, so before each round it also measures the null RPC
# (cxp_loadgen --scenario null, concurrency 64, --null-seconds, against a
# cxp_null_server it starts): how fast the machine was then. The summary
# gives both, and deliveries per 1 000 null RPCs.
#
# Usage:
#   scripts/bench_notify_delivery.sh [--build-dir DIR] [--rounds 3]
#       [--notifications 20000] [--customers 1000] [--schedule-delay 15s]
#       [--out-dir DIR] [--keep-data] [--server-arg ARG]... [--receiver-arg ARG]...
#
#   --build-dir DIR       build tree with notify_service/notify_service,
#                         context_service/context_service and
#                         bench/cxp_{webhook_receiver,notify_delivery_bench,
#                         context_loader} (default: build)
#   --schedule-delay D    send_time = round start + D; must outlast the enqueue
#                         (0s: due at once, delivered while enqueuing)
#   --null-seconds N      length of each round's null-RPC reference (default 5;
#                         0: none)
#   --server-arg ARG      extra notify_service flag (repeatable), e.g.
#                         --server-arg=--dispatch_workers=16
#   --receiver-arg ARG    extra cxp_webhook_receiver flag (repeatable)
#
# Exit status: 0 when every round delivered everything once (whether the
# target is met is in the summary), 1 when a run failed, 2 on bad usage.

set -euo pipefail

usage() { sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0"; }
die() { echo "bench_notify_delivery: $*" >&2; exit 2; }
say() { echo "bench_notify_delivery: $*" >&2; }

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# run_child, port_in_use, stop_child
source "$REPO_ROOT/scripts/lib/bench_common.sh"

build_dir="build"
rounds=3
notifications=20000
customers=1000
schedule_delay="15s"
null_seconds=5
out_dir=""
keep_data=false
server_args=()
receiver_args=()

need_value() { [[ $# -ge 2 ]] || die "$1 needs a value"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-dir) need_value "$@"; build_dir="$2"; shift 2 ;;
    --build-dir=*) build_dir="${1#*=}"; shift ;;
    --rounds) need_value "$@"; rounds="$2"; shift 2 ;;
    --rounds=*) rounds="${1#*=}"; shift ;;
    --notifications) need_value "$@"; notifications="$2"; shift 2 ;;
    --notifications=*) notifications="${1#*=}"; shift ;;
    --customers) need_value "$@"; customers="$2"; shift 2 ;;
    --customers=*) customers="${1#*=}"; shift ;;
    --schedule-delay) need_value "$@"; schedule_delay="$2"; shift 2 ;;
    --schedule-delay=*) schedule_delay="${1#*=}"; shift ;;
    --null-seconds) need_value "$@"; null_seconds="$2"; shift 2 ;;
    --null-seconds=*) null_seconds="${1#*=}"; shift ;;
    --out-dir) need_value "$@"; out_dir="$2"; shift 2 ;;
    --out-dir=*) out_dir="${1#*=}"; shift ;;
    --keep-data) keep_data=true; shift ;;
    --server-arg) need_value "$@"; server_args+=("$2"); shift 2 ;;
    --server-arg=*) server_args+=("${1#*=}"); shift ;;
    --receiver-arg) need_value "$@"; receiver_args+=("$2"); shift 2 ;;
    --receiver-arg=*) receiver_args+=("${1#*=}"); shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || die "--rounds wants a positive integer"
[[ "$notifications" =~ ^[1-9][0-9]*$ ]] || die "--notifications wants a positive integer"
[[ "$customers" =~ ^[1-9][0-9]*$ ]] || die "--customers wants a positive integer"
[[ "$null_seconds" =~ ^[0-9]+$ ]] || die "--null-seconds wants an integer"

if [[ "$build_dir" != /* ]]; then
  if [[ -d "$PWD/$build_dir" ]]; then build_dir="$PWD/$build_dir"; else build_dir="$REPO_ROOT/$build_dir"; fi
fi
NOTIFY="$build_dir/notify_service/notify_service"
CONTEXT="$build_dir/context_service/context_service"
RECEIVER="$build_dir/bench/cxp_webhook_receiver"
DRIVER="$build_dir/bench/cxp_notify_delivery_bench"
LOADER="$build_dir/bench/cxp_context_loader"
LOADGEN="$build_dir/bench/cxp_loadgen"
NULL_SERVER="$build_dir/bench/cxp_null_server"
for bin in "$NOTIFY" "$CONTEXT" "$RECEIVER" "$DRIVER" "$LOADER" "$LOADGEN" "$NULL_SERVER"; do
  [[ -x "$bin" ]] || die "missing $bin; build it with: cmake --build $build_dir --target notify_service context_service cxp_webhook_receiver cxp_notify_delivery_bench cxp_context_loader cxp_loadgen cxp_null_server"
done
if [[ -z "$out_dir" ]]; then
  out_dir="$(mktemp -d "${TMPDIR:-/tmp}/cxp-bench-notify-delivery.XXXXXX")"
else
  mkdir -p "$out_dir"
fi
data_dir="$out_dir/data"
[[ -e "$data_dir" ]] && die "$data_dir exists; choose another --out-dir"
mkdir -p "$data_dir"

pids=()
child_pid=""
cleanup() {
  local rc=$?
  stop_child
  # Reverse start order: notify_service before what it calls.
  local i pid
  for (( i=${#pids[@]}-1; i>=0; i-- )); do
    pid="${pids[$i]}"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  $keep_data || rm -rf "$data_dir"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start NAME LOG READY_PATTERN CMD...: starts CMD on a free loopback port
# (the literal PORT in its arguments is replaced), stdout to /dev/null,
# stderr to LOG; waits for READY_PATTERN in LOG. Sets started_pid and
# started_port.
start() {
  local name="$1" log="$2" ready="$3"; shift 3
  local port attempt arg args
  for attempt in 1 2 3 4 5; do
    port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
    port_in_use "$port" && continue
    args=()
    for arg in "$@"; do args+=("${arg//PORT/$port}"); done
    "${args[@]}" >/dev/null 2>"$log" &
    started_pid=$!
    for _ in $(seq 1 300); do
      if grep -q "$ready" "$log" 2>/dev/null; then
        started_port="$port"
        pids+=("$started_pid")
        return 0
      fi
      kill -0 "$started_pid" 2>/dev/null || break
      sleep 0.1
    done
    say "$name did not start on port $port:"
    tail -n 5 "$log" >&2 || true
    kill -KILL "$started_pid" 2>/dev/null || true
    wait "$started_pid" 2>/dev/null || true
  done
  say "could not start $name"
  exit 1
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# wait_idle PID...: until every PID used under 5% of a core for 2 s in a row
# (at most 120 s).
wait_idle() {
  local ticks quiet=0 waited=0 pid busy
  ticks=$(getconf CLK_TCK)
  declare -A prev
  for pid in "$@"; do prev[$pid]=$(cpu_ticks "$pid"); done
  while (( waited < 120 )); do
    sleep 1
    waited=$((waited + 1))
    busy=0
    for pid in "$@"; do
      local now; now=$(cpu_ticks "$pid")
      (( (now - prev[$pid]) * 20 > ticks )) && busy=1
      prev[$pid]=$now
    done
    if (( busy )); then quiet=0; else quiet=$((quiet + 1)); fi
    (( quiet >= 2 )) && return 0
  done
  say "still busy after ${waited}s; going on"
}

say "$(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), load average $(cut -d' ' -f1-3 /proc/loadavg); outputs in $out_dir"

null_addr=""
if (( null_seconds > 0 )); then
  mkdir -p "$data_dir/null"
  start cxp_null_server "$out_dir/null_server.log" '"msg":"serving"' \
    "$NULL_SERVER" --listen 127.0.0.1:PORT --data_dir "$data_dir/null"
  null_addr="127.0.0.1:$started_port"
fi

start context_service "$out_dir/context_service.log" '"msg":"serving"' \
  "$CONTEXT" --listen 127.0.0.1:PORT --metrics_listen off --data_dir "$data_dir/context"
context_pid=$started_pid
context_addr="127.0.0.1:$started_port"
say "context_service on $context_addr; loading $customers customers"
if ! run_child "$LOADER" --target "$context_addr" --customers "$customers" --interactions 0 \
    --verify 0 >"$out_dir/load.out" 2>"$out_dir/load.log"; then
  tail -n 20 "$out_dir/load.log" >&2
  say "loading customers failed"
  exit 1
fi

secret_file="$data_dir/webhook_secret"
echo "whsec_$(head -c 32 /dev/urandom | base64 -w0)" >"$secret_file"
start cxp_webhook_receiver "$out_dir/receiver.log" '"msg":"serving"' \
  "$RECEIVER" --listen 127.0.0.1:PORT --secret_file "$secret_file" \
  ${receiver_args[@]+"${receiver_args[@]}"}
receiver_pid=$started_pid
receiver_url="http://127.0.0.1:$started_port"
say "cxp_webhook_receiver on $receiver_url"

start notify_service "$out_dir/notify_service.log" '"msg":"serving"' \
  "$NOTIFY" --listen 127.0.0.1:PORT --metrics_listen off --data_dir "$data_dir/notify" \
  --context_service "$context_addr" --webhook_url "$receiver_url/hooks" \
  --webhook_secret_file "$secret_file" ${server_args[@]+"${server_args[@]}"}
notify_pid=$started_pid
notify_addr="127.0.0.1:$started_port"
say "notify_service on $notify_addr (extra flags: ${server_args[*]:-none})"

# json_field FILE KEY: the scalar "KEY": value of a --json file.
json_field() {
  awk -v key="\"$2\":" '$1 == key { v = $2; sub(/,$/, "", v); gsub(/"/, "", v); print v; exit }' "$1"
}

ticks_per_second=$(getconf CLK_TCK)
rates=()
rows=()
per_null_all=()
cpu_ms=()
for round in $(seq 1 "$rounds"); do
  wait_idle "$notify_pid" "$context_pid"
  null_rps="-"
  if [[ -n "$null_addr" ]]; then
    if ! run_child "$LOADGEN" --target "$null_addr" --scenario null --concurrency 64 \
        --duration "${null_seconds}s" --warmup 1s --json "$out_dir/null.$round.json" \
        >"$out_dir/null.$round.txt" 2>&1; then
      cat "$out_dir/null.$round.txt" >&2
      say "null RPC reference failed"
      exit 1
    fi
    null_rps=$(printf '%.0f' "$(json_field "$out_dir/null.$round.json" rps)")
  fi
  say "round $round/$rounds: $notifications notifications (load average $(cut -d' ' -f1-3 /proc/loadavg); null RPC $null_rps req/s)"
  base="$out_dir/round.$round"
  if ! run_child "$DRIVER" --notify "$notify_addr" --receiver "$receiver_url" \
      --notifications "$notifications" --customers "$customers" \
      --schedule_delay "$schedule_delay" --run_id "round$round-$RANDOM" \
      --cpu_pids "notify=$notify_pid,context=$context_pid,receiver=$receiver_pid" \
      --json "$base.json" >"$base.txt" 2> >(tee "$base.log" >&2); then
    cat "$base.txt" >&2
    say "round $round failed"
    exit 1
  fi
  cat "$base.txt"
  rate=$(json_field "$base.json" deliveries_per_second)
  rates+=("$rate")
  per_null="-"
  [[ "$null_rps" != "-" ]] && per_null=$(awk -v r="$rate" -v n="$null_rps" 'BEGIN { printf "%.1f", 1000 * r / n }')
  per_null_all+=("$per_null")
  cpu_ms+=("$(awk -v a="$(json_field "$base.json" cpu_notify_ms_per_delivery)" \
    -v b="$(json_field "$base.json" cpu_context_ms_per_delivery)" \
    -v c="$(json_field "$base.json" cpu_receiver_ms_per_delivery)" 'BEGIN { printf "%.3f", a + b + c }')")
  rows+=("$(printf '| %5s | %9s | %9s | %10s | %9s | %12s | %10s | %11s | %8s |' "$round" \
    "$(json_field "$base.json" delivered)" "$(json_field "$base.json" delivery_seconds)" "$rate" \
    "$null_rps" "$per_null" \
    "$(json_field "$base.json" cpu_notify_seconds)" "$(json_field "$base.json" cpu_context_seconds)" \
    "$(json_field "$base.json" cpu_receiver_seconds)")")
done

median="$(printf '%s\n' "${rates[@]}" | sort -g | awk '{ v[NR] = $1 } END {
  if (NR % 2) printf "%.1f\n", v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }')"
echo
echo "notify_service delivery benchmark: $(nproc) CPUs; $rounds rounds x $notifications notifications"
echo "to $customers customers, webhook (WEB) to cxp_webhook_receiver, signatures verified;"
echo "notify_service flags: ${server_args[*]:-defaults}; load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "(CPU s: user+system seconds each process used from just before the notifications fell due"
echo " to the last delivery; null/s: the null RPC at concurrency 64 just before the round)"
echo
printf '| %5s | %9s | %9s | %10s | %9s | %12s | %10s | %11s | %8s |\n' round delivered "seconds" "deliv/s" \
  "null/s" "per 1k null" "notify CPU" "context CPU" "recv CPU"
printf '| %5s | %9s | %9s | %10s | %9s | %12s | %10s | %11s | %8s |\n' "---:" "---:" "---:" "---:" "---:" "---:" "---:" "---:" "---:"
printf '%s\n' "${rows[@]}"
echo
if [[ -n "$null_addr" ]]; then
  echo "median deliveries per 1000 null RPCs: $(printf '%s\n' "${per_null_all[@]}" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR % 2) printf "%.1f\n", v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }')"
fi
echo "CPU per delivery, all three processes (ms): ${cpu_ms[*]}"
echo "median deliveries/s $median; target >= 2000: $(awk -v r="$median" 'BEGIN { print (r >= 2000) ? "MET" : "NOT MET" }')"
echo "outputs: $out_dir"
