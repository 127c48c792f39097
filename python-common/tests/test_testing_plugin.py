"""tianshu_testing, the one home of the fixtures the suites share: every suite registers it and
starts none of its servers itself; and its fixtures do what they promise, run by a pytest of
their own (pytester) the way a suite's conftest uses them."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

import tianshu_testing.inference
import tianshu_testing.postgres
import tianshu_testing.service

ROOT = Path(__file__).resolve().parents[2]
SUITES = ["python-common", "python-inference", "python-rag", "python-batch"]
PLUGIN = "tianshu_testing.plugin"
# Meant to be overridden by a suite that tests more than the defaults.
OVERRIDABLE = {"inference_settings"}


def _fixtures_of(module) -> set[str]:
    return {name for name, value in vars(module).items() if hasattr(value, "_fixture_function_marker")}


SHARED = _fixtures_of(tianshu_testing.postgres) | _fixtures_of(tianshu_testing.inference) | _fixtures_of(
    tianshu_testing.service)


def _conftest(suite: str) -> ast.Module:
    return ast.parse((ROOT / suite / "tests" / "conftest.py").read_text())


def test_the_plugin_offers_the_shared_fixtures():
    assert SHARED >= {"pg_server", "pg_url", "fresh_database", "database_url", "inference_settings",
                      "inference_server", "channel", "stub", "tenant"}


@pytest.mark.parametrize("suite", SUITES)
def test_each_suite_registers_the_plugin(suite):
    [registered] = [node.value for node in _conftest(suite).body if isinstance(node, ast.Assign)
                    and [t.id for t in node.targets if isinstance(t, ast.Name)] == ["pytest_plugins"]]
    assert PLUGIN in ast.literal_eval(registered)


@pytest.mark.parametrize("suite", SUITES)
def test_no_suite_keeps_a_copy_of_a_shared_fixture_or_starts_a_shared_server_itself(suite):
    tree = _conftest(suite)
    defined = {node.name for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    assert defined & (SHARED - OVERRIDABLE) == set()
    called = {node.func.id if isinstance(node.func, ast.Name) else node.func.attr
              for node in ast.walk(tree) if isinstance(node, ast.Call)
              and isinstance(node.func, (ast.Name, ast.Attribute))}
    assert called & {"get_server", "InferenceServer"} == set()  # embedded PostgreSQL, inference


INI = """
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = session
asyncio_default_test_loop_scope = session
filterwarnings = ignore:XDG_RUNTIME_DIR is not set
"""

# A suite as a conftest and tests that use the plugin the way the suites do: an echo service
# behind build_server as the server under test, and its stub.
CONFTEST = '''
import grpc
import pytest
import pytest_asyncio
from google.protobuf.wrappers_pb2 import StringValue
from prometheus_client import CollectorRegistry, Counter
from tianshu_grpc_server.serving import build_server
from tianshu_testing.service import ServiceUnderTest

pytest_plugins = ["tianshu_testing.plugin"]
SERVICE = "tianshu.echo.v1.Echo"


def add_echo(server):
    async def echo(request, context):
        return StringValue(value="echo " + request.value)

    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, {
        "Echo": grpc.unary_unary_rpc_method_handler(echo, request_deserializer=StringValue.FromString,
                                                    response_serializer=StringValue.SerializeToString)}),))


class EchoStub:
    def __init__(self, channel):
        self.Echo = channel.unary_unary(f"/{SERVICE}/Echo", request_serializer=StringValue.SerializeToString,
                                        response_deserializer=StringValue.FromString)


@pytest_asyncio.fixture(scope="session")
async def service_under_test():
    requests = Counter("echo_requests_total", "Finished RPCs", ["method", "code"], registry=CollectorRegistry())
    server = build_server(SERVICE, add_echo, requests, "127.0.0.1:0", 1 << 20)
    await server.start_not_serving()
    yield ServiceUnderTest(server.port, EchoStub)
    await server.server.stop(0)
'''

TESTS = '''
import psycopg
from google.protobuf.wrappers_pb2 import StringValue
from prometheus_client import CollectorRegistry, Counter, start_http_server
from tianshu_testing.service import free_port, metric_value, scrape

seen = {}


def _tables(url):
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0]


def test_pg_url_is_one_server_for_the_session_with_pgvector(pg_url, pg_server):
    seen["pg_url"] = pg_url
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        assert conn.execute("SELECT '[1,2]'::vector <-> '[1,3]'::vector").fetchone()[0] == 1.0


def test_the_same_server_in_a_later_test(pg_url):
    assert pg_url == seen["pg_url"]


def test_fresh_database_gives_a_new_empty_database_each_call(fresh_database, database_url):
    first, second = fresh_database(), fresh_database()
    assert len({first, second, database_url}) == 3
    with psycopg.connect(first, autocommit=True) as conn:
        conn.execute("CREATE TABLE mine (id int)")
    assert (_tables(first), _tables(second), _tables(database_url)) == (1, 0, 0)


async def test_stub_calls_the_server_under_test_over_the_session_channel(stub, channel):
    assert (await stub.Echo(StringValue(value="hi"))).value == "echo hi"
    seen.setdefault("channels", []).append(channel)


async def test_the_channel_is_the_sessions_own(stub, channel):
    assert (await stub.Echo(StringValue(value="again"))).value == "echo again"
    assert seen["channels"] == [channel]


def test_a_tenant_per_test(tenant):
    assert tenant.startswith("tenant-")
    seen["tenant"] = tenant


def test_another_tenant(tenant):
    assert tenant.startswith("tenant-") and tenant != seen["tenant"]


def test_scrape_reads_a_series_of_a_metrics_page():
    registry, port = CollectorRegistry(), free_port()
    Counter("calls_total", "Calls", ["method"], registry=registry).labels("Echo").inc(3)
    start_http_server(port, registry=registry)
    page = scrape(port)
    assert metric_value(page, "calls_total", method="Echo") == 3
    assert metric_value(page, "calls_total", method="Other") == 0
'''


def test_the_fixtures_work_as_a_suite_uses_them(pytester):
    pytester.makeini(INI)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_shared=TESTS)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=8)
