"""The web console in a real browser against the real stack: signing in with a key or a JWT, a
streamed chat whose Stop button frees the engine, the code snippets, and switching to Chinese."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time

import grpc
from playwright.sync_api import expect
from tianshu.inference.v1 import inference_pb2 as pb
from tianshu.inference.v1 import inference_pb2_grpc as pb_grpc

from console_pages import WAIT_MS
from test_disconnect_aborts_generation import _cancelled_streams, _engine_gauges

# Only a hang guard: an engine still busy this long after Stop has not aborted at all.
HANG_GUARD_SECONDS = 30
LONG_TASK = "Count from 1 to 2000, one number per line."


def test_the_page_loads_without_a_key_and_signing_in_shows_every_page_of_the_admin_key(console, stack):
    console.open()
    assert console.page.url.endswith("#/signin")
    console.sign_in(stack.admin_key())

    assert console.nav_labels() == ["Playground", "Knowledge bases", "Batches", "Administration"]
    expect(console.page.locator("[data-test=who]")).to_contain_text("default")
    # The key is kept for the tab only, and never put in the address.
    assert console.page.evaluate("() => sessionStorage.getItem('tianshu.key')") == stack.admin_key()
    assert stack.admin_key() not in console.page.evaluate("() => JSON.stringify(localStorage)")
    assert stack.admin_key() not in console.page.url

    console.sign_out()
    assert console.page.evaluate("() => sessionStorage.getItem('tianshu.key')") is None
    assert console.csp_violations() == []


def test_a_refused_key_says_so_and_signs_nobody_in(console):
    console.open()
    console.page.locator("[data-test=key]").fill("tsk_not-a-real-key")
    console.page.locator("[data-test=sign-in]").click()
    expect(console.page.get_by_text("The gateway refused this key")).to_be_visible(timeout=WAIT_MS)
    expect(console.page.locator("[data-test=who]")).to_have_count(0)


def _generations_running(stub) -> int:
    load = stub.GetLoad(pb.GetLoadRequest(), timeout=5)
    return load.running_requests + load.waiting_requests


def _playground_ready(console, stack, prompt: str, max_tokens: int):
    """Signed in on the playground at temperature 0, with the prompt typed; returns the page."""
    console.sign_in(stack.admin_key())
    console.go("playground")
    page = console.page
    page.get_by_label("Temperature").fill("0")
    page.locator("[data-test=max-tokens]").fill(str(max_tokens))
    page.locator("[data-test=max-tokens]").press("Tab")
    page.locator("[data-test=prompt]").fill(prompt)
    return page


def test_a_streamed_reply_grows_as_tokens_arrive_and_stop_frees_the_engine(console, stack):
    page = _playground_ready(console, stack, LONG_TASK, 1800)
    cancelled_before = _cancelled_streams(stack)

    page.locator("[data-test=send]").click()
    reply = page.locator("[data-test=message-assistant]").last
    with grpc.insecure_channel(stack.inference_target) as channel:
        stub = pb_grpc.InferenceServiceStub(channel)
        # The reply is read while the engine still generates it: its text is seen at several
        # lengths, so the console shows tokens as they arrive rather than at the end.
        lengths: list[int] = []
        deadline = time.monotonic() + HANG_GUARD_SECONDS
        while time.monotonic() < deadline and (len(set(lengths)) < 3 or not _generations_running(stub)):
            lengths.append(len(reply.locator(".markdown").inner_text()))
            time.sleep(0.1)
        assert _generations_running(stub) >= 1, f"the generation should still run (reply lengths {lengths})"
        growing = sorted(set(lengths))
        assert len([n for n in growing if n > 0]) >= 2, f"the reply should grow while streaming: {lengths}"

        page.locator("[data-test=stop]").click()
        expect(reply.locator("[data-test=stopped]")).to_be_visible(timeout=WAIT_MS)
        stopped_at = time.monotonic()
        while (_generations_running(stub) or _engine_gauges(stack)) and time.monotonic() - stopped_at < HANG_GUARD_SECONDS:
            time.sleep(0.05)
        assert _generations_running(stub) == 0, "Stop should abort the generation in the engine"
    while _cancelled_streams(stack) < cancelled_before + 1 and time.monotonic() - stopped_at < HANG_GUARD_SECONDS:
        time.sleep(0.05)
    assert _cancelled_streams(stack) == cancelled_before + 1, "the stream should end CANCELLED in the inference service"
    assert _engine_gauges(stack) == 0, "the inference service's running count should return to 0"
    expect(page.locator("[data-test=send]")).to_be_visible()


def test_a_finished_reply_shows_its_usage_and_the_gateways_time_and_copies_as_code(console, stack):
    page = _playground_ready(console, stack, "Say hello.", 16)
    page.locator("[data-test=send]").click()
    reply = page.locator("[data-test=message-assistant]").last
    expect(reply.locator("[data-test=usage]")).to_contain_text("completion tokens", timeout=WAIT_MS)
    expect(reply.locator("[data-test=gateway-ms]")).to_contain_text("gateway +")
    assert reply.locator(".markdown").inner_text().strip(), "the reply should have text"

    page.locator("[data-test=snippets]").click()
    curl = page.locator("[data-test=snippet-curl]").inner_text()
    assert f"{stack.gateway_url}/v1/chat/completions" in curl and "$TIANSHU_API_KEY" in curl
    assert '"content": "Say hello."' in curl and '"max_tokens": 16' in curl and '"temperature": 0' in curl
    page.locator(".n-tabs-tab", has_text="Python").click()
    python = page.locator("[data-test=snippet-python]").inner_text()
    assert 'OpenAI(base_url="' in python and '"max_tokens": 16' in python and '"stream": True' in python
    page.locator(".n-tabs-tab", has_text="Java").click()
    java = page.locator("[data-test=snippet-java]").inner_text()
    assert "HttpRequest.newBuilder" in java and 'System.getenv("TIANSHU_API_KEY")' in java
    assert stack.admin_key() not in curl + python + java
    assert console.csp_violations() == []


def test_json_schema_output_answers_with_json_of_the_schema(console, stack):
    page = _playground_ready(console, stack, "What is the capital of France? One word.", 64)
    page.get_by_role("switch").click()
    expect(page.locator("textarea").nth(1)).to_have_value(re.compile('"required"'))
    page.locator("[data-test=send]").click()
    reply = page.locator("[data-test=message-assistant]").last
    expect(reply.locator("[data-test=usage]")).to_be_visible(timeout=WAIT_MS)
    answer = json.loads(reply.locator(".markdown").inner_text())
    assert list(answer) == ["answer"] and isinstance(answer["answer"], str)
    page.locator("[data-test=snippets]").click()
    assert '"type": "json_schema"' in page.locator("[data-test=snippet-curl]").inner_text()


def test_switching_to_chinese_translates_the_console_and_sticks(console, stack):
    console.sign_in(stack.admin_key())
    console.go("playground")
    console.switch_language("中文")
    expect(console.page.locator("h1.page-title")).to_have_text("对话调试")
    assert console.nav_labels() == ["对话调试", "知识库", "批处理", "管理"]
    assert console.page.evaluate("() => document.documentElement.lang") == "zh-CN"
    expect(console.page.locator("[data-test=sign-out]")).to_have_text("退出")
    console.page.reload()
    expect(console.page.locator("h1.page-title")).to_have_text("对话调试", timeout=WAIT_MS)
    assert console.missing_messages() == []


def test_a_chinese_browser_gets_the_chinese_console(browser, stack):
    context = browser.new_context(locale="zh-CN")
    try:
        page = context.new_page()
        page.goto(f"{stack.gateway_url}/")
        expect(page.locator("[data-test=sign-in]")).to_have_text("登录", timeout=WAIT_MS)
    finally:
        context.close()


def hs256_token(secret: str, claims: dict) -> str:
    """A JWT as an identity provider with a shared secret signs it (HS256)."""
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signed = part(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + part(json.dumps(claims).encode())
    return signed + "." + part(hmac.new(secret.encode(), signed.encode(), hashlib.sha256).digest())


def test_a_jwt_signs_in_with_the_pages_its_scope_claim_allows(console, stack):
    token = hs256_token(stack.jwt_secret, {"sub": "ada@example.com", "tenant": "default",
                                           "scope": "chat rag:read", "exp": int(time.time()) + 600})
    console.sign_in(token)

    assert console.nav_labels() == ["Playground", "Knowledge bases"]
    expect(console.page.locator("[data-test=who]")).to_contain_text("ada@example.com")
    assert console.page.evaluate("() => sessionStorage.getItem('tianshu.key')") == token
    assert token not in console.page.url
