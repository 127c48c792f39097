"""Back-pressure, metrics and request-id logging."""
from __future__ import annotations

import asyncio
import logging

import grpc
import pytest
from tianshu.inference.v1 import inference_pb2 as pb

from conftest import MAX_NUM_SEQS, MAX_WAITING, chat, metric_value, scrape


async def test_full_queue_refuses_at_once_with_resource_exhausted(stub):
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
    finally:
        for call in calls:
            call.cancel()

    for _ in range(200):  # the queue drains as the cancelled calls are aborted
        load = await stub.GetLoad(pb.GetLoadRequest())
        if load.running_requests + load.waiting_requests == 0:
            break
        await asyncio.sleep(0.05)
    after = await stub.Generate(pb.GenerateRequest(generation=chat("Say hi.", max_tokens=4)))
    assert after.usage.completion_tokens > 0


async def test_metrics_count_requests_tokens_and_latency(server, stub):
    before = scrape(server)
    response = await stub.Generate(pb.GenerateRequest(generation=chat("Say hi.", max_tokens=8)))
    after = scrape(server)

    ok = dict(name="tianshu_inference_requests_total", method="Generate", code="OK")
    assert metric_value(after, **ok) == metric_value(before, **ok) + 1
    completion = dict(name="tianshu_inference_completion_tokens_total", model="smollm2-135m-instruct")
    assert metric_value(after, **completion) == metric_value(before, **completion) + response.usage.completion_tokens
    ttft = dict(name="tianshu_inference_time_to_first_token_seconds_count", model="smollm2-135m-instruct")
    assert metric_value(after, **ttft) == metric_value(before, **ttft) + 1
    for gauge in ("tianshu_inference_running_requests", "tianshu_inference_waiting_requests",
                  "tianshu_inference_kv_cache_usage_ratio", "tianshu_inference_time_per_output_token_seconds"):
        assert gauge in after


async def test_log_lines_carry_the_callers_request_id(stub, caplog):
    caplog.set_level(logging.INFO)
    await stub.Generate(pb.GenerateRequest(generation=chat("Say hi.", max_tokens=4)),
                        metadata=[("x-request-id", "req-42.abc")])

    finished = [r for r in caplog.records if r.getMessage() == "rpc finished" and r.method == "Generate"]
    assert finished and finished[-1].request_id == "req-42.abc"
    assert finished[-1].code == "OK"
