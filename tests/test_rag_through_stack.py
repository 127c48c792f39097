"""The RAG service as `make run` starts it: on the stack's PostgreSQL, embedding through
the stack's inference service, and answering through the gateway, which bills the answers."""
from __future__ import annotations

import time
import uuid

import grpc
import httpx
from tianshu.rag.v1 import rag_pb2 as pb
from tianshu.rag.v1 import rag_pb2_grpc as pb_grpc

DOCUMENT = b"""# Tianshu operations

## Restarting the gateway
Drain traffic first, then restart the gateway pods one at a time.

## Rotating API keys
Create the new key, deploy it to clients, then revoke the old key.
"""


def _ops_collection(rag: pb_grpc.RagServiceStub, tenant: str) -> None:
    """Creates the tenant's collection "ops" holding DOCUMENT, ingested to the end."""
    rag.CreateCollection(pb.CreateCollectionRequest(tenant_id=tenant, collection_id="ops"), timeout=30)
    job = rag.IngestDocuments(pb.IngestDocumentsRequest(tenant_id=tenant, collection_id="ops", documents=[
        pb.Document(document_id="runbook", content=DOCUMENT, content_type="text/markdown")]), timeout=60).job
    for _ in range(600):
        job = rag.GetIngestJob(pb.GetIngestJobRequest(tenant_id=tenant, job_id=job.job_id), timeout=10).job
        if job.state not in (pb.INGEST_JOB_STATE_QUEUED, pb.INGEST_JOB_STATE_RUNNING):
            break
        time.sleep(0.1)
    assert job.state == pb.INGEST_JOB_STATE_SUCCEEDED


def test_ingest_then_search_finds_the_right_section(stack):
    with grpc.insecure_channel(stack.rag_target) as channel:
        rag = pb_grpc.RagServiceStub(channel)
        _ops_collection(rag, "acme")

        hits = rag.Search(pb.SearchRequest(tenant_id="acme", collection_id="ops", query="how do I rotate a key?",
                                           options=pb.RetrievalOptions(mode=pb.RETRIEVAL_MODE_HYBRID, top_k=3)),
                          timeout=30).hits
        other_tenant = rag.ListCollections(pb.ListCollectionsRequest(tenant_id="globex"), timeout=10)

    assert hits and hits[0].document_id == "runbook"
    assert "Rotating API keys" in hits[0].heading_path
    assert not other_tenant.collections


def test_an_answer_through_the_gateway_is_billed_to_the_tenant(stack, auth):
    tenant = f"billed-{uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=stack.gateway_url, headers=auth, timeout=120) as admin:
        admin.post("/v1/admin/tenants", json={"id": tenant, "name": tenant}).raise_for_status()
        key = admin.post("/v1/admin/keys", json={"tenant": tenant, "name": "rag", "scopes": ["rag:read"]})
        key.raise_for_status()
        with grpc.insecure_channel(stack.rag_target) as channel:
            _ops_collection(pb_grpc.RagServiceStub(channel), tenant)
        answer = admin.post("/v1/rag/collections/ops/answers",
                            headers={"Authorization": f"Bearer {key.json()['key']}"},
                            json={"question": "How should I restart the gateway?", "max_tokens": 32})
        assert answer.status_code == 200, answer.text
        assert answer.json()["outcome"] == "answered"

        # The usage row is written just after the response, not before it.
        for _ in range(600):
            usage = admin.get("/v1/admin/usage", params={"tenant": tenant}).json()["data"]
            if usage:
                break
            time.sleep(0.1)

    [row] = usage
    assert row["model"] == answer.json()["model"] == "smollm2-135m-instruct"
    assert row["requests"] == 1
    assert row["prompt_tokens"] == answer.json()["usage"]["prompt_tokens"] > 0
    assert 0 < row["completion_tokens"] == answer.json()["usage"]["completion_tokens"] <= 32
