"""Back-pressure, metrics and request-id logging."""
from __future__ import annotations

import asyncio
import logging

import grpc
import pytest
from tianshu.inference.v1 import inference_pb2 as pb
from tianshu_testing.service import metric_value, scrape

from conftest import MAX_NUM_SEQS, MAX_WAITING, chat


async def test_full_queue_refuses_at_once_with_resource_exhausted(inference_server, stub):
    capacity = MAX_NUM_SEQS + MAX_WAITING
    calls = [stub.GenerateStream(pb.GenerateStreamRequest(generation=chat(
        f"Story number {i}.", max_tokens=1500, ignore_eos=True))) for i in range(capacity)]
    try:
        # Half of them run, half wait (and send nothing yet): watch the queue fill instead.
        for _ in range(600):
            load = await stub.GetLoad(pb.GetLoadRequest())
            if load.running_requests + load.waiting_requests == capacity:
                break
            await asyncio.sleep(0.05)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.Generate(pb.GenerateRequest(generation=chat("One more?", max_tokens=4)))
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        load = await stub.GetLoad(pb.GetLoadRequest())
        assert load.running_requests + load.waiting_requests == capacity
        # The gauges show the same queue; the KV cache figure comes with vLLM's next step stats.
        for _ in range(600):
            full = scrape(inference_server.settings.metrics_port)
            if metric_value(full, "tianshu_inference_kv_cache_usage_ratio") > 0:
                break
            await asyncio.sleep(0.05)
        assert metric_value(full, "tianshu_inference_running_requests") + \
            metric_value(full, "tianshu_inference_waiting_requests") == capacity
        assert metric_value(full, "tianshu_inference_waiting_requests") >= 1
        assert metric_value(full, "tianshu_inference_kv_cache_usage_ratio") > 0
    finally:
        for call in calls:
            call.cancel()

    for _ in range(200):  # the queue drains as the cancelled calls are aborted
        load = await stub.GetLoad(pb.GetLoadRequest())
        if load.running_requests + load.waiting_requests == 0:
            break
        await asyncio.sleep(0.05)
    drained = scrape(inference_server.settings.metrics_port)
    assert metric_value(drained, "tianshu_inference_running_requests") == 0
    assert metric_value(drained, "tianshu_inference_waiting_requests") == 0
    after = await stub.Generate(pb.GenerateRequest(generation=chat("Say hi.", max_tokens=4)))
    assert after.usage.completion_tokens > 0


async def test_metrics_count_requests_tokens_and_latency(inference_server, stub):
    calls = 3
    before = scrape(inference_server.settings.metrics_port)
    responses = [await stub.Generate(pb.GenerateRequest(generation=chat(f"Say hi {i}.", max_tokens=8)))
                 for i in range(calls)]
    batch = await stub.Generate(pb.GenerateRequest(generation=pb.Generation(
        model="smollm2-135m-instruct", messages=[pb.ChatMessage(role="user", content="Say bye.")],
        sampling=pb.SamplingParams(max_tokens=8), priority=pb.PRIORITY_BATCH)))
    after = scrape(inference_server.settings.metrics_port)

    def grew(name: str, **labels: str) -> float:
        return metric_value(after, name, **labels) - metric_value(before, name, **labels)

    model = "smollm2-135m-instruct"
    assert grew("tianshu_inference_requests_total", method="Generate", code="OK") == calls + 1
    assert grew("tianshu_inference_generations_total", model=model, priority="interactive") == calls
    assert grew("tianshu_inference_generations_total", model=model, priority="batch") == 1
    everything = responses + [batch]
    assert grew("tianshu_inference_prompt_tokens_total", model=model) == sum(r.usage.prompt_tokens for r in everything)
    assert grew("tianshu_inference_completion_tokens_total", model=model) == \
        sum(r.usage.completion_tokens for r in everything)
    assert grew("tianshu_inference_time_to_first_token_seconds_count", model=model) == calls + 1
    assert grew("tianshu_inference_time_to_first_token_seconds_sum", model=model) > 0
    # Observed for generations of more than one token: all of these (8 tokens, or a stop after some).
    multi_token = sum(1 for r in everything if r.usage.completion_tokens > 1)
    assert multi_token >= 1
    assert grew("tianshu_inference_time_per_output_token_seconds_count", model=model) == multi_token


async def test_running_gauge_counts_a_generation_while_it_runs_and_drops_after(inference_server, stub):
    call = stub.GenerateStream(pb.GenerateStreamRequest(generation=chat(
        "Tell me a very long story.", max_tokens=1500, ignore_eos=True)))
    try:
        await call.read()
        # vLLM reports its running count per engine step: the first tokens can come before it.
        for _ in range(600):
            running = metric_value(scrape(inference_server.settings.metrics_port), "tianshu_inference_running_requests")
            if running:
                break
            await asyncio.sleep(0.05)
        assert running == 1
        assert metric_value(scrape(inference_server.settings.metrics_port),
                            "tianshu_inference_kv_cache_usage_ratio") > 0
    finally:
        call.cancel()
    for _ in range(600):
        idle = scrape(inference_server.settings.metrics_port)
        if metric_value(idle, "tianshu_inference_running_requests") == 0:
            break
        await asyncio.sleep(0.05)
    assert metric_value(idle, "tianshu_inference_running_requests") == 0
    assert metric_value(idle, "tianshu_inference_waiting_requests") == 0


async def test_log_lines_carry_the_callers_request_id(stub, caplog):
    caplog.set_level(logging.INFO)
    await stub.Generate(pb.GenerateRequest(generation=chat("Say hi.", max_tokens=4)),
                        metadata=[("x-request-id", "req-42.abc")])

    finished = [r for r in caplog.records if r.getMessage() == "rpc finished" and r.method == "Generate"]
    assert finished and finished[-1].request_id == "req-42.abc"
    assert finished[-1].code == "OK"
