"""Starts the real local stack (inference service on vLLM + Java gateway) once for the
cross-service tests, on free ports so it never collides with a running `make run`."""
from __future__ import annotations

import secrets
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import localstack  # noqa: E402

MODEL = "smollm2-135m-instruct"


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    stack = localstack.Stack(log_dir=tmp_path_factory.mktemp("logs"), inference_port=localstack.free_port(),
                             inference_metrics_port=localstack.free_port(), gateway_port=localstack.free_port(),
                             rag_port=localstack.free_port(), rag_metrics_port=localstack.free_port(),
                             postgres_port=localstack.free_port(), kafka_port=localstack.free_port(),
                             kafka_controller_port=localstack.free_port(), batch_port=localstack.free_port(),
                             batch_metrics_port=localstack.free_port(),
                             # JWTs signed with it sign in beside API keys (tests/test_console_playground.py).
                             jwt_secret=secrets.token_hex(32))
    try:
        stack.start_all()
        yield stack
    finally:
        stack.stop_all()


@pytest.fixture(scope="session")
def client(stack):
    from openai import OpenAI

    return OpenAI(base_url=f"{stack.gateway_url}/v1", api_key=stack.admin_key(), max_retries=0, timeout=120)


@pytest.fixture(scope="session")
def auth(stack) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.admin_key()}"}


@pytest.fixture(scope="session")
def finished_job():
    """finished_job(client, job) -> the ingest job as /v1/rag/jobs reads it once it is neither
    queued nor running, or as it last read after a minute."""
    def wait(client, job: dict) -> dict:
        for _ in range(600):
            job = client.get(f"/v1/rag/jobs/{job['id']}").json()
            if job["status"] not in ("queued", "running"):
                break
            time.sleep(0.1)
        return job
    return wait


# Debian's chromium (bootstrap installs it); Playwright's own browser builds are never fetched.
CHROMIUM = "/usr/bin/chromium"
# Without the background-networking switches Chromium keeps calling out to a network this
# machine does not have (updates, sync, QUIC probes).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def console(browser, stack):
    """A fresh browser tab (English, 1280 px wide) on the stack's web console, with every
    browser-side error it logs (a refused Content-Security-Policy included) collected."""
    from console_pages import Console

    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 860})
    page = context.new_page()
    tab = Console(page, stack.gateway_url)
    page.on("console", lambda message: message.type == "error" and tab.errors.append(message.text))
    page.on("pageerror", lambda error: tab.errors.append(str(error)))
    try:
        yield tab
    finally:
        context.close()
