"""Collections per tenant, isolation between tenants, and one embedding model per collection."""
import grpc
import pytest
from tianshu.rag.v1 import rag_pb2 as pb

from tianshu_rag.settings import RagSettings

EMBED_MODEL = RagSettings.model_fields["default_embedding_model"].default


async def test_collections_are_created_listed_and_deleted(stub, tenant, new_collection):
    created = await new_collection("handbook")
    assert (created.tenant_id, created.collection_id) == (tenant, "handbook")
    assert (created.embedding_model, created.dimension) == (EMBED_MODEL, 384)
    await new_collection("faq")

    listed = await stub.ListCollections(pb.ListCollectionsRequest(tenant_id=tenant))
    assert [c.collection_id for c in listed.collections] == ["faq", "handbook"]

    await stub.DeleteCollection(pb.DeleteCollectionRequest(tenant_id=tenant, collection_id="faq"))
    listed = await stub.ListCollections(pb.ListCollectionsRequest(tenant_id=tenant))
    assert [c.collection_id for c in listed.collections] == ["handbook"]


async def test_fusion_weights_round_trip_through_the_collection_settings(stub, tenant):
    defaults = RagSettings.model_fields
    created = await stub.CreateCollection(pb.CreateCollectionRequest(
        tenant_id=tenant, collection_id="weighted",
        settings=pb.CollectionSettings(fusion=pb.FusionSettings(full_text_weight=0.7,
                                                                method=pb.FUSION_METHOD_RRF))))
    plain = await stub.CreateCollection(pb.CreateCollectionRequest(tenant_id=tenant, collection_id="plain"))
    for listed in (created.collection, plain.collection):
        assert listed.settings.fusion.vector_weight == defaults["fusion_vector_weight"].default
    assert created.collection.settings.fusion.full_text_weight == pytest.approx(0.7)
    assert created.collection.settings.fusion.method == pb.FUSION_METHOD_RRF
    assert plain.collection.settings.fusion.full_text_weight == defaults["fusion_full_text_weight"].default
    assert plain.collection.settings.fusion.method == pb.FUSION_METHOD_SCORE

    listed = {c.collection_id: c for c in (await stub.ListCollections(
        pb.ListCollectionsRequest(tenant_id=tenant))).collections}
    assert listed["weighted"].settings == created.collection.settings
    assert listed["plain"].settings == plain.collection.settings


async def test_a_chinese_collection_fuses_with_the_chinese_default_unless_it_sets_its_own(stub, tenant, ingest):
    defaults = RagSettings.model_fields
    said = await stub.CreateCollection(pb.CreateCollectionRequest(
        tenant_id=tenant, collection_id="zh", settings=pb.CollectionSettings(language=pb.COLLECTION_LANGUAGE_ZH)))
    own = await stub.CreateCollection(pb.CreateCollectionRequest(
        tenant_id=tenant, collection_id="zh-own", settings=pb.CollectionSettings(
            language=pb.COLLECTION_LANGUAGE_ZH, fusion=pb.FusionSettings(full_text_weight=0.2))))
    await stub.CreateCollection(pb.CreateCollectionRequest(tenant_id=tenant, collection_id="found"))
    await ingest("found", [("panda", "大熊猫主要吃竹子，每天要花十几个小时进食。野生大熊猫生活在四川的山林里。", "text/plain")])

    chinese = defaults["chinese_fusion_full_text_weight"].default
    assert chinese != defaults["fusion_full_text_weight"].default
    assert said.collection.settings.fusion.full_text_weight == pytest.approx(chinese)
    assert own.collection.settings.fusion.full_text_weight == pytest.approx(0.2)
    listed = {c.collection_id: c for c in (await stub.ListCollections(
        pb.ListCollectionsRequest(tenant_id=tenant))).collections}
    # Detected from its documents, as the search's fallback and the embedding model are.
    assert listed["found"].settings.fusion.full_text_weight == pytest.approx(chinese)
    assert listed["zh"].settings == said.collection.settings


async def test_hybrid_search_fuses_with_the_collection_own_weights(stub, tenant, ingest, search):
    await stub.CreateCollection(pb.CreateCollectionRequest(
        tenant_id=tenant, collection_id="vector-only",
        settings=pb.CollectionSettings(fusion=pb.FusionSettings(full_text_weight=0))))
    await ingest("vector-only", [(f"d{i}", text, "text/plain") for i, text in enumerate([
        "Restart the gateway after changing its routes.", "The gateway reads its routes at start.",
        "Kafka keeps its metadata in a KRaft quorum.", "Drain the node before a restart of the gateway."])])
    query = "how do I restart the gateway"
    hybrid = await search("vector-only", query, mode=pb.RETRIEVAL_MODE_HYBRID, top_k=4)
    vector = await search("vector-only", query, mode=pb.RETRIEVAL_MODE_VECTOR, top_k=4)
    assert [h.chunk_id for h in hybrid] == [h.chunk_id for h in vector]
    assert all({s.retriever for s in h.retriever_scores} <= {pb.RETRIEVER_VECTOR, pb.RETRIEVER_FULL_TEXT}
               for h in hybrid)


async def test_fusion_weights_out_of_range_are_refused_naming_the_field(stub, tenant):
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.CreateCollection(pb.CreateCollectionRequest(
            tenant_id=tenant, collection_id="bad", settings=pb.CollectionSettings(
                fusion=pb.FusionSettings(vector_weight=-1))))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "settings.fusion.vector_weight" in raised.value.details()


async def test_creating_an_existing_collection_is_already_exists(new_collection):
    await new_collection("dup")
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await new_collection("dup")
    assert raised.value.code() == grpc.StatusCode.ALREADY_EXISTS


async def test_an_embedding_model_the_inference_service_does_not_serve_is_refused(stub, tenant):
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.CreateCollection(pb.CreateCollectionRequest(tenant_id=tenant, collection_id="x",
                                                               embedding_model="no-such-model"))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "no-such-model" in raised.value.details()


async def test_a_tenant_never_sees_or_touches_another_tenants_data(stub, tenant, new_collection, ingest, search):
    other = tenant + "-other"
    await new_collection("shared-name")
    await new_collection("shared-name", tenant_id=other)
    mine = await ingest("shared-name", [("secret", "The launch code of tenant one is PELICAN.", "text/plain")])
    await ingest("shared-name", [("theirs", "Tenant two writes about pelicans.", "text/plain")], tenant_id=other)

    hits = await search("shared-name", "pelican launch code", tenant_id=other)
    assert {h.document_id for h in hits} == {"theirs"}
    listed = await stub.ListCollections(pb.ListCollectionsRequest(tenant_id=other))
    assert [(c.collection_id, c.document_count) for c in listed.collections] == [("shared-name", 1)]

    for call in (
        stub.GetIngestJob(pb.GetIngestJobRequest(tenant_id=other, job_id=mine.job_id)),
        stub.DeleteDocument(pb.DeleteDocumentRequest(tenant_id=other + "-x", collection_id="shared-name",
                                                     document_id="secret")),
        stub.Search(pb.SearchRequest(tenant_id=other + "-x", collection_id="shared-name", query="pelican")),
        stub.DeleteCollection(pb.DeleteCollectionRequest(tenant_id=other + "-x", collection_id="shared-name")),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await call
        assert raised.value.code() == grpc.StatusCode.NOT_FOUND

    # Deleting tenant two's document of the same id space leaves tenant one's intact.
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.DeleteDocument(pb.DeleteDocumentRequest(tenant_id=other, collection_id="shared-name",
                                                           document_id="secret"))
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    assert {h.document_id for h in await search("shared-name", "launch code")} == {"secret"}


async def test_writing_or_querying_with_another_embedding_model_is_refused_naming_both(stub, tenant, new_collection):
    await new_collection("guarded")
    calls = [
        stub.IngestDocuments(pb.IngestDocumentsRequest(
            tenant_id=tenant, collection_id="guarded", embedding_model="bge-m3",
            documents=[pb.Document(document_id="d", content=b"text", content_type="text/plain")])),
        stub.Search(pb.SearchRequest(tenant_id=tenant, collection_id="guarded", query="text",
                                     options=pb.RetrievalOptions(embedding_model="bge-m3"))),
    ]
    for call in calls:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await call
        assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert EMBED_MODEL in raised.value.details() and "bge-m3" in raised.value.details()
