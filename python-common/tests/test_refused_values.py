"""A value PostgreSQL refuses to store is the caller's mistake: INVALID_ARGUMENT through the
error interceptor, never INTERNAL. Against the session's real PostgreSQL (tianshu_testing)."""
from __future__ import annotations

import grpc
import psycopg
import pytest

from tianshu_grpc_server.errors import ErrorInterceptor

METHOD = "/test.Store/Put"


@pytest.fixture
def store_url(database_url):
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE item (name varchar(8), detail jsonb)")
    return database_url


async def _call(store_url: str, name: str, detail: str) -> grpc.aio.AioRpcError | None:
    async def put(request: bytes, context) -> bytes:
        async with await psycopg.AsyncConnection.connect(store_url, autocommit=True) as conn:
            await conn.execute("INSERT INTO item VALUES (%s, %s::jsonb)", (name, detail))
        return b""

    server = grpc.aio.server(interceptors=[ErrorInterceptor()])
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler("test.Store", {
        "Put": grpc.unary_unary_rpc_method_handler(put, request_deserializer=bytes, response_serializer=bytes)})])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            try:
                await channel.unary_unary(METHOD)(b"", timeout=30)
            except grpc.aio.AioRpcError as error:
                return error
            return None
    finally:
        await server.stop(None)


@pytest.mark.parametrize("name, detail, description", [
    # psycopg refuses a NUL in a text parameter before sending it.
    ("a\x00b", "{}", "request: a text value holds a NUL character (U+0000), which cannot be stored"),
    # Inside JSON the server refuses it (SQLSTATE 22P05).
    ("ok", '{"k": "\\u0000"}', "request: a text value holds a NUL character (U+0000), which cannot be stored"),
    # Longer than its column (SQLSTATE 22001).
    ("far too long", "{}", "request: a value cannot be stored"),
])
async def test_a_value_postgresql_refuses_is_invalid_argument(store_url, name, detail, description):
    refused = await _call(store_url, name, detail)
    assert refused is not None
    assert refused.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert refused.details() == description


async def test_a_value_postgresql_stores_passes(store_url):
    assert await _call(store_url, "fine", '{"k": "v"}') is None
