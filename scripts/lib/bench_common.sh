# Shell helpers shared by the benchmark scripts (sourced, not run).
#
# run_child CMD...: runs CMD in the background and waits, so INT/TERM reach
# the caller's trap at once (which stops CMD through $child_pid). Returns
# CMD's exit status.
run_child() {
  "$@" &
  child_pid=$!
  local rc=0
  wait "$child_pid" || rc=$?
  child_pid=""
  return "$rc"
}

# port_in_use PORT: whether something listens on PORT (loopback or any).
port_in_use() {
  local port="$1"
  if command -v ss >/dev/null 2>&1; then
    ss -Htln 2>/dev/null | awk '{print $4}' | grep -qE "[:.]${port}\$"
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
  fi
}

# stop_server: stops the server whose pid is in $server_pid (SIGTERM, up to
# 30 s to drain, then SIGKILL) and clears it; nothing if none.
stop_server() {
  [[ -n "${server_pid:-}" ]] || return 0
  if kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 300); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

# stop_child: stops the run_child command still running, if any.
stop_child() {
  if [[ -n "${child_pid:-}" ]]; then
    kill -TERM "$child_pid" 2>/dev/null || true
    wait "$child_pid" 2>/dev/null || true
  fi
}
