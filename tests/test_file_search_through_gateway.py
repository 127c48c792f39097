"""The Responses API's file_search tool through the gateway, with the official openai SDK on the
real stack: a vector store of an uploaded runbook, a turn that searches it, and an answer whose
file_citation annotations name the uploaded file."""
from __future__ import annotations

import time
import uuid

import openai
import pytest

from conftest import MODEL

RUNBOOK = b"""# Tianshu operations

## Restarting the gateway
Drain traffic first, then restart the gateway pods one at a time.

## Rotating API keys
Create the new key, deploy it to clients, then revoke the old key.
"""
# The default model (135M parameters) seldom writes [n] markers on its own; asked which source
# says it, it answers with the marker, and greedy decoding makes every run answer alike (as in
# the RAG answer test, tests/test_rag_through_gateway.py).
QUESTION = "Which source says how to restart the gateway?"


@pytest.fixture(scope="module")
def runbook_store(client):
    upload = client.files.create(file=("runbook.md", RUNBOOK, "text/markdown"), purpose="assistants")
    store = client.vector_stores.create(name=f"ops-{uuid.uuid4().hex[:6]}", file_ids=[upload.id])
    for _ in range(1200):
        files = list(client.vector_stores.files.list(vector_store_id=store.id))
        if files and all(f.status != "in_progress" for f in files):
            break
        time.sleep(0.1)
    assert [f.status for f in files] == ["completed"]
    yield store, upload
    client.vector_stores.delete(store.id)
    client.files.delete(upload.id)


def file_search(store_id: str) -> dict:
    return {"type": "file_search", "vector_store_ids": [store_id], "max_num_results": 3}


def test_a_forced_file_search_answers_with_citations_of_the_uploaded_file(client, runbook_store):
    store, upload = runbook_store
    response = client.responses.create(model=MODEL, input=QUESTION, tools=[file_search(store.id)],
                                       tool_choice={"type": "file_search"}, temperature=0, max_output_tokens=64)

    search, message = response.output
    assert search.type == "file_search_call" and search.status == "completed" and search.queries[0]
    assert message.type == "message" and response.output_text
    annotations = message.content[0].annotations
    assert annotations, f"an answer drawn from the runbook cites none of it: {response.output_text!r} {search.queries}"
    for annotation in annotations:
        assert (annotation.type, annotation.file_id, annotation.filename) == ("file_citation", upload.id,
                                                                             "runbook.md")
        assert response.output_text[annotation.index] == "["
    # Both steps are billed: the decision and the answer.
    assert response.usage.input_tokens > 0 and response.usage.output_tokens > 0
    assert client.responses.retrieve(response.id).output[1].content[0].annotations == annotations


def test_the_file_search_stream_sends_the_search_then_the_answer(client, runbook_store):
    store, upload = runbook_store
    events = list(client.responses.create(model=MODEL, input=QUESTION, tools=[file_search(store.id)],
                                          tool_choice={"type": "file_search"}, temperature=0,
                                          max_output_tokens=64, stream=True))

    types = [e.type for e in events]
    assert types[:5] == ["response.created", "response.in_progress", "response.output_item.added",
                         "response.file_search_call.in_progress", "response.file_search_call.searching"]
    assert types.index("response.file_search_call.completed") < types.index("response.output_text.delta")
    assert types[-1] == "response.completed"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    final = events[-1].response
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == final.output_text
    added = [e.annotation for e in events if e.type == "response.output_text.annotation.added"]
    assert [a.file_id for a in added] == [a.file_id for a in final.output[1].content[0].annotations]


def test_a_key_with_limits_streams_a_file_search_turn_to_its_end(stack, client, runbook_store):
    """Both steps of the turn take from the key's buckets; the answer's is admitted after the
    stream's headers went out, which once failed the turn with a 500 for any key with limits."""
    store, _ = runbook_store
    created = client.post("/admin/keys", cast_to=dict, body={
        "tenant": "default", "name": "limited", "scopes": ["chat"], "rpm": 1000, "tpm": 1_000_000})
    limited = client.with_options(api_key=created["key"])

    events = list(limited.responses.create(model=MODEL, input=QUESTION, tools=[file_search(store.id)],
                                           tool_choice={"type": "file_search"}, temperature=0,
                                           max_output_tokens=64, stream=True))

    assert events[-1].type == "response.completed", events[-1]
    assert events[-1].response.output[1].content[0].text


def test_a_store_of_another_tenant_or_none_is_404_and_bad_tools_are_400(client, runbook_store):
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model=MODEL, input=QUESTION, tools=[file_search("vs_doesnotexist")],
                                tool_choice={"type": "file_search"}, max_output_tokens=8)
    store, _ = runbook_store
    with pytest.raises(openai.BadRequestError) as error:
        client.responses.create(model=MODEL, input=QUESTION, max_output_tokens=8,
                                tools=[{"type": "file_search", "vector_store_ids": [store.id], "max_num_results": 0}])
    assert error.value.body["param"] == "tools[0].max_num_results"
    with pytest.raises(openai.BadRequestError) as error:
        client.responses.create(model=MODEL, input=QUESTION, max_output_tokens=8,
                                tools=[{"type": "file_search", "vector_store_ids": []}])
    assert error.value.body["param"] == "tools[0].vector_store_ids"
