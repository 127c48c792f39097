"""The batch lane inside the real engine: how many batch sequences advance, and what they yield."""
from __future__ import annotations

import asyncio
import contextlib

from tianshu.inference.v1 import inference_pb2 as pb

from conftest import BATCH_LANE_LIMIT, BATCH_LANE_LIMIT_INTERACTIVE, chat

# Cannot end by itself within a test.
ENDLESS = dict(max_tokens=1500, ignore_eos=True)


def batch(content: str, **sampling) -> pb.Generation:
    generation = chat(content, **sampling)
    generation.priority = pb.PRIORITY_BATCH
    return generation


class BatchStreams:
    """Endless batch streams, each read in the background; a message per engine step it took part in."""

    def __init__(self, stub, count: int):
        self.calls = [stub.GenerateStream(pb.GenerateStreamRequest(generation=batch(f"Story number {i}.", **ENDLESS)))
                      for i in range(count)]
        self.tokens = [0] * count
        self._readers = [asyncio.ensure_future(self._read(i)) for i in range(count)]

    async def _read(self, index: int) -> None:
        async for message in self.calls[index]:
            self.tokens[index] += 1

    def cancel(self) -> None:
        for call in self.calls:
            call.cancel()


async def _until(condition, what: str, polls: int = 1200):
    for _ in range(polls):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never {what}")


async def _idle(stub) -> None:
    for _ in range(600):
        load = await stub.GetLoad(pb.GetLoadRequest())
        if load.running_requests + load.waiting_requests == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never idle again: {load}")


@contextlib.asynccontextmanager
async def batch_streams(stub, count: int):
    streams = BatchStreams(stub, count)
    try:
        yield streams
    finally:
        streams.cancel()
        await _idle(stub)


async def test_batch_beyond_the_lane_limit_waits_and_starts_when_a_running_one_ends(inference_server, stub):
    async with batch_streams(stub, BATCH_LANE_LIMIT + 2) as streams:
        await _until(lambda: sum(t > 0 for t in streams.tokens) == BATCH_LANE_LIMIT, "the lane full")
        started = [i for i, t in enumerate(streams.tokens) if t]
        await _until(lambda: min(streams.tokens[i] for i in started) >= 10, "ten tokens each")
        assert sum(t > 0 for t in streams.tokens) == BATCH_LANE_LIMIT, "a batch stream beyond the limit ran"
        load = await stub.GetLoad(pb.GetLoadRequest())
        assert load.waiting_requests == 2

        streams.calls[started[0]].cancel()
        await _until(lambda: sum(t > 0 for t in streams.tokens) == BATCH_LANE_LIMIT + 1, "a waiting one started")
    # Every admitted sequence, running or waiting, was counted out again.
    assert inference_server.engine._admitted == 0


async def test_while_an_interactive_generation_runs_only_the_narrow_limit_of_batch_advances(stub):
    count = BATCH_LANE_LIMIT_INTERACTIVE + 3
    async with batch_streams(stub, count) as streams:
        await _until(lambda: min(streams.tokens) > 0, "every batch stream running")
        interactive = stub.GenerateStream(pb.GenerateStreamRequest(generation=chat(
            "Count to fifty.", max_tokens=24, ignore_eos=True)))
        at_first, received = None, 0
        async for message in interactive:
            received += 1
            if at_first is None:
                at_first = list(streams.tokens)
        during = [after - before for after, before in zip(streams.tokens, at_first)]

        # One token of slack each: a batch token of the same step may be read on either side.
        advanced = sorted(during, reverse=True)
        assert all(d >= received - 2 for d in advanced[:BATCH_LANE_LIMIT_INTERACTIVE]), during
        assert all(d <= 1 for d in advanced[BATCH_LANE_LIMIT_INTERACTIVE:]), during

        # Once it is done, the held ones go on where they were.
        held = [i for i, d in enumerate(during) if d <= 1]
        resumed_from = list(streams.tokens)
        await _until(lambda: all(streams.tokens[i] >= resumed_from[i] + 5 for i in held), "the held ones advancing")


async def test_a_held_greedy_batch_generation_yields_exactly_what_it_yields_alone(stub):
    generation = batch("Translate to Japanese: Good morning, how are you today?", temperature=0, max_tokens=48)
    alone = [m async for m in stub.GenerateStream(pb.GenerateStreamRequest(generation=generation))]

    async with batch_streams(stub, BATCH_LANE_LIMIT_INTERACTIVE) as streams:
        await _until(lambda: min(streams.tokens) > 0, "the older batch streams running")
        # The newest batch sequence, beyond the narrow limit: every interactive call holds it.
        messages = []
        async for message in stub.GenerateStream(pb.GenerateStreamRequest(generation=generation)):
            messages.append(message)
            if len(messages) % 5 == 1:
                await stub.Generate(pb.GenerateRequest(generation=chat("Say hi.", max_tokens=3)))

    assert "".join(m.text for m in messages) == "".join(m.text for m in alone)
    assert messages[-1].usage == alone[-1].usage
    assert messages[-1].usage.completion_tokens == 48
    assert messages[-1].finish_reason == alone[-1].finish_reason == pb.FINISH_REASON_LENGTH


async def test_a_held_unary_batch_result_is_what_it_is_alone(stub):
    generation = batch("Name three rivers.", temperature=0, max_tokens=24)
    alone = await stub.Generate(pb.GenerateRequest(generation=generation))

    async with batch_streams(stub, BATCH_LANE_LIMIT_INTERACTIVE) as streams:
        await _until(lambda: min(streams.tokens) > 0, "the older batch streams running")
        target = asyncio.ensure_future(stub.Generate(pb.GenerateRequest(generation=generation)))
        while not target.done():
            await stub.Generate(pb.GenerateRequest(generation=chat("Say hi.", max_tokens=3)))
        held = await target

    assert held.choices[0].text == alone.choices[0].text
    assert held.usage == alone.usage
