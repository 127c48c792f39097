"""A client that hangs up mid-stream must not keep the engine busy: the gateway cancels the
gRPC stream and the inference service aborts the request in vLLM."""
from __future__ import annotations

import time
import urllib.request

import grpc
import httpx
from prometheus_client.parser import text_string_to_metric_families
from tianshu.inference.v1 import inference_pb2 as pb
from tianshu.inference.v1 import inference_pb2_grpc as pb_grpc

from conftest import MODEL

LONG_TASK = [{"role": "user", "content": "Count from 1 to 2000, one number per line."}]


def _cancelled_streams(stack) -> float:
    url = f"http://127.0.0.1:{stack.inference_metrics_port}/metrics"
    text = urllib.request.urlopen(url, timeout=5).read().decode()
    return sum(sample.value for family in text_string_to_metric_families(text)
               for sample in family.samples
               if sample.name == "tianshu_inference_requests_total"
               and sample.labels == {"method": "GenerateStream", "code": "CANCELLED"})


def _running(stub) -> int:
    load = stub.GetLoad(pb.GetLoadRequest(), timeout=5)
    return load.running_requests + load.waiting_requests


def test_http_disconnect_aborts_the_generation_in_the_engine(stack, auth):
    cancelled_before = _cancelled_streams(stack)
    with grpc.insecure_channel(stack.inference_target) as channel:
        stub = pb_grpc.InferenceServiceStub(channel)
        body = {"model": MODEL, "messages": LONG_TASK, "stream": True, "max_tokens": 1800, "temperature": 0,
                # vLLM's extension, carried by the gateway: a small model may otherwise stop early.
                "ignore_eos": True}
        with httpx.Client(timeout=60) as http:
            with http.stream("POST", f"{stack.gateway_url}/v1/chat/completions", json=body, headers=auth) as response:
                assert response.status_code == 200
                # Read until the engine reports the generation running: its load figures come
                # from vLLM's per-step scheduler stats, which can trail the first tokens.
                chunks, running, reading_since = 0, 0, time.monotonic()
                for line in response.iter_lines():
                    if line.startswith("data: {") and '"content"' in line:
                        chunks += 1
                        if chunks >= 3:
                            running = _running(stub)
                            if running or time.monotonic() - reading_since > 30:
                                break
                assert running >= 1, f"the generation should be running while the client reads ({chunks} chunks)"
            # Leaving the block closes the HTTP connection with ~1,800 tokens still to generate.
            hung_up = time.monotonic()

        while _running(stub) and time.monotonic() - hung_up < 10:
            time.sleep(0.05)
        freed_after = time.monotonic() - hung_up
        print(f"engine free {freed_after * 1000:.0f} ms after the HTTP client hung up")

        assert _running(stub) == 0, "the engine still runs a request nobody is reading"
    assert _cancelled_streams(stack) == cancelled_before + 1, "the gRPC stream should end CANCELLED, not finish"
