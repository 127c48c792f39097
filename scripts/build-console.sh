#!/usr/bin/env bash
# Builds the web console (console/) into build/console, which the gateway serves at /.
# node_modules is installed with `npm ci` from the lock into the cache, keyed by the lock's
# hash (like the Python venv), and linked into console/; the build reruns only when a source
# file is newer than the last build. Prints the build folder.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${TIANSHU_CACHE:-$HOME/.cache/tianshu}
cd "$here"

key=$( (cat console/package-lock.json; node --version) | sha256sum | cut -c1-16)
modules="$cache/console-$key"
if [ ! -f "$modules/.complete" ]; then
  echo ">> installing the console's npm packages into $modules" >&2
  rm -rf "$modules"
  mkdir -p "$modules"
  cp console/package.json console/package-lock.json "$modules/"
  (cd "$modules" && npm ci --no-audit --no-fund --loglevel=error) >&2
  touch "$modules/.complete"
fi
ln -sfn "$modules/node_modules" console/node_modules

out="$here/build/console"
if [ ! -f "$out/index.html" ] || \
   [ -n "$(find console -path console/node_modules -prune -o -type f -newer "$out/index.html" -print -quit)" ]; then
  (cd console && CONSOLE_OUT_DIR="$out" npm run --silent build) >&2
fi
echo "$out"
