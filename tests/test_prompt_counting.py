"""The gateway counts prompts before admitting a call with the served model's own tokenizer and
chat template (fetched from the inference service), and reserves exactly what the inference
service then reports, without a Tokenize call per request."""
from __future__ import annotations

import time
import uuid

import httpx
from prometheus_client.parser import text_string_to_metric_families

from conftest import MODEL

CHATS = [
    [{"role": "user", "content": "What is the capital of France?"}],
    [{"role": "system", "content": "You answer in one word."}, {"role": "user", "content": "Colour of the sky?"}],
    [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello! How can I help?"},
     {"role": "user", "content": "Tell me a joke."}],
    [{"role": "user", "content": "Traduis : « le chat dort ». 中文：猫在睡觉。 Emoji: 🐱💤"}],
    [{"role": "user", "content": "  spaces  \n\n\ttabs\tand a literal <|im_end|> in the text\n"}],
    [{"role": "developer", "content": "Be terse."}, {"role": "user", "content": "Why is water wet?"}],
]
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather in a city",
    "parameters": {"type": "object", "properties": {
        "city": {"type": "string", "description": "城市 name, e.g. \"Paris\"\n"},
        "days": {"type": "integer", "minimum": 1, "maximum": 7.5}}, "required": ["city"]}}}
CALLED = {"role": "assistant", "content": None, "tool_calls": [
    {"id": "call_1", "type": "function", "function": {"name": "get_weather",
                                                       "arguments": '{"city":"Paris", "days": 2.50}'}},
    {"id": "call_2", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]}
# Tool definitions, calls (their arguments rewritten as Python's json.dumps writes them) and
# tool results reach the template's tool parts, which plain chats never touch.
TOOL_CHATS = [
    ([{"role": "user", "content": "Weather in Paris?"}], [WEATHER]),
    ([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather in 北京?"}], [WEATHER]),
    ([{"role": "user", "content": "Weather in Paris?"}, CALLED,
      {"role": "tool", "tool_call_id": "call_1", "content": "18 C"},
      {"role": "tool", "tool_call_id": "call_2", "content": "a city is required"}], [WEATHER]),
    ([{"role": "user", "content": "Hello", "name": "ada"}], None),
]
TPM = 1_000_000
MAX_TOKENS = 2


def _key_with_a_token_limit(http: httpx.Client) -> str:
    """A fresh tenant and key whose token buckets are full, so the first call's reservation shows
    exactly in X-RateLimit-Remaining-Tokens."""
    tenant = f"count-{uuid.uuid4().hex[:8]}"
    http.post("/v1/admin/tenants", json={"id": tenant, "name": tenant, "tpm": TPM}).raise_for_status()
    created = http.post("/v1/admin/keys", json={"tenant": tenant, "name": "count", "scopes": ["chat"], "tpm": TPM})
    created.raise_for_status()
    return created.json()["key"]


def _prompts_counted(http: httpx.Client) -> dict[str, float]:
    """The gateway's count of prompts of the model, by who counted them: gateway or service."""
    counted = {"gateway": 0.0, "service": 0.0}
    for family in text_string_to_metric_families(http.get("/actuator/prometheus").text):
        for sample in family.samples:
            if sample.name == "tianshu_gateway_prompts_counted_total" and sample.labels.get("model") == MODEL:
                counted[sample.labels["by"]] += sample.value
    return counted


def _chat(http: httpx.Client, key: str, messages: list[dict], tools: list[dict] | None = None) -> httpx.Response:
    body = {"model": MODEL, "messages": messages, "max_tokens": MAX_TOKENS, "temperature": 0}
    if tools:
        body["tools"] = tools
    response = http.post("/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, json=body)
    response.raise_for_status()
    return response


def test_the_gateway_reserves_exactly_the_prompt_the_service_counts_without_tokenize(stack, auth):
    with httpx.Client(base_url=stack.gateway_url, headers=auth, timeout=120) as http:
        # The first call starts fetching and checking the model's tokenizer in the background;
        # until it is checked, prompts are counted by Tokenize.
        deadline = time.monotonic() + 120
        while "tokenize;" in _chat(http, _key_with_a_token_limit(http), CHATS[0]).headers["server-timing"]:
            assert time.monotonic() < deadline, "the gateway never started counting prompts itself"
            time.sleep(1)

        counted_before = _prompts_counted(http)
        for messages, tools in [(chat, None) for chat in CHATS] + TOOL_CHATS:
            response = _chat(http, _key_with_a_token_limit(http), messages, tools)
            prompt_tokens = response.json()["usage"]["prompt_tokens"]

            assert "tokenize;" not in response.headers["server-timing"], "counted by a Tokenize call"
            # Reserved on admission: the prompt as the gateway counted it, plus max_tokens.
            reserved = TPM - int(response.headers["x-ratelimit-remaining-tokens"])
            assert reserved == prompt_tokens + MAX_TOKENS, messages

        counted_after = _prompts_counted(http)
        assert counted_after["gateway"] == counted_before["gateway"] + len(CHATS) + len(TOOL_CHATS)
        assert counted_after["service"] == counted_before["service"]
        assert "tianshu_gateway_prompt_count_mismatches_total" not in http.get("/actuator/prometheus").text
