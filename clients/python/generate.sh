#!/usr/bin/env bash
# Generates the Python CXP client from protos/ into OUT_DIR (default: ./gen).
# Needs Debian's protobuf-compiler and protobuf-compiler-grpc; the generated
# code runs on Debian's python3-grpcio and python3-protobuf (/usr/bin/python3).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
protos="${CXP_PROTOS:-$here/../../protos}"
out="${1:-$here/gen}"
mkdir -p "$out"
cd "$protos"
protoc -I . -I /usr/include --python_out="$out" --grpc_python_out="$out" \
  --plugin=protoc-gen-grpc_python="$(command -v grpc_python_plugin)" \
  $(find cxp -name '*.proto' | sort)
