#!/usr/bin/env bash
# Renders every kustomize overlay under deploy/k8s/overlays with
# `kubectl kustomize` and runs one check on the result:
#   validate  every object is valid against the Kubernetes API schema
#             (validate_manifests.js, kubernetes-models);
#   ports     probes, Services, scrape annotations, NetworkPolicies agree with
#             the services' --listen / --metrics_listen / --health_listen
#             flags, and every service serves TLS from its Secret
#             (check_ports.js).
# kubectl (Debian's kubernetes-client, kustomize built in) and the npm tools
# (tools/k8s-validate) come from scripts/install_deps.sh; when the pinned npm
# tools are missing they are installed with `npm ci` like scripts/buf_lint.sh.
#
# Usage: tests/deploy/k8s_test.sh validate|ports
set -euo pipefail

check="${1:?usage: k8s_test.sh validate|ports}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$root/tests/deploy"
tools="$root/tools/k8s-validate"

command -v kubectl >/dev/null || { echo "k8s_test: kubectl missing (run scripts/install_deps.sh)" >&2; exit 1; }
command -v node >/dev/null || { echo "k8s_test: node missing (run scripts/install_deps.sh)" >&2; exit 1; }
if [[ ! -d "$tools/node_modules/kubernetes-models" || ! -d "$tools/node_modules/yaml" ]]; then
  echo "k8s_test: installing the pinned validator (npm ci in tools/k8s-validate)" >&2
  (cd "$tools" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi

case "$check" in
  validate) script="$here/validate_manifests.js" ;;
  ports) script="$here/check_ports.js" ;;
  *) echo "k8s_test: unknown check $check" >&2; exit 2 ;;
esac

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
overlays=()
for dir in "$root"/deploy/k8s/overlays/*/; do
  name="$(basename "$dir")"
  # Newer kustomize warns about bases/patchesStrategicMerge, which the
  # manifests keep for Debian 12's kustomize 2.0: drop only those warnings.
  if ! kubectl kustomize "$dir" >"$out/$name.yaml" 2>"$out/$name.err"; then
    echo "k8s_test: kubectl kustomize deploy/k8s/overlays/$name failed:" >&2
    cat "$out/$name.err" >&2
    exit 1
  fi
  grep -v "is deprecated. Please use" "$out/$name.err" >&2 || true
  overlays+=("$out/$name.yaml")
done
[[ ${#overlays[@]} -ge 2 ]] || { echo "k8s_test: expected the dev and prod overlays, found ${#overlays[@]}" >&2; exit 1; }
echo "k8s_test: rendered ${#overlays[@]} overlays with $(kubectl version --client --short 2>/dev/null || kubectl version --client 2>/dev/null | head -1)"
node "$script" "${overlays[@]}"
