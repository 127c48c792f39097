#!/usr/bin/env bash
# Runs every suite after bootstrap; runs them all even if one fails, then exits non-zero
# if any did. TIANSHU_TEST_ONLY=proto|inference|rag|batch|gateway|cross|deploy runs only
# those named (comma-separated: TIANSHU_TEST_ONLY=rag,cross).
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
# shellcheck disable=SC1091
source build/env
export PYTHONPATH
only=${TIANSHU_TEST_ONLY:-}
failed=()
suite() {
  local name=$1; shift
  [ -n "$only" ] && [[ ",$only," != *",$name,"* ]] && return 0
  printf '\n== suite: %s\n' "$name"
  if "$@"; then echo "== suite $name: passed"; else echo "== suite $name: FAILED"; failed+=("$name"); fi
}

proto_checks() {
  (cd proto && "$BUF" lint) || return 1
  # Breaking-change check of the contracts against the previous commit, once it has them.
  if git cat-file -e HEAD~1:proto/buf.yaml 2>/dev/null; then
    (cd proto && "$BUF" breaking --against "$here/.git#ref=HEAD~1,subdir=proto") || return 1
  fi
  echo "buf lint and breaking checks passed"
}

# Deployment files (compose, Dockerfiles, Kubernetes, Prometheus, Grafana) checked with their
# own validators, fetched once into the cache; no service is started.
deploy_checks() {
  scripts/fetch-deploy-tools.sh || return 1
  "$VENV/bin/python" -m pytest -q -p no:cacheprovider tests/deploy
}

suite proto proto_checks
suite inference "$VENV/bin/python" -m pytest -q -p no:cacheprovider python-inference/tests
suite rag "$VENV/bin/python" -m pytest -q -p no:cacheprovider python-rag/tests
suite batch "$VENV/bin/python" -m pytest -q -p no:cacheprovider python-batch/tests
suite gateway mvn -B -f java-gateway/pom.xml verify
suite cross "$VENV/bin/python" -m pytest -q -p no:cacheprovider --ignore=tests/deploy tests
suite deploy deploy_checks

echo
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED suites: ${failed[*]}"
  exit 1
fi
echo "all suites passed"
