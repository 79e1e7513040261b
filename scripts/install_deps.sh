#!/usr/bin/env bash
# Installs every Debian 12 package CXP needs to build, test and run, and the
# pinned npm packages (buf, from tools/buf/package-lock.json; the Node.js
# example client's gRPC libraries, from clients/node/package-lock.json; the
# Kubernetes manifest validator, from tools/k8s-validate/package-lock.json).
#
# Idempotent: it asks dpkg what is missing, runs `apt-get update` once only
# when something is, and installs only that. Run as root (or with sudo).
# Nothing else is ever downloaded: the build itself is offline.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config git ca-certificates
  # libraries (C++ -dev packages)
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libabsl-dev librocksdb-dev libgtest-dev libgmock-dev libbenchmark-dev
  prometheus-cpp-dev libcurl4-openssl-dev libssl-dev libphonenumber-dev
  libkainjow-mustache-dev
  # HTTP server: notify_service's one-click unsubscribe listener, and the
  # local webhook receiver of the notify delivery benchmark (bench/notify)
  libcivetweb-dev
  # IANA time-zone data: business hours, quiet hours and customer time zones
  # (Abseil reads /usr/share/zoneinfo; a slim image may lack it)
  tzdata
  # allocator linked into the service binaries (docs/performance.md: glibc
  # malloc was the largest single server cost)
  libjemalloc-dev
  # tests: partner client in Python (Debian's python3-* belong to /usr/bin/python3),
  # local SMTP server, certificates for TLS tests
  python3 python3-grpcio python3-protobuf python3-aiosmtpd openssl curl
)

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install_deps: run as root" >&2; exit 1; }
  SUDO="sudo"
fi

missing=()
for package in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
# kubectl renders the Kubernetes manifests (deploy/k8s, tests/deploy) with its
# built-in kustomize. Debian's kubernetes-client only when no kubectl is on
# PATH: a newer one already installed is kept (the manifests render with both).
if ! command -v kubectl >/dev/null; then
  missing+=(kubernetes-client)
fi
# buf (proto lint/breaking) comes from npm; any Node.js with npm will do.
if ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi

if [[ ${#missing[@]} -gt 0 ]]; then
  echo "install_deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install_deps: all Debian packages present"
fi

# Pinned npm packages: `npm ci` in DIR (from its package-lock.json) unless
# every package its package.json pins is installed at that version.
npm_ci_pinned() {
  local dir="$REPO_ROOT/$1" what="$2"
  if ! (cd "$dir" && node -e '
    const pkg = require("./package.json");
    const pins = Object.assign({}, pkg.dependencies, pkg.devDependencies);
    for (const [name, version] of Object.entries(pins)) {
      if (require("./node_modules/" + name + "/package.json").version !== version) process.exit(1);
    }' 2>/dev/null); then
    echo "install_deps: installing $what from $1/package-lock.json"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}
npm_ci_pinned tools/buf "buf (proto lint/breaking)"
npm_ci_pinned clients/node "the Node.js example client's gRPC packages"
npm_ci_pinned tools/k8s-validate "the Kubernetes manifest validator (tests/deploy)"
