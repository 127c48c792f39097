"""The batches page in a real browser against the real stack: a JSONL file dropped in becomes a
batch whose counts move to completion and whose output file downloads; a long batch is cancelled."""
from __future__ import annotations

import json

from playwright.sync_api import expect

from conftest import MODEL
from console_pages import WAIT_MS

# Batch lines run at batch priority on a shared 2-core machine: a hang guard, not a promise.
BATCH_WAIT_MS = 300_000


def _lines(prompts: list[str], max_tokens: int) -> bytes:
    return "".join(json.dumps({"custom_id": f"q{i}", "method": "POST", "url": "/v1/chat/completions",
                               "body": {"model": MODEL, "max_tokens": max_tokens,
                                        "messages": [{"role": "user", "content": prompt}]}}) + "\n"
                   for i, prompt in enumerate(prompts)).encode()


def _start(page, name: str, content: bytes) -> None:
    page.locator("[data-test=batch-upload] input[type=file]").set_input_files(
        {"name": name, "mimeType": "application/jsonl", "buffer": content})
    page.locator("[data-test=start-batch]").click()
    expect(page.get_by_text("started")).to_be_visible(timeout=WAIT_MS)


def test_a_small_batch_completes_and_its_output_downloads(console, stack):
    console.sign_in(stack.admin_key())
    console.go("batches")
    page = console.page
    _start(page, "requests.jsonl", _lines(["Capital of France?", "Capital of Japan?"], 8))

    row = page.locator("[data-test=batches] tbody tr").first
    expect(row.locator("[data-test=batch-status]")).to_have_text("completed", timeout=BATCH_WAIT_MS)
    expect(row.locator("[data-test=batch-counts]")).to_contain_text("2 done · 0 failed · 2 total")
    with page.expect_download() as download:
        row.locator("[data-test=download-output]").click()
    assert download.value.suggested_filename.endswith("-output.jsonl")
    results = [json.loads(line) for line in open(download.value.path()).read().splitlines()]
    assert sorted(r["custom_id"] for r in results) == ["q0", "q1"]
    for result in results:
        assert result["response"]["status_code"] == 200
        assert result["response"]["body"]["choices"][0]["message"]["content"]
    assert console.csp_violations() == []


def test_a_running_batch_is_cancelled_from_its_row(console, stack):
    console.sign_in(stack.admin_key())
    console.go("batches")
    page = console.page
    _start(page, "long.jsonl", _lines([f"Count from 1 to 500, item {i}." for i in range(40)], 400))

    row = page.locator("[data-test=batches] tbody tr").first
    row.locator("[data-test=cancel-batch]").click()
    expect(row.locator("[data-test=batch-status]")).to_have_text("cancelled", timeout=BATCH_WAIT_MS)
    expect(row.locator("[data-test=cancel-batch]")).to_have_count(0)
