#!/usr/bin/env bash
# Measures a load-generator scenario and the null RPC in the same run and
# prints scenario_rps / null_rps (see docs/performance.md).
#
# It starts cxp_null_server on a free loopback port with a temporary data dir,
# then alternates rounds (null, scenario, null, scenario, ...) so that drift on
# a noisy machine hits both sides alike, and prints every round plus the
# medians of requests/s and p99 and the ratio of the medians. Without
# --target the scenario also runs against the null server (a self-check: the
# ratio of `--scenario null` to itself should be about 1).
#
# Usage:
#   scripts/bench_ratio.sh [--build-dir DIR] [--target HOST:PORT] [--scenario NAME]
#       [--concurrency N] [--connections N] [--threads N] [--duration 10s]
#       [--warmup 2s] [--rounds 3] [--json FILE] [--scenario-arg ARG]...
#       [--null-server-arg ARG]... [-- EXTRA_LOADGEN_ARGS...]
#
#   --build-dir DIR        build tree holding bench/cxp_loadgen and
#                          bench/cxp_null_server (default: build; relative to
#                          the current directory, else to the repo root)
#   --target HOST:PORT     server the scenario runs against (default: the null
#                          server this script starts)
#   --scenario NAME        built-in loadgen scenario (default: null); empty
#                          with --scenario-arg --method=... for a method run
#   --scenario-arg ARG     extra loadgen argument for the scenario runs only
#                          (repeatable), e.g. --scenario-arg=--api_key=KEY
#   --null-server-arg ARG  extra cxp_null_server flag (repeatable), e.g.
#                          --null-server-arg=--log_requests=false
#   --rounds N             null+scenario pairs (default 3)
#   --json FILE            also write the rounds, medians and ratio as JSON
#   -- ARGS                passed to every loadgen run (null and scenario)
#
# The null server's request log (stdout) goes to /dev/null: start the target
# the same way (or pass --log_requests=false to both) for a fair comparison.
# Exit status: 0 on success, 1 when a loadgen run fails (errors, no
# connection), 2 on bad usage or a missing binary.

set -euo pipefail

usage() { sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0"; }
die() { echo "bench_ratio: $*" >&2; exit 2; }

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

build_dir="build"
target=""
scenario=""
concurrency=64
connections=4
threads=""
duration="10s"
warmup="2s"
rounds=3
json_out=""
scenario_args=()
null_server_args=()
extra_args=()

need_value() { [[ $# -ge 2 ]] || die "$1 needs a value"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-dir) need_value "$@"; build_dir="$2"; shift 2 ;;
    --build-dir=*) build_dir="${1#*=}"; shift ;;
    --target) need_value "$@"; target="$2"; shift 2 ;;
    --target=*) target="${1#*=}"; shift ;;
    --scenario) need_value "$@"; scenario="$2"; shift 2 ;;
    --scenario=*) scenario="${1#*=}"; shift ;;
    --concurrency) need_value "$@"; concurrency="$2"; shift 2 ;;
    --concurrency=*) concurrency="${1#*=}"; shift ;;
    --connections) need_value "$@"; connections="$2"; shift 2 ;;
    --connections=*) connections="${1#*=}"; shift ;;
    --threads) need_value "$@"; threads="$2"; shift 2 ;;
    --threads=*) threads="${1#*=}"; shift ;;
    --duration) need_value "$@"; duration="$2"; shift 2 ;;
    --duration=*) duration="${1#*=}"; shift ;;
    --warmup) need_value "$@"; warmup="$2"; shift 2 ;;
    --warmup=*) warmup="${1#*=}"; shift ;;
    --rounds) need_value "$@"; rounds="$2"; shift 2 ;;
    --rounds=*) rounds="${1#*=}"; shift ;;
    --json) need_value "$@"; json_out="$2"; shift 2 ;;
    --json=*) json_out="${1#*=}"; shift ;;
    --scenario-arg) need_value "$@"; scenario_args+=("$2"); shift 2 ;;
    --scenario-arg=*) scenario_args+=("${1#*=}"); shift ;;
    --null-server-arg) need_value "$@"; null_server_args+=("$2"); shift 2 ;;
    --null-server-arg=*) null_server_args+=("${1#*=}"); shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; extra_args=("$@"); break ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || die "--rounds wants a positive integer, got '$rounds'"
if [[ -z "$scenario" && ${#scenario_args[@]} -eq 0 ]]; then
  [[ -z "$target" ]] || die "--target needs --scenario (or --scenario-arg --method=...)"
  scenario="null"
fi

if [[ "$build_dir" != /* ]]; then
  if [[ -d "$PWD/$build_dir" ]]; then
    build_dir="$PWD/$build_dir"
  else
    build_dir="$REPO_ROOT/$build_dir"
  fi
fi
LOADGEN="$build_dir/bench/cxp_loadgen"
NULL_SERVER="$build_dir/bench/cxp_null_server"
for bin in "$LOADGEN" "$NULL_SERVER"; do
  [[ -x "$bin" ]] || die "missing $bin; build it with: cmake --build $build_dir --target cxp_loadgen cxp_null_server"
done

WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/cxp-bench-ratio.XXXXXX")"
server_pid=""
loadgen_pid=""
cleanup() {
  local rc=$?
  if [[ -n "$loadgen_pid" ]]; then
    kill -TERM "$loadgen_pid" 2>/dev/null || true
    wait "$loadgen_pid" 2>/dev/null || true
  fi
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$WORK_DIR"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# port_in_use
source "$REPO_ROOT/scripts/lib/bench_common.sh"

# Starts the null server on a free loopback port; sets server_pid, null_port.
start_null_server() {
  local attempt port log
  for attempt in 1 2 3 4 5; do
    port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
    port_in_use "$port" && continue
    log="$WORK_DIR/null_server.$attempt.log"
    mkdir -p "$WORK_DIR/data.$attempt"
    "$NULL_SERVER" --listen "127.0.0.1:$port" --data_dir "$WORK_DIR/data.$attempt" \
      ${null_server_args[@]+"${null_server_args[@]}"} >/dev/null 2>"$log" &
    server_pid=$!
    for _ in $(seq 1 150); do
      if grep -q '"msg":"serving"' "$log" 2>/dev/null || port_in_use "$port"; then
        null_port="$port"
        return 0
      fi
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    echo "bench_ratio: cxp_null_server did not start on port $port:" >&2
    tail -n 5 "$log" >&2 || true
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  done
  echo "bench_ratio: could not start cxp_null_server" >&2
  exit 1
}

# json_field FILE KEY: the scalar value of "KEY": in a cxp_loadgen --json file.
json_field() {
  awk -v key="\"$2\":" '$1 == key { v = $2; sub(/,$/, "", v); gsub(/"/, "", v); print v; exit }' "$1"
}

# median of the numbers given as arguments.
median() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "nan"; exit }
    if (NR % 2) printf "%.4f\n", v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

start_null_server
null_target="127.0.0.1:$null_port"
scenario_target="${target:-$null_target}"

common_args=(--concurrency "$concurrency" --connections "$connections"
             --duration "$duration" --warmup "$warmup")
[[ -n "$threads" ]] && common_args+=(--threads "$threads")
scenario_cmd=(--target "$scenario_target")
[[ -n "$scenario" ]] && scenario_cmd+=(--scenario "$scenario")
scenario_cmd+=(${scenario_args[@]+"${scenario_args[@]}"})
scenario_label="${scenario:-${scenario_args[*]}}"

# run_loadgen KIND ROUND ARGS...: one loadgen run; results in $WORK_DIR/KIND.ROUND.json.
run_loadgen() {
  local kind="$1" round="$2"; shift 2
  local out="$WORK_DIR/$kind.$round"
  echo "bench_ratio: round $round/$rounds: $kind ..." >&2
  # In the background + wait, so a TERM/INT to this script is handled at once.
  "$LOADGEN" "$@" "${common_args[@]}" ${extra_args[@]+"${extra_args[@]}"} \
    --json "$out.json" >"$out.txt" 2>&1 &
  loadgen_pid=$!
  local rc=0
  wait "$loadgen_pid" || rc=$?
  loadgen_pid=""
  if [[ $rc -ne 0 ]]; then
    echo "bench_ratio: cxp_loadgen failed (exit $rc) in round $round ($kind):" >&2
    cat "$out.txt" >&2
    exit 1
  fi
}

cpu_model="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)"
echo "bench_ratio: $(nproc) CPUs (${cpu_model:-unknown}), load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')" >&2
echo "bench_ratio: null server on $null_target; scenario '$scenario_label' on $scenario_target" >&2

null_rps=(); null_p50=(); null_p99=(); sc_rps=(); sc_p50=(); sc_p99=(); pair_ratio=()
for round in $(seq 1 "$rounds"); do
  run_loadgen null "$round" --target "$null_target" --scenario null
  run_loadgen scenario "$round" "${scenario_cmd[@]}"
  null_rps+=("$(json_field "$WORK_DIR/null.$round.json" rps)")
  null_p50+=("$(json_field "$WORK_DIR/null.$round.json" p50)")
  null_p99+=("$(json_field "$WORK_DIR/null.$round.json" p99)")
  sc_rps+=("$(json_field "$WORK_DIR/scenario.$round.json" rps)")
  sc_p50+=("$(json_field "$WORK_DIR/scenario.$round.json" p50)")
  sc_p99+=("$(json_field "$WORK_DIR/scenario.$round.json" p99)")
  pair_ratio+=("$(awk -v a="${sc_rps[-1]}" -v b="${null_rps[-1]}" 'BEGIN { printf "%.4f", (b > 0 ? a / b : 0) }')")
done

med_null_rps="$(median "${null_rps[@]}")"
med_null_p99="$(median "${null_p99[@]}")"
med_sc_rps="$(median "${sc_rps[@]}")"
med_sc_p99="$(median "${sc_p99[@]}")"
ratio="$(awk -v a="$med_sc_rps" -v b="$med_null_rps" 'BEGIN { printf "%.4f", (b > 0 ? a / b : 0) }')"
med_pair="$(median "${pair_ratio[@]}")"
min_pair="$(printf '%s\n' "${pair_ratio[@]}" | sort -g | head -n 1)"
max_pair="$(printf '%s\n' "${pair_ratio[@]}" | sort -g | tail -n 1)"

echo
echo "scenario: $scenario_label on $scenario_target; null: $null_target"
echo "concurrency $concurrency, connections $connections, duration $duration, warmup $warmup, rounds $rounds"
echo
printf '%-6s %-9s %12s %10s %10s %12s\n' round kind "req/s" "p50 ms" "p99 ms" "vs null"
for i in $(seq 0 $((rounds - 1))); do
  printf '%-6s %-9s %12.1f %10.3f %10.3f %12s\n' "$((i + 1))" null "${null_rps[$i]}" "${null_p50[$i]}" "${null_p99[$i]}" ""
  printf '%-6s %-9s %12.1f %10.3f %10.3f %12.3f\n' "$((i + 1))" scenario "${sc_rps[$i]}" "${sc_p50[$i]}" "${sc_p99[$i]}" "${pair_ratio[$i]}"
done
echo
printf '%-16s req/s %12.1f   p99 %8.3f ms\n' "median null" "$med_null_rps" "$med_null_p99"
printf '%-16s req/s %12.1f   p99 %8.3f ms\n' "median scenario" "$med_sc_rps" "$med_sc_p99"
echo
echo "per-round ratios: median $med_pair (min $min_pair, max $max_pair)"
echo "ratio = scenario_rps / null_rps = $ratio"

if [[ -n "$json_out" ]]; then
  {
    echo "{"
    printf '  "date": "%s",\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    printf '  "nproc": %s,\n' "$(nproc)"
    printf '  "cpu_model": "%s",\n' "${cpu_model//\"/}"
    printf '  "scenario": "%s",\n' "${scenario_label//\"/\\\"}"
    printf '  "scenario_target": "%s",\n' "$scenario_target"
    printf '  "concurrency": %s,\n  "connections": %s,\n' "$concurrency" "$connections"
    printf '  "duration": "%s",\n  "warmup": "%s",\n' "$duration" "$warmup"
    echo '  "rounds": ['
    for i in $(seq 0 $((rounds - 1))); do
      printf '    {"round": %d, "null_rps": %s, "null_p50_ms": %s, "null_p99_ms": %s, "scenario_rps": %s, "scenario_p50_ms": %s, "scenario_p99_ms": %s, "ratio": %s}%s\n' \
        "$((i + 1))" "${null_rps[$i]}" "${null_p50[$i]}" "${null_p99[$i]}" \
        "${sc_rps[$i]}" "${sc_p50[$i]}" "${sc_p99[$i]}" "${pair_ratio[$i]}" \
        "$([[ $i -lt $((rounds - 1)) ]] && echo , || true)"
    done
    echo '  ],'
    printf '  "null_rps_median": %s,\n  "null_p99_ms_median": %s,\n' "$med_null_rps" "$med_null_p99"
    printf '  "scenario_rps_median": %s,\n  "scenario_p99_ms_median": %s,\n' "$med_sc_rps" "$med_sc_p99"
    printf '  "round_ratio_median": %s,\n  "round_ratio_min": %s,\n  "round_ratio_max": %s,\n' \
      "$med_pair" "$min_pair" "$max_pair"
    printf '  "ratio": %s\n' "$ratio"
    echo "}"
  } >"$json_out"
  echo "bench_ratio: wrote $json_out" >&2
fi
