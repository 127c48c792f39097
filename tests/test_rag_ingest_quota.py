"""A tenant's ingestion quota against the real stack: the gateway passes what is left of it to
the RAG service, which counts an upload's embedding tokens before it stores anything; an upload
over the quota is 429 and leaves the collection and the job table untouched, an accepted one is
charged its tokens, which show in the tenant's usage and in what the next refusal says is left."""
from __future__ import annotations

import re
import time
import uuid

import httpx
import psycopg
import pytest

EMBEDDING_MODEL = "all-minilm-l6-v2"
# One sentence each, so each is one chunk whose embedded text is the sentence itself.
BIG = ("Herons are long-legged wading birds that stand motionless in shallow water, waiting for fish, frogs "
       "and insects to come close, then strike with a fast thrust of their sharp bills.")
SMALL = "Egrets are herons with white plumage."


@pytest.fixture(scope="module")
def admin(stack, auth):
    with httpx.Client(base_url=stack.gateway_url, headers=auth, timeout=120) as client:
        yield client


def _tokens(admin: httpx.Client, text: str) -> int:
    """What the embedding model reads for the text, to size the quota around it."""
    response = admin.post("/v1/embeddings", json={"model": EMBEDDING_MODEL, "input": text})
    assert response.status_code == 200, response.text
    return response.json()["usage"]["prompt_tokens"]


def _upload(client: httpx.Client, collection: str, *texts: str) -> httpx.Response:
    return client.post(f"/v1/rag/collections/{collection}/documents",
                       json={"documents": [{"id": f"doc-{i}", "text": t} for i, t in enumerate(texts)]})


def _jobs_of(stack, tenant: str) -> int:
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{stack.postgres_port}/tianshu_rag") as conn:
        return conn.execute("SELECT count(*) FROM ingest_jobs WHERE tenant_id = %s", (tenant,)).fetchone()[0]


def _documents_in(client: httpx.Client, collection: str) -> int:
    [found] = [c for c in client.get("/v1/rag/collections").json()["data"] if c["name"] == collection]
    return found["document_count"]


def _usage(admin: httpx.Client, tenant: str) -> list[dict]:
    """The tenant's usage rows, once the upload's settlement (written just after the 202) is in."""
    for _ in range(100):
        rows = admin.get("/v1/admin/usage", params={"tenant": tenant}).json()["data"]
        if rows:
            return rows
        time.sleep(0.1)
    return []


def test_an_upload_over_the_quota_is_refused_whole_and_an_accepted_one_is_charged(stack, admin, finished_job):
    big, small = _tokens(admin, BIG), _tokens(admin, SMALL)
    assert big > small + 20, (big, small)
    # Room for BIG alone, not for BIG and SMALL together, nor for SMALL after BIG; the margins
    # absorb a token or two of difference between the RAG service's count and the embeddings'.
    quota = big + small // 2
    tenant = f"quota-{uuid.uuid4().hex[:8]}"
    created = admin.post("/v1/admin/tenants", json={"id": tenant, "name": tenant, "ingest_tokens_per_day": quota})
    assert created.status_code == 201, created.text
    assert created.json()["ingest_tokens_per_day"] == quota
    key = admin.post("/v1/admin/keys", json={"tenant": tenant, "name": "ingest", "scopes": ["rag:read", "rag:write"]})
    key.raise_for_status()
    collection = f"birds-{uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=stack.gateway_url, headers={"Authorization": f"Bearer {key.json()['key']}"},
                      timeout=120) as client:
        assert client.post("/v1/rag/collections", json={"name": collection}).status_code == 201

        refused = _upload(client, collection, BIG, SMALL)
        assert refused.status_code == 429, refused.text
        error = refused.json()["error"]
        assert (error["type"], error["code"]) == ("rate_limit_error", "ingestion_quota_exceeded")
        whole = re.fullmatch(rf"This upload needs (\d+) embedding tokens, more than the {quota} ingestion tokens "
                             rf"per day of tenant {tenant}\. Upload fewer or smaller documents at a time\.",
                             error["message"])
        assert whole, error["message"]
        both = int(whole.group(1))
        assert _documents_in(client, collection) == 0
        assert _jobs_of(stack, tenant) == 0

        accepted = _upload(client, collection, BIG)
        assert accepted.status_code == 202, accepted.text
        job = finished_job(client, accepted.json())
        assert job["status"] == "succeeded", job
        charged = job["embedding_tokens"]
        assert 0 < charged <= quota < both

        [row] = _usage(admin, tenant)
        assert (row["endpoint"], row["model"], row["requests"], row["prompt_tokens"], row["completion_tokens"]) == (
            "rag.documents", EMBEDDING_MODEL, 1, charged, 0)
        assert row["key_id"] == key.json()["id"]

        again = _upload(client, collection, SMALL)
        assert again.status_code == 429, again.text
        retry_after = again.headers["retry-after"]
        # SMALL's count is what BIG and SMALL together needed, less BIG's.
        assert again.json()["error"]["message"] == (
            f"This upload needs {both - charged} embedding tokens; tenant {tenant} has {quota - charged} of its "
            f"{quota} ingestion tokens per day left. Retry after {retry_after}s.")
        assert _documents_in(client, collection) == 1
        assert _jobs_of(stack, tenant) == 1
