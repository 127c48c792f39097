#!/usr/bin/env bash
# Copies the jars of a single-node Kafka broker (deploy/kafka/pom.xml) from Maven Central
# into CACHE/kafka-VERSION/libs, once; prints that folder. Usage: fetch-kafka.sh CACHE
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cache=$1
pom="$here/deploy/kafka/pom.xml"
version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom")
libs="$cache/kafka-$version/libs"
if [ ! -f "$libs/kafka_2.13-$version.jar" ]; then
  # Into a fresh folder first, so an interrupted download is never taken for a finished one.
  partial="$cache/kafka-$version/libs.partial.$$"
  rm -rf "$partial"
  mvn -B -q -f "$pom" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$partial" >&2
  rm -rf "$libs" && mv "$partial" "$libs"
fi
echo "$libs"
