"""Health, reflection, metrics, JSON logs with request ids, migrations, error details."""
import asyncio
import io
import json
import logging

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status
from prometheus_client import REGISTRY
from tianshu.rag.v1 import rag_pb2 as pb

from tianshu_grpc_server import json_logging
from tianshu_rag.server import RagServer
from tianshu_rag.settings import RagSettings
from tianshu_rag.storage import migrations


async def test_health_is_serving_once_the_database_is_migrated(channel):
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", "tianshu.rag.v1.RagService"):
        response = await health.Check(health_pb2.HealthCheckRequest(service=service))
        assert response.status == health_pb2.HealthCheckResponse.SERVING


async def test_health_is_not_serving_while_the_database_is_not_ready():
    async def silent(reader, writer):  # accepts connections, never speaks PostgreSQL
        await asyncio.sleep(3600)

    listener = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    server = RagServer(RagSettings(port=0, metrics_port=0, shutdown_grace_seconds=0,
                                   database_url=f"postgresql://rag@127.0.0.1:{port}/rag?connect_timeout=3"))
    starting = asyncio.create_task(server.start())
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)
            response = await health.Check(health_pb2.HealthCheckRequest(service=""), wait_for_ready=True)
            assert response.status == health_pb2.HealthCheckResponse.NOT_SERVING
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await pb_stub(channel).ListCollections(pb.ListCollectionsRequest(tenant_id="t"))
            assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        starting.cancel()
        await asyncio.gather(starting, return_exceptions=True)
        await server.stop()
        listener.close()


def pb_stub(channel):
    from tianshu.rag.v1 import rag_pb2_grpc
    return rag_pb2_grpc.RagServiceStub(channel)


async def test_reflection_lists_the_rag_service(channel):
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)

    async def requests():
        yield reflection_pb2.ServerReflectionRequest(list_services="")

    async for response in stub.ServerReflectionInfo(requests()):
        names = {s.name for s in response.list_services_response.service}
        assert "tianshu.rag.v1.RagService" in names and "grpc.health.v1.Health" in names
        break


def _sample(name: str, labels: dict | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0


async def test_metrics_count_ingested_documents_and_chunks_searches_and_calls_by_exactly_what_was_done(
        new_collection, ingest, search):
    searched = ("tianshu_rag_search_latency_seconds_count", {"mode": "hybrid"})
    search_calls = ("tianshu_rag_requests_total", {"method": "Search", "code": "OK"})
    refused_calls = ("tianshu_rag_requests_total", {"method": "Search", "code": "NOT_FOUND"})
    counted = [("tianshu_rag_ingested_chunks_total", None), ("tianshu_rag_ingested_documents_total", None),
               searched, search_calls, refused_calls]
    before = [_sample(*c) for c in counted]
    await new_collection("metered")
    job = await ingest("metered", [("m", "Metrics are counted.", "text/plain"),
                                   ("n", "# One\n\nFirst part.\n\n# Two\n\nSecond part.", "text/markdown")])
    for query in ("metrics", "counted", "part"):
        await search("metered", query)
    with pytest.raises(grpc.aio.AioRpcError):
        await search("no-such-collection", "metrics")

    assert (job.documents_done, job.chunks_total) == (2, 3)
    assert [_sample(*c) - b for c, b in zip(counted, before, strict=True)] == [3, 2, 3, 3, 1]


async def test_errors_carry_a_status_detail_naming_the_field(stub):
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.ListCollections(pb.ListCollectionsRequest(tenant_id=""))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    detail = error_details_pb2.BadRequest()
    rpc_status.from_call(raised.value).details[0].Unpack(detail)
    assert detail.field_violations[0].field == "tenant_id"


def test_log_lines_are_json_with_the_request_id_of_their_call():
    json_logging.configure("INFO", "tianshu-rag")
    stream = io.StringIO()
    logging.getLogger().handlers[0].setStream(stream)
    token = json_logging.request_id.set("req-42")
    try:
        logging.getLogger("tianshu_rag.test").info("hello", extra={"collection": "kb"})
    finally:
        json_logging.request_id.reset(token)
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert (line["message"], line["request_id"], line["collection"], line["service"]) == \
        ("hello", "req-42", "kb", "tianshu-rag")


def test_migrations_are_recorded_and_applied_once(pg_url):
    import psycopg

    assert migrations.migrate(pg_url) == []  # the session's server applied them already
    with psycopg.connect(pg_url) as conn:
        versions = [row[0] for row in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == [m.version for m in migrations.available()]
