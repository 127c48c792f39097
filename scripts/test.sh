#!/usr/bin/env bash
# Runs every suite after bootstrap; runs them all even if one fails, then exits non-zero
# if any did. TIANSHU_TEST_ONLY=proto|common|inference|rag|batch|gateway|cross|deploy runs
# only those named (comma-separated: TIANSHU_TEST_ONLY=rag,cross); the others are listed as
# SKIPPED and the summary never calls a filtered run "all suites passed". CI ignores the
# variable (.ci/run unsets it).
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
# shellcheck disable=SC1091
source build/env
export PYTHONPATH
only=${TIANSHU_TEST_ONLY:-}
suites=(proto common inference rag batch gateway cross deploy)
if [ -n "$only" ]; then
  for name in ${only//,/ }; do
    [[ " ${suites[*]} " == *" $name "* ]] || { echo "TIANSHU_TEST_ONLY names no suite '$name'; suites: ${suites[*]}" >&2; exit 2; }
  done
fi
failed=()
skipped=()
# Checks that could not run inside a suite that passed (e.g. buf breaking without history).
partial=()
suite() {
  local name=$1; shift
  if [ -n "$only" ] && [[ ",$only," != *",$name,"* ]]; then
    echo "== suite $name: SKIPPED (not in TIANSHU_TEST_ONLY=$only)"; skipped+=("$name"); return 0
  fi
  printf '\n== suite: %s\n' "$name"
  if "$@"; then echo "== suite $name: passed"; else echo "== suite $name: FAILED"; failed+=("$name"); fi
}

proto_checks() {
  (cd proto && "$BUF" lint) || return 1
  echo "buf lint passed"
  # Breaking-change check of the contracts against a base: TIANSHU_PROTO_BASE (any git ref,
  # e.g. the branch a change is merged into) when set, else the previous commit.
  local base=${TIANSHU_PROTO_BASE:-HEAD~1}
  if ! git rev-parse -q --verify "$base^{commit}" >/dev/null || ! git cat-file -e "$base:proto/buf.yaml" 2>/dev/null; then
    echo "buf breaking: SKIPPED (no commit '$base' with proto/ in this clone; set TIANSHU_PROTO_BASE to compare)"
    partial+=("proto: buf breaking skipped, no base '$base'")
    return 0
  fi
  (cd proto && "$BUF" breaking --against "$here/.git#ref=$(git rev-parse "$base"),subdir=proto") || return 1
  echo "buf breaking passed against $base ($(git rev-parse --short "$base"))"
}

# Deployment files (compose, Dockerfiles, Kubernetes, Prometheus, Grafana) checked with their
# own validators, fetched once into the cache; no service is started.
deploy_checks() {
  scripts/fetch-deploy-tools.sh || return 1
  "$VENV/bin/python" -m pytest -q -p no:cacheprovider tests/deploy
}

suite proto proto_checks
suite common "$VENV/bin/python" -m pytest -q -p no:cacheprovider python-common/tests
suite inference "$VENV/bin/python" -m pytest -q -p no:cacheprovider python-inference/tests
suite rag "$VENV/bin/python" -m pytest -q -p no:cacheprovider python-rag/tests
suite batch "$VENV/bin/python" -m pytest -q -p no:cacheprovider python-batch/tests
suite gateway mvn -B -f java-gateway/pom.xml verify
suite cross "$VENV/bin/python" -m pytest -q -p no:cacheprovider --ignore=tests/deploy tests
suite deploy deploy_checks

echo
[ ${#skipped[@]} -gt 0 ] && echo "SKIPPED suites: ${skipped[*]}"
for p in "${partial[@]}"; do echo "SKIPPED check: $p"; done
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED suites: ${failed[*]}"
  exit 1
fi
if [ ${#skipped[@]} -gt 0 ]; then
  echo "passed: the ${#suites[@]} suites less the ${#skipped[@]} skipped above (not a full run)"
elif [ ${#partial[@]} -gt 0 ]; then
  echo "all suites passed, with the checks skipped above"
else
  echo "all suites passed"
fi
