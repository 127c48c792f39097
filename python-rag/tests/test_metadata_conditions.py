"""Search with metadata conditions (comparisons combined by and/or), a score threshold and the
similarity of every hit, through the API against the real database; and chunk sizes chosen
per ingest call. Each condition is checked with the vector and with the full-text retriever,
whose SQL differs."""
import grpc
import pytest
import pytest_asyncio
from google.protobuf import struct_pb2
from tianshu.rag.v1 import rag_pb2 as pb

# Every document holds the word "report", so a full-text search for it finds them all and the
# condition alone decides which come back.
DOCS = [
    ("q1", "Quarterly report on tide gauges along the northern coast.", "text/plain",
     {"year": 2021, "region": "north", "public": True, "date": "2021-03-31", "score": 0.5}),
    ("q2", "Annual report on river flooding and levee repairs.", "text/plain",
     {"year": 2023, "region": "south", "public": False, "date": "2023-12-31"}),
    ("q3", "Field report on glacier retreat measured by drones.", "text/plain",
     {"year": 2024.0, "region": "north", "date": "2024-06-30", "tag": "ice"}),
    ("q4", "Draft report on the coffee machine budget.", "text/plain",
     {"year": "2024", "region": "west"}),
]
MODES = [pb.RETRIEVAL_MODE_VECTOR, pb.RETRIEVAL_MODE_FULL_TEXT]


def value(v) -> struct_pb2.Value:
    out = struct_pb2.Value()
    if isinstance(v, list):
        out.list_value.extend(v)
    elif isinstance(v, bool):
        out.bool_value = v
    elif isinstance(v, (int, float)):
        out.number_value = v
    else:
        out.string_value = v
    return out


def cmp(operator: str, key: str, v) -> pb.MetadataCondition:
    op = getattr(pb, f"COMPARISON_OPERATOR_{operator.upper()}")
    return pb.MetadataCondition(comparison=pb.MetadataComparison(operator=op, key=key, value=value(v)))


def all_of(*conditions) -> pb.MetadataCondition:
    return pb.MetadataCondition(compound=pb.MetadataCompound(operator=pb.COMPOUND_OPERATOR_AND,
                                                             conditions=conditions))


def any_of(*conditions) -> pb.MetadataCondition:
    return pb.MetadataCondition(compound=pb.MetadataCompound(operator=pb.COMPOUND_OPERATOR_OR,
                                                             conditions=conditions))


@pytest_asyncio.fixture
async def reports(new_collection, ingest):
    await new_collection("reports")
    job = await ingest("reports", DOCS)
    assert job.state == pb.INGEST_JOB_STATE_SUCCEEDED
    return "reports"


async def found(search, collection, condition, mode) -> set[str]:
    hits = await search(collection, "report", mode=mode, top_k=10, metadata_condition=condition)
    return {h.document_id for h in hits}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("condition, expected", [
    (cmp("eq", "region", "north"), {"q1", "q3"}),
    # Numbers by value: 2024.0 stored, 2024 asked; the string "2024" is another type.
    (cmp("eq", "year", 2024), {"q3"}),
    (cmp("eq", "public", False), {"q2"}),
    # ne matches documents without the key too.
    (cmp("ne", "public", True), {"q2", "q3", "q4"}),
    (cmp("gt", "year", 2021), {"q2", "q3"}),
    (cmp("gte", "year", 2021), {"q1", "q2", "q3"}),
    (cmp("lt", "year", 2024), {"q1", "q2"}),
    (cmp("lte", "score", 0.5), {"q1"}),
    # Strings compare with strings: ISO dates order as text.
    (cmp("gte", "date", "2023-01-01"), {"q2", "q3"}),
    (cmp("lt", "date", "2022"), {"q1"}),
    (cmp("in", "region", ["south", "west"]), {"q2", "q4"}),
    (cmp("in", "year", [2021, 2024]), {"q1", "q3"}),
    (cmp("nin", "region", ["north"]), {"q2", "q4"}),
    (cmp("nin", "tag", ["ice"]), {"q1", "q2", "q4"}),
    (all_of(cmp("eq", "region", "north"), cmp("gt", "year", 2022)), {"q3"}),
    (any_of(cmp("eq", "region", "west"), cmp("eq", "public", False)), {"q2", "q4"}),
    (any_of(all_of(cmp("eq", "region", "north"), cmp("lt", "year", 2022)), cmp("eq", "tag", "ice")), {"q1", "q3"}),
    (cmp("eq", "missing", "x"), set()),
])
async def test_conditions_select_documents_by_their_metadata(reports, search, condition, expected, mode):
    assert await found(search, reports, condition, mode) == expected


async def test_a_condition_applies_with_the_equality_filter(reports, search):
    hits = await search(reports, "report", mode=pb.RETRIEVAL_MODE_HYBRID, top_k=10, metadata_filter={"region": "north"},
                        metadata_condition=cmp("gt", "year", 2022))
    assert {h.document_id for h in hits} == {"q3"}


async def test_keys_and_values_that_look_like_sql_or_json_paths_are_only_data(reports, search):
    for key in ["region') OR true --", "$.region", "region\" || true"]:
        assert await found(search, reports, cmp("ne", key, "x"), pb.RETRIEVAL_MODE_FULL_TEXT) == \
            {"q1", "q2", "q3", "q4"}
        assert await found(search, reports, cmp("gt", key, "a"), pb.RETRIEVAL_MODE_FULL_TEXT) == set()
    assert await found(search, reports, cmp("eq", "region", "north' OR '1'='1"), pb.RETRIEVAL_MODE_VECTOR) == set()
    assert await found(search, reports, cmp("in", "region", ["$[*]", "@ == @"]), pb.RETRIEVAL_MODE_VECTOR) == set()


async def test_every_hybrid_hit_carries_its_similarity_to_the_query(reports, search):
    hits = await search(reports, "glacier retreat drones", mode=pb.RETRIEVAL_MODE_HYBRID, top_k=10)
    assert hits[0].document_id == "q3"
    assert len(hits) == 4
    assert all(h.HasField("similarity") and -1 <= h.similarity <= 1 for h in hits)
    vector = {h.document_id: h.similarity for h in await search(reports, "glacier retreat drones",
                                                                mode=pb.RETRIEVAL_MODE_VECTOR, top_k=10)}
    assert {h.document_id: h.similarity for h in hits} == pytest.approx(vector)
    full_text = await search(reports, "glacier", mode=pb.RETRIEVAL_MODE_FULL_TEXT)
    assert not full_text[0].HasField("similarity")


@pytest.mark.parametrize("mode", [pb.RETRIEVAL_MODE_VECTOR, pb.RETRIEVAL_MODE_FULL_TEXT, pb.RETRIEVAL_MODE_HYBRID])
async def test_score_threshold_drops_hits_less_similar_than_it_whichever_retriever_found_them(reports, search, mode):
    query = "report glacier retreat measured by drones"
    similarities = {h.document_id: h.similarity for h in await search(reports, query, mode=pb.RETRIEVAL_MODE_VECTOR,
                                                                      top_k=10)}
    ranked = sorted(similarities.values(), reverse=True)
    assert len(ranked) == 4 and ranked[0] > ranked[1]
    threshold = (ranked[0] + ranked[1]) / 2

    hits = await search(reports, query, mode=mode, top_k=10, score_threshold=threshold)

    assert [h.document_id for h in hits] == ["q3"]
    assert hits[0].similarity >= threshold
    everything = await search(reports, query, mode=mode, top_k=10, score_threshold=min(ranked) - 0.01)
    assert {h.document_id for h in everything} == set(similarities)


async def test_a_threshold_above_every_similarity_leaves_no_hits(reports, search):
    assert await search(reports, "report", mode=pb.RETRIEVAL_MODE_HYBRID, score_threshold=0.999) == []


@pytest.mark.parametrize("options, field", [
    (pb.RetrievalOptions(score_threshold=1.5), "options.score_threshold"),
    (pb.RetrievalOptions(metadata_condition=pb.MetadataCondition()), "options.metadata_condition"),
    (pb.RetrievalOptions(metadata_condition=cmp("eq", "", "x")), "options.metadata_condition.comparison.key"),
    (pb.RetrievalOptions(metadata_condition=cmp("gt", "public", True)),
     "options.metadata_condition.comparison.value"),
    (pb.RetrievalOptions(metadata_condition=cmp("in", "region", "north")),
     "options.metadata_condition.comparison.value"),
    (pb.RetrievalOptions(metadata_condition=cmp("in", "region", [True])),
     "options.metadata_condition.comparison.value[0]"),
    (pb.RetrievalOptions(metadata_condition=pb.MetadataCondition(comparison=pb.MetadataComparison(
        key="region", value=value("x")))), "options.metadata_condition.comparison.operator"),
    (pb.RetrievalOptions(metadata_condition=all_of()), "options.metadata_condition.compound.conditions"),
    (pb.RetrievalOptions(metadata_condition=any_of(cmp("eq", "a", 1), cmp("eq", "b", "x" * 1025))),
     "options.metadata_condition.compound.conditions[1].comparison.value"),
    (pb.RetrievalOptions(metadata_condition=all_of(*[cmp("eq", f"k{i}", i) for i in range(65)])),
     "options.metadata_condition.compound.conditions[64].comparison"),
])
async def test_bad_conditions_and_thresholds_are_invalid_argument_naming_the_field(stub, tenant, reports, options,
                                                                                   field):
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.Search(pb.SearchRequest(tenant_id=tenant, collection_id=reports, query="report", options=options))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert raised.value.details().startswith(field + ":")


async def test_conditions_nest_at_most_eight_levels(stub, tenant, reports):
    condition = cmp("eq", "region", "north")
    for _ in range(8):
        condition = all_of(condition)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.Search(pb.SearchRequest(tenant_id=tenant, collection_id=reports, query="report",
                                           options=pb.RetrievalOptions(metadata_condition=condition)))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "at most 8 levels" in raised.value.details()


LONG = " ".join(f"Sentence number {i} says something about levees and tides." for i in range(40))


async def test_an_ingest_call_may_choose_smaller_chunks(stub, tenant, new_collection, watch_job):
    await new_collection("sized")

    async def chunks(document_id: str, chunking: pb.Chunking | None) -> int:
        request = pb.IngestDocumentsRequest(tenant_id=tenant, collection_id="sized", documents=[
            pb.Document(document_id=document_id, content=LONG.encode(), content_type="text/plain")])
        if chunking is not None:
            request.chunking.CopyFrom(chunking)
        started = await stub.IngestDocuments(request)
        job = await watch_job(stub, tenant, started.job.job_id)
        assert job.state == pb.INGEST_JOB_STATE_SUCCEEDED
        return job.chunks_total

    default = await chunks("default", None)
    small = await chunks("small", pb.Chunking(max_chunk_tokens=40, overlap_tokens=0))
    assert small > default >= 2


@pytest.mark.parametrize("chunking, field", [
    (pb.Chunking(max_chunk_tokens=257), "chunking.max_chunk_tokens"),
    (pb.Chunking(max_chunk_tokens=16), "chunking.max_chunk_tokens"),
    (pb.Chunking(max_chunk_tokens=100, overlap_tokens=51), "chunking.overlap_tokens"),
])
async def test_chunk_sizes_out_of_range_are_invalid_argument(stub, tenant, new_collection, chunking, field):
    await new_collection("sized")
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.IngestDocuments(pb.IngestDocumentsRequest(
            tenant_id=tenant, collection_id="sized", chunking=chunking,
            documents=[pb.Document(document_id="d", content=b"Tides.", content_type="text/plain")]))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert raised.value.details().startswith(field + ":")
