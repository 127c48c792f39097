"""A collection's language picks its embedding model when its caller names none: ZH the
Chinese model (bge-small-zh-v1.5, 512 dimensions), AUTO the model for the language of its
first ingest, settled before any chunk is stored. Against the real inference service, whose
Chinese model makes hybrid search of a Chinese collection fuse both retrievers."""
import grpc
import pytest
from tianshu.rag.v1 import rag_pb2 as pb

from test_language_fallback import CHINESE, ENGLISH

DEFAULT, CHINESE_MODEL = "all-minilm-l6-v2", "bge-small-zh-v1.5"


async def _create(stub, tenant: str, name: str, language=pb.COLLECTION_LANGUAGE_UNSPECIFIED,
                  model: str = "") -> pb.Collection:
    response = await stub.CreateCollection(pb.CreateCollectionRequest(
        tenant_id=tenant, collection_id=name, embedding_model=model,
        settings=pb.CollectionSettings(language=language)))
    return response.collection


async def _listed(stub, tenant: str, name: str) -> pb.Collection:
    listed = await stub.ListCollections(pb.ListCollectionsRequest(tenant_id=tenant))
    return next(c for c in listed.collections if c.collection_id == name)


async def test_a_chinese_collection_gets_the_chinese_model_and_says_its_language(stub, tenant):
    created = await _create(stub, tenant, "zh", pb.COLLECTION_LANGUAGE_ZH)
    english = await _create(stub, tenant, "en", pb.COLLECTION_LANGUAGE_EN)

    assert (created.embedding_model, created.dimension) == (CHINESE_MODEL, 512)
    assert created.settings.language == pb.COLLECTION_LANGUAGE_ZH
    assert (english.embedding_model, english.dimension) == (DEFAULT, 384)
    assert english.settings.language == pb.COLLECTION_LANGUAGE_EN
    listed = await _listed(stub, tenant, "zh")
    assert (listed.embedding_model, listed.settings.language) == (CHINESE_MODEL, pb.COLLECTION_LANGUAGE_ZH)


async def test_an_auto_collection_takes_the_chinese_model_at_its_first_chinese_ingest(stub, tenant, ingest):
    created = await _create(stub, tenant, "auto")
    assert (created.embedding_model, created.settings.language) == (DEFAULT, pb.COLLECTION_LANGUAGE_AUTO)

    job = await ingest("auto", [(doc, text, "text/plain") for doc, text in CHINESE.items()])

    assert job.state == pb.INGEST_JOB_STATE_SUCCEEDED and job.embedding_model == CHINESE_MODEL
    settled = await _listed(stub, tenant, "auto")
    assert (settled.embedding_model, settled.dimension, settled.chunk_count) == (CHINESE_MODEL, 512, 3)
    assert settled.settings.language == pb.COLLECTION_LANGUAGE_AUTO

    hybrid = await stub.Search(pb.SearchRequest(tenant_id=tenant, collection_id="auto", query="熊猫吃什么",
                                                options=pb.RetrievalOptions(mode=pb.RETRIEVAL_MODE_HYBRID, top_k=3)))
    assert hybrid.mode == pb.RETRIEVAL_MODE_HYBRID and hybrid.fallback_reason == ""
    assert hybrid.hits[0].document_id == "panda"
    assert {s.retriever for s in hybrid.hits[0].retriever_scores} == {pb.RETRIEVER_VECTOR, pb.RETRIEVER_FULL_TEXT}
    vector = await stub.Search(pb.SearchRequest(tenant_id=tenant, collection_id="auto", query="大熊猫的食物",
                                                options=pb.RetrievalOptions(mode=pb.RETRIEVAL_MODE_VECTOR, top_k=1)))
    assert vector.hits[0].document_id == "panda", "the vectors read Chinese"


async def test_an_auto_collection_keeps_the_model_its_first_ingest_settled(stub, tenant, ingest):
    await _create(stub, tenant, "first-en")
    await ingest("first-en", [(doc, text, "text/plain") for doc, text in ENGLISH.items()])
    later = await ingest("first-en", [(f"zh-{doc}", text, "text/plain") for doc, text in CHINESE.items()])

    assert later.state == pb.INGEST_JOB_STATE_SUCCEEDED and later.embedding_model == DEFAULT
    assert (await _listed(stub, tenant, "first-en")).embedding_model == DEFAULT


async def test_a_model_named_at_creation_is_kept_whatever_the_documents(stub, tenant, ingest):
    await _create(stub, tenant, "named", model=DEFAULT)
    job = await ingest("named", [(doc, text, "text/plain") for doc, text in CHINESE.items()])

    assert job.embedding_model == DEFAULT
    assert (await _listed(stub, tenant, "named")).embedding_model == DEFAULT


async def test_a_first_ingest_that_names_a_model_the_language_did_not_pick_is_refused(stub, tenant):
    await _create(stub, tenant, "auto-named")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.IngestDocuments(pb.IngestDocumentsRequest(
            tenant_id=tenant, collection_id="auto-named", embedding_model=DEFAULT,
            documents=[pb.Document(document_id="panda", content=CHINESE["panda"].encode(),
                                   content_type="text/plain")]))

    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert CHINESE_MODEL in caught.value.details() and DEFAULT in caught.value.details()


async def test_an_unknown_language_is_invalid_argument(stub, tenant):
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _create(stub, tenant, "bad", language=42)

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "settings.language" in caught.value.details()


async def test_thresholded_searches_of_collections_of_either_dimension_never_mix_them(stub, tenant, ingest):
    """Chunks of 384 and of 512 dimensions share one table: a similarity cut that the planner
    pushes down into a scan of it must not cast another collection's vectors (PostgreSQL
    refused the search: "expected 384 dimensions, not 512")."""
    await _create(stub, tenant, "zh", pb.COLLECTION_LANGUAGE_ZH)
    await _create(stub, tenant, "en", pb.COLLECTION_LANGUAGE_EN)
    await ingest("zh", [(doc, text, "text/plain") for doc, text in CHINESE.items()])
    await ingest("en", [(doc, text, "text/plain") for doc, text in ENGLISH.items()])

    for name, query in (("en", "what do pandas eat"), ("zh", "熊猫吃什么")):
        for mode in (pb.RETRIEVAL_MODE_HYBRID, pb.RETRIEVAL_MODE_FULL_TEXT, pb.RETRIEVAL_MODE_VECTOR):
            found = await stub.Search(pb.SearchRequest(tenant_id=tenant, collection_id=name, query=query,
                                                       options=pb.RetrievalOptions(mode=mode, top_k=3,
                                                                                   score_threshold=0.1)))
            assert found.hits and found.hits[0].document_id == "panda", (name, mode)
            assert all(h.similarity >= 0.1 for h in found.hits)
