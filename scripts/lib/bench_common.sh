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
