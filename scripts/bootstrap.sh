#!/usr/bin/env bash
# Installs whatever is missing for the local stack, caching heavy things outside the
# clone (venv, converted model, ~/.m2, buf), and writes build/env for later steps.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${TIANSHU_CACHE:-$HOME/.cache/tianshu}
cd "$here"
step() { printf '\n== %s\n' "$*" >&2; }

step "Python environment"
venv=$(scripts/bootstrap-python.sh)
echo "   $venv" >&2

step "gRPC stubs for Python (from proto/)"
scripts/gen-python-protos.sh "$venv"

step "Default models"
PYTHONPATH="$here/build/gen/python:$here/python-common/src:$here/python-inference/src" TIANSHU_INFERENCE_CACHE_DIR="$cache" \
  "$venv/bin/python" -m tianshu_inference.model_store >&2

step "buf (proto lint)"
buf_dir="$cache/buf-1.75.0"
if [ ! -x "$buf_dir/node_modules/.bin/buf" ]; then
  npm install --silent --no-audit --no-fund --prefix "$buf_dir" @bufbuild/buf@1.75.0 >&2
fi

step "Kafka broker jars (Maven Central; for local runs and tests)"
kafka_libs=$(scripts/fetch-kafka.sh "$cache")
echo "   $kafka_libs" >&2

step "Java gateway (Maven; first run downloads dependencies into ~/.m2)"
if [ ! -f java-gateway/target/tianshu-gateway.jar ] || \
   [ -n "$(find java-gateway/pom.xml java-gateway/src proto -newer java-gateway/target/tianshu-gateway.jar -print -quit)" ]; then
  mvn -B -q -f java-gateway/pom.xml -DskipTests package >&2
fi

step "Web console (npm packages cached by the lock's hash; built into build/console)"
console_dir=$(scripts/build-console.sh)
echo "   $console_dir" >&2

step "Chromium and CJK fonts (the console's browser tests drive Debian's build; its screenshots show Chinese)"
if [ -x /usr/bin/chromium ] && [ -d /usr/share/fonts/opentype/noto ]; then
  echo "   $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)" >&2
elif [ "$(id -u)" = 0 ]; then
  apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-noto-cjk >&2
else
  echo "   install Debian's chromium and fonts-noto-cjk packages (not root here)" >&2
fi

mkdir -p build
cat > build/env <<ENV
VENV=$venv
BUF=$buf_dir/node_modules/.bin/buf
PYTHONPATH=$here/build/gen/python:$here/python-common/src:$here/python-inference/src:$here/python-rag/src:$here/python-batch/src
KAFKA_LIBS=$kafka_libs
CONSOLE_DIR=$console_dir
ENV
step "bootstrap done"
