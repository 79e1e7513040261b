#!/usr/bin/env bash
# Checks the working-tree API contracts under protos/ for breaking changes
# (buf FILE rules, see protos/buf.yaml) against a git reference:
#
#   buf breaking protos --against '<repo>/.git#ref=REF,subdir=protos'
#
# Usage: scripts/buf_breaking.sh [REF]
#   REF  a tag, branch or commit. Default: the latest tag reachable from
#        HEAD if there is one (i.e. the last release), else HEAD (i.e. the
#        last committed protos, so only uncommitted edits are checked).
#
# If REF has no .proto files under protos/ (e.g. before the first contracts
# were committed), there is nothing to compare: prints so and exits 0.
# Exits non-zero on any breaking change. Works from any directory; installs
# the pinned buf like scripts/buf_lint.sh.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
buf_dir="$root/tools/buf"
buf="$buf_dir/node_modules/.bin/buf"

want="$(sed -n 's/.*"@bufbuild\/buf": *"\([^"]*\)".*/\1/p' "$buf_dir/package.json")"
if [[ ! -x "$buf" ]] || [[ "$("$buf" --version 2>/dev/null)" != "$want" ]]; then
  echo "buf_breaking: installing buf $want (npm ci in tools/buf)" >&2
  (cd "$buf_dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi

cd "$root"
ref="${1:-}"
if [[ -z "$ref" ]]; then
  ref="$(git describe --tags --abbrev=0 2>/dev/null || echo HEAD)"
fi
if ! commit="$(git rev-parse --verify --quiet "${ref}^{commit}")"; then
  echo "buf_breaking: unknown git reference '$ref'" >&2
  exit 2
fi

if ! git ls-tree -r --name-only "$commit" -- protos/ | grep -q '\.proto$'; then
  echo "buf_breaking: $ref ($commit) has no protos under protos/; nothing to compare"
  exit 0
fi

# buf clones the repository to read REF, so point it at the git directory
# that holds the objects (also right for worktrees).
git_dir="$(cd "$(git rev-parse --git-common-dir)" && pwd)"
"$buf" breaking protos --against "${git_dir}#ref=${commit},subdir=protos"
echo "buf_breaking: no breaking changes against $ref ($commit)"
