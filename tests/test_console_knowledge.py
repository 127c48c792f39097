"""The knowledge bases page in a real browser against the real stack: a collection is created,
two files dropped in at once are ingested with live progress, searched in the three modes and
asked a question whose citation opens the cited chunk highlighted in its whole document."""
from __future__ import annotations

import uuid

import httpx

from playwright.sync_api import expect

from console_pages import WAIT_MS
from test_rag_through_gateway import RUNBOOK

CANTEEN = b"""# Canteen

## Opening hours
Lunch is served from noon until two in the afternoon.
"""
# Ingestion embeds on a shared 2-core machine: a hang guard, not a promise.
INGEST_WAIT_MS = 180_000


def test_two_files_are_ingested_with_progress_searched_in_three_modes_and_an_answer_cites_its_chunk(console, stack):
    name = f"handbook-{uuid.uuid4().hex[:8]}"
    console.sign_in(stack.admin_key())
    console.go("knowledge")
    page = console.page

    page.locator("[data-test=new-collection]").fill(name)
    page.locator("[data-test=create-collection]").click()
    panel = page.locator("[data-test=collection-panel]")
    expect(panel).to_contain_text(name, timeout=WAIT_MS)

    page.locator("[data-test=upload] input[type=file]").set_input_files([
        {"name": "runbook.md", "mimeType": "text/markdown", "buffer": RUNBOOK},
        {"name": "canteen.md", "mimeType": "text/markdown", "buffer": CANTEEN},
    ])
    expect(page.locator("[data-test=start-upload]")).to_have_text("Upload 2 files")
    page.locator("[data-test=start-upload]").click()
    job = page.locator("[data-test=job]").first
    expect(job).to_have_attribute("data-status", "succeeded", timeout=INGEST_WAIT_MS)
    expect(job.locator("[data-test=job-status]")).to_have_text("done")
    expect(job.locator("[data-test=job-counts]")).to_contain_text("2 of 2 documents")
    expect(page.locator(f"[data-test=collection-{name}]")).to_contain_text("2 documents", timeout=WAIT_MS)

    panel.locator(".n-tabs-tab", has_text="Search").click()
    page.locator("[data-test=search-query]").fill("how do I rotate a key?")
    page.locator("[data-test=search]").click()
    for mode in ("vector", "full_text", "hybrid"):
        expect(page.locator(f"[data-test=mode-{mode}] [data-test=hit]").first).to_be_visible(timeout=WAIT_MS)
    best = page.locator("[data-test=mode-hybrid] [data-test=hit]").first
    expect(best).to_contain_text("Rotating API keys")
    expect(best.locator("[data-test=retriever-score]").first).to_contain_text("(#1)")

    panel.locator(".n-tabs-tab", has_text="Ask").click()
    # As in test_rag_through_gateway: asked which source says it, the small default model
    # answers with the [n] marker.
    page.locator("[data-test=question]").fill("Which source says how to restart the gateway?")
    page.locator("[data-test=answer-max-tokens]").fill("64")
    page.locator("[data-test=answer-max-tokens]").press("Tab")
    page.locator("[data-test=ask]").click()
    citation = page.locator("[data-test=citation]").first
    expect(citation).to_be_visible(timeout=WAIT_MS)
    # The [n] marker in the answer's text and the source listed under it (by mouse, then by
    # keyboard) open the same chunk, in its whole document.
    cited = "Drain traffic first, then restart the gateway pods one at a time."
    for open_it in (lambda: page.locator("[data-test=answer] .markdown button.cite").first.click(),
                    lambda: (citation.focus(), page.keyboard.press("Enter"))):
        open_it()
        document = page.locator("[data-test=document]")
        expect(document).to_be_visible(timeout=WAIT_MS)
        highlighted = document.locator("mark[data-test=cited-chunk]")
        expect(highlighted).to_have_text([cited])
        expect(highlighted).to_be_focused()
        expect(highlighted).to_be_in_viewport()
        # The rest of the document is there too, under its headings, and not highlighted.
        expect(document).to_contain_text("Tianshu operations › Rotating API keys")
        expect(document).to_contain_text("Create the new key, deploy it to clients, then revoke the old key.")
        expect(document.locator("mark", has_text="Create the new key")).to_have_count(0)
        expect(page.locator("[data-test=cited-document]")).to_contain_text(
            "runbook.md › Tianshu operations › Restarting the gateway")
        page.keyboard.press("Escape")
        expect(page.locator("[data-test=document]")).to_have_count(0)

    # A document deleted since the answer: the citation still shows what it quoted, and says why
    # the document is not shown.
    deleted = httpx.delete(f"{stack.gateway_url}/v1/rag/collections/{name}/documents/runbook.md",
                           headers={"Authorization": f"Bearer {stack.admin_key()}"}, timeout=60)
    assert deleted.status_code == 200, deleted.text
    citation.click()
    expect(page.locator("[data-test=document-problem]")).to_contain_text("document 'runbook.md' not found",
                                                                         timeout=WAIT_MS)
    expect(page.locator("[data-test=cited-chunk]")).to_have_text(cited)
    expect(page.locator("[data-test=document]")).to_have_count(0)
    page.keyboard.press("Escape")

    page.get_by_role("button", name=f"Delete collection {name}").click()
    page.locator(".n-popconfirm__action button", has_text="Confirm").click()
    expect(page.locator(f"[data-test=collection-{name}]")).to_have_count(0, timeout=WAIT_MS)
    assert console.csp_violations() == []


def test_a_collection_created_as_chinese_gets_the_chinese_embedding_model(console, stack):
    name = f"zh-{uuid.uuid4().hex[:8]}"
    console.sign_in(stack.admin_key())
    console.go("knowledge")
    page = console.page

    page.locator("[data-test=new-collection]").fill(name)
    console.choose("new-collection-language", "Chinese")
    page.locator("[data-test=create-collection]").click()

    listed = page.locator(f"[data-test=collection-{name}]")
    expect(listed.locator("[data-test=collection-model]")).to_have_text("Embedding model: bge-small-zh-v1.5",
                                                                        timeout=WAIT_MS)
    created = httpx.get(f"{stack.gateway_url}/v1/rag/collections",
                        headers={"Authorization": f"Bearer {stack.admin_key()}"}, timeout=60).json()["data"]
    [collection] = [c for c in created if c["name"] == name]
    assert collection["settings"]["language"] == "zh"
