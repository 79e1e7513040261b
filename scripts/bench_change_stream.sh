#!/usr/bin/env bash
# The change stream's benchmark (docs/performance.md, "Change stream"):
# one WatchChanges watcher while appends run.
#
#   1. live: a watcher from now while cxp_loadgen appends for --duration,
#      --batch interactions per BatchAppendInteractions call (1: single
#      AppendInteraction calls), calls started at --append-rate events/s
#      divided by the batch (open loop, at most --concurrency outstanding;
#      --append-rate 0: as fast as --concurrency closed-loop callers go);
#      reports events/s, the slowest whole second, and the lag of every
#      event (arrival minus commit time). The watcher asks for up to
#      --watch-batch events per response (WatchChangesRequest.max_batch_size;
#      1: one event per message).
#   2. replay: with the appends running again (stopped once it is done), a
#      second watcher replays the whole log from sequence 0 until it has
#      caught up with the live writes (at most 120 s); reports events/s.
# Target (issue: context_service part 2): at least 20 000 events/s to one
# watcher while appends run, never more than 1 s behind — judged on the
# live phase: every whole second delivers 20 000 events and no event
# arrives more than 1 s after its commit.
#
# Usage:
#   scripts/bench_change_stream.sh [--build-dir DIR] [--data-dir DIR]
#       [--concurrency 64] [--duration 15] [--batch 10] [--append-rate 22000]
#       [--watch-batch 256]
#       [-- SERVER_FLAGS...]
#
# --data-dir is a loaded dataset (default the settled copy that
# scripts/bench_context.sh keeps, /tmp/cxp-bench-context-data/settled); it
# is copied, never written. Builds nothing: build context_service,
# cxp_loadgen and cxp_change_watcher in --build-dir first.
set -euo pipefail

build_dir=build
data_dir=/tmp/cxp-bench-context-data/settled
concurrency=64
duration=15
batch=10
append_rate=22000
watch_batch=256
server_flags=(--block_cache_mb=1024 --context_cache_mb=1024)

die() { echo "bench_change_stream: $*" >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-dir) build_dir="$2"; shift 2 ;;
    --data-dir) data_dir="$2"; shift 2 ;;
    --concurrency) concurrency="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --batch) batch="$2"; shift 2 ;;
    --append-rate) append_rate="$2"; shift 2 ;;
    --watch-batch) watch_batch="$2"; shift 2 ;;
    --help|-h) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --) shift; server_flags=("$@"); break ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
server="$build_dir/context_service/context_service"
loadgen="$build_dir/bench/cxp_loadgen"
watcher="$build_dir/bench/cxp_change_watcher"
for binary in "$server" "$loadgen" "$watcher"; do
  [[ -x "$binary" ]] || die "missing $binary (build it first)"
done
[[ -d "$data_dir" ]] || die "no dataset in $data_dir (scripts/bench_context.sh --load-only makes one)"

work=$(mktemp -d)
trap 'kill ${load_pid:-} ${server_pid:-} 2>/dev/null || true; rm -rf "$work"' EXIT
cp -a "$data_dir" "$work/db"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$server" --listen "127.0.0.1:$port" --metrics_listen off --data_dir "$work/db" \
  "${server_flags[@]}" >/dev/null 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 1 300); do
  grep -q '"msg":"serving' "$work/server.log" 2>/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || die "server exited: $(tail -3 "$work/server.log")"
  sleep 0.2
done
target="127.0.0.1:$port"
if [[ "$batch" == 1 ]]; then
  load_args=(--scenario append_interaction)
else
  load_args=(--scenario batch_append_interactions --scenario_param "batch=$batch")
fi
if [[ "$append_rate" != 0 ]]; then
  load_args+=(--rate "$(python3 -c "print($append_rate / $batch)")")
fi

echo "== live: watcher from now, appends ($batch per call, ${append_rate} interactions/s, 0 = closed loop) at concurrency $concurrency for ${duration}s"
"$watcher" --target "$target" --duration "$((duration + 1))s" --json "$work/live.json" \
  --max_batch_size "$watch_batch" \
  >"$work/live.txt" &
watch_pid=$!
sleep 0.5
"$loadgen" --target "$target" "${load_args[@]}" --concurrency "$concurrency" \
  --duration "${duration}s" --warmup 0s >"$work/load1.txt"
wait "$watch_pid"
cat "$work/live.txt"
grep -m1 'Requests/sec' "$work/load1.txt" | sed "s/^ */  append calls ($batch interactions each): /"

echo "== replay: watcher from sequence 0 while appends run again"
"$loadgen" --target "$target" "${load_args[@]}" --concurrency "$concurrency" \
  --duration 150s --warmup 0s >"$work/load2.txt" &
load_pid=$!
sleep 1
"$watcher" --target "$target" --after_sequence 0 --until_caught_up --duration 120s \
  --max_batch_size "$watch_batch" \
  --json "$work/replay.json" >"$work/replay.txt"
cat "$work/replay.txt"
kill "$load_pid" 2>/dev/null || true
wait "$load_pid" 2>/dev/null || true
load_pid=

python3 - "$work/live.json" "$work/replay.json" <<'PY'
import json, sys
live = json.load(open(sys.argv[1]))
replay = json.load(open(sys.argv[2]))
rate_ok = live["slowest_second_events"] >= 20000
lag_ok = live["lag_ms_max"] <= 1000 and live["out_of_order"] == 0
print("\n| phase | events | events/s | slowest second | lag p50 ms | lag p99 ms | lag max ms |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
print("| live | %d | %.0f | %d | %.1f | %.1f | %.1f |" % (live["events"],
      live["events_per_second"], live["slowest_second_events"], live["lag_ms_p50"],
      live["lag_ms_p99"], live["lag_ms_max"]))
print("| replay | %d | %.0f | | | | |" % (replay["events"], replay["events_per_second"]))
print("\nlive: every second >= 20000 events while appends run: %s" %
      ("met" if rate_ok else "NOT MET"))
print("live: watcher never more than 1 s behind:             %s" % ("met" if lag_ok else "NOT MET"))
sys.exit(0 if rate_ok and lag_ok else 1)
PY
