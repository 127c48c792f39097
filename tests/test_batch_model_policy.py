"""A batch may not use a model its caller could not use on the interactive routes: the
gateway refuses the batch at creation with the interactive route's status and code, naming
the model and its lines. Driven with the official openai package against the real stack
(gateway, batch service on Kafka, inference service)."""
from __future__ import annotations

import json
import time
import uuid

import httpx
import openai
import pytest
from openai import OpenAI

from conftest import MODEL

EMBEDDING_MODEL = "all-minilm-l6-v2"
FINAL = {"completed", "failed", "cancelled", "expired"}
# A safety net for a stuck pipeline, not a measure: two embedding lines take well under a second.
PATIENCE_SECONDS = 300


def jsonl(lines: list[dict]) -> bytes:
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


@pytest.fixture(scope="module")
def embeddings_only(stack, auth) -> OpenAI:
    """A client of a fresh tenant whose allowed models are the embedding model alone."""
    tenant_id = f"policy-{uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=stack.gateway_url, headers=auth, timeout=60) as admin:
        admin.post("/v1/admin/tenants", json={"id": tenant_id, "name": tenant_id,
                                              "allowed_models": [EMBEDDING_MODEL]}).raise_for_status()
        key = admin.post("/v1/admin/keys", json={"tenant": tenant_id, "name": "policy",
                                                 "scopes": ["chat", "embeddings", "batch"]})
        key.raise_for_status()
    return OpenAI(base_url=f"{stack.gateway_url}/v1", api_key=key.json()["key"], max_retries=0, timeout=120)


def test_a_batch_naming_a_model_the_tenant_may_not_use_is_refused_like_chat(embeddings_only):
    with pytest.raises(openai.PermissionDeniedError) as on_chat:
        embeddings_only.chat.completions.create(model=MODEL, max_tokens=4,
                                                messages=[{"role": "user", "content": "Hi"}])
    assert on_chat.value.body["code"] == "model_not_allowed"

    chat_line = {"custom_id": "q1", "method": "POST", "url": "/v1/chat/completions",
                 "body": {"model": MODEL, "max_tokens": 8, "messages": [{"role": "user", "content": "Hi"}]}}
    uploaded = embeddings_only.files.create(file=("chat.jsonl", jsonl([chat_line])), purpose="batch")
    with pytest.raises(openai.PermissionDeniedError) as on_batch:
        embeddings_only.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions",
                                       completion_window="24h")

    refusal = on_batch.value.body
    assert refusal["code"] == on_chat.value.body["code"] and refusal["type"] == on_chat.value.body["type"]
    assert refusal["message"] == (f"This API key may not use the model '{MODEL}'. "
                                  "Named on line 1 of the input file.")
    assert refusal["param"] == "input_file_id"
    assert embeddings_only.batches.list().data == []


def test_a_batch_of_an_allowed_model_still_runs(embeddings_only):
    lines = [{"custom_id": name, "method": "POST", "url": "/v1/embeddings",
              "body": {"model": EMBEDDING_MODEL, "input": text}}
             for name, text in (("cat", "A cat sits on the mat."), ("markets", "Stock markets fell."))]
    uploaded = embeddings_only.files.create(file=("embed.jsonl", jsonl(lines)), purpose="batch")
    batch = embeddings_only.batches.create(input_file_id=uploaded.id, endpoint="/v1/embeddings",
                                           completion_window="24h")
    deadline = time.monotonic() + PATIENCE_SECONDS
    while batch.status not in FINAL and time.monotonic() < deadline:
        time.sleep(0.5)
        batch = embeddings_only.batches.retrieve(batch.id)

    assert batch.status == "completed", batch
    output = [json.loads(line) for line in embeddings_only.files.content(batch.output_file_id).text.splitlines()]
    assert sorted(line["custom_id"] for line in output) == ["cat", "markets"]
    for line in output:
        body = line["response"]["body"]
        assert line["response"]["status_code"] == 200 and body["model"] == EMBEDDING_MODEL
        assert len(body["data"][0]["embedding"]) == 384
