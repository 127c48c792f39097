"""Prometheus's configuration and alert rules pass promtool."""
from __future__ import annotations

import pytest
import yaml

from code_settings import ROOT
from conftest import report, run

CONFIG = ROOT / "deploy/prometheus/prometheus.yml"
RULES = sorted((ROOT / "deploy/prometheus/rules").glob("*.yml"))


def test_prometheus_config_is_valid(tools, tmp_path):
    # The config names the rules where the container mounts them; point it at the repository's.
    config = yaml.safe_load(CONFIG.read_text())
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    config["rule_files"] = [str(ROOT / "deploy/prometheus/rules/*.yml")]
    checked = tmp_path / "prometheus.yml"
    checked.write_text(yaml.safe_dump(config))
    result = run([tools["PROMTOOL"], "check", "config", str(checked)])
    assert result.returncode == 0, report(result)


@pytest.mark.parametrize("rules", RULES, ids=lambda p: p.name)
def test_alert_rules_are_valid(tools, rules):
    result = run([tools["PROMTOOL"], "check", "rules", str(rules)])
    assert result.returncode == 0, report(result)


def test_alert_rules_fire_on_trouble_and_stay_quiet_otherwise(tools):
    tests = sorted((ROOT / "deploy/prometheus/tests").glob("*.test.yml"))
    assert tests
    result = run([tools["PROMTOOL"], "test", "rules", *map(str, tests)])
    assert result.returncode == 0, report(result)
