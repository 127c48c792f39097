"""Fixtures of the deploy suite: the validators scripts/fetch-deploy-tools.sh installed, and
the Kubernetes manifests rendered by kustomize. Nothing here starts a service."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TOOLS_ENV = ROOT / "build" / "deploy-tools.env"
OVERLAYS = ("cpu", "gpu")


def run(argv: list[str], stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=ROOT, input=stdin, capture_output=True, text=True, timeout=300)


def report(result: subprocess.CompletedProcess) -> str:
    return f"$ {' '.join(map(str, result.args))}\n{result.stdout}{result.stderr}"


@pytest.fixture(scope="session")
def tools() -> dict[str, str]:
    if not TOOLS_ENV.is_file():
        pytest.fail(f"{TOOLS_ENV} is missing: run scripts/fetch-deploy-tools.sh "
                    "(`TIANSHU_TEST_ONLY=deploy make test` runs it first)")
    return dict(line.split("=", 1) for line in TOOLS_ENV.read_text().splitlines() if "=" in line)


@pytest.fixture(scope="session")
def rendered(tools) -> dict[str, list[dict]]:
    """Each overlay of deploy/k8s rendered by kustomize: {"cpu": [manifest, ...], "gpu": [...]}."""
    manifests = {}
    for overlay in OVERLAYS:
        result = run([tools["KUBECTL"], "kustomize", f"deploy/k8s/overlays/{overlay}"])
        assert result.returncode == 0, report(result)
        manifests[overlay] = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    return manifests
