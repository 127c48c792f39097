"""Interactive Embed calls go ahead of bulk ones, against the real embedding model."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tianshu.inference.v1 import inference_pb2 as pb
from tianshu_testing.service import metric_value, scrape

from conftest import EMBED_MODEL

BULK_CALLS = 4
BULK_TEXTS = 256


def _bulk_text(call: int, i: int) -> str:
    return f"Ingested chunk {call}-{i}: " + " ".join(f"word{(i * 7 + k) % 97}" for k in range(60))


def _waiting(server, priority: str) -> float:
    return metric_value(scrape(server.settings.metrics_port), "tianshu_inference_embed_waiting_texts",
                        model=EMBED_MODEL, priority=priority)


async def test_an_interactive_call_waits_for_one_bulk_step_not_for_the_queue(inference_server, stub):
    step = inference_server.settings.embed_step_texts
    before = scrape(inference_server.settings.metrics_port)
    bulk = [asyncio.ensure_future(stub.Embed(pb.EmbedRequest(
        model=EMBED_MODEL, texts=[_bulk_text(c, i) for i in range(BULK_TEXTS)], tenant_id=f"bulk-{c % 2}",
        priority=pb.PRIORITY_BATCH))) for c in range(BULK_CALLS)]
    for _ in range(200):
        await asyncio.sleep(0.05)
        if _waiting(inference_server, "batch") > 0:
            break
    queued_then = _waiting(inference_server, "batch")
    assert queued_then > 2 * step * inference_server.embedder.workers_per_lane, \
        "the bulk calls should still be queued when the query arrives"

    query = await stub.Embed(pb.EmbedRequest(model=EMBED_MODEL, texts=["where is the install guide?"],
                                             priority=pb.PRIORITY_INTERACTIVE))
    queued_after = _waiting(inference_server, "batch")
    bulk_done_before_query = sum(b.done() for b in bulk)
    answered = await asyncio.gather(*bulk)

    assert len(query.embeddings) == 1
    assert bulk_done_before_query == 0
    # Without lanes the query would have waited for every bulk text queued before it. With them
    # the batch workers read at most the steps under way and one more each while it ran.
    assert queued_then - queued_after <= 2 * step * inference_server.embedder.workers_per_lane
    assert [len(r.embeddings) for r in answered] == [BULK_TEXTS] * BULK_CALLS

    after = scrape(inference_server.settings.metrics_port)
    for priority, calls, texts in (("batch", BULK_CALLS, BULK_CALLS * BULK_TEXTS), ("interactive", 1, 1)):
        def moved(name: str, **labels) -> float:
            return metric_value(after, name, **labels) - metric_value(before, name, **labels)

        assert moved("tianshu_inference_embed_calls_total", model=EMBED_MODEL, priority=priority) == calls
        assert moved("tianshu_inference_embedded_texts_total", model=EMBED_MODEL, priority=priority) == texts
        assert moved("tianshu_inference_embed_queue_seconds_count", model=EMBED_MODEL, priority=priority) == calls
    assert _waiting(inference_server, "batch") == 0 and _waiting(inference_server, "interactive") == 0


async def test_results_match_whatever_the_priority_and_company(stub):
    texts = ["alpha beta", "gamma delta", "epsilon"]
    alone = await stub.Embed(pb.EmbedRequest(model=EMBED_MODEL, texts=texts))
    mixed = await asyncio.gather(
        stub.Embed(pb.EmbedRequest(model=EMBED_MODEL, texts=texts, priority=pb.PRIORITY_BATCH, tenant_id="t1")),
        stub.Embed(pb.EmbedRequest(model=EMBED_MODEL, texts=["zeta"] * 40, priority=pb.PRIORITY_BATCH,
                                   tenant_id="t2")),
        stub.Embed(pb.EmbedRequest(model=EMBED_MODEL, texts=texts[::-1])))
    for i, vector in enumerate(alone.embeddings):
        assert list(mixed[0].embeddings[i].values) == pytest.approx(list(vector.values), abs=1e-4)
        assert list(mixed[2].embeddings[2 - i].values) == pytest.approx(list(vector.values), abs=1e-4)
    assert mixed[0].usage.prompt_tokens == alone.usage.prompt_tokens


def _nice_values() -> list[int]:
    values = []
    for task in Path("/proc/self/task").iterdir():
        stat = (task / "stat").read_text()
        values.append(int(stat[stat.rindex(")") + 2:].split()[16]))
    return values


async def test_batch_texts_are_embedded_by_threads_at_the_lower_cpu_priority(inference_server, stub):
    await stub.Embed(pb.EmbedRequest(model=EMBED_MODEL, texts=["some ingested text"] * 8, priority=pb.PRIORITY_BATCH))
    nice = inference_server.settings.embed_batch_nice
    assert nice > 0
    # The batch lane's thread and the math threads it started; every other thread keeps 0.
    assert _nice_values().count(nice) >= 1
    assert set(_nice_values()) == {0, nice}
