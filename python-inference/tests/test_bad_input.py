"""Bad input gets INVALID_ARGUMENT naming the field, and the server keeps serving."""
from __future__ import annotations

import asyncio

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from tianshu.inference.v1 import inference_pb2 as pb

from conftest import MODEL, chat


def _user(content="hi"):
    return [pb.ChatMessage(role="user", content=content)]


BAD = {
    "empty message list": (pb.Generation(model=MODEL), "messages"),
    "unknown role": (pb.Generation(model=MODEL, messages=[pb.ChatMessage(role="wizard", content="x")]),
                     "messages[0].role"),
    "both prompt and messages": (pb.Generation(model=MODEL, messages=_user(), prompt="x"), "messages"),
    "negative temperature": (chat("hi", temperature=-0.5), "sampling.temperature"),
    "top_p zero": (chat("hi", top_p=0.0), "sampling.top_p"),
    "top_p above one": (chat("hi", top_p=1.5), "sampling.top_p"),
    "zero max_tokens": (chat("hi", max_tokens=0), "sampling.max_tokens"),
    "negative max_tokens": (chat("hi", max_tokens=-3), "sampling.max_tokens"),
    "10 MB prompt": (pb.Generation(model=MODEL, prompt="x" * (10 * 1024 * 1024)), "prompt"),
    "bad request id": (pb.Generation(model=MODEL, messages=_user(), request_id="a\nb"), "request_id"),
    "token ids and messages": (pb.Generation(model=MODEL, messages=_user(), prompt_token_ids=[1, 2]),
                               "prompt_token_ids"),
    "token id outside the vocabulary": (pb.Generation(model=MODEL, prompt_token_ids=[1, 10_000_000]),
                                        "prompt_token_ids[1]"),
    "negative token id": (pb.Generation(model=MODEL, prompt_token_ids=[-1]), "prompt_token_ids[0]"),
    "more token ids than the context": (pb.Generation(model=MODEL, prompt_token_ids=[1] * 100_000),
                                        "prompt_token_ids"),
}


def _field(error: grpc.aio.AioRpcError) -> str:
    status = rpc_status.from_call(error)
    assert status is not None, "error carries rich details"
    bad_request = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad_request)
    return bad_request.field_violations[0].field


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
async def test_bad_generation_is_invalid_argument_naming_the_field(stub, case):
    generation, field = BAD[case]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Generate(pb.GenerateRequest(generation=generation))

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in caught.value.details()
    assert _field(caught.value) == field


async def test_prompt_longer_than_context_names_both_numbers(stub):
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Generate(pb.GenerateRequest(generation=chat("word " * 3000)))

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "2048" in caught.value.details() and "tokens" in caught.value.details()


async def test_invalid_utf8_is_invalid_argument(channel):
    # A ChatMessage whose content (field 2) holds bytes that are not UTF-8, built by hand
    # because the Python protobuf library refuses to serialize such a string.
    content = b"\xff\xfe bad"
    message = b"\x0a\x04user" + b"\x12" + bytes([len(content)]) + content
    generation = b"\x0a" + bytes([len(MODEL)]) + MODEL.encode() + b"\x12" + bytes([len(message)]) + message
    request = b"\x0a" + bytes([len(generation)]) + generation
    call = channel.unary_unary("/tianshu.inference.v1.InferenceService/Generate",
                               request_serializer=lambda raw: raw,
                               response_deserializer=pb.GenerateResponse.FromString)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(request)

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_unknown_model_is_not_found(stub):
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Generate(pb.GenerateRequest(generation=pb.Generation(model="gpt-9", messages=_user())))

    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert "gpt-9" in caught.value.details()


async def test_bad_calls_do_not_disturb_good_ones(stub):
    good = stub.Generate(pb.GenerateRequest(generation=chat("Say hello.", max_tokens=16)))
    bad = [stub.Generate(pb.GenerateRequest(generation=chat("hi", top_p=7.0))) for _ in range(50)]
    results = await asyncio.gather(good, *bad, return_exceptions=True)

    assert results[0].usage.completion_tokens > 0
    assert all(isinstance(r, grpc.aio.AioRpcError) and r.code() == grpc.StatusCode.INVALID_ARGUMENT
               for r in results[1:])
