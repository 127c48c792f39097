"""Metric names the platform exports, for checking the dashboard and the alert rules.

Two sources: names defined in this repository's code (prometheus_client in the Python
services, Micrometer meters in the gateway), extracted from the source; and names fixed by
third-party exporters, listed below each with the thing in the repository that brings it.
"""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_PYTHON_METRIC = re.compile(r"\b(Counter|Gauge|Histogram|Summary)\(\s*\"([a-zA-Z_:][a-zA-Z0-9_:]*)\"")
# Micrometer meters the gateway registers itself: Gauge.builder("a.b", ...), Counter.builder(...),
# or a helper named after the kind taking (registry, "a.b", ...). Micrometer's Prometheus naming
# turns dots into underscores and adds the kind's suffixes.
_MICROMETER_METER = re.compile(r"\b(gauge|counter|timer)[\w.]*\(\s*(?:\w+\s*,\s*)?\"([a-z][a-z0-9]*(?:\.[a-z0-9]+)+)\"",
                               re.IGNORECASE)
_MICROMETER_SUFFIXES = {"gauge": ("",), "counter": ("_total",), "timer": ("_seconds_count", "_seconds_sum", "_seconds_max")}

# Exported by libraries and exporters, not by code in this repository. Each entry names the
# file and the text in it that brings the exporter, so removing it fails the test.
THIRD_PARTY = {
    # Spring Boot Actuator's http.server.requests timer (no histogram buckets unless enabled).
    "http_server_requests_seconds_count": ("java-gateway/pom.xml", "spring-boot-starter-actuator"),
    "http_server_requests_seconds_sum": ("java-gateway/pom.xml", "spring-boot-starter-actuator"),
    "http_server_requests_seconds_max": ("java-gateway/pom.xml", "spring-boot-starter-actuator"),
    # resilience4j's Micrometer binding of the per-instance breakers and bulkheads.
    "resilience4j_circuitbreaker_state": ("java-gateway/pom.xml", "resilience4j-spring-boot3"),
    "resilience4j_bulkhead_available_concurrent_calls": ("java-gateway/pom.xml", "resilience4j-spring-boot3"),
    # kafka-exporter beside the broker (docker-compose.yml; Strimzi's Kafka Exporter on Kubernetes).
    "kafka_consumergroup_lag": ("docker-compose.yml", "danielqsj/kafka-exporter"),
    # Prometheus itself, for every scrape target.
    "up": ("deploy/prometheus/prometheus.yml", "scrape_configs"),
}


def code_metrics() -> dict[str, Path]:
    """Every series name the services' own code exports -> the file defining it."""
    names: dict[str, Path] = {}
    for path in sorted(ROOT.glob("python-*/src/**/*.py")):
        for kind, name in _PYTHON_METRIC.findall(path.read_text()):
            for series in _prometheus_client_series(kind, name):
                names[series] = path.relative_to(ROOT)
    for path in sorted((ROOT / "java-gateway/src/main/java").rglob("*.java")):
        for kind, meter in _MICROMETER_METER.findall(path.read_text()):
            for suffix in _MICROMETER_SUFFIXES[kind.lower()]:
                names[meter.replace(".", "_") + suffix] = path.relative_to(ROOT)
    return names


def _prometheus_client_series(kind: str, name: str) -> list[str]:
    if kind == "Counter":
        return [name if name.endswith("_total") else f"{name}_total"]
    if kind == "Histogram":
        return [f"{name}_bucket", f"{name}_sum", f"{name}_count"]
    if kind == "Summary":
        return [name, f"{name}_sum", f"{name}_count"]
    return [name]


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_MATCHERS = re.compile(r"\{[^}]*\}")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_RANGE = re.compile(r"\[[^\]]*\]")
_IDENTIFIER = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_KEYWORDS = {"bool", "and", "or", "unless", "offset", "inf", "nan"}


def queried_metrics(expression: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers that are not functions, keywords,
    labels (inside {...} or by (...)) or durations."""
    for pattern in (_STRING, _MATCHERS, _GROUPING, _RANGE):
        expression = pattern.sub(" ", expression)
    expression = re.sub(r"\b\d+(?:\.\d+)?(?:e[+-]?\d+)?\b", " ", expression)
    names = set()
    for match in _IDENTIFIER.finditer(expression):
        is_function = expression[match.end():].lstrip().startswith("(")
        if not is_function and match.group().lower() not in _KEYWORDS:
            names.add(match.group())
    return names
