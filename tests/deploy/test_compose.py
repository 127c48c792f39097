"""docker-compose.yml (and the GPU override) as Docker Compose itself reads them, and the
addresses in them pointing at ports the services really listen on."""
from __future__ import annotations

import json
import re

import pytest
import yaml

from code_settings import ROOT, service_settings
from conftest import report, run

FILE_SETS = {"cpu": ["docker-compose.yml"], "gpu": ["docker-compose.yml", "docker-compose.gpu.yml"]}
# The gRPC/HTTP port and the metrics port of each Tianshu service, by the variable setting it.
PORT_VARIABLES = {"inference": "TIANSHU_INFERENCE_PORT", "rag": "TIANSHU_RAG_PORT", "batch": "TIANSHU_BATCH_PORT",
                  "gateway": "TIANSHU_GATEWAY_PORT"}
METRICS_PORT_VARIABLES = {"inference": "TIANSHU_INFERENCE_METRICS_PORT", "rag": "TIANSHU_RAG_METRICS_PORT",
                          "batch": "TIANSHU_BATCH_METRICS_PORT", "gateway": "TIANSHU_GATEWAY_PORT"}


def _config(tools, files: list[str]) -> dict:
    argv = [tools["DOCKER_COMPOSE"]] + [a for f in files for a in ("-f", f)] + ["config", "--format", "json"]
    result = run(argv)
    assert result.returncode == 0, report(result)
    return json.loads(result.stdout)


@pytest.mark.parametrize("file_set", FILE_SETS)
def test_compose_files_are_valid(tools, file_set):
    result = run([tools["DOCKER_COMPOSE"]] + [a for f in FILE_SETS[file_set] for a in ("-f", f)] + ["config", "-q"])
    assert result.returncode == 0, report(result)


def test_gpu_override_builds_cuda_inference_and_reserves_gpus(tools):
    inference = _config(tools, FILE_SETS["gpu"])["services"]["inference"]
    assert inference["build"]["args"]["VLLM_FLAVOR"] == "cuda"
    devices = inference["deploy"]["resources"]["reservations"]["devices"]
    assert any("gpu" in device["capabilities"] for device in devices)


def _port(service: str, environment: dict, variables: dict) -> str:
    variable = variables[service]
    return str(environment.get(variable) or service_settings()[service][variable].default)


def test_service_addresses_point_at_ports_the_services_listen_on(tools):
    services = _config(tools, FILE_SETS["cpu"])["services"]
    problems = []
    for name in PORT_VARIABLES:
        for variable, value in (services[name].get("environment") or {}).items():
            if not re.search(r"_TARGETS?$", variable):
                continue
            for target in str(value).split(","):
                host, _, port = target.rpartition(":")
                if host not in PORT_VARIABLES:
                    problems.append(f"{name}: {variable}={value} names no Tianshu service")
                elif port != _port(host, services[host].get("environment") or {}, PORT_VARIABLES):
                    problems.append(f"{name}: {variable}={value}, but {host} listens on "
                                    f"{_port(host, services[host].get('environment') or {}, PORT_VARIABLES)}")
    assert not problems, "\n".join(problems)


def test_prometheus_scrapes_each_service_on_its_metrics_port(tools):
    services = _config(tools, FILE_SETS["cpu"])["services"]
    scrape = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())["scrape_configs"]
    targets = {job["job_name"]: job["static_configs"][0]["targets"] for job in scrape}
    problems = []
    for name in METRICS_PORT_VARIABLES:
        expected = f"{name}:{_port(name, services[name].get('environment') or {}, METRICS_PORT_VARIABLES)}"
        if targets.get(name) != [expected]:
            problems.append(f"job {name} scrapes {targets.get(name)}, the service serves metrics on {expected}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("file_set", FILE_SETS)
def test_chinese_collections_get_an_embedding_model_the_inference_service_serves(tools, file_set):
    services = _config(tools, FILE_SETS[file_set])["services"]
    settings = service_settings()
    served = (services["inference"].get("environment") or {}).get(
        "TIANSHU_INFERENCE_ZH_EMBED_MODEL_ID", settings["inference"]["TIANSHU_INFERENCE_ZH_EMBED_MODEL_ID"].default)
    asked = (services["rag"].get("environment") or {}).get(
        "TIANSHU_RAG_CHINESE_EMBEDDING_MODEL", settings["rag"]["TIANSHU_RAG_CHINESE_EMBEDDING_MODEL"].default)
    assert served and asked == served
