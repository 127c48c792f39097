"""A gRPC client of the suite's server under test: one channel for the session and a stub
on it per test, a fresh tenant per test, and what tests read of a server from outside (a
free port, its /metrics page)."""
from __future__ import annotations

import socket
import urllib.request
import uuid
from dataclasses import dataclass

import grpc
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families


@dataclass(frozen=True)
class ServiceUnderTest:
    """What a suite's `service_under_test` fixture (session scope) returns: the port of its
    started server and the generated stub class to call it with."""
    port: int
    stub_class: type


@pytest_asyncio.fixture(scope="session")
async def channel(service_under_test: ServiceUnderTest):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{service_under_test.port}") as channel:
        yield channel


@pytest.fixture
def stub(channel, service_under_test: ServiceUnderTest):
    return service_under_test.stub_class(channel)


@pytest.fixture
def tenant() -> str:
    """A fresh tenant per test, so tests never see each other's data."""
    return f"tenant-{uuid.uuid4().hex[:12]}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(port: int) -> str:
    """The /metrics page a server serves on `port`, as Prometheus text."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return response.read().decode()


def metric_value(text: str, name: str, **labels: str) -> float:
    """The value of one series in a Prometheus text page, whatever the label order; 0 if absent."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0
