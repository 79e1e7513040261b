#!/usr/bin/env bash
# The run command (README): installs what is missing, builds, and runs the
# whole platform in the foreground until Ctrl-C: context_service,
# routing_service and notify_service on their default loopback ports, data
# under ./data/<service>, and a local SMTP sink (aiosmtpd) that keeps
# notify_service's email in ./data/smtp-sink. Flags after the command go to
# every service (e.g. --log_requests=false), except --demo: once the services
# accept connections, load the demo data set and print commands to try on it
# (scripts/load_demo.sh). Ctrl-C (or SIGTERM) drains all three and exits.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${CXP_BUILD_DIR:-$REPO_ROOT/build}"
DATA_DIR="${CXP_DATA_DIR:-$REPO_ROOT/data}"

"$REPO_ROOT/scripts/install_deps.sh"
"$REPO_ROOT/scripts/build.sh" --target context_service routing_service notify_service cxpctl

# --demo is ours; everything else goes to the services. With
# --api_keys_file, the demo loader calls with that file's first key.
demo=0
service_args=()
loader_args=()
previous=""
for arg in "$@"; do
  if [[ $arg == --demo ]]; then demo=1; else service_args+=("$arg"); fi
  if [[ $arg == --api_keys_file=* ]]; then loader_args=(--api_key_file "${arg#--api_keys_file=}"); fi
  if [[ $previous == --api_keys_file ]]; then loader_args=(--api_key_file "$arg"); fi
  previous="$arg"
done

mkdir -p "$DATA_DIR"
pids=()
interrupted=0
stopping=0
stop() {
  trap - INT TERM
  [[ $stopping -eq 1 ]] && return 0  # once, from the trap or after `wait -n`
  stopping=1
  echo "cxp: stopping (draining in-flight calls)..." >&2
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
}
trap 'interrupted=1; stop' INT TERM

start() {
  local name="$1" listen="$2" metrics="$3"; shift 3
  "$BUILD_DIR/$name/$name" --listen="$listen" --metrics_listen="$metrics" \
      --data_dir="$DATA_DIR/$name" "$@" &
  pids+=($!)
  printf 'cxp: %-16s gRPC %-17s metrics http://%s/metrics  data %s\n' \
      "$name" "$listen" "$metrics" "$DATA_DIR/$name" >&2
}
# A local SMTP sink for notify_service's email: messages land as files in a
# maildir under the data folder instead of going out.
mkdir -p "$DATA_DIR/smtp-sink"/{tmp,new,cur}  # a maildir
/usr/bin/python3 -m aiosmtpd -n -l 127.0.0.1:2525 -c aiosmtpd.handlers.Mailbox \
    "$DATA_DIR/smtp-sink" &
pids+=($!)
printf 'cxp: %-16s SMTP %-17s mail in %s/{new,cur}\n' smtp-sink 127.0.0.1:2525 \
    "$DATA_DIR/smtp-sink" >&2

start context_service 127.0.0.1:50051 127.0.0.1:9101 "${service_args[@]}"
start routing_service 127.0.0.1:50052 127.0.0.1:9102 "${service_args[@]}"
start notify_service  127.0.0.1:50053 127.0.0.1:9103 --smtp_host=127.0.0.1 --smtp_port=2525 \
    --smtp_starttls=none --smtp_from="CXP <notify@cxp.localhost>" "${service_args[@]}"
if [[ $demo -eq 1 ]]; then
  # The services keep running whether or not this works.
  CXP_BUILD_DIR="$BUILD_DIR" "$REPO_ROOT/scripts/load_demo.sh" "${loader_args[@]}" ||
      echo "cxp: loading the demo data failed (see above); the services keep running" >&2
fi
echo "cxp: running; Ctrl-C to stop" >&2

# If any service exits on its own, stop the others and report its status.
status=0
wait -n "${pids[@]}" || status=$?
stop
wait "${pids[@]}" 2>/dev/null || true
if [[ $interrupted -eq 1 ]]; then status=0; fi  # Ctrl-C: a clean stop
exit "$status"
