"""deploy/docker/grpc_health_check.py, the Python images' HEALTHCHECK, against a real gRPC
health service on the port the RAG service's settings give (TIANSHU_RAG_PORT): healthy only
when it answers SERVING."""
from __future__ import annotations

import os
import subprocess
import sys
from concurrent import futures

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from code_settings import ROOT

SCRIPT = ROOT / "deploy/docker/grpc_health_check.py"


@pytest.fixture
def health_server():
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield servicer, port
    server.stop(None)


def _check(port: int) -> subprocess.CompletedProcess:
    # As in the image: the service's package beside the script (/opt/app there).
    path = os.pathsep.join([str(ROOT / "python-common/src"), str(ROOT / "python-rag/src"), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "TIANSHU_RAG_PORT": str(port), "PYTHONPATH": path}
    return subprocess.run([sys.executable, str(SCRIPT), "rag"], env=env,
                          capture_output=True, text=True, timeout=30)


def test_serving_is_healthy(health_server):
    servicer, port = health_server
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    assert _check(port).returncode == 0


def test_not_serving_is_unhealthy_and_says_so(health_server):
    servicer, port = health_server
    servicer.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
    result = _check(port)
    assert result.returncode == 1
    assert "NOT_SERVING" in result.stderr


def test_no_server_is_unhealthy():
    result = _check(1)  # nothing listens on port 1
    assert result.returncode == 1
    assert "UNAVAILABLE" in result.stderr
