"""Builds a service's gRPC server (interceptors, health, reflection), and runs a server until
SIGINT/SIGTERM: start (models, pools), its start-up objects frozen out of garbage collection
(heap.py) and its event loop's lag measured (loop_lag.py), then on the signal an orderly stop."""
from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from prometheus_client import Counter

from . import heap, loop_lag
from .errors import ErrorInterceptor
from .telemetry import TelemetryInterceptor

log = logging.getLogger(__name__)


class Stoppable(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


async def serve_until_signalled(server: Stoppable) -> None:
    """A signal during a slow start (models loading) stops at once instead of after it."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    starting = asyncio.create_task(server.start())
    await asyncio.wait([starting, asyncio.create_task(stopping.wait())], return_when=asyncio.FIRST_COMPLETED)
    if starting.done() and starting.exception():
        await server.stop()
        raise starting.exception()
    lag = None
    if starting.done():
        heap.freeze_startup_objects()
        lag = asyncio.create_task(loop_lag.watch(), name="loop-lag")
    await stopping.wait()
    log.info("stop signal received; draining")
    starting.cancel()
    if lag is not None:
        lag.cancel()
    await server.stop()


@dataclass
class GrpcServer:
    """A grpc.aio server with the shared interceptors, health (per service and overall) and
    reflection, bound to its port (0 = any free port, as tests use)."""
    server: grpc.aio.Server
    health: health.aio.HealthServicer
    port: int
    service_name: str

    async def set_health(self, status) -> None:
        for name in ("", self.service_name):
            await self.health.set(name, status)

    async def start_not_serving(self) -> None:
        """Listens at once, answering health checks with NOT_SERVING until the service is ready."""
        await self.set_health(health_pb2.HealthCheckResponse.NOT_SERVING)
        await self.server.start()
        log.info("gRPC listening", extra={"port": self.port})


def build_server(service_name: str, add_servicer: Callable[[grpc.aio.Server], None], requests: Counter,
                 address: str, max_message_bytes: int, options: Sequence[tuple[str, int]] = ()) -> GrpcServer:
    """requests: the service's counter of finished RPCs, labelled (method, code); options: grpc
    channel arguments a service needs beyond the message size (keepalive for long streams)."""
    heap.measure_pauses()
    server = grpc.aio.server(
        interceptors=[TelemetryInterceptor(requests), ErrorInterceptor()],
        options=[("grpc.max_receive_message_length", max_message_bytes),
                 ("grpc.max_send_message_length", max_message_bytes), *options])
    add_servicer(server)
    servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    reflection.enable_server_reflection([service_name, health.SERVICE_NAME, reflection.SERVICE_NAME], server)
    return GrpcServer(server, servicer, server.add_insecure_port(address), service_name)
