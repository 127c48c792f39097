#!/usr/bin/env bash
# Generates the Python gRPC stubs of every proto/ package into build/gen/python (ignored
# by git). Usage: gen-python-protos.sh VENV
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
venv=$1
out="$here/build/gen/python"
rm -rf "$out" && mkdir -p "$out"
mapfile -t protos < <(cd "$here/proto" && find tianshu -name '*.proto' | sort)
(cd "$here/proto" && "$venv/bin/python" -m grpc_tools.protoc -I . \
  --python_out="$out" --pyi_out="$out" --grpc_python_out="$out" "${protos[@]}")
# Namespace packages need no __init__.py, but an explicit one keeps tools (and pytest's
# rootdir logic) from guessing.
find "$out/tianshu" -type d -exec touch {}/__init__.py \;
