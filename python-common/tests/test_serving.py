"""The server every service builds (build_server): health NOT_SERVING until the service says
it is ready, reflection, per-call telemetry, a stop that finishes calls in flight and refuses
new ones; and serve_until_signalled's orderly start and stop on a signal."""
import asyncio
import gc
import logging
import os
import signal

import grpc
import pytest
from google.protobuf.wrappers_pb2 import StringValue
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from probe_service import SERVICE, Probe, probe_server, requests_counter, stream, unary
from tianshu_grpc_server.errors import NotFound
from tianshu_grpc_server.serving import serve_until_signalled

SERVING, NOT_SERVING = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING


async def _health(channel, service: str) -> int:
    return (await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service))).status


async def test_health_is_not_serving_until_the_service_is_ready_then_serving_overall_and_for_the_service():
    async with probe_server(Probe()) as server, grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        assert server.port > 0  # bound to a free port, as asked with port 0
        assert [await _health(channel, s) for s in ("", SERVICE)] == [NOT_SERVING, NOT_SERVING]
        watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=SERVICE))
        updates = watch.__aiter__()
        assert (await updates.__anext__()).status == NOT_SERVING

        await server.set_health(SERVING)
        assert (await updates.__anext__()).status == SERVING
        assert [await _health(channel, s) for s in ("", SERVICE)] == [SERVING, SERVING]
        watch.cancel()


async def test_reflection_lists_the_service_health_and_reflection():
    async with probe_server(Probe()) as server, grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        async def ask():
            yield reflection_pb2.ServerReflectionRequest(list_services="")

        [answer] = [r async for r in reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(ask())]
    assert sorted(s.name for s in answer.list_services_response.service) == sorted(
        [SERVICE, "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"])


async def test_a_stop_with_grace_finishes_the_call_in_flight_and_refuses_new_ones():
    probe = Probe()
    async with probe_server(probe) as server, grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        in_flight = asyncio.ensure_future(unary(channel, "Hold")(StringValue()))
        await probe.entered.wait()
        stopping = asyncio.create_task(server.server.stop(grace=60))
        await _refused_from_now_on(channel, probe)
        assert not in_flight.done() and not stopping.done()

        probe.release.set()
        assert (await in_flight).value == "held"
        await asyncio.wait_for(stopping, 30)  # well inside the grace: it ends when the call does
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await unary(channel, "Ping")(StringValue(), timeout=5)
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


async def _refused_from_now_on(channel, probe: Probe, attempts: int = 200) -> None:
    """Waits until a new call is refused after stop() began; the stop reaches the transport
    asynchronously, so the first calls may still go through. A call that races the shutdown is
    CANCELLED by the server rather than refused UNAVAILABLE at the door: either way its handler
    must not have run."""
    answered = 0
    for _ in range(attempts):
        try:
            await unary(channel, "Ping")(StringValue(), timeout=5)
            answered += 1
        except grpc.aio.AioRpcError as error:
            assert error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED), error
            assert probe.pings == answered, "a refused call must not reach its handler"
            return
        await asyncio.sleep(0.02)
    pytest.fail("new calls were still accepted after stop() began")


async def test_each_finished_call_is_counted_once_by_method_and_code_and_logged_with_its_request_id(caplog):
    probe, requests = Probe(), requests_counter()
    probe.error = NotFound("collection", "docs")
    caplog.set_level(logging.INFO, logger="tianshu_grpc_server.telemetry")
    async with probe_server(probe, requests) as server, grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as ch:
        for n in range(3):
            await unary(ch, "Ping")(StringValue(value=str(n)), metadata=(("x-request-id", f"req-{n}"),))
        for _ in range(2):
            with pytest.raises(grpc.aio.AioRpcError):
                await unary(ch, "Fail")(StringValue())
        await _health(ch, "")

    counted = {(s.labels["method"], s.labels["code"]): s.value for metric in requests.collect()
               for s in metric.samples if s.name == "probe_requests_total"}
    assert counted == {("Ping", "OK"): 3, ("Fail", "NOT_FOUND"): 2, ("Check", "OK"): 1}
    finished = [r for r in caplog.records if r.getMessage() == "rpc finished"]
    assert [(r.method, r.code) for r in finished] == [("Ping", "OK")] * 3 + [("Fail", "NOT_FOUND")] * 2
    assert [r.request_id for r in finished[:3]] == ["req-0", "req-1", "req-2"]
    assert all(len(r.request_id) == 32 for r in finished[3:])  # none given: a fresh one each
    assert finished[3].request_id != finished[4].request_id


async def test_a_stream_the_caller_hangs_up_on_is_counted_cancelled_wherever_the_handler_was():
    """The hang-up reaches a streaming handler either inside an await (CancelledError) or parked
    at a yield while the server sends (its generator is closed: GeneratorExit); both are the
    caller's cancellation, and dashboards alert on anything else."""
    requests, hang_ups = requests_counter(), 0
    async with probe_server(Probe(), requests) as server, grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as ch:
        for mode in ("pause", "flood") * 5:
            call = stream(ch, "Endless")(StringValue(value=mode))
            for _ in range(3):
                await call.read()
            call.cancel()
            hang_ups += 1
        for _ in range(500):  # the server unwinds each handler a moment after the hang-up
            if _counted(requests).get(("Endless", "CANCELLED"), 0) >= hang_ups:
                break
            await asyncio.sleep(0.01)
    assert _counted(requests) == {("Endless", "CANCELLED"): hang_ups}


def _counted(requests) -> dict:
    return {(s.labels["method"], s.labels["code"]): s.value for metric in requests.collect()
            for s in metric.samples if s.name == "probe_requests_total"}


class RecordingServer:
    """A Stoppable that records what serve_until_signalled asks of it."""

    def __init__(self, starting=None):
        self.calls: list[str] = []
        self.started = asyncio.Event()
        self._starting = starting

    async def start(self):
        self.calls.append("start")
        self.started.set()
        try:
            if self._starting:
                await self._starting()
        except asyncio.CancelledError:
            self.calls.append("start cancelled")
            raise
        self.calls.append("started")

    async def stop(self):
        self.calls.append("stop")


@pytest.fixture
def signal_handlers_restored():
    yield
    loop = asyncio.get_event_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.remove_signal_handler(sig)


async def test_a_signal_after_start_stops_the_server_once(signal_handlers_restored):
    server = RecordingServer()
    serving = asyncio.create_task(serve_until_signalled(server))
    await server.started.wait()  # the handlers are installed before start is called
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(serving, 10)
    assert server.calls == ["start", "started", "stop"]


async def test_a_started_service_leaves_its_start_up_objects_out_of_later_collections(signal_handlers_restored):
    gc.unfreeze()
    built = {"pool": ["connections"]}
    server = RecordingServer()
    serving = asyncio.create_task(serve_until_signalled(server))
    try:
        await server.started.wait()
        await asyncio.sleep(0.1)  # start returns; serve_until_signalled goes on to freeze
        assert gc.get_freeze_count() > 0
        assert not any(o is built for o in gc.get_objects(generation=2))
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(serving, 10)
    finally:
        gc.unfreeze()


async def test_a_started_service_watches_its_loop_lag_until_it_stops(signal_handlers_restored):
    server = RecordingServer()
    serving = asyncio.create_task(serve_until_signalled(server))
    await server.started.wait()
    await asyncio.sleep(0.1)
    [watch] = [t for t in asyncio.all_tasks() if t.get_name() == "loop-lag"]
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(serving, 10)
    await asyncio.sleep(0)
    assert watch.cancelled()
    gc.unfreeze()


async def test_a_signal_during_a_slow_start_stops_at_once_without_waiting_for_it(signal_handlers_restored):
    server = RecordingServer(starting=lambda: asyncio.sleep(3600))  # models loading, say
    serving = asyncio.create_task(serve_until_signalled(server))
    await server.started.wait()
    os.kill(os.getpid(), signal.SIGINT)
    await asyncio.wait_for(serving, 10)
    await asyncio.sleep(0)  # the cancelled start runs its handler
    assert server.calls == ["start", "stop", "start cancelled"]


async def test_a_start_that_fails_stops_what_was_started_and_raises_its_error(signal_handlers_restored):
    async def fail():
        raise RuntimeError("database unreachable")

    server = RecordingServer(starting=fail)
    gc.unfreeze()
    with pytest.raises(RuntimeError, match="database unreachable"):
        await asyncio.wait_for(serve_until_signalled(server), 10)
    assert server.calls == ["start", "stop"]
    assert gc.get_freeze_count() == 0  # nothing frozen for a service that never served
