"""Search through the API: vector, full-text (English and Chinese) and hybrid, filters,
top_k and the similarity threshold, with each retriever's score and rank on every hit."""
import grpc
import pytest
import pytest_asyncio
from tianshu.rag.v1 import rag_pb2 as pb

from tianshu_rag.settings import RagSettings

DOCS = [
    ("hnsw", "# Vector indexes\n\nHNSW builds a layered proximity graph for approximate nearest neighbour search.",
     "text/markdown", {"lang": "en", "team": "search"}),
    ("gil", "The global interpreter lock lets one Python thread run bytecode at a time.", "text/plain",
     {"lang": "en", "team": "runtime"}),
    ("bread", "Sourdough bread rises with wild yeast from a starter.", "text/plain", {"lang": "en", "team": "food"}),
    ("panda", "# 大熊猫\n\n大熊猫主要生活在四川的竹林里，每天吃大量竹子。", "text/markdown", {"lang": "zh", "team": "nature"}),
    ("wall", "长城是中国古代的军事防御工程，大部分是明代修建的。", "text/plain", {"lang": "zh", "team": "history"}),
]


@pytest_asyncio.fixture
async def corpus(new_collection, ingest):
    await new_collection("kb")
    job = await ingest("kb", DOCS)
    assert job.state == pb.INGEST_JOB_STATE_SUCCEEDED
    return "kb"


def _scores(hit: pb.Hit) -> dict:
    return {s.retriever: (s.score, s.rank) for s in hit.retriever_scores}


async def test_vector_search_finds_a_paraphrase_and_reports_cosine_similarity(corpus, search):
    hits = await search(corpus, "graph structure for finding similar embeddings quickly", mode=pb.RETRIEVAL_MODE_VECTOR)
    assert hits[0].document_id == "hnsw"
    assert hits[0].rank == 1 and 0 < hits[0].score <= 1
    assert _scores(hits[0]) == {pb.RETRIEVER_VECTOR: (pytest.approx(hits[0].score), 1)}
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


async def test_english_full_text_search_matches_stemmed_words(corpus, search):
    hits = await search(corpus, "which threads are running Python?", mode=pb.RETRIEVAL_MODE_FULL_TEXT)
    assert [h.document_id for h in hits][:1] == ["gil"]
    assert set(_scores(hits[0])) == {pb.RETRIEVER_FULL_TEXT}


async def test_chinese_full_text_search_matches_jieba_words(corpus, search):
    hits = await search(corpus, "熊猫吃什么？", mode=pb.RETRIEVAL_MODE_FULL_TEXT)
    assert [h.document_id for h in hits] == ["panda"]
    hits = await search(corpus, "明代修建的防御工程", mode=pb.RETRIEVAL_MODE_FULL_TEXT)
    assert [h.document_id for h in hits] == ["wall"]


async def test_hybrid_hits_carry_the_score_and_rank_of_each_retriever_that_found_them(corpus, search):
    hits = await search(corpus, "Python interpreter lock threads", mode=pb.RETRIEVAL_MODE_HYBRID)
    top = hits[0]
    assert top.document_id == "gil"
    scores = _scores(top)
    assert set(scores) == {pb.RETRIEVER_VECTOR, pb.RETRIEVER_FULL_TEXT}
    # Best of both lists: normalised to 1 in each, weighted by the default fusion weights.
    assert [rank for _, rank in scores.values()] == [1, 1]
    defaults = RagSettings.model_fields
    assert top.score == pytest.approx(defaults["fusion_vector_weight"].default
                                      + defaults["fusion_full_text_weight"].default)


async def test_metadata_filter_keeps_only_matching_documents(corpus, search):
    hits = await search(corpus, "bread graph lock", mode=pb.RETRIEVAL_MODE_HYBRID, metadata_filter={"team": "food"})
    assert {h.document_id for h in hits} == {"bread"}
    hits = await search(corpus, "anything", mode=pb.RETRIEVAL_MODE_VECTOR, metadata_filter={"lang": "zh"})
    assert {h.document_id for h in hits} == {"panda", "wall"}


async def test_a_filter_value_that_looks_like_sql_is_only_a_value(corpus, search):
    hits = await search(corpus, "bread", metadata_filter={"team": "food' OR '1'='1"})
    assert hits == []


async def test_top_k_and_min_similarity_bound_the_hits(corpus, search):
    assert len(await search(corpus, "anything at all", mode=pb.RETRIEVAL_MODE_VECTOR, top_k=2)) == 2
    hits = await search(corpus, "nearest neighbour graph index", mode=pb.RETRIEVAL_MODE_VECTOR, min_similarity=0.3)
    assert [h.document_id for h in hits] == ["hnsw"]
    assert all(h.score >= 0.3 for h in hits)


@pytest.mark.parametrize("request_options, field", [
    (dict(query=""), "query"),
    (dict(query="x", options=pb.RetrievalOptions(top_k=100_000)), "options.top_k"),
    (dict(query="x", options=pb.RetrievalOptions(mode=42)), "options.mode"),
])
async def test_bad_search_requests_are_invalid_argument(stub, tenant, corpus, request_options, field):
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.Search(pb.SearchRequest(tenant_id=tenant, collection_id=corpus, **request_options))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert raised.value.details().startswith(field)
