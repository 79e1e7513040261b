#!/usr/bin/env bash
# Benchmarks context_service against the null RPC (docs/performance.md,
# "context_service"): GetCustomerContext (last 20 interactions) and
# AppendInteraction (synced writes) at several concurrencies, each as a
# ratio to the null RPC measured in the same run by scripts/bench_ratio.sh.
#
# It builds nothing. The dataset (default 100 000 customers x 20
# interactions) lives in --data-dir and is reused between runs: when the
# directory holds a finished dataset of the requested shape it is used as is,
# otherwise it is (re)loaded first through the API with cxp_context_loader
# against a context_service started on it (this takes a while: ~10 min on a
# 2-core VM). Then context_service is started on the dataset (default flags:
# synced writes; request log to /dev/null, like the null server; metrics
# off), the script waits until the server is idle (no compaction running),
# and runs bench_ratio.sh once per scenario and concurrency. A summary table
# (req/s, p99, null req/s, ratio, target verdict) ends the output; every
# bench_ratio output and JSON is kept in --out-dir.
#
# Once loaded, the dataset is settled: every column family is compacted
# (cxp_context_core_bench --op compact) and the result kept in DIR/settled.
# Every run starts by copying DIR/settled over DIR/db, so each one measures
# the same store — not one grown by earlier AppendInteraction runs or
# carrying another run's compaction debt. Use --reload to load anew.
#
# Usage:
#   scripts/bench_context.sh [--build-dir DIR] [--data-dir DIR] [--reload] [--load-only]
#       [--customers N] [--interactions K] [--id-prefix P] [--load-concurrency N]
#       [--load-sync-writes true|false] [--scenarios "get_customer_context append_interaction"]
#       [--concurrency "16 64"] [--rounds 3] [--duration 10s] [--warmup 2s]
#       [--out-dir DIR] [--server-arg ARG]... [--server-warmup D] [-- EXTRA_BENCH_RATIO_ARGS...]
#
#   --build-dir DIR        build tree with context_service/context_service,
#                          bench/cxp_loadgen, bench/cxp_null_server and
#                          bench/cxp_context_loader (default: build)
#   --data-dir DIR         dataset directory (default /tmp/cxp-bench-context-data);
#                          RocksDB in DIR/db, the dataset description in
#                          DIR/dataset.txt. An existing DIR that is not a
#                          dataset of this script is never deleted.
#   --reload               load again even if DIR holds a matching dataset
#   --load-only            make sure the dataset exists, measure nothing
#   --customers N          customers in the dataset (default 100000)
#   --interactions K       interactions per customer (default 20)
#   --id-prefix P          customer ids P0 .. P<N-1> (default c)
#   --load-concurrency N   customers the loader loads at once (default 128)
#   --load-sync-writes B   context_service --sync_writes while LOADING
#                          (default true; measurements always use the
#                          default, synced writes)
#   --scenarios "A B"      loadgen scenarios to measure (default
#                          "get_customer_context append_interaction")
#   --concurrency "C D"    concurrencies (default "16 64")
#   --rounds, --duration, --warmup   passed to bench_ratio.sh (3, 10s, 2s)
#   --server-warmup D      unmeasured get_customer_context load on the measured
#                          server before the first round, so its caches are
#                          warm as in a long run (default 60s; 0 to skip)
#   --out-dir DIR          where the outputs go (default: a new
#                          ${TMPDIR:-/tmp}/cxp-bench-context.XXXXXX, kept)
#   --server-arg ARG       context_service flag for the measured server
#                          (repeatable), e.g. --server-arg=--sync_writes=false;
#                          replaces the default --block_cache_mb=1024
#                          --context_cache_mb=1024 (caches sized to the dataset)
#   -- ARGS                passed on to every bench_ratio.sh run
#
# Exit status: 0 when every run succeeded (whether targets are met is in the
# summary), 1 when a run or the load failed, 2 on bad usage.

set -euo pipefail

usage() { sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0"; }
die() { echo "bench_context: $*" >&2; exit 2; }
say() { echo "bench_context: $*" >&2; }

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# run_child, port_in_use, stop_server, stop_child
source "$REPO_ROOT/scripts/lib/bench_common.sh"

build_dir="build"
data_dir="/tmp/cxp-bench-context-data"
reload=false
load_only=false
customers=100000
interactions=20
id_prefix="c"
load_concurrency=128
load_sync_writes=true
scenarios="get_customer_context append_interaction"
concurrencies="16 64"
rounds=3
duration="10s"
warmup="2s"
out_dir=""
server_warmup="60s"
server_args=()
server_args_given=false
ratio_args=()

need_value() { [[ $# -ge 2 ]] || die "$1 needs a value"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-dir) need_value "$@"; build_dir="$2"; shift 2 ;;
    --build-dir=*) build_dir="${1#*=}"; shift ;;
    --data-dir) need_value "$@"; data_dir="$2"; shift 2 ;;
    --data-dir=*) data_dir="${1#*=}"; shift ;;
    --reload) reload=true; shift ;;
    --load-only) load_only=true; shift ;;
    --customers) need_value "$@"; customers="$2"; shift 2 ;;
    --customers=*) customers="${1#*=}"; shift ;;
    --interactions) need_value "$@"; interactions="$2"; shift 2 ;;
    --interactions=*) interactions="${1#*=}"; shift ;;
    --id-prefix) need_value "$@"; id_prefix="$2"; shift 2 ;;
    --id-prefix=*) id_prefix="${1#*=}"; shift ;;
    --load-concurrency) need_value "$@"; load_concurrency="$2"; shift 2 ;;
    --load-concurrency=*) load_concurrency="${1#*=}"; shift ;;
    --load-sync-writes) need_value "$@"; load_sync_writes="$2"; shift 2 ;;
    --load-sync-writes=*) load_sync_writes="${1#*=}"; shift ;;
    --scenarios) need_value "$@"; scenarios="$2"; shift 2 ;;
    --scenarios=*) scenarios="${1#*=}"; shift ;;
    --concurrency) need_value "$@"; concurrencies="$2"; shift 2 ;;
    --concurrency=*) concurrencies="${1#*=}"; shift ;;
    --rounds) need_value "$@"; rounds="$2"; shift 2 ;;
    --rounds=*) rounds="${1#*=}"; shift ;;
    --duration) need_value "$@"; duration="$2"; shift 2 ;;
    --duration=*) duration="${1#*=}"; shift ;;
    --warmup) need_value "$@"; warmup="$2"; shift 2 ;;
    --warmup=*) warmup="${1#*=}"; shift ;;
    --out-dir) need_value "$@"; out_dir="$2"; shift 2 ;;
    --out-dir=*) out_dir="${1#*=}"; shift ;;
    --server-arg) need_value "$@"; server_args+=("$2"); server_args_given=true; shift 2 ;;
    --server-arg=*) server_args+=("${1#*=}"); server_args_given=true; shift ;;
    --server-warmup) need_value "$@"; server_warmup="$2"; shift 2 ;;
    --server-warmup=*) server_warmup="${1#*=}"; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; ratio_args=("$@"); break ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

[[ "$customers" =~ ^[1-9][0-9]*$ ]] || die "--customers wants a positive integer"
[[ "$interactions" =~ ^[0-9]+$ ]] || die "--interactions wants an integer"
[[ "$id_prefix" =~ ^[a-z][a-z0-9-]*$ ]] || die "--id-prefix wants [a-z][a-z0-9-]*"
[[ "$load_sync_writes" == true || "$load_sync_writes" == false ]] || die "--load-sync-writes wants true or false"

if [[ "$build_dir" != /* ]]; then
  if [[ -d "$PWD/$build_dir" ]]; then build_dir="$PWD/$build_dir"; else build_dir="$REPO_ROOT/$build_dir"; fi
fi
SERVER="$build_dir/context_service/context_service"
LOADER="$build_dir/bench/cxp_context_loader"
CORE_BENCH="$build_dir/bench/cxp_context_core_bench"
for bin in "$SERVER" "$LOADER" "$CORE_BENCH" "$build_dir/bench/cxp_loadgen" "$build_dir/bench/cxp_null_server"; do
  [[ -x "$bin" ]] || die "missing $bin; build it with: cmake --build $build_dir --target context_service cxp_loadgen cxp_null_server cxp_context_loader cxp_context_core_bench"
done
mkdir -p "$(dirname "$data_dir")"
data_dir="$(cd "$(dirname "$data_dir")" && pwd)/$(basename "$data_dir")"
if [[ -z "$out_dir" ]]; then
  out_dir="$(mktemp -d "${TMPDIR:-/tmp}/cxp-bench-context.XXXXXX")"
else
  mkdir -p "$out_dir"
fi

server_pid=""
child_pid=""
cleanup() {
  local rc=$?
  stop_child
  stop_server
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM


# start_server LOG ARGS...: context_service on a free loopback port over
# $data_dir/db, stdout (request log) to /dev/null; sets server_pid, server_addr.
start_server() {
  local log="$1"; shift
  local port
  for _ in 1 2 3 4 5; do
    port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
    port_in_use "$port" && continue
    "$SERVER" --listen "127.0.0.1:$port" --metrics_listen off --data_dir "$data_dir/db" \
      "$@" >/dev/null 2>"$log" &
    server_pid=$!
    # Opening a large store replays its WAL: allow a minute.
    for _ in $(seq 1 600); do
      if grep -q '"msg":"serving"' "$log" 2>/dev/null; then
        server_addr="127.0.0.1:$port"
        return 0
      fi
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    say "context_service did not start on port $port:"
    tail -n 5 "$log" >&2 || true
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  done
  say "could not start context_service"
  exit 1
}

# wait_idle: waits (up to 10 min) until the server uses under 5% of a core
# for 3 s in a row, i.e. RocksDB flushes and compactions are done.
wait_idle() {
  local ticks prev now quiet=0 waited=0
  ticks=$(getconf CLK_TCK)
  prev=$(awk '{print $14 + $15}' "/proc/$server_pid/stat")
  while (( waited < 600 )); do
    sleep 1
    waited=$((waited + 1))
    now=$(awk '{print $14 + $15}' "/proc/$server_pid/stat")
    if (( (now - prev) * 20 <= ticks )); then quiet=$((quiet + 1)); else quiet=0; fi
    prev=$now
    (( quiet >= 3 )) && { say "server idle after ${waited}s"; return 0; }
  done
  say "server still busy after ${waited}s; measuring anyway"
}

dataset_shape="customers=$customers interactions_per_customer=$interactions id_prefix=$id_prefix"

dataset_ready() {
  [[ -f "$data_dir/dataset.txt" ]] && grep -qxF "shape: $dataset_shape" "$data_dir/dataset.txt"
}

load_dataset() {
  if [[ -e "$data_dir" ]] && [[ -n "$(ls -A "$data_dir" 2>/dev/null)" ]] &&
     [[ ! -f "$data_dir/dataset.txt" && ! -f "$data_dir/loading" ]]; then
    die "$data_dir exists and is not a dataset of this script; not touching it (choose another --data-dir)"
  fi
  say "loading $dataset_shape into $data_dir (context_service --sync_writes=$load_sync_writes)"
  rm -rf "$data_dir/db" "$data_dir/settled" "$data_dir/dataset.txt"
  mkdir -p "$data_dir"
  date -u +%Y-%m-%dT%H:%M:%SZ >"$data_dir/loading"
  start_server "$data_dir/load_server.log" --sync_writes="$load_sync_writes" --log_requests=false
  local started=$SECONDS
  if ! run_child "$LOADER" --target "$server_addr" --customers "$customers" \
      --interactions "$interactions" --id_prefix "$id_prefix" \
      --concurrency "$load_concurrency" >"$data_dir/load.out" 2> >(tee "$data_dir/load.log" >&2); then
    tail -n 20 "$data_dir/load.log" >&2
    say "loading failed (see $data_dir/load.log)"
    exit 1
  fi
  local load_seconds=$((SECONDS - started))
  stop_server
  {
    echo "shape: $dataset_shape"
    echo "loaded: $(cat "$data_dir/loading") .. $(date -u +%Y-%m-%dT%H:%M:%SZ) (${load_seconds}s wall)"
    echo "load_sync_writes: $load_sync_writes"
    echo "load_concurrency: $load_concurrency"
    echo "loader: $(grep '^loaded:' "$data_dir/load.out" || true)"
    echo "db_size: $(du -sh "$data_dir/db" | cut -f1)"
  } >"$data_dir/dataset.txt"
  rm -f "$data_dir/loading"
  say "dataset ready: $(tr '\n' ';' <"$data_dir/dataset.txt")"
}

# settle_dataset: compacts the loaded db/ fully and keeps it as settled/.
settle_dataset() {
  say "settling the dataset: compacting every column family (a minute or two)"
  rm -rf "$data_dir/settled"
  if ! run_child "$CORE_BENCH" --data_dir "$data_dir/db" --op compact >"$data_dir/settle.out" 2>&1; then
    cat "$data_dir/settle.out" >&2
    say "compacting the dataset failed"
    exit 1
  fi
  cp -a "$data_dir/db" "$data_dir/settled.tmp"
  mv "$data_dir/settled.tmp" "$data_dir/settled"
  echo "settled: $(date -u +%Y-%m-%dT%H:%M:%SZ) $(cat "$data_dir/settle.out"), $(du -sh "$data_dir/settled" | cut -f1)" \
    >>"$data_dir/dataset.txt"
}

say "$(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
if $reload || ! dataset_ready; then
  load_dataset
else
  say "reusing the dataset in $data_dir: $(tr '\n' ';' <"$data_dir/dataset.txt")"
fi
[[ -d "$data_dir/settled" ]] || settle_dataset
$load_only && exit 0
# Every run measures the settled store, whatever earlier runs appended.
rm -rf "$data_dir/db"
cp -a "$data_dir/settled" "$data_dir/db"

# Caches sized to the dataset's hot set (~600 MB for 100 000 customers), as an
# operator would size them; --server-arg replaces these.
$server_args_given || server_args=(--block_cache_mb=1024 --context_cache_mb=1024)
start_server "$out_dir/context_service.log" ${server_args[@]+"${server_args[@]}"}
say "context_service on $server_addr (flags: ${server_args[*]:-defaults}), outputs in $out_dir"
if [[ "$server_warmup" != "0" && "$server_warmup" != "0s" ]]; then
  # A long-running server's caches hold its hot data; measure that state,
  # not the first pass over a cold cache.
  wait_idle
  say "warming the server's caches: get_customer_context for $server_warmup (not measured)"
  "$build_dir/bench/cxp_loadgen" --target "$server_addr" --scenario get_customer_context \
    --concurrency 64 --duration "$server_warmup" --warmup 0s \
    "--scenario_param=customers=$customers,id_prefix=$id_prefix" >"$out_dir/warmup.txt" 2>&1 ||
    die "warm-up failed: $(tail -3 "$out_dir/warmup.txt")"
fi

# The scenario's request log also goes to /dev/null; params address the dataset.
results=()
for scenario in $scenarios; do
  for c in $concurrencies; do
    wait_idle
    say "$scenario at concurrency $c (load average $(cut -d' ' -f1-3 /proc/loadavg))"
    base="$out_dir/$scenario.c$c"
    if ! run_child "$REPO_ROOT/scripts/bench_ratio.sh" --build-dir "$build_dir" \
        --target "$server_addr" --scenario "$scenario" --concurrency "$c" \
        --rounds "$rounds" --duration "$duration" --warmup "$warmup" --json "$base.json" \
        "--scenario-arg=--scenario_param=customers=$customers,id_prefix=$id_prefix" \
        ${ratio_args[@]+"${ratio_args[@]}"} >"$base.txt" 2> >(tee "$base.log" >&2); then
      cat "$base.txt" >&2
      say "bench_ratio failed for $scenario at concurrency $c"
      exit 1
    fi
    cat "$base.txt"
    results+=("$scenario:$c")
  done
done

# json_field FILE KEY: the scalar "KEY": value of a bench_ratio --json file.
json_field() {
  awk -v key="\"$2\":" '$1 == key { v = $2; sub(/,$/, "", v); gsub(/"/, "", v); print v; exit }' "$1"
}
# median of the scenario's per-round p50s.
median_p50() {
  grep -o '"scenario_p50_ms": [0-9.]*' "$1" | awk '{print $2}' | sort -g |
    awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo
echo "context_service benchmark: $dataset_shape; $(nproc) CPUs; rounds $rounds x $duration"
echo "dataset: $(grep -E '^(loaded|loader|load_sync_writes):' "$data_dir/dataset.txt" | tr '\n' ';')"
echo "load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf '| %-20s | %4s | %10s | %8s | %8s | %10s | %6s | %-11s | %-28s |\n' \
  scenario conc "req/s" "p50 ms" "p99 ms" "null req/s" ratio "rounds" "target (conc 64)"
printf '| %-20s | %4s | %10s | %8s | %8s | %10s | %6s | %-11s | %-28s |\n' \
  "---" "---:" "---:" "---:" "---:" "---:" "---:" "---" "---"
for item in "${results[@]}"; do
  scenario="${item%%:*}"; c="${item##*:}"
  j="$out_dir/$scenario.c$c.json"
  rps=$(json_field "$j" scenario_rps_median)
  p99=$(json_field "$j" scenario_p99_ms_median)
  nrps=$(json_field "$j" null_rps_median)
  ratio=$(json_field "$j" ratio)
  rmin=$(json_field "$j" round_ratio_min)
  rmax=$(json_field "$j" round_ratio_max)
  p50=$(median_p50 "$j")
  verdict="-"
  if [[ "$c" == 64 ]]; then
    case "$scenario" in
      get_customer_context)
        verdict=$(awk -v r="$ratio" -v p="$p99" 'BEGIN {
          ok = (r >= 0.60 && p < 10); printf "%s (>=0.60, p99<10ms)", (ok ? "MET" : "NOT MET") }') ;;
      append_interaction)
        verdict=$(awk -v r="$ratio" 'BEGIN { printf "%s (>=0.40)", ((r >= 0.40) ? "MET" : "NOT MET") }') ;;
    esac
  fi
  printf '| %-20s | %4s | %10.0f | %8.3f | %8.3f | %10.0f | %6.3f | %-11s | %-28s |\n' \
    "$scenario" "$c" "$rps" "$p50" "$p99" "$nrps" "$ratio" \
    "$(printf '%.2f-%.2f' "$rmin" "$rmax")" "$verdict"
done
echo
echo "outputs: $out_dir"
