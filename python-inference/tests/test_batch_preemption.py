"""Batch generations make way for interactive ones: preempted, resumed, and none the wiser."""
from __future__ import annotations

import asyncio
import contextlib

import grpc
from tianshu.inference.v1 import inference_pb2 as pb

from conftest import BATCH_LANE_LIMIT_INTERACTIVE, chat, metric_value, scrape

# Greedy, and answered in Japanese: most of its tokens are parts of a character, so a
# preemption usually falls inside one, where resuming the text is hardest.
JAPANESE = dict(temperature=0, max_tokens=48)
JAPANESE_PROMPT = "Translate to Japanese: Good morning, how are you today?"
# Cannot end by itself within a test.
ENDLESS = dict(max_tokens=1500, ignore_eos=True)
PREEMPTIONS = "tianshu_inference_batch_preemptions_total"
LANE_WAITING = "tianshu_inference_batch_lane_waiting_sequences"


def batch(content: str, **sampling) -> pb.Generation:
    generation = chat(content, **sampling)
    generation.priority = pb.PRIORITY_BATCH
    return generation


async def _until(stub, condition, what: str, polls: int = 600):
    for _ in range(polls):
        load = await stub.GetLoad(pb.GetLoadRequest())
        if condition(load):
            return load
        await asyncio.sleep(0.05)
    raise AssertionError(f"never {what}: {load}")


@contextlib.asynccontextmanager
async def _endless_batch(stub, count: int):
    """`count` batch streams that run until the block ends, all running in the engine."""
    calls = [stub.GenerateStream(pb.GenerateStreamRequest(generation=batch(f"Story number {i}.", **ENDLESS)))
             for i in range(count)]
    try:
        await _until(stub, lambda load: load.running_requests == count, f"{count} batch sequences running")
        yield calls
    finally:
        for call in calls:
            call.cancel()
        await _until(stub, lambda load: load.running_requests + load.waiting_requests == 0, "idle again")


async def test_a_preempted_greedy_batch_job_yields_exactly_what_it_yields_alone(server, stub):
    generation = batch(JAPANESE_PROMPT, **JAPANESE)
    alone = [m async for m in stub.GenerateStream(pb.GenerateStreamRequest(generation=generation))]
    before = metric_value(scrape(server), PREEMPTIONS)

    async with _endless_batch(stub, BATCH_LANE_LIMIT_INTERACTIVE):
        # The newest batch sequence beyond the narrow limit: the one each interactive call preempts.
        messages = []
        async for message in stub.GenerateStream(pb.GenerateStreamRequest(generation=generation)):
            messages.append(message)
            if len(messages) % 5 == 1:
                await stub.Generate(pb.GenerateRequest(generation=chat("Say hi.", max_tokens=2)))

    assert metric_value(scrape(server), PREEMPTIONS) - before >= 3, "resumed more than once"
    assert "".join(m.text for m in messages) == "".join(m.text for m in alone)
    assert sum(len(m.text) for m in messages) > 0
    assert messages[-1].usage == alone[-1].usage
    assert messages[-1].usage.completion_tokens == JAPANESE["max_tokens"]
    assert messages[-1].finish_reason == alone[-1].finish_reason == pb.FINISH_REASON_LENGTH
    assert [m.finish_reason for m in messages[:-1]] == [pb.FINISH_REASON_UNSPECIFIED] * (len(messages) - 1)


async def test_unary_batch_results_survive_preemption_too(stub):
    generation = batch(JAPANESE_PROMPT, **JAPANESE)
    alone = await stub.Generate(pb.GenerateRequest(generation=generation))

    async with _endless_batch(stub, BATCH_LANE_LIMIT_INTERACTIVE):
        target = asyncio.ensure_future(stub.Generate(pb.GenerateRequest(generation=generation)))
        await _until(stub, lambda load: load.running_requests == BATCH_LANE_LIMIT_INTERACTIVE + 1, "target running")
        for _ in range(3):
            await stub.Generate(pb.GenerateRequest(generation=chat("Say hi.", max_tokens=2)))
        preempted = await target

    assert preempted.choices[0].text == alone.choices[0].text
    assert preempted.usage == alone.usage


async def test_while_an_interactive_generation_runs_batch_in_the_engine_stays_within_the_narrow_limit(server, stub):
    running_batch = BATCH_LANE_LIMIT_INTERACTIVE + 3
    before = metric_value(scrape(server), PREEMPTIONS)
    async with _endless_batch(stub, running_batch):
        peak, held_back = 0, 0
        interactive = stub.GenerateStream(pb.GenerateStreamRequest(generation=chat(
            "Count to fifty.", max_tokens=32, ignore_eos=True)))
        async for message in interactive:
            # From its first token on, the preempted batch sequences are out of the engine.
            load = await stub.GetLoad(pb.GetLoadRequest())
            peak = max(peak, load.running_requests)
            held_back = max(held_back, metric_value(scrape(server), LANE_WAITING))
        assert peak <= 1 + BATCH_LANE_LIMIT_INTERACTIVE
        assert held_back == running_batch - BATCH_LANE_LIMIT_INTERACTIVE
        assert metric_value(scrape(server), PREEMPTIONS) - before == running_batch - BATCH_LANE_LIMIT_INTERACTIVE

        # Once it is done, the preempted ones resume.
        await _until(stub, lambda load: load.running_requests == running_batch, "the batch resumed")
        assert metric_value(scrape(server), LANE_WAITING) == 0


async def test_cancelling_a_waiting_and_a_preempted_batch_job_leaves_nothing_behind(server, stub):
    async with _endless_batch(stub, BATCH_LANE_LIMIT_INTERACTIVE + 1) as batch_calls:
        newest = batch_calls[-1]
        interactive = stub.GenerateStream(pb.GenerateStreamRequest(generation=chat("Tell me a story.", **ENDLESS)))
        await interactive.read()
        # A batch job arriving now waits in the lane, behind the preempted one; its deadline passes there.
        waiting = asyncio.ensure_future(stub.Generate(pb.GenerateRequest(
            generation=batch("Tell me another story.", **ENDLESS)), timeout=3))
        await _until(stub, lambda _: metric_value(scrape(server), LANE_WAITING) == 2, "two batch jobs held back")

        newest.cancel()
        try:
            await waiting
            raise AssertionError("a held-back batch job cannot finish 1500 tokens")
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        await _until(stub, lambda _: metric_value(scrape(server), LANE_WAITING) == 0, "the lane empty")
        load = await stub.GetLoad(pb.GetLoadRequest())
        assert load.running_requests == 1 + BATCH_LANE_LIMIT_INTERACTIVE
        interactive.cancel()

    # Every admitted sequence was counted out again: the waiting-requests bound is intact.
    assert server.engine._admitted == 0
