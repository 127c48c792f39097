"""OpenAI's Files and Batches API through the gateway, in front of the real batch service
(Kafka, PostgreSQL, workers) and the real inference service — driven by the official
openai package. Batches are kept small (a few lines, 8 tokens each): the model runs on CPU."""
from __future__ import annotations

import json
import time
import uuid

import httpx
import openai
import pytest
from openai import OpenAI

from conftest import MODEL

FINAL = {"completed", "failed", "cancelled", "expired"}
# A safety net for a stuck pipeline, not a measure: a healthy stack finishes these in seconds.
PATIENCE_SECONDS = 600


def chat_line(custom_id: str, content: str, max_tokens: int = 8) -> dict:
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": MODEL, "max_tokens": max_tokens, "temperature": 0,
                     "messages": [{"role": "user", "content": content}]}}


def jsonl(lines: list[dict]) -> bytes:
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


@pytest.fixture(scope="module")
def admin(stack, auth):
    with httpx.Client(base_url=stack.gateway_url, headers=auth, timeout=120) as client:
        yield client


@pytest.fixture
def tenant(stack, admin) -> tuple[str, OpenAI]:
    """A fresh tenant and an OpenAI client with a key of it that may only run batches."""
    tenant_id = f"batch-{uuid.uuid4().hex[:8]}"
    admin.post("/v1/admin/tenants", json={"id": tenant_id, "name": tenant_id}).raise_for_status()
    key = admin.post("/v1/admin/keys", json={"tenant": tenant_id, "name": "batch", "scopes": ["batch"]})
    key.raise_for_status()
    return tenant_id, OpenAI(base_url=f"{stack.gateway_url}/v1", api_key=key.json()["key"], max_retries=0,
                             timeout=120)


def wait_final(client: OpenAI, batch_id: str):
    deadline = time.monotonic() + PATIENCE_SECONDS
    batch = client.batches.retrieve(batch_id)
    while batch.status not in FINAL and time.monotonic() < deadline:
        time.sleep(0.5)
        batch = client.batches.retrieve(batch_id)
    return batch


def charged_batch_tokens(admin, tenant_id: str) -> int:
    rows = admin.get("/v1/admin/usage", params={"tenant": tenant_id}).json()["data"]
    return sum(row["total_tokens"] for row in rows if row["endpoint"] == "/v1/batches")


def assert_charged(admin, tenant_id: str, tokens: int) -> None:
    """The gateway charges a batch's tokens to its tenant from the batch service's usage ledger
    (ListUsage), a few seconds after the lines finish; a missing call fails here."""
    deadline = time.monotonic() + PATIENCE_SECONDS
    while charged_batch_tokens(admin, tenant_id) < tokens and time.monotonic() < deadline:
        time.sleep(1)
    assert charged_batch_tokens(admin, tenant_id) == tokens > 0


def test_batch_runs_every_line_and_its_tokens_are_charged_to_the_tenant(admin, tenant):
    tenant_id, client = tenant
    # logprobs: honoured by the chat route, dropped by the batch path before the gateway translated
    # lines with the chat route's own mapper; now carried to the engine and into the output file.
    with_logprobs = chat_line("spain", "Capital of Spain?")
    with_logprobs["body"].update(logprobs=True, top_logprobs=2)
    lines = [chat_line("france", "What is the capital of France?"), chat_line("italy", "Capital of Italy?"),
             with_logprobs]
    uploaded = client.files.create(file=("questions.jsonl", jsonl(lines)), purpose="batch")
    assert uploaded.purpose == "batch" and uploaded.filename == "questions.jsonl"
    assert client.files.retrieve(uploaded.id).bytes == len(jsonl(lines))

    batch = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions",
                                  completion_window="24h", metadata={"suite": "cross"})
    assert batch.input_file_id == uploaded.id and batch.metadata == {"suite": "cross"}
    batch = wait_final(client, batch.id)

    assert batch.status == "completed", batch
    assert (batch.request_counts.total, batch.request_counts.completed, batch.request_counts.failed) == (3, 3, 0)
    assert batch.usage.input_tokens > 0 and batch.usage.output_tokens > 0
    output = [json.loads(line) for line in client.files.content(batch.output_file_id).text.splitlines()]
    assert sorted(line["custom_id"] for line in output) == ["france", "italy", "spain"]
    for line in output:
        body = line["response"]["body"]
        assert line["response"]["status_code"] == 200 and body["object"] == "chat.completion"
        assert body["choices"][0]["message"]["content"] and body["model"] == MODEL
        assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"]
    by_id = {line["custom_id"]: line["response"]["body"]["choices"][0] for line in output}
    tokens = by_id["spain"]["logprobs"]["content"]
    assert tokens and all(len(token["top_logprobs"]) == 2 for token in tokens)
    assert by_id["france"]["logprobs"] is None
    assert batch.error_file_id is None
    assert client.files.retrieve(batch.output_file_id).purpose == "batch_output"

    assert_charged(admin, tenant_id, batch.usage.total_tokens)


def test_a_line_the_chat_route_would_refuse_refuses_the_batch_naming_it(tenant):
    _, client = tenant
    no_model = {"custom_id": "no-model", "method": "POST", "url": "/v1/chat/completions",
                "body": {"messages": [{"role": "user", "content": "Hi"}]}}
    uploaded = client.files.create(file=("lines.jsonl", jsonl([chat_line("a", "Hi"), no_model])), purpose="batch")
    with pytest.raises(openai.BadRequestError) as refused:
        client.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h")
    assert refused.value.body["message"] == "The file has 1 invalid line: line 2: Missing required parameter: 'model'."
    assert refused.value.body["param"] == "input_file_id"


def test_invalid_file_is_refused_naming_its_lines(tenant):
    _, client = tenant
    content = jsonl([chat_line("a", "Hi")]) + b"not json\n" + jsonl([chat_line("a", "again")])
    with pytest.raises(openai.BadRequestError) as refused:
        client.files.create(file=("bad.jsonl", content), purpose="batch")
    message = refused.value.body["message"]
    assert "line 2: not valid JSON" in message and "line 3: custom_id 'a' is used" in message


# More lines than the batch service runs at once (TIANSHU_BATCH_WORKER_CONCURRENCY, 128 in the
# stack), so that a cancel after the first finished line finds most lines not yet started.
CANCELLED_BATCH_LINES = 300


def test_cancelled_batch_stops_its_unstarted_lines_and_keeps_what_finished(admin, tenant):
    tenant_id, client = tenant
    lines = [chat_line(f"q{i}", f"Count to {i}.", max_tokens=2) for i in range(CANCELLED_BATCH_LINES)]
    uploaded = client.files.create(file=("count.jsonl", jsonl(lines)), purpose="batch")
    batch = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions",
                                  completion_window="24h")
    deadline = time.monotonic() + PATIENCE_SECONDS
    while client.batches.retrieve(batch.id).request_counts.completed < 1:
        assert time.monotonic() < deadline, "no line finished"
        time.sleep(0.2)
    cancelled = client.batches.cancel(batch.id)
    assert cancelled.status in {"cancelling", "cancelled"}
    assert cancelled.cancelling_at is not None
    batch = wait_final(client, batch.id)

    counts = batch.request_counts
    assert batch.status == "cancelled", batch
    assert counts.total == CANCELLED_BATCH_LINES and counts.completed >= 1
    assert counts.completed + counts.failed < counts.total, f"the cancel stopped no line: {counts}"
    output = [json.loads(line) for line in client.files.content(batch.output_file_id).text.splitlines()]
    finished = {line["custom_id"] for line in output}
    assert len(output) == len(finished) == counts.completed
    assert finished <= {line["custom_id"] for line in lines}
    assert all(line["response"]["status_code"] == 200 for line in output)
    # Lines the cancel stopped are in neither file; an error file holds failed lines only.
    errors = [] if batch.error_file_id is None else \
        [json.loads(line) for line in client.files.content(batch.error_file_id).text.splitlines()]
    assert len(errors) == counts.failed and not finished & {line["custom_id"] for line in errors}
    used = sum(line["response"]["body"]["usage"]["total_tokens"] for line in output)
    assert batch.usage.total_tokens == used > 0
    assert_charged(admin, tenant_id, used)


def test_batches_list_pages_newest_first_and_other_tenants_see_none(tenant, stack, admin):
    _, client = tenant
    uploaded = client.files.create(file=("one.jsonl", jsonl([chat_line("only", "Hi")])), purpose="batch")
    older = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions",
                                  completion_window="24h")
    newer = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions",
                                  completion_window="24h")
    first = client.batches.list(limit=1)
    assert [b.id for b in first.data] == [newer.id] and first.has_more
    second = client.batches.list(limit=1, after=newer.id)
    assert [b.id for b in second.data] == [older.id]
    assert {b.id for b in client.batches.list()} == {older.id, newer.id}

    other_id = f"batch-{uuid.uuid4().hex[:8]}"
    admin.post("/v1/admin/tenants", json={"id": other_id, "name": other_id}).raise_for_status()
    key = admin.post("/v1/admin/keys", json={"tenant": other_id, "name": "other", "scopes": ["batch"]}).json()["key"]
    other = OpenAI(base_url=f"{stack.gateway_url}/v1", api_key=key, max_retries=0, timeout=120)
    assert list(other.batches.list()) == []
    with pytest.raises(openai.NotFoundError):
        other.batches.retrieve(newer.id)
    with pytest.raises(openai.NotFoundError):
        other.files.content(uploaded.id)
    for batch in (older, newer):
        wait_final(client, batch.id)
