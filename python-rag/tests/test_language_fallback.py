"""Hybrid search does not fuse an embedding model that cannot read the collection's language:
a mostly Chinese collection of an English-only model is searched by full text alone, and the
response says so; so is one that says it is Chinese before its terms show it."""
from tianshu.rag.v1 import rag_pb2 as pb

CHINESE = {
    "panda": "大熊猫主要吃竹子，每天要花十几个小时进食。野生大熊猫生活在四川的山林里。",
    "tea": "绿茶不经过发酵，乌龙茶半发酵，红茶全发酵。泡绿茶的水温不宜太高。",
    "rail": "高速铁路的列车时速可以超过三百公里，京沪高铁连接北京和上海。",
}
ENGLISH = {
    "panda": "Giant pandas eat bamboo for most of the day and live in the mountains of Sichuan.",
    "tea": "Green tea is not fermented, oolong is partly fermented and black tea fully.",
    "rail": "High-speed trains run at more than three hundred kilometres per hour between Beijing and Shanghai.",
    "opera": "Peking opera roles are sheng, dan, jing and chou; the colours of a painted face show character.",
}


async def _search(stub, tenant: str, collection: str, query: str, mode) -> pb.SearchResponse:
    return await stub.Search(pb.SearchRequest(tenant_id=tenant, collection_id=collection, query=query,
                                              options=pb.RetrievalOptions(mode=mode, top_k=3)))


async def test_hybrid_search_of_a_chinese_collection_runs_full_text_alone_and_says_why(stub, tenant, ingest):
    # Its caller chose the English-only model: a Chinese collection that names none gets the
    # Chinese model (test_collection_language.py).
    await stub.CreateCollection(pb.CreateCollectionRequest(tenant_id=tenant, collection_id="zh",
                                                           embedding_model="all-minilm-l6-v2"))
    await ingest("zh", [(doc, text, "text/plain") for doc, text in CHINESE.items()])
    for mode in (pb.RETRIEVAL_MODE_HYBRID, pb.RETRIEVAL_MODE_UNSPECIFIED):
        hybrid = await _search(stub, tenant, "zh", "熊猫吃什么", mode)
        assert hybrid.mode == pb.RETRIEVAL_MODE_FULL_TEXT
        assert "mostly Chinese" in hybrid.fallback_reason and "all-minilm-l6-v2" in hybrid.fallback_reason
        full_text = await _search(stub, tenant, "zh", "熊猫吃什么", pb.RETRIEVAL_MODE_FULL_TEXT)
        assert [h.chunk_id for h in hybrid.hits] == [h.chunk_id for h in full_text.hits]
        assert hybrid.hits[0].document_id == "panda"
        assert {s.retriever for h in hybrid.hits for s in h.retriever_scores} == {pb.RETRIEVER_FULL_TEXT}

    vector = await _search(stub, tenant, "zh", "熊猫吃什么", pb.RETRIEVAL_MODE_VECTOR)
    assert vector.mode == pb.RETRIEVAL_MODE_VECTOR and vector.fallback_reason == "", "asked for, so run"


async def test_hybrid_search_of_a_mostly_english_collection_fuses_both(stub, tenant, new_collection, ingest):
    await new_collection("en")
    await ingest("en", [(doc, text, "text/plain") for doc, text in ENGLISH.items()] + [("zh-tea", CHINESE["tea"],
                                                                                          "text/plain")])
    hybrid = await _search(stub, tenant, "en", "what do pandas eat", pb.RETRIEVAL_MODE_HYBRID)
    assert hybrid.mode == pb.RETRIEVAL_MODE_HYBRID and hybrid.fallback_reason == ""
    assert pb.RETRIEVER_VECTOR in {s.retriever for h in hybrid.hits for s in h.retriever_scores}


async def test_a_collection_that_says_it_is_chinese_falls_back_on_an_english_only_model(stub, tenant, ingest):
    created = await stub.CreateCollection(pb.CreateCollectionRequest(
        tenant_id=tenant, collection_id="zh-said", embedding_model="all-minilm-l6-v2",
        settings=pb.CollectionSettings(language=pb.COLLECTION_LANGUAGE_ZH)))
    assert created.collection.embedding_model == "all-minilm-l6-v2", "a model its caller names is kept"
    # Half English by its terms: only its language setting says Chinese.
    await ingest("zh-said", [("panda", CHINESE["panda"] + " " + ENGLISH["panda"] + " " + ENGLISH["opera"],
                              "text/plain")])

    hybrid = await _search(stub, tenant, "zh-said", "熊猫吃什么", pb.RETRIEVAL_MODE_HYBRID)
    assert hybrid.mode == pb.RETRIEVAL_MODE_FULL_TEXT
    assert "says its documents are Chinese" in hybrid.fallback_reason
