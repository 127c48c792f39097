"""Rerank: an embedding model scores as a bi-encoder through the real service; a cross-encoder
folder is read by CrossEncoderReranker exactly as transformers reads it."""
from __future__ import annotations

import grpc
import pytest
import torch
from tianshu.inference.v1 import inference_pb2 as pb
from tianshu_testing.service import metric_value, scrape

from conftest import EMBED_MODEL, MODEL, ZH_EMBED_MODEL
from tianshu_inference import model_store
from tianshu_inference.reranker import CrossEncoderReranker
from tianshu_inference.settings import InferenceSettings

QUERY = "How do I reset my password?"
DOCUMENTS = ["Quarterly revenue grew by 8% in the third quarter.",
             "To reset your password, open Settings, choose Security and click 'Reset password'.",
             "The cafeteria serves lunch from noon to two."]


async def test_an_embedding_model_ranks_by_the_cosine_of_the_vectors_embed_returns(stub):
    ranked = await stub.Rerank(pb.RerankRequest(model=EMBED_MODEL, query=QUERY, documents=DOCUMENTS))
    embedded = await stub.Embed(pb.EmbedRequest(model=EMBED_MODEL, texts=[QUERY, *DOCUMENTS]))

    question, *vectors = [list(e.values) for e in embedded.embeddings]
    cosines = [sum(q * d for q, d in zip(question, v)) for v in vectors]
    assert ranked.model == EMBED_MODEL
    assert [r.index for r in ranked.results][0] == 1  # the password answer
    assert [r.index for r in ranked.results] == sorted(range(3), key=lambda i: -cosines[i])
    assert [r.relevance_score for r in ranked.results] == pytest.approx(sorted(cosines, reverse=True), abs=1e-5)
    assert ranked.usage.prompt_tokens == embedded.usage.prompt_tokens
    assert ranked.usage.total_tokens == ranked.usage.prompt_tokens and ranked.usage.completion_tokens == 0


async def test_the_chinese_embedding_model_reranks_chinese_documents(stub):
    documents = ["绿茶不经过发酵，乌龙茶半发酵，红茶全发酵。", "大熊猫主要吃竹子，每天要花十几个小时进食。",
                 "高速铁路的列车时速可以超过三百公里。"]
    ranked = await stub.Rerank(pb.RerankRequest(model=ZH_EMBED_MODEL, query="熊猫吃什么", documents=documents))

    assert ranked.model == ZH_EMBED_MODEL
    assert [r.index for r in ranked.results][0] == 1
    assert ranked.results[0].relevance_score > ranked.results[1].relevance_score


async def test_top_n_keeps_the_best_and_no_name_means_the_embedding_model(stub):
    every = await stub.Rerank(pb.RerankRequest(query=QUERY, documents=DOCUMENTS))
    best = await stub.Rerank(pb.RerankRequest(query=QUERY, documents=DOCUMENTS, top_n=2))

    assert every.model == EMBED_MODEL and len(every.results) == 3
    assert list(best.results) == list(every.results)[:2]


async def test_reranked_documents_are_counted_by_priority(stub, inference_server):
    def counted(priority: str) -> float:
        return metric_value(scrape(inference_server.settings.metrics_port),
                            "tianshu_inference_reranked_documents_total", model=EMBED_MODEL, priority=priority)

    before = counted("interactive"), counted("batch")
    await stub.Rerank(pb.RerankRequest(query=QUERY, documents=DOCUMENTS))
    await stub.Rerank(pb.RerankRequest(query=QUERY, documents=DOCUMENTS[:2], priority=pb.PRIORITY_BATCH))

    assert (counted("interactive"), counted("batch")) == (before[0] + 3, before[1] + 2)


@pytest.mark.parametrize("request_, code, field", [
    (pb.RerankRequest(model=EMBED_MODEL, documents=DOCUMENTS), grpc.StatusCode.INVALID_ARGUMENT, "query"),
    (pb.RerankRequest(model=EMBED_MODEL, query=QUERY), grpc.StatusCode.INVALID_ARGUMENT, "documents"),
    (pb.RerankRequest(model=EMBED_MODEL, query=QUERY, documents=["a", ""]), grpc.StatusCode.INVALID_ARGUMENT,
     "documents[1]"),
    (pb.RerankRequest(model=EMBED_MODEL, query=QUERY, documents=["a"] * 257), grpc.StatusCode.INVALID_ARGUMENT,
     "documents"),
    (pb.RerankRequest(model=EMBED_MODEL, query=QUERY, documents=DOCUMENTS, top_n=-1),
     grpc.StatusCode.INVALID_ARGUMENT, "top_n"),
    (pb.RerankRequest(model=MODEL, query=QUERY, documents=DOCUMENTS), grpc.StatusCode.INVALID_ARGUMENT,
     "cannot rerank"),
    (pb.RerankRequest(model="no-such-model", query=QUERY, documents=DOCUMENTS), grpc.StatusCode.NOT_FOUND,
     "no-such-model"),
], ids=["no query", "no documents", "empty document", "over the limit", "negative top_n", "generation model",
        "unknown model"])
async def test_bad_rerank_calls_name_the_problem(stub, request_, code, field):
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Rerank(request_)

    assert caught.value.code() == code
    assert field in caught.value.details()


@pytest.fixture(scope="module")
def cross_encoder_dir(tmp_path_factory):
    """A cross-encoder folder in the shape deployments bring (BertForSequenceClassification with
    one output, its tokenizer): the packaged MiniLM body with a seeded head. Its scores mean
    nothing (no reranker's weights ship in a registry package); what is checked is that the
    service reads such a folder as transformers does."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    source = model_store.embed_model_path(InferenceSettings())
    torch.manual_seed(7)
    model = AutoModelForSequenceClassification.from_pretrained(source, num_labels=1)
    folder = tmp_path_factory.mktemp("cross-encoder")
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(source).save_pretrained(folder)
    return folder


async def test_a_cross_encoder_folder_scores_pairs_as_transformers_does(cross_encoder_dir):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    reranker = CrossEncoderReranker("reranker", cross_encoder_dir, max_batch=8)
    try:
        scores, tokens = await reranker.scores(QUERY, DOCUMENTS)
    finally:
        reranker.shutdown()

    tokenizer = AutoTokenizer.from_pretrained(cross_encoder_dir)
    model = AutoModelForSequenceClassification.from_pretrained(cross_encoder_dir).eval()
    pairs = tokenizer([QUERY] * 3, DOCUMENTS, padding=True, truncation=True, return_tensors="pt")
    with torch.inference_mode():
        expected = torch.sigmoid(model(**pairs).logits[:, 0]).tolist()
    assert scores == pytest.approx(expected, abs=1e-5)
    assert tokens == int(pairs["attention_mask"].sum())
    assert reranker.card.kind == "rerank" and reranker.card.max_batch_size == 8


def test_a_classifier_with_several_outputs_is_refused_as_a_reranker(tmp_path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    source = model_store.embed_model_path(InferenceSettings())
    AutoModelForSequenceClassification.from_pretrained(source, num_labels=3).save_pretrained(tmp_path)
    AutoTokenizer.from_pretrained(source).save_pretrained(tmp_path)

    with pytest.raises(ValueError, match="has 3"):
        CrossEncoderReranker("reranker", tmp_path, max_batch=8)
