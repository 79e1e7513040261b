#!/usr/bin/env bash
# Fails unless every given binary runs on jemalloc (cxp_use_jemalloc in
# cmake/CxpHelpers.cmake; why: docs/performance.md). Two checks per binary:
#   1. libjemalloc is a direct NEEDED entry (not dropped by --as-needed);
#   2. in a real run (`--help`), the dynamic linker binds every reference to
#      `malloc` and `free` to libjemalloc, never to libc: jemalloc is the
#      allocator in effect, not merely loaded.
#
# Usage: jemalloc_linked_test.sh BINARY...
set -euo pipefail

[[ $# -gt 0 ]] || { echo "usage: $0 BINARY..." >&2; exit 2; }

failures=0
fail() {
  echo "FAIL $1: $2" >&2
  failures=$((failures + 1))
}

for binary in "$@"; do
  name=$(basename "$binary")
  if [[ ! -x "$binary" ]]; then
    fail "$name" "no executable at $binary"
    continue
  fi

  # Read the whole section first: with pipefail, `readelf | grep -q` fails
  # when grep exits at the first match and readelf's next write gets SIGPIPE
  # (dynamic sections longer than one stdio buffer).
  dynamic=$(readelf -d "$binary")
  if ! grep -q 'NEEDED.*\[libjemalloc\.so' <<<"$dynamic"; then
    fail "$name" "libjemalloc is not a NEEDED entry (readelf -d); link it with cxp_use_jemalloc"
    continue
  fi

  # Abseil's --help exits non-zero; only the dynamic linker's log matters.
  bindings=$(LD_DEBUG=bindings "$binary" --help 2>&1 >/dev/null || true)
  for symbol in malloc free; do
    bound=$(grep -E "normal symbol \`${symbol}'" <<<"$bindings" || true)
    if [[ -z "$bound" ]]; then
      fail "$name" "no binding of '$symbol' seen under LD_DEBUG=bindings"
    elif outside=$(grep -v -m1 'libjemalloc\.so' <<<"$bound"); then
      fail "$name" "'$symbol' is bound outside jemalloc: $outside"
    fi
  done
  [[ $failures -gt 0 ]] || echo "ok $name: NEEDED libjemalloc; malloc and free bind to it"
done

if [[ $failures -gt 0 ]]; then
  echo "$failures failure(s)" >&2
  exit 1
fi
