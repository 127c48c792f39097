"""The RAG service as `make run` starts it: on the stack's PostgreSQL, embedding through
the stack's inference service."""
from __future__ import annotations

import time

import grpc
from tianshu.rag.v1 import rag_pb2 as pb
from tianshu.rag.v1 import rag_pb2_grpc as pb_grpc

DOCUMENT = b"""# Tianshu operations

## Restarting the gateway
Drain traffic first, then restart the gateway pods one at a time.

## Rotating API keys
Create the new key, deploy it to clients, then revoke the old key.
"""


def test_ingest_then_search_finds_the_right_section(stack):
    with grpc.insecure_channel(stack.rag_target) as channel:
        rag = pb_grpc.RagServiceStub(channel)
        rag.CreateCollection(pb.CreateCollectionRequest(tenant_id="acme", collection_id="ops"), timeout=30)
        job = rag.IngestDocuments(pb.IngestDocumentsRequest(tenant_id="acme", collection_id="ops", documents=[
            pb.Document(document_id="runbook", content=DOCUMENT, content_type="text/markdown")]), timeout=60).job
        for _ in range(600):
            job = rag.GetIngestJob(pb.GetIngestJobRequest(tenant_id="acme", job_id=job.job_id), timeout=10).job
            if job.state != pb.INGEST_JOB_STATE_RUNNING:
                break
            time.sleep(0.1)
        assert job.state == pb.INGEST_JOB_STATE_SUCCEEDED

        hits = rag.Search(pb.SearchRequest(tenant_id="acme", collection_id="ops", query="how do I rotate a key?",
                                           options=pb.RetrievalOptions(mode=pb.RETRIEVAL_MODE_HYBRID, top_k=3)),
                          timeout=30).hits
        other_tenant = rag.ListCollections(pb.ListCollectionsRequest(tenant_id="globex"), timeout=10)

    assert hits and hits[0].document_id == "runbook"
    assert "Rotating API keys" in hits[0].heading_path
    assert not other_tenant.collections
