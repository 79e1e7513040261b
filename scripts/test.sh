#!/usr/bin/env bash
# The test command (README, .ci/run): installs what is missing, builds
# everything, and runs the whole suite with ctest: C++ unit and server tests,
# proto lint (buf STANDARD), and the partner-client tests. Exits non-zero if
# any test fails. Extra arguments go to ctest (e.g. -R server_test).
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${CXP_BUILD_DIR:-$REPO_ROOT/build}"
"$REPO_ROOT/scripts/install_deps.sh"
"$REPO_ROOT/scripts/build.sh"
cd "$BUILD_DIR"
ctest --output-on-failure --timeout 600 -j "$(nproc)" "$@"
