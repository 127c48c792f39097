#!/bin/sh
# Publishes tianshu-gateway.yaml (next to this script) to Nacos through its open API, retrying
# while Nacos starts. Env: NACOS_URL (http://nacos:8848), NACOS_GROUP, NACOS_NAMESPACE.
# Used by docker-compose.yml and by the Kubernetes seed Job; exits non-zero after ~3 minutes.
set -eu
here=$(dirname "$0")
url=${NACOS_URL:-http://nacos:8848}
for attempt in $(seq 1 60); do
  if answer=$(curl -fsS -X POST "$url/nacos/v2/cs/config" \
      --data-urlencode "dataId=tianshu-gateway.yaml" \
      --data-urlencode "group=${NACOS_GROUP:-DEFAULT_GROUP}" \
      --data-urlencode "namespaceId=${NACOS_NAMESPACE:-}" \
      --data-urlencode "type=yaml" \
      --data-urlencode "content@$here/tianshu-gateway.yaml" 2>&1); then
    echo "published tianshu-gateway.yaml to $url: $answer"
    exit 0
  fi
  echo "attempt $attempt: Nacos not ready ($answer)" >&2
  sleep 3
done
echo "gave up publishing tianshu-gateway.yaml to $url" >&2
exit 1
