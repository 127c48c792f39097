"""RAG over REST: the gateway's /v1/rag routes in front of the real RAG and inference services."""
from __future__ import annotations

import json
import uuid

import httpx
import pytest

RUNBOOK = b"""# Tianshu operations

## Restarting the gateway
Drain traffic first, then restart the gateway pods one at a time.

## Rotating API keys
Create the new key, deploy it to clients, then revoke the old key.
"""


@pytest.fixture(scope="module")
def http(stack, auth):
    with httpx.Client(base_url=stack.gateway_url, headers=auth, timeout=120) as client:
        yield client


@pytest.fixture(scope="module")
def other_tenant(http) -> dict[str, str]:
    """Headers with a key of a second tenant that may read and write RAG."""
    tenant = f"other-{uuid.uuid4().hex[:8]}"
    http.post("/v1/admin/tenants", json={"id": tenant, "name": tenant}).raise_for_status()
    key = http.post("/v1/admin/keys", json={"tenant": tenant, "name": "rag", "scopes": ["rag:read", "rag:write"]})
    key.raise_for_status()
    return {"Authorization": f"Bearer {key.json()['key']}"}


@pytest.fixture(scope="module")
def collection(http, finished_job) -> str:
    """A collection holding the runbook, uploaded as a Markdown file and ingested to the end."""
    name = f"ops-{uuid.uuid4().hex[:8]}"
    created = http.post("/v1/rag/collections", json={"name": name})
    assert created.status_code == 201, created.text
    upload = http.post(f"/v1/rag/collections/{name}/documents",
                       files={"file": ("runbook.md", RUNBOOK, "text/markdown")}, data={"document_id": "runbook"})
    assert upload.status_code == 202, upload.text
    assert upload.headers["location"] == f"/v1/rag/jobs/{upload.json()['id']}"
    job = finished_job(http, upload.json())
    assert job["status"] == "succeeded", job
    assert job["queue_position"] is None
    assert job["documents_done"] == 1 and job["chunks_done"] == job["chunks_total"] > 0
    return name


def test_search_finds_the_section_that_answers(http, collection):
    response = http.post(f"/v1/rag/collections/{collection}/search",
                         json={"query": "how do I rotate a key?", "top_k": 3, "mode": "hybrid"})

    assert response.status_code == 200, response.text
    hits = response.json()["data"]
    assert hits[0]["document_id"] == "runbook"
    assert "Rotating API keys" in hits[0]["heading_path"]
    assert hits[0]["chunk_id"].startswith("runbook#")
    assert {r["retriever"] for r in hits[0]["retrievers"]} <= {"vector", "full_text"}


def test_answer_streams_text_then_ends_with_citations_of_the_section_that_answers(http, collection):
    # The default model (135M parameters) seldom writes [n] markers on its own ("How should I
    # restart the gateway?" gets a right answer and none); asked which source says it, it
    # answers with the marker, and greedy decoding makes every run answer alike.
    question = "Which source says how to restart the gateway?"
    with http.stream("POST", f"/v1/rag/collections/{collection}/answers",
                     json={"question": question, "stream": True, "max_tokens": 64}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        events = [line.removeprefix("data: ") for line in r.iter_lines() if line.startswith("data: ")]

    assert events[-1] == "[DONE]"
    parsed = [json.loads(e) for e in events[:-1]]
    assert [e["type"] for e in parsed[:-1]] == ["answer.delta"] * (len(parsed) - 1)
    assert len(parsed) > 2
    last = parsed[-1]
    assert last["type"] == "answer.citations"
    assert last["outcome"] == "answered"
    text = "".join(e["text"] for e in parsed[:-1])
    assert last["citations"], f"an answer drawn from the runbook cites none of it: {text!r}"
    for citation in last["citations"]:
        assert f"[{citation['marker']}]" in text
        assert citation["chunk_id"].startswith("runbook#")
        # The uploaded section that says how to restart the gateway, as it was stored.
        assert (citation["document_id"], citation["heading_path"], citation["text"]) == (
            "runbook", ["Tianshu operations", "Restarting the gateway"],
            "Drain traffic first, then restart the gateway pods one at a time.")


def test_a_cited_chunk_opens_in_its_whole_document(http, collection):
    answered = http.post(f"/v1/rag/collections/{collection}/answers",
                         json={"question": "Which source says how to restart the gateway?", "max_tokens": 64})
    assert answered.status_code == 200, answered.text
    citations = answered.json()["citations"]
    assert citations, answered.json()
    cited = citations[0]

    document = http.get(f"/v1/rag/collections/{collection}/documents/{cited['document_id']}")
    assert document.status_code == 200, document.text
    body = document.json()
    assert (body["object"], body["id"], body["collection"], body["content_type"]) == \
        ("rag.document", "runbook", collection, "text/markdown")
    assert body["chunk_count"] == len(body["chunks"]) == 2 and body["next_page_token"] is None
    assert [c["chunk_id"] for c in body["chunks"]] == ["runbook#0", "runbook#1"]
    [same] = [c for c in body["chunks"] if c["chunk_id"] == cited["chunk_id"]]
    assert (same["text"], same["heading_path"]) == (cited["text"], cited["heading_path"])
    assert [c["heading_path"][-1] for c in body["chunks"]] == ["Restarting the gateway", "Rotating API keys"]

    first = http.get(f"/v1/rag/collections/{collection}/documents/runbook", params={"limit": 1}).json()
    assert [c["chunk_id"] for c in first["chunks"]] == ["runbook#0"]
    rest = http.get(f"/v1/rag/collections/{collection}/documents/runbook",
                    params={"limit": 1, "page_token": first["next_page_token"]}).json()
    assert [c["chunk_id"] for c in rest["chunks"]] == ["runbook#1"] and rest["next_page_token"] is None


def test_a_missing_document_is_404_naming_it(http, collection):
    missing = http.get(f"/v1/rag/collections/{collection}/documents/handbook")
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == "document 'handbook' not found"
    bad_token = http.get(f"/v1/rag/collections/{collection}/documents/runbook", params={"page_token": "x"})
    assert bad_token.status_code == 400
    assert bad_token.json()["error"]["message"].startswith("page_token:")


def test_another_tenant_cannot_see_the_collection(other_tenant, http, collection, stack):
    with httpx.Client(base_url=stack.gateway_url, headers=other_tenant, timeout=60) as other:
        listed = other.get("/v1/rag/collections").json()["data"]
        searched = other.post(f"/v1/rag/collections/{collection}/search", json={"query": "rotate"})
        read = other.get(f"/v1/rag/collections/{collection}/documents/runbook")

    assert collection not in [c["name"] for c in listed]
    assert searched.status_code == 404
    assert searched.json()["error"]["code"] == "not_found"
    assert read.status_code == 404 and read.json()["error"]["message"] == f"collection '{collection}' not found"


def test_a_chinese_collection_over_rest_reads_chinese_with_the_chinese_model(http, finished_job):
    name = f"zh-{uuid.uuid4().hex[:8]}"
    created = http.post("/v1/rag/collections", json={"name": name, "settings": {"language": "zh"}})
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["embedding_model"], body["dimension"], body["settings"]["language"]) == ("bge-small-zh-v1.5", 512,
                                                                                          "zh")
    upload = http.post(f"/v1/rag/collections/{name}/documents", json={"documents": [
        {"id": "panda", "text": "大熊猫主要吃竹子，每天要花十几个小时进食。野生大熊猫生活在四川的山林里。"},
        {"id": "tea", "text": "绿茶不经过发酵，乌龙茶半发酵，红茶全发酵。泡绿茶的水温不宜太高。"}]})
    assert upload.status_code == 202, upload.text
    job = finished_job(http, upload.json())
    assert job["status"] == "succeeded", job

    found = http.post(f"/v1/rag/collections/{name}/search", json={"query": "熊猫吃什么", "top_k": 2, "mode": "hybrid"})
    assert found.status_code == 200, found.text
    result = found.json()
    assert result["mode"] == "hybrid" and result["fallback_reason"] is None
    assert result["data"][0]["document_id"] == "panda"
    assert {r["retriever"] for r in result["data"][0]["retrievers"]} == {"vector", "full_text"}
