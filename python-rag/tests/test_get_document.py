"""GetDocument through the API: a stored document read back whole, page by page, its chunks
the ones Search and Answer cite, and nothing of another tenant."""
import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from tianshu.rag.v1 import rag_pb2 as pb

SENTENCES = [f"Rule {i} says the gateway keeps {i} replicas warm." for i in range(24)]
HANDBOOK = "# Handbook\n\n## Scaling\n\n" + " ".join(SENTENCES) + "\n\n## Support\n\nCall the on-call engineer.\n"


@pytest.fixture
def handbook(stub, tenant, new_collection, watch_job):
    """A collection "books" holding "handbook.md" cut into small overlapping chunks."""
    async def store(content: str = HANDBOOK) -> pb.IngestJob:
        await new_collection("books")
        return await put(content)

    async def put(content: str) -> pb.IngestJob:
        document = pb.Document(document_id="handbook.md", content=content.encode(), content_type="text/markdown")
        document.metadata.update({"team": "platform"})
        started = await stub.IngestDocuments(pb.IngestDocumentsRequest(
            tenant_id=tenant, collection_id="books", documents=[document],
            chunking=pb.Chunking(max_chunk_tokens=40, overlap_tokens=12)))
        job = await watch_job(stub, tenant, started.job.job_id)
        assert job.state == pb.INGEST_JOB_STATE_SUCCEEDED, job.error
        return job
    store.put = put
    return store


async def read_all(stub, tenant, page_size):
    pages, token = [], ""
    while True:
        page = await stub.GetDocument(pb.GetDocumentRequest(tenant_id=tenant, collection_id="books",
                                                            document_id="handbook.md", page_size=page_size,
                                                            page_token=token))
        pages.append(page)
        token = page.next_page_token
        if not token:
            return pages


async def test_a_document_reads_back_whole_in_pages_with_its_metadata(stub, tenant, handbook):
    job = await handbook()
    pages = await read_all(stub, tenant, page_size=3)
    chunks = [c for p in pages for c in p.chunks]
    document = pages[0].document
    assert (document.document_id, document.collection_id, document.content_type) == \
        ("handbook.md", "books", "text/markdown")
    assert dict(document.metadata) == {"team": "platform"}
    assert document.chunk_count == job.chunks_total == len(chunks) > 3
    assert document.update_time.seconds > 0
    assert len(pages) == -(-len(chunks) // 3) and all(p.document == document for p in pages)
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert [c.chunk_id for c in chunks] == [f"handbook.md#{i}" for i in range(len(chunks))]
    assert chunks[-1].heading_path == ["Handbook", "Support"] and chunks[-1].text == "Call the on-call engineer."
    # Joined without what each chunk repeats of the one before, the chunks are the text once.
    scaling = "".join(c.text[c.overlap_chars:] for c in chunks if list(c.heading_path) == ["Handbook", "Scaling"])
    assert scaling == " ".join(SENTENCES)
    assert any(c.overlap_chars for c in chunks) and chunks[-1].overlap_chars == 0
    # Pages of another size give the same chunks, overlaps included.
    assert [c for p in await read_all(stub, tenant, page_size=500) for c in p.chunks] == chunks


async def test_the_chunk_a_search_hit_names_is_the_chunk_of_that_id_in_the_document(stub, tenant, handbook, search):
    await handbook()
    [hit] = await search("books", "How many replicas does rule 17 keep warm?", top_k=1)
    [page] = await read_all(stub, tenant, page_size=100)
    [same] = [c for c in page.chunks if c.chunk_id == hit.chunk_id]
    assert (same.text, list(same.heading_path)) == (hit.text, list(hit.heading_path))


async def test_another_tenants_document_is_not_found_like_a_missing_one(stub, tenant, handbook, new_collection):
    await handbook()
    for owner, collection, document_id in [("someone-else", "books", "handbook.md"),
                                           (tenant, "books", "missing.md")]:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.GetDocument(pb.GetDocumentRequest(tenant_id=owner, collection_id=collection,
                                                         document_id=document_id))
        assert refused.value.code() == grpc.StatusCode.NOT_FOUND
        info = error_details_pb2.ResourceInfo()
        assert rpc_status.from_call(refused.value).details[0].Unpack(info)
        expected = ("collection", "books") if owner != tenant else ("document", "missing.md")
        assert (info.resource_type, info.resource_name) == expected
    # The other tenant's own collection of the same name does not hold it either.
    await new_collection("books", tenant_id="someone-else")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.GetDocument(pb.GetDocumentRequest(tenant_id="someone-else", collection_id="books",
                                                     document_id="handbook.md"))
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND
    assert refused.value.details() == "document 'handbook.md' not found"


async def test_a_page_token_that_is_not_ours_is_invalid_argument(stub, tenant, handbook):
    await handbook()
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.GetDocument(pb.GetDocumentRequest(tenant_id=tenant, collection_id="books",
                                                     document_id="handbook.md", page_token="page-2"))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert refused.value.details().startswith("page_token:")


async def test_a_document_replaced_between_pages_is_refused_rather_than_mixed(stub, tenant, handbook):
    await handbook()
    first = await stub.GetDocument(pb.GetDocumentRequest(tenant_id=tenant, collection_id="books",
                                                         document_id="handbook.md", page_size=2))
    await handbook.put(HANDBOOK.replace("on-call engineer", "support desk"))
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.GetDocument(pb.GetDocumentRequest(tenant_id=tenant, collection_id="books",
                                                     document_id="handbook.md", page_token=first.next_page_token))
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "replaced since the first page" in refused.value.details()
