"""Generate and GenerateStream against the real engine and model."""
from __future__ import annotations

import asyncio

from tianshu.inference.v1 import inference_pb2 as pb

from conftest import MODEL, chat

QUESTION = "What is the capital of France?"


async def test_generate_answers_with_exact_usage(stub):
    response = await stub.Generate(pb.GenerateRequest(generation=chat(QUESTION, temperature=0, max_tokens=32)))
    counted = await stub.Tokenize(pb.TokenizeRequest(model=MODEL, messages=[
        pb.ChatMessage(role="user", content=QUESTION)]))

    assert "Paris" in response.choices[0].text
    assert response.choices[0].finish_reason == pb.FINISH_REASON_STOP
    assert response.usage.prompt_tokens == counted.token_count > 0
    assert response.usage.completion_tokens > 0
    assert response.usage.total_tokens == response.usage.prompt_tokens + response.usage.completion_tokens


async def test_token_ids_from_tokenize_generate_what_the_messages_do(stub):
    # The gateway counts a prompt with Tokenize before admitting the call and sends the ids on.
    counted = await stub.Tokenize(pb.TokenizeRequest(model=MODEL, return_token_ids=True, messages=[
        pb.ChatMessage(role="user", content=QUESTION)]))
    by_ids = pb.Generation(model=MODEL, prompt_token_ids=counted.token_ids,
                           sampling=pb.SamplingParams(temperature=0, max_tokens=32))

    from_messages = await stub.Generate(pb.GenerateRequest(generation=chat(QUESTION, temperature=0, max_tokens=32)))
    from_ids = await stub.Generate(pb.GenerateRequest(generation=by_ids))
    streamed = [m async for m in stub.GenerateStream(pb.GenerateStreamRequest(generation=by_ids))]

    assert from_ids.choices[0].text == from_messages.choices[0].text
    assert "Paris" in from_ids.choices[0].text
    assert from_ids.usage == from_messages.usage
    assert from_ids.usage.prompt_tokens == len(counted.token_ids)
    assert "".join(m.text for m in streamed) == from_ids.choices[0].text


async def test_stream_deltas_add_up_to_the_unary_answer(stub):
    generation = chat(QUESTION, temperature=0, max_tokens=32)
    whole = await stub.Generate(pb.GenerateRequest(generation=generation))
    messages = [m async for m in stub.GenerateStream(pb.GenerateStreamRequest(generation=generation))]

    assert len(messages) > 2, "text arrives in several deltas, not at once"
    assert "".join(m.text for m in messages) == whole.choices[0].text
    assert all(m.finish_reason == pb.FINISH_REASON_UNSPECIFIED for m in messages[:-1])
    assert messages[-1].finish_reason == pb.FINISH_REASON_STOP
    assert not any(m.HasField("usage") for m in messages[:-1])
    assert messages[-1].usage == whole.usage


async def test_max_tokens_ends_the_answer_with_length(stub):
    response = await stub.Generate(pb.GenerateRequest(
        generation=chat("Write a long story about a dragon.", max_tokens=5)))

    assert response.choices[0].finish_reason == pb.FINISH_REASON_LENGTH
    assert response.usage.completion_tokens == 5


async def test_raw_prompt_is_completed(stub):
    response = await stub.Generate(pb.GenerateRequest(generation=pb.Generation(
        model=MODEL, prompt="The capital of France is", sampling=pb.SamplingParams(max_tokens=8, temperature=0))))

    assert response.choices[0].text.strip()
    assert response.usage.completion_tokens > 0


async def test_concurrent_streams_are_batched_together(stub):
    streams = 12
    peak = 0

    async def one(i: int) -> str:
        generation = chat(f"Count from {i} to {i + 20}.", max_tokens=48, ignore_eos=True)
        return "".join([m.text async for m in stub.GenerateStream(pb.GenerateStreamRequest(generation=generation))])

    async def watch():
        nonlocal peak
        while True:
            load = await stub.GetLoad(pb.GetLoadRequest())
            peak = max(peak, load.running_requests)
            await asyncio.sleep(0.05)

    watcher = asyncio.create_task(watch())
    texts = await asyncio.gather(*(one(i) for i in range(streams)))
    watcher.cancel()

    assert all(texts)
    assert peak > 1, "the engine ran several requests in one batch"
