#!/usr/bin/env bash
# Configures and builds CXP into ./build (or $CXP_BUILD_DIR). Extra arguments
# go to `cmake --build` (e.g. --target context_service).
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${CXP_BUILD_DIR:-$REPO_ROOT/build}"
if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
  cmake -S "$REPO_ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
cmake --build "$BUILD_DIR" -j "$(nproc)" "$@"
