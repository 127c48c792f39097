"""Every page of the web console in English and Chinese: no message key missing in either
language (the i18n library's missing-key handler records each miss), both locale files with the
same keys, no page wider than a phone's screen, a screenshot of each page, and the first load's
compressed size (budget 300 KB) and time to interactive.

`CONSOLE_DOCS=1` also writes the screenshots to docs/img/ and the measurements to
docs/benchmarks.md; without it they go to a temporary folder and the test's output."""
from __future__ import annotations

import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from conftest import MODEL
from console_pages import WAIT_MS, Console
from test_rag_through_gateway import RUNBOOK

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "console" / "src" / "locales"
WRITE_DOCS = os.environ.get("CONSOLE_DOCS") == "1"
FIRST_LOAD_BUDGET_BYTES = 300 * 1024
LOADS = 7
PHONE = {"width": 390, "height": 844}
PAGES = ["playground", "knowledge", "batches", "admin"]


def _keys(tree: dict, prefix: str = "") -> set[str]:
    return {key for name, value in tree.items()
            for key in (_keys(value, f"{prefix}{name}.") if isinstance(value, dict) else {f"{prefix}{name}"})}


def test_both_locale_files_hold_the_same_keys_and_no_empty_message():
    en, zh = (json.loads((LOCALES / f"{name}.json").read_text()) for name in ("en", "zh"))
    assert _keys(en) - _keys(zh) == set(), "keys only in en.json"
    assert _keys(zh) - _keys(en) == set(), "keys only in zh.json"
    assert len(_keys(en)) > 150

    def empty(tree, prefix=""):
        return [f"{prefix}{k}" for k, v in tree.items()
                for k in (empty(v, f"{prefix}{k}.") if isinstance(v, dict) else ([k] if not str(v).strip() else []))]
    assert empty(en) == [] and empty(zh) == []


@pytest.fixture(scope="module")
def handbook(stack, auth) -> str:
    """A collection with the runbook in it and a batch, so the pages have something to show; and
    one chat first, so the screenshots show a warm gateway rather than its first call's set-up."""
    name = f"handbook-{uuid.uuid4().hex[:6]}"
    with httpx.Client(base_url=stack.gateway_url, headers=auth, timeout=120) as http:
        http.post("/v1/chat/completions", json={"model": MODEL, "max_tokens": 4,
                                                "messages": [{"role": "user", "content": "Hi"}]}).raise_for_status()
        assert http.post("/v1/rag/collections", json={"name": name, "description": "Operations"}).status_code == 201
        job = http.post(f"/v1/rag/collections/{name}/documents",
                        files={"file": ("runbook.md", RUNBOOK, "text/markdown")}).json()
        # A small batch, so the batches page shows one.
        line = json.dumps({"custom_id": "q1", "method": "POST", "url": "/v1/chat/completions",
                           "body": {"model": MODEL, "max_tokens": 8, "messages": [{"role": "user", "content": "Hi"}]}})
        upload = http.post("/v1/files", data={"purpose": "batch"}, files={"file": ("requests.jsonl", line + "\n")})
        http.post("/v1/batches", json={"input_file_id": upload.json()["id"], "endpoint": "/v1/chat/completions",
                                       "completion_window": "24h"}).raise_for_status()
        for _ in range(600):
            if http.get(f"/v1/rag/jobs/{job['id']}").json()["status"] not in ("queued", "running"):
                break
            time.sleep(0.1)
    return name


def _shots_dir(tmp_path) -> Path:
    return ROOT / "docs" / "img" if WRITE_DOCS else tmp_path


def _shot(page, folder: Path, name: str) -> None:
    page.wait_for_timeout(300)  # menus and modals finish their transitions; not a measurement
    page.screenshot(path=str(folder / f"console-{name}.png"))


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_every_page_in_each_language_has_every_message_and_fits_a_phone(browser, stack, handbook, tmp_path, language):
    context = browser.new_context(locale=language, viewport={"width": 1280, "height": 800})
    tag = "zh" if language == "zh-CN" else "en"
    shots = _shots_dir(tmp_path)
    try:
        tab = Console(context.new_page(), stack.gateway_url)
        page = tab.page
        page.on("console", lambda message: message.type == "error" and tab.errors.append(message.text))
        foreign: list[str] = []
        page.on("request", lambda request: request.url.startswith((stack.gateway_url + "/", "data:", "blob:"))
                or foreign.append(request.url))
        tab.open()
        page.locator("[data-test=key]").fill("tsk_wrong")
        page.locator("[data-test=sign-in]").click()
        expect(page.locator(".n-form-item-feedback__line")).to_be_visible(timeout=WAIT_MS)
        _shot(page, shots, f"signin-{tag}")
        tab.sign_in(stack.admin_key())

        tab.go("playground")
        page.locator("[data-test=system]").fill("Answer in one sentence.")
        page.locator("[data-test=prompt]").fill("What is the capital of France?")
        page.locator("[data-test=max-tokens]").fill("24")
        page.locator("[data-test=max-tokens]").press("Tab")
        page.locator("[data-test=send]").click()
        expect(page.locator("[data-test=usage]")).to_be_visible(timeout=WAIT_MS)
        _shot(page, shots, f"playground-{tag}")
        page.locator("[data-test=snippets]").click()
        expect(page.locator("[data-test=snippet-curl]")).to_be_visible()
        page.keyboard.press("Escape")

        tab.go("knowledge")
        page.locator(f"[data-test=collection-{handbook}]").click()
        panel = page.locator("[data-test=collection-panel]")
        panel.locator(".n-tabs-tab").nth(1).click()
        page.locator("[data-test=search-query]").fill("restart the gateway")
        page.locator("[data-test=search]").click()
        expect(page.locator("[data-test=mode-hybrid] [data-test=hit]").first).to_be_visible(timeout=WAIT_MS)
        _shot(page, shots, f"knowledge-{tag}")
        panel.locator(".n-tabs-tab").nth(2).click()
        page.locator("[data-test=question]").fill("Which source says how to restart the gateway?")
        page.locator("[data-test=answer-max-tokens]").fill("64")
        page.locator("[data-test=answer-max-tokens]").press("Tab")
        page.locator("[data-test=ask]").click()
        page.locator("[data-test=citation]").first.click(timeout=WAIT_MS)
        expect(page.locator("[data-test=document] mark")).to_be_visible(timeout=WAIT_MS)
        _shot(page, shots, f"knowledge-document-{tag}")
        page.keyboard.press("Escape")
        panel.locator(".n-tabs-tab").nth(0).click()

        tab.go("batches")
        expect(page.locator("[data-test=batches]")).to_be_visible()
        _shot(page, shots, f"batches-{tag}")

        tab.go("admin")
        expect(page.locator("[data-test=keys] tbody tr").first).to_be_visible(timeout=WAIT_MS)
        _shot(page, shots, f"admin-keys-{tag}")
        tabs = page.locator(".n-tabs-tab")
        tabs.nth(1).click()
        expect(page.locator("[data-test=tenants] tbody tr").first).to_be_visible(timeout=WAIT_MS)
        page.locator("[data-test=tenants] tbody tr").first.locator("button").click()
        page.keyboard.press("Escape")
        tabs.nth(2).click()
        expect(page.locator("[data-test=usage-chart]")).to_be_visible(timeout=WAIT_MS)
        _shot(page, shots, f"admin-usage-{tag}")
        tabs.nth(3).click()
        expect(page.locator("[data-test=audit]")).to_be_visible()

        assert tab.missing_messages() == [], f"messages missing in {language}"

        # From 1280 px down to a phone: no page scrolls sideways.
        page.set_viewport_size(PHONE)
        for name in PAGES:
            tab.go(name)
            page.wait_for_timeout(300)
            overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{name} is {overflow} px wider than a {PHONE['width']} px screen"
        tab.go("playground")
        _shot(page, shots, f"playground-phone-{tag}")
        assert tab.missing_messages() == [], f"messages missing in {language}"
        assert tab.csp_violations() == []
        assert foreign == [], "the console should make no request outside the gateway"
    finally:
        context.close()


def test_the_first_load_stays_under_its_budget_and_is_measured(browser, stack):
    """Cold loads of the sign-in page and, signed in, of the playground: bytes of compressed
    scripts and styles fetched, and the time until the app is mounted and routed."""
    samples: dict[str, dict[str, list[float]]] = {}
    for _ in range(LOADS):
        for name, signed_in in (("sign-in page", False), ("playground, signed in", True)):
            context = browser.new_context(locale="en-US")
            try:
                page = context.new_page()
                if signed_in:
                    key = json.dumps(stack.admin_key())
                    page.add_init_script(f"sessionStorage.setItem('tianshu.key', {key})")
                page.goto(f"{stack.gateway_url}/#/{'playground' if signed_in else 'signin'}")
                expect(page.locator("[data-test=send]" if signed_in else "[data-test=sign-in]")).to_be_visible(timeout=WAIT_MS)
                measured = page.evaluate("""() => {
                    const files = performance.getEntriesByType('resource').filter((e) => /\\.(js|css)$/.test(e.name))
                    return {
                        bytes: files.reduce((sum, e) => sum + e.encodedBodySize, 0),
                        raw: files.reduce((sum, e) => sum + e.decodedBodySize, 0),
                        interactive: performance.getEntriesByName('tianshu-interactive')[0].startTime,
                    }
                }""")
            finally:
                context.close()
            for metric, value in measured.items():
                samples.setdefault(name, {}).setdefault(metric, []).append(value)

    rows = []
    for name, metrics in samples.items():
        compressed = max(metrics["bytes"])
        assert compressed <= FIRST_LOAD_BUDGET_BYTES, f"{name}: {compressed} compressed bytes of JS/CSS"
        assert compressed < max(metrics["raw"]), f"{name}: scripts should arrive compressed"
        rows.append(f"| {name} | {compressed / 1024:.0f} KB | {max(metrics['raw']) / 1024:.0f} KB | "
                    f"{statistics.median(metrics['interactive']):.0f} ms | {min(metrics['interactive']):.0f}–"
                    f"{max(metrics['interactive']):.0f} ms |")
    table = "\n".join(["| first load | JS + CSS, compressed | uncompressed | time to interactive, median | range |",
                       "|---|---|---|---|---|", *rows])
    print(table)
    if WRITE_DOCS:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from docs_section import write_section

        write_section(ROOT / "docs" / "benchmarks.md", "console-first-load", "\n".join([
            "## Web console: first load",
            "",
            f"Measured {time.strftime('%Y-%m-%d')}. Cold loads (empty cache, a new browser context each) of "
            "the console served by the gateway, "
            f"{LOADS} of each, in Debian's headless Chromium on this 2-core machine while the whole local "
            "stack runs; measured by `tests/test_console_tour.py` (`CONSOLE_DOCS=1` rewrites this "
            "section). Bytes are the compressed bodies of every script and stylesheet fetched "
            "(Brotli, precompressed at build); time to interactive is from navigation start until the "
            "app is mounted and its first route resolved (`performance.mark`). Budget: 300 KB "
            "compressed (the test fails above it) and 1 s to interactive (reported, not asserted: no "
            "wall-clock threshold in tests).",
            "",
            table,
        ]))
