"""ErrorInterceptor: each ServiceError becomes its gRPC status with its google.rpc detail,
NotImplementedError UNIMPLEMENTED, anything else INTERNAL with a fixed message, and a request
that does not parse INVALID_ARGUMENT; in unary calls and in both shapes of server stream. A real grpc.aio
server built by build_server, called over a real channel."""
import logging

import grpc
import pytest
from google.rpc import error_details_pb2
from google.protobuf.wrappers_pb2 import StringValue
from grpc_status import rpc_status

from probe_service import Probe, probe_server, stream, unary
from tianshu_grpc_server.errors import (AlreadyExists, FailedPrecondition, InvalidArgument, NotFound,
                                        ResourceExhausted, ServiceError, Unavailable)

INTERNAL_MESSAGE = "internal error; see the service log"


class QuotaExhausted(ServiceError):
    """A service's own error kind: its code and detail are its own."""
    code = grpc.StatusCode.RESOURCE_EXHAUSTED

    def detail(self):
        return error_details_pb2.QuotaFailure(violations=[
            error_details_pb2.QuotaFailure.Violation(subject="tenant:acme", description=self.message)])


def _violation(field, description):
    return error_details_pb2.BadRequest.FieldViolation(field=field, description=description)


MAPPED = [
    (InvalidArgument("documents[1].content", "document 'a' is empty"), grpc.StatusCode.INVALID_ARGUMENT,
     "documents[1].content: document 'a' is empty",
     error_details_pb2.BadRequest(field_violations=[_violation("documents[1].content", "document 'a' is empty")])),
    (NotFound("collection", "docs"), grpc.StatusCode.NOT_FOUND, "collection 'docs' not found",
     error_details_pb2.ResourceInfo(resource_type="collection", resource_name="docs", description="not found")),
    (NotFound("model", "m2", "model 'm2' is not served here; served: ['m1']"), grpc.StatusCode.NOT_FOUND,
     "model 'm2' is not served here; served: ['m1']",
     error_details_pb2.ResourceInfo(resource_type="model", resource_name="m2", description="not found")),
    (AlreadyExists("collection", "docs"), grpc.StatusCode.ALREADY_EXISTS, "collection 'docs' already exists",
     error_details_pb2.ResourceInfo(resource_type="collection", resource_name="docs", description="already exists")),
    (FailedPrecondition("EMBEDDING_MODEL", "docs", "docs holds vectors of model a"),
     grpc.StatusCode.FAILED_PRECONDITION, "docs holds vectors of model a",
     error_details_pb2.PreconditionFailure(violations=[error_details_pb2.PreconditionFailure.Violation(
         type="EMBEDDING_MODEL", subject="docs", description="docs holds vectors of model a")])),
    (Unavailable("database not ready yet"), grpc.StatusCode.UNAVAILABLE, "database not ready yet", None),
    (ResourceExhausted("engine", "engine queue is full (16 waiting); retry later"),
     grpc.StatusCode.RESOURCE_EXHAUSTED, "engine queue is full (16 waiting); retry later",
     error_details_pb2.QuotaFailure(violations=[error_details_pb2.QuotaFailure.Violation(
         subject="engine", description="engine queue is full (16 waiting); retry later")])),
    (QuotaExhausted("daily quota used up"), grpc.StatusCode.RESOURCE_EXHAUSTED, "daily quota used up",
     error_details_pb2.QuotaFailure(violations=[error_details_pb2.QuotaFailure.Violation(
         subject="tenant:acme", description="daily quota used up")])),
]


def _detail(error: grpc.aio.AioRpcError):
    """The one google.rpc detail of a status as its own message type, or None without one."""
    status = rpc_status.from_call(error)
    if status is None or not status.details:
        return None
    [packed] = status.details
    for kind in (error_details_pb2.BadRequest, error_details_pb2.ResourceInfo,
                 error_details_pb2.PreconditionFailure, error_details_pb2.QuotaFailure):
        if packed.Is(kind.DESCRIPTOR):
            detail = kind()
            packed.Unpack(detail)
            return detail
    raise AssertionError(f"unexpected detail {packed.TypeName()}")


async def _refusal(call) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    return raised.value


@pytest.fixture
async def probe():
    probe = Probe()
    async with probe_server(probe) as server, grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        probe.channel = channel
        yield probe


@pytest.mark.parametrize("error, code, message, detail", MAPPED, ids=lambda v: type(v).__name__)
async def test_each_service_error_becomes_its_status_with_its_message_and_detail(probe, error, code, message,
                                                                                 detail):
    probe.error = error
    refused = await _refusal(unary(probe.channel, "Fail")(StringValue()))
    assert (refused.code(), refused.details()) == (code, message)
    assert _detail(refused) == detail


@pytest.mark.parametrize("method", ["FailMidstream", "WriteThenFail"])
@pytest.mark.parametrize("error, code, message, detail", MAPPED[:2], ids=lambda v: type(v).__name__)
async def test_a_stream_that_fails_after_a_message_delivers_it_then_ends_with_the_mapped_status(
        probe, method, error, code, message, detail):
    probe.error = error
    received = []
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        async for item in stream(probe.channel, method)(StringValue()):
            received.append(item.value)
    assert received == ["first"]
    assert (raised.value.code(), raised.value.details()) == (code, message)
    assert _detail(raised.value) == detail


@pytest.mark.parametrize("method", ["Fail", "FailMidstream", "WriteThenFail"])
@pytest.mark.parametrize("error, message", [
    (NotImplementedError("structured output is not supported by this engine"),
     "structured output is not supported by this engine"),
    (NotImplementedError(), "not implemented"),
], ids=["with a message", "without one"])
async def test_not_implemented_error_is_unimplemented_with_its_message(probe, method, error, message):
    probe.error = error
    call = unary(probe.channel, method)(StringValue()) if method == "Fail" else _drain(
        stream(probe.channel, method)(StringValue()))
    refused = await _refusal(call)
    assert (refused.code(), refused.details()) == (grpc.StatusCode.UNIMPLEMENTED, message)
    assert _detail(refused) is None


async def test_a_method_the_generated_base_servicer_leaves_unimplemented_is_unimplemented_not_internal():
    async def generated_base(request, context):
        # What grpc's generated *Servicer base class does for a method a service does not override.
        context.set_code(grpc.StatusCode.UNIMPLEMENTED)
        context.set_details("Method not implemented!")
        raise NotImplementedError("Method not implemented!")

    probe = Probe()
    probe.fail = generated_base
    async with probe_server(probe) as server, grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        refused = await _refusal(unary(channel, "Fail")(StringValue()))
    assert (refused.code(), refused.details()) == (grpc.StatusCode.UNIMPLEMENTED, "Method not implemented!")


@pytest.mark.parametrize("method", ["Fail", "FailMidstream", "WriteThenFail"])
async def test_an_unexpected_exception_is_internal_with_a_fixed_message_and_logged_with_its_traceback(
        probe, method, caplog):
    probe.error = KeyError("password=hunter2 in /srv/app/secrets.py")
    caplog.set_level(logging.ERROR, logger="tianshu_grpc_server.errors")
    if method == "Fail":
        call = unary(probe.channel, method)(StringValue())
    else:
        call = _drain(stream(probe.channel, method)(StringValue()))
    refused = await _refusal(call)

    assert (refused.code(), refused.details()) == (grpc.StatusCode.INTERNAL, INTERNAL_MESSAGE)
    assert rpc_status.from_call(refused) is None  # no detail either
    assert "hunter2" not in str(refused.trailing_metadata()) + refused.debug_error_string()
    [logged] = [r for r in caplog.records if r.getMessage() == "unexpected error"]
    assert logged.exc_info[1] is probe.error  # the service log keeps what the caller does not see


async def _drain(call) -> None:
    async for _ in call:
        pass


async def test_a_request_that_does_not_parse_is_invalid_argument_naming_the_request(probe):
    raw = probe.channel.unary_unary("/tianshu.probe.v1.Probe/Ping", request_serializer=None,
                                    response_deserializer=StringValue.FromString)
    not_utf8 = b"\x0a\x02\xff\xfe"  # field 1 (string) holding bytes that are not UTF-8
    refused = await _refusal(raw(not_utf8))
    assert refused.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert refused.details().startswith("request: not a valid message")
    assert [v.field for v in _detail(refused).field_violations] == ["request"]


async def test_an_abort_by_the_handler_itself_passes_through_unchanged():
    async def abort(request, context):
        await context.abort(grpc.StatusCode.PERMISSION_DENIED, "tenant may not do this")

    probe = Probe()
    probe.fail = abort
    async with probe_server(probe) as server, grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        refused = await _refusal(unary(channel, "Fail")(StringValue()))
    assert (refused.code(), refused.details()) == (grpc.StatusCode.PERMISSION_DENIED, "tenant may not do this")


async def test_a_call_that_succeeds_is_untouched(probe):
    assert (await unary(probe.channel, "Ping")(StringValue(value="x"))).value == "pong x"
