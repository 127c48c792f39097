"""Ingestion through the API: every supported type, progress, replacement, skipping, bad input."""
import asyncio
import re

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from tianshu.rag.v1 import rag_pb2 as pb

from tianshu_rag.storage.jobs import JobStore

MANUAL = """# Operations manual

## Backups

Backups run nightly at 02:00 and are kept for 35 days in the archive bucket.

## Restores

To restore, open a ticket with the storage team and name the snapshot date.
"""


async def test_ingest_job_reports_progress_and_ends_succeeded_with_every_chunk_stored(stub, tenant, new_collection,
                                                                                      watch_job):
    await new_collection("manual")
    started = await stub.IngestDocuments(pb.IngestDocumentsRequest(
        tenant_id=tenant, collection_id="manual",
        documents=[pb.Document(document_id=f"doc-{i}", content=MANUAL.replace("35", str(30 + i)).encode(),
                               content_type="text/markdown") for i in range(5)]))
    # Queued, or already started by the time the call read it back.
    assert started.job.state in (pb.INGEST_JOB_STATE_QUEUED, pb.INGEST_JOB_STATE_RUNNING)
    assert started.job.documents_total == 5
    job = await watch_job(stub, tenant, started.job.job_id)
    assert job.state == pb.INGEST_JOB_STATE_SUCCEEDED
    assert (job.documents_done, job.documents_skipped, job.documents_failed) == (5, 0, 0)
    assert job.chunks_done == job.chunks_total == 10  # one chunk per section

    polled = await stub.GetIngestJob(pb.GetIngestJobRequest(tenant_id=tenant, job_id=job.job_id))
    assert polled.job == job
    [collection] = (await stub.ListCollections(pb.ListCollectionsRequest(tenant_id=tenant))).collections
    assert (collection.document_count, collection.chunk_count) == (5, 10)


async def test_a_job_names_its_collections_embedding_model_even_after_the_collection_is_deleted(
        stub, tenant, new_collection, watch_job):
    collection = await new_collection("billed")
    started = await stub.IngestDocuments(pb.IngestDocumentsRequest(
        tenant_id=tenant, collection_id="billed",
        documents=[pb.Document(document_id="d", content=b"Herons wade.", content_type="text/plain")]))
    assert collection.embedding_model == "all-minilm-l6-v2"
    assert started.job.embedding_model == collection.embedding_model
    assert (await watch_job(stub, tenant, started.job.job_id)).embedding_model == collection.embedding_model

    await stub.DeleteCollection(pb.DeleteCollectionRequest(tenant_id=tenant, collection_id="billed"))
    polled = await stub.GetIngestJob(pb.GetIngestJobRequest(tenant_id=tenant, job_id=started.job.job_id))
    assert polled.job.embedding_model == collection.embedding_model


async def test_chunks_keep_their_heading_path_and_document_metadata(new_collection, ingest, search):
    await new_collection("manual")
    await ingest("manual", [("ops", MANUAL, "text/markdown", {"team": "storage", "year": 2024})])
    [hit] = await search("manual", "how long are backups kept", top_k=1)
    assert hit.document_id == "ops" and hit.chunk_id == "ops#0"
    assert list(hit.heading_path) == ["Operations manual", "Backups"]
    assert "35 days" in hit.text
    assert dict(hit.metadata) == {"team": "storage", "year": 2024}


async def test_text_markdown_html_and_pdf_are_all_ingested(new_collection, ingest, search, minimal_pdf):
    await new_collection("formats")
    job = await ingest("formats", [
        ("txt", "Plain text says the quokka lives on Rottnest Island.", "text/plain"),
        ("md", "# Birds\n\nThe kakapo is a flightless parrot.", "text/markdown"),
        ("html", "<h1>Fish</h1><p>The axolotl keeps its gills for life.</p>", "text/html"),
        ("pdf", minimal_pdf(["The pangolin is covered in scales."]), "application/pdf"),
    ])
    assert job.state == pb.INGEST_JOB_STATE_SUCCEEDED
    for query, expected in [("quokka", "txt"), ("kakapo", "md"), ("axolotl", "html"), ("pangolin", "pdf")]:
        hits = await search("formats", query, mode=pb.RETRIEVAL_MODE_FULL_TEXT)
        assert [h.document_id for h in hits] == [expected]


async def test_reingesting_a_document_id_replaces_its_chunks(new_collection, ingest, search):
    await new_collection("replace")
    await ingest("replace", [("policy", "Remote work is allowed two days a week.", "text/plain")])
    job = await ingest("replace", [("policy", "Remote work is allowed four days a week.", "text/plain")])
    assert (job.documents_done, job.documents_skipped) == (1, 0)
    hits = await search("replace", "remote work days", mode=pb.RETRIEVAL_MODE_FULL_TEXT)
    assert [h.text for h in hits] == ["Remote work is allowed four days a week."]


async def test_unchanged_content_is_skipped_and_a_metadata_change_is_still_applied(new_collection, ingest, search):
    await new_collection("skip")
    await ingest("skip", [("a", "Unchanged text about glaciers.", "text/plain", {"v": 1})])
    job = await ingest("skip", [("a", "Unchanged text about glaciers.", "text/plain", {"v": 2})])
    assert (job.state, job.documents_skipped, job.documents_done, job.chunks_total) == \
        (pb.INGEST_JOB_STATE_SUCCEEDED, 1, 0, 0)
    assert [h.document_id for h in await search("skip", "glaciers", metadata_filter={"v": 2})] == ["a"]
    assert await search("skip", "glaciers", metadata_filter={"v": 1}) == []


async def test_a_reader_during_a_replacement_sees_exactly_the_old_version_until_it_commits_then_the_new(
        stub, tenant, new_collection, ingest, search, watch_job, pause):
    await new_collection("atomic")
    version = {name: "\n\n".join(f"Section {i}: the {name} version mentions walruses." for i in range(40))
               for name in ("old", "new")}
    await ingest("atomic", [("doc", version["old"], "text/plain")])

    async def sections_read() -> set[tuple[int, str]]:
        """(section, version) of every section in the chunks a reader finds now."""
        hits = await search("atomic", "walruses", mode=pb.RETRIEVAL_MODE_FULL_TEXT, top_k=100)
        return {(int(n), v) for h in hits for n, v in re.findall(r"Section (\d+): the (old|new) version", h.text)}

    # Held at its last step: the job's transaction has removed the old chunks and written the
    # new ones, and has not committed.
    committing = pause(JobStore, "succeed")
    started = await stub.IngestDocuments(pb.IngestDocumentsRequest(
        tenant_id=tenant, collection_id="atomic",
        documents=[pb.Document(document_id="doc", content=version["new"].encode(), content_type="text/plain")]))
    await asyncio.wait_for(committing.reached.wait(), 120)
    assert await sections_read() == {(i, "old") for i in range(40)}

    committing.release.set()
    assert (await watch_job(stub, tenant, started.job.job_id)).state == pb.INGEST_JOB_STATE_SUCCEEDED
    assert await sections_read() == {(i, "new") for i in range(40)}


def _bad_request_field(error: grpc.aio.AioRpcError) -> str:
    status = rpc_status.from_call(error)
    detail = error_details_pb2.BadRequest()
    status.details[0].Unpack(detail)
    return detail.field_violations[0].field


@pytest.mark.parametrize("document, reason", [
    (pb.Document(document_id="e", content=b"", content_type="text/plain"), "is empty"),
    (pb.Document(document_id="g", content=b"GIF89a...", content_type="image/gif"), "unsupported content type"),
    (pb.Document(document_id="p", content=b"%PDF-1.7 not really", content_type="application/pdf"), "corrupt PDF"),
    (pb.Document(document_id="b", content=b"\xff\xfe", content_type="text/plain"), "not valid UTF-8"),
    (pb.Document(document_id="w", content=b" \n ", content_type="text/markdown"), "no text"),
    (pb.Document(document_id="", content=b"text", content_type="text/plain"), "document_id"),
])
async def test_bad_documents_are_refused_as_invalid_argument_naming_the_reason(stub, tenant, new_collection,
                                                                              document, reason):
    await new_collection("bad")
    good = pb.Document(document_id="fine", content=b"A fine document.", content_type="text/plain")
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.IngestDocuments(pb.IngestDocumentsRequest(tenant_id=tenant, collection_id="bad",
                                                             documents=[good, document]))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reason in raised.value.details()
    assert _bad_request_field(raised.value).startswith("documents[1]")
    [collection] = (await stub.ListCollections(pb.ListCollectionsRequest(tenant_id=tenant))).collections
    assert collection.document_count == 0  # nothing of a refused call is stored


async def test_text_over_the_size_limit_is_refused(stub, tenant, new_collection, rag_server):
    await new_collection("big")
    limit = rag_server.settings.max_document_bytes
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.IngestDocuments(pb.IngestDocumentsRequest(tenant_id=tenant, collection_id="big", documents=[
            pb.Document(document_id="huge", content=b"a" * (limit + 1), content_type="text/plain")]))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"the limit is {limit}" in raised.value.details()


async def test_unknown_collection_document_or_job_is_not_found(stub, tenant, new_collection):
    await new_collection("exists")
    calls = [
        stub.IngestDocuments(pb.IngestDocumentsRequest(tenant_id=tenant, collection_id="missing", documents=[
            pb.Document(document_id="d", content=b"x", content_type="text/plain")])),
        stub.DeleteDocument(pb.DeleteDocumentRequest(tenant_id=tenant, collection_id="exists", document_id="nope")),
        stub.GetIngestJob(pb.GetIngestJobRequest(tenant_id=tenant, job_id="00000000-0000-0000-0000-000000000000")),
        stub.GetIngestJob(pb.GetIngestJobRequest(tenant_id=tenant, job_id="not-a-uuid")),
        stub.DeleteCollection(pb.DeleteCollectionRequest(tenant_id=tenant, collection_id="missing")),
    ]
    for call in calls:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await call
        assert raised.value.code() == grpc.StatusCode.NOT_FOUND


async def test_deleting_a_document_removes_its_chunks(stub, tenant, new_collection, ingest, search):
    await new_collection("del")
    await ingest("del", [("a", "Lemurs live on Madagascar.", "text/plain"),
                         ("b", "Lemurs eat fruit.", "text/plain")])
    await stub.DeleteDocument(pb.DeleteDocumentRequest(tenant_id=tenant, collection_id="del", document_id="a"))
    assert [h.document_id for h in await search("del", "lemurs", mode=pb.RETRIEVAL_MODE_FULL_TEXT)] == ["b"]
