#!/bin/sh
# Publishes tianshu-gateway.yaml (next to this script) to Nacos 3 through its admin API,
# retrying while Nacos starts; exits non-zero after about 3 minutes.
# Env: NACOS_URL (http://nacos:8848), NACOS_GROUP (DEFAULT_GROUP), NACOS_NAMESPACE (public),
# NACOS_IDENTITY_KEY / NACOS_IDENTITY_VALUE: the server identity pair Nacos was started with
# (NACOS_AUTH_IDENTITY_KEY/VALUE), which its admin API accepts in place of a user login.
# Used by docker-compose.yml's nacos-seed; on Kubernetes run it once against your Nacos.
set -eu
here=$(dirname "$0")
url=${NACOS_URL:-http://nacos:8848}
for attempt in $(seq 1 60); do
  if answer=$(curl -fsS -X POST "$url/nacos/v3/admin/cs/config" \
      -H "${NACOS_IDENTITY_KEY:-tianshu}: ${NACOS_IDENTITY_VALUE:-tianshu}" \
      --data-urlencode "dataId=tianshu-gateway.yaml" \
      --data-urlencode "groupName=${NACOS_GROUP:-DEFAULT_GROUP}" \
      --data-urlencode "namespaceId=${NACOS_NAMESPACE:-public}" \
      --data-urlencode "type=yaml" \
      --data-urlencode "content@$here/tianshu-gateway.yaml" 2>&1) && \
     echo "$answer" | grep -q '"code":0'; then
    echo "published tianshu-gateway.yaml to $url: $answer"
    exit 0
  fi
  echo "attempt $attempt: not published yet ($answer)" >&2
  sleep 3
done
echo "gave up publishing tianshu-gateway.yaml to $url" >&2
exit 1
