"""Vector stores through the gateway with the official openai SDK, against the real stack: files
uploaded with purpose "assistants", a store made of them (one RAG collection of the key's
tenant), ingestion followed to the end, and searches by meaning, by attributes and by score."""
from __future__ import annotations

import time
import uuid

import httpx
import openai
import pytest

HERONS = b"""# Herons

Herons wade slowly through shallow water and spear fish with their long, sharp bills.
"""
OWLS = b"""# Owls

Owls hunt mice and voles at night; their hearing finds prey moving under the snow.
"""
EGRETS = b"""<html><body><h1>Egrets</h1>
<p>Egrets are white herons that follow cattle to catch the insects the animals stir up.</p>
</body></html>"""


def completed_files(client, store_id: str, expected: int) -> list:
    """The store's files once none is in progress (or as they last read after two minutes)."""
    files = []
    for _ in range(1200):
        files = list(client.vector_stores.files.list(vector_store_id=store_id))
        if len(files) == expected and all(f.status != "in_progress" for f in files):
            break
        time.sleep(0.1)
    return files


@pytest.fixture(scope="module")
def birds(client):
    """A store of herons and owls made at creation, and egrets with attributes added after;
    deleted with its uploads at the end."""
    herons = client.files.create(file=("herons.md", HERONS, "text/markdown"), purpose="assistants")
    owls = client.files.create(file=("owls.md", OWLS), purpose="assistants")
    egrets = client.files.create(file=("egrets.html", EGRETS, "text/html"), purpose="assistants")
    assert (herons.purpose, herons.filename, herons.bytes) == ("assistants", "herons.md", len(HERONS))

    store = client.vector_stores.create(name=f"birds-{uuid.uuid4().hex[:6]}", file_ids=[herons.id, owls.id],
                                        metadata={"topic": "birds"})
    assert store.object == "vector_store" and store.id.startswith("vs_")
    assert store.file_counts.total == 2
    files = completed_files(client, store.id, 2)
    assert sorted(f.status for f in files) == ["completed", "completed"], files

    added = client.vector_stores.files.create_and_poll(
        file_id=egrets.id, vector_store_id=store.id, attributes={"family": "ardeidae", "year": 2024, "white": True},
        poll_interval_ms=100, max_wait_seconds=120)
    assert added.status == "completed", added.last_error
    assert added.attributes == {"family": "ardeidae", "year": 2024, "white": True}
    assert added.usage_bytes == len(EGRETS)
    yield store, {"herons": herons, "owls": owls, "egrets": egrets}
    try:
        client.vector_stores.delete(store.id)
    except openai.NotFoundError:
        pass  # the last test deleted it
    for upload in (herons, owls, egrets):
        client.files.delete(upload.id)


def test_a_completed_store_counts_its_files_and_bytes(client, birds):
    store, uploads = birds
    read = client.vector_stores.retrieve(store.id)
    assert read.status == "completed"
    assert (read.file_counts.completed, read.file_counts.in_progress, read.file_counts.total) == (3, 0, 3)
    assert read.usage_bytes == len(HERONS) + len(OWLS) + len(EGRETS)
    assert read.metadata == {"topic": "birds"}
    assert store.id in [s.id for s in client.vector_stores.list(limit=100)]


def test_search_finds_the_file_that_answers_with_its_name_and_text(client, birds):
    store, uploads = birds
    page = client.vector_stores.search(vector_store_id=store.id, query="Which birds hunt rodents in the dark?")

    results = page.data
    assert results[0].file_id == uploads["owls"].id
    assert results[0].filename == "owls.md"
    assert "hunt mice and voles at night" in results[0].content[0].text
    assert results[0].content[0].type == "text"
    assert all(0 <= r.score <= 1 for r in results)


def test_attribute_filters_select_files(client, birds):
    store, uploads = birds
    query = "birds that catch fish or insects"
    family = client.vector_stores.search(vector_store_id=store.id, query=query,
                                         filters={"type": "eq", "key": "family", "value": "ardeidae"})
    assert {r.file_id for r in family.data} == {uploads["egrets"].id}
    assert family.data[0].attributes == {"family": "ardeidae", "year": 2024, "white": True}

    others = client.vector_stores.search(vector_store_id=store.id, query=query,
                                         filters={"type": "ne", "key": "family", "value": "ardeidae"})
    assert {r.file_id for r in others.data} == {uploads["herons"].id, uploads["owls"].id}

    compound = client.vector_stores.search(vector_store_id=store.id, query=query, filters={
        "type": "and", "filters": [{"type": "gte", "key": "year", "value": 2020},
                                   {"type": "eq", "key": "white", "value": True}]})
    assert {r.file_id for r in compound.data} == {uploads["egrets"].id}
    assert client.vector_stores.search(vector_store_id=store.id, query=query,
                                       filters={"type": "gt", "key": "year", "value": 2024}).data == []


def test_score_threshold_cuts_results_below_it(client, birds):
    store, uploads = birds
    query = "owls hunting mice at night under the snow"
    everything = client.vector_stores.search(vector_store_id=store.id, query=query, max_num_results=10).data
    scores = sorted((r.score for r in everything), reverse=True)
    assert len(scores) >= 2 and scores[0] > scores[1]
    threshold = (scores[0] + scores[1]) / 2

    cut = client.vector_stores.search(vector_store_id=store.id, query=query, max_num_results=10,
                                      ranking_options={"score_threshold": threshold}).data

    assert [r.file_id for r in cut] == [uploads["owls"].id]
    assert cut[0].score >= threshold


def test_bad_searches_are_400_naming_the_parameter(client, birds):
    store, _ = birds
    with pytest.raises(openai.BadRequestError) as refused:
        client.vector_stores.search(vector_store_id=store.id, query="x", max_num_results=51)
    assert refused.value.body["param"] == "max_num_results"
    with pytest.raises(openai.BadRequestError) as refused:
        client.vector_stores.search(vector_store_id=store.id, query="x",
                                    filters={"type": "gt", "key": "white", "value": True})
    assert refused.value.body["param"] == "filters.value"


def test_the_store_is_a_rag_collection_of_the_same_tenant_and_no_other(stack, client, birds):
    store, uploads = birds
    with httpx.Client(base_url=stack.gateway_url, headers={"Authorization": f"Bearer {stack.admin_key()}"},
                      timeout=120) as http:
        hits = http.post(f"/v1/rag/collections/{store.id}/search", json={"query": "owls at night", "top_k": 3})
        assert hits.status_code == 200, hits.text
        assert hits.json()["data"][0]["document_id"] == uploads["owls"].id

        tenant = f"other-{uuid.uuid4().hex[:8]}"
        http.post("/v1/admin/tenants", json={"id": tenant, "name": tenant}).raise_for_status()
        key = http.post("/v1/admin/keys", json={"tenant": tenant, "name": "vs", "scopes": ["rag:read", "rag:write"]})
        key.raise_for_status()
    stranger = openai.OpenAI(base_url=client.base_url, api_key=key.json()["key"], max_retries=0, timeout=120)
    with pytest.raises(openai.NotFoundError):
        stranger.vector_stores.retrieve(store.id)
    with pytest.raises(openai.NotFoundError):
        stranger.vector_stores.search(vector_store_id=store.id, query="owls")
    with pytest.raises(openai.NotFoundError):
        stranger.vector_stores.files.create(vector_store_id=store.id, file_id=uploads["owls"].id)
    assert store.id not in [s.id for s in stranger.vector_stores.list()]


def test_a_files_content_is_its_parsed_text_as_the_sdk_reads_it(stack, auth, client, birds):
    store, uploads = birds
    page = client.vector_stores.files.content(uploads["egrets"].id, vector_store_id=store.id)
    items = list(page)
    assert [item.type for item in items] == ["text"]
    assert items[0].text == "Egrets are white herons that follow cattle to catch the insects the animals stir up."
    raw = httpx.get(f"{stack.gateway_url}/v1/vector_stores/{store.id}/files/{uploads['egrets'].id}/content",
                    headers=auth, timeout=60).json()
    assert (raw["object"], raw["has_more"], raw["next_page"]) == ("vector_store.file_content.page", False, None)
    assert (raw["file_id"], raw["filename"]) == (uploads["egrets"].id, "egrets.html")
    assert raw["attributes"] == {"family": "ardeidae", "year": 2024, "white": True}
    with pytest.raises(openai.NotFoundError) as missing:
        client.vector_stores.files.content("file-none", vector_store_id=store.id)
    assert missing.value.body["message"] == f"No file found with id 'file-none' in vector store '{store.id}'."


def test_deleting_files_and_the_store_removes_them_from_search(client, birds):
    store, uploads = birds
    deleted = client.vector_stores.files.delete(file_id=uploads["owls"].id, vector_store_id=store.id)
    assert (deleted.id, deleted.deleted, deleted.object) == (uploads["owls"].id, True, "vector_store.file.deleted")

    page = client.vector_stores.search(vector_store_id=store.id, query="owls hunting mice at night")
    assert uploads["owls"].id not in {r.file_id for r in page.data}
    assert client.vector_stores.retrieve(store.id).file_counts.total == 2
    # The upload itself stays until deleted.
    assert client.files.retrieve(uploads["owls"].id).purpose == "assistants"

    gone = client.vector_stores.delete(store.id)
    assert (gone.id, gone.deleted, gone.object) == (store.id, True, "vector_store.deleted")
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.search(vector_store_id=store.id, query="herons")
