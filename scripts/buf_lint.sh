#!/usr/bin/env bash
# Lints the API contracts under protos/ with buf (rules: protos/buf.yaml,
# STANDARD). Exits non-zero on any finding. Works from any directory.
#
# buf is pinned in tools/buf/package.json and installed with `npm ci` into
# tools/buf/node_modules the first time (or when the pinned version changes);
# later runs need no network.
#
# Usage: scripts/buf_lint.sh [extra buf lint flags, e.g. --error-format=json]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
buf_dir="$root/tools/buf"
buf="$buf_dir/node_modules/.bin/buf"

want="$(sed -n 's/.*"@bufbuild\/buf": *"\([^"]*\)".*/\1/p' "$buf_dir/package.json")"
if [[ ! -x "$buf" ]] || [[ "$("$buf" --version 2>/dev/null)" != "$want" ]]; then
  echo "buf_lint: installing buf $want (npm ci in tools/buf)" >&2
  (cd "$buf_dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi

cd "$root"
"$buf" lint protos "$@"
echo "buf_lint: protos/ is clean (buf $want, STANDARD)"
