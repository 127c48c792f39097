"""The dashboard and the alert rules query only series that something really exports: the
services' own metrics (names extracted from the code) or a named third-party exporter."""
from __future__ import annotations

import json

import yaml

from code_metrics import ROOT, THIRD_PARTY, code_metrics, queried_metrics

DASHBOARDS = sorted((ROOT / "deploy/grafana/dashboards").glob("*.json"))
RULES = sorted((ROOT / "deploy/prometheus/rules").glob("*.yml"))
DATASOURCES = ROOT / "deploy/grafana/provisioning/datasources/tianshu.yml"
# What the dashboard must show (the operations issue's list), by a series that carries it.
REQUIRED_SIGNALS = {
    "request rate, errors and latency per route": "http_server_requests_seconds_count",
    "latency per route": "http_server_requests_seconds_sum",
    "time to first token": "tianshu_inference_time_to_first_token_seconds_bucket",
    "tokens/s": "tianshu_inference_completion_tokens_total",
    "queue depth": "tianshu_inference_waiting_requests",
    "circuit-breaker states": "resilience4j_circuitbreaker_state",
    "batch throughput": "tianshu_batch_lines_total",
    "consumer lag": "kafka_consumergroup_lag",
}


def _panels(dashboard: dict):
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def _dashboard_queries():
    for path in DASHBOARDS:
        for panel in _panels(json.loads(path.read_text())):
            for target in panel.get("targets", []):
                yield path, panel["title"], target["expr"]


def _rule_queries():
    for path in RULES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                yield path, rule.get("alert") or rule.get("record"), rule["expr"]


def _unexported(queries) -> list[str]:
    exported = set(code_metrics()) | set(THIRD_PARTY)
    return [f"{path.relative_to(ROOT)}: {title!r} queries {metric}, which nothing exports"
            for path, title, expression in queries for metric in sorted(queried_metrics(expression))
            if metric not in exported]


def test_dashboard_queries_only_exported_metrics():
    assert DASHBOARDS
    problems = _unexported(_dashboard_queries())
    assert not problems, "\n".join(problems)


def test_alert_rules_query_only_exported_metrics():
    assert RULES
    problems = _unexported(_rule_queries())
    assert not problems, "\n".join(problems)


def test_each_third_party_metric_has_its_exporter_in_the_repository():
    missing = [f"{metric}: {path} no longer contains {marker!r}" for metric, (path, marker) in THIRD_PARTY.items()
               if marker not in (ROOT / path).read_text()]
    assert not missing, "\n".join(missing)


def test_dashboard_shows_every_required_signal():
    queried = {metric for _, _, expression in _dashboard_queries() for metric in queried_metrics(expression)}
    missing = [f"{signal} ({metric})" for signal, metric in REQUIRED_SIGNALS.items() if metric not in queried]
    assert not missing, "the dashboard has no panel for: " + ", ".join(missing)


def test_dashboard_data_sources_are_provisioned():
    provisioned = {source["uid"] for source in yaml.safe_load(DATASOURCES.read_text())["datasources"]}
    used = {(path.name, panel["title"], panel["datasource"]["uid"]) for path in DASHBOARDS
            for panel in _panels(json.loads(path.read_text())) if panel.get("datasource")}
    unknown = [f"{name}: panel {title!r} uses data source {uid!r}" for name, title, uid in sorted(used)
               if uid not in provisioned]
    assert not unknown, "\n".join(unknown)
