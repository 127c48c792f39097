#!/usr/bin/env bash
# Builds (once) the Python virtualenv for every Python part of Tianshu and prints its path.
# The venv lives outside the clone, keyed by the lock file's hash, so a fresh clone with
# an unchanged lock reuses it and a changed lock builds a new one beside it.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${TIANSHU_CACHE:-$HOME/.cache/tianshu}
python=${PYTHON:-python3}
mkdir -p "$cache"

lock="$here/requirements/python.lock"
key=$( (cat "$lock"; "$python" -c 'import sys; print(sys.version)') | sha256sum | cut -c1-16)
venv="$cache/venv-$key"

if [ -x "$venv/bin/python" ] && [ -f "$venv/.complete" ]; then
  echo "$venv"; exit 0
fi

# uv resolves and installs the 6 GB of vLLM + torch wheels several times faster than pip.
tools="$cache/tools"
if [ ! -x "$tools/bin/uv" ]; then
  echo ">> installing uv into $tools" >&2
  "$python" -m venv "$tools" >&2
  "$tools/bin/pip" install -q "uv==0.13.8" >&2
fi

echo ">> building Python venv $venv (first time: several GB of wheels, a few minutes)" >&2
# Built in place (console scripts carry absolute paths); .complete marks a finished build,
# so an interrupted one is simply redone.
rm -rf "$venv"
"$tools/bin/uv" venv -q --python "$(command -v "$python")" "$venv" >&2
"$tools/bin/uv" pip sync -q --python "$venv/bin/python" "$lock" >&2
touch "$venv/.complete"
echo "$venv"
