"""The reranking stage against the real inference service and PostgreSQL: the retrieval's best
`candidates` hits rescored by a model (here the collection's embedding model, the one every
deployment has, scoring by cosine), asked for per call or set per collection."""
import grpc
import pytest
from tianshu.rag.v1 import rag_pb2 as pb

EMBEDDING_MODEL = "all-minilm-l6-v2"
DOCUMENTS = {
    "panda": "Giant pandas eat bamboo for most of the day and live in the mountains of Sichuan.",
    "koala": "Koalas feed on eucalyptus leaves and sleep up to twenty hours a day.",
    "tea": "Green tea is not fermented, oolong is partly fermented and black tea fully.",
    "rail": "High-speed trains run at more than three hundred kilometres per hour between Beijing and Shanghai.",
    "opera": "Peking opera roles are sheng, dan, jing and chou; the colours of a painted face show character.",
    "bamboo": "Bamboo is a grass; some species grow nearly a metre a day and are used for scaffolding.",
    "diet": "What an animal eats depends on its teeth: herbivores grind leaves, carnivores tear meat.",
}
QUERY = "what do pandas eat"


async def _search(stub, tenant: str, collection: str, **options) -> pb.SearchResponse:
    return await stub.Search(pb.SearchRequest(tenant_id=tenant, collection_id=collection, query=QUERY,
                                              options=pb.RetrievalOptions(**options)))


@pytest.fixture
async def animals(stub, tenant, ingest):
    async def create(name: str, **settings) -> pb.Collection:
        created = await stub.CreateCollection(pb.CreateCollectionRequest(
            tenant_id=tenant, collection_id=name, settings=pb.CollectionSettings(**settings)))
        await ingest(name, [(doc, text, "text/plain") for doc, text in DOCUMENTS.items()])
        return created.collection
    return create


async def test_a_reranked_search_orders_the_retrievals_best_candidates_by_the_models_score(stub, tenant, animals):
    await animals("animals")
    fused = await _search(stub, tenant, "animals", top_k=4)
    reranked = await _search(stub, tenant, "animals", top_k=2, rerank=pb.RerankSettings(enabled=True, candidates=4))

    assert fused.rerank_model == "" and reranked.rerank_model == EMBEDDING_MODEL
    assert len(reranked.hits) == 2
    # Drawn from the fused list's best four, the two with the highest rescoring; the embedding
    # model's cosine is the hit's similarity.
    by_similarity = sorted(fused.hits, key=lambda h: -h.similarity)[:2]
    assert [h.chunk_id for h in reranked.hits] == [h.chunk_id for h in by_similarity]
    for rank, hit in enumerate(reranked.hits, start=1):
        assert hit.rank == rank and hit.score == pytest.approx(hit.similarity, abs=1e-4)
        stage = [s for s in hit.retriever_scores if s.retriever == pb.RETRIEVER_RERANK]
        assert [(s.rank, s.score) for s in stage] == [(rank, hit.score)]
        assert {s.retriever for s in hit.retriever_scores} - {pb.RETRIEVER_RERANK}, "the retrievers' scores stay"
    assert reranked.hits[0].document_id == "panda"


async def test_another_model_rescores_the_candidates_through_the_inference_service(stub, tenant, animals):
    await animals("animals")
    fused = await _search(stub, tenant, "animals", top_k=4)
    reranked = await _search(stub, tenant, "animals", top_k=3,
                             rerank=pb.RerankSettings(enabled=True, model="bge-small-zh-v1.5", candidates=4))

    assert reranked.rerank_model == "bge-small-zh-v1.5"
    assert {h.chunk_id for h in reranked.hits} <= {h.chunk_id for h in fused.hits}
    scores = [h.score for h in reranked.hits]
    assert scores == sorted(scores, reverse=True) and len(scores) == 3
    # Another model's cosine, not the collection's: the stage really asked the inference service.
    assert any(abs(h.score - h.similarity) > 1e-3 for h in reranked.hits)
    assert reranked.hits[0].document_id == "panda"


async def test_a_collection_that_reranks_does_so_unless_a_call_turns_it_off(stub, tenant, animals):
    created = await animals("reranked", rerank=pb.RerankSettings(enabled=True, candidates=5))
    plain = await animals("plain")

    assert (created.settings.rerank.enabled, created.settings.rerank.model, created.settings.rerank.candidates) == \
        (True, EMBEDDING_MODEL, 5)
    assert (plain.settings.rerank.enabled, plain.settings.rerank.candidates) == (False, 30)
    listed = {c.collection_id: c for c in (await stub.ListCollections(pb.ListCollectionsRequest(
        tenant_id=tenant))).collections}
    assert listed["reranked"].settings.rerank == created.settings.rerank

    assert (await _search(stub, tenant, "reranked", top_k=3)).rerank_model == EMBEDDING_MODEL
    assert (await _search(stub, tenant, "plain", top_k=3)).rerank_model == ""
    off = await _search(stub, tenant, "reranked", top_k=3, rerank=pb.RerankSettings(enabled=False))
    assert off.rerank_model == "" and pb.RETRIEVER_RERANK not in {s.retriever for h in off.hits
                                                                   for s in h.retriever_scores}


@pytest.mark.parametrize("rerank, code, named", [
    (pb.RerankSettings(enabled=True, candidates=101), grpc.StatusCode.INVALID_ARGUMENT, "options.rerank.candidates"),
    (pb.RerankSettings(enabled=True, candidates=-1), grpc.StatusCode.INVALID_ARGUMENT, "options.rerank.candidates"),
    (pb.RerankSettings(enabled=True, model="no-such-model"), grpc.StatusCode.NOT_FOUND, "no-such-model"),
    (pb.RerankSettings(enabled=True, model="smollm2-135m-instruct"), grpc.StatusCode.INVALID_ARGUMENT,
     "cannot rerank"),
], ids=["too many candidates", "negative candidates", "unknown model", "generation model"])
async def test_a_bad_rerank_choice_is_refused_naming_it(stub, tenant, animals, rerank, code, named):
    await animals("animals")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _search(stub, tenant, "animals", top_k=3, rerank=rerank)

    assert caught.value.code() == code and named in caught.value.details()


async def test_a_collection_cannot_store_a_bad_rerank_setting(stub, tenant):
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreateCollection(pb.CreateCollectionRequest(
            tenant_id=tenant, collection_id="bad", settings=pb.CollectionSettings(
                rerank=pb.RerankSettings(candidates=500))))

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "settings.rerank.candidates" in caught.value.details()
    listed = await stub.ListCollections(pb.ListCollectionsRequest(tenant_id=tenant))
    assert "bad" not in [c.collection_id for c in listed.collections]
