"""Function calling through the gateway, driven by the official openai package and LangChain's
ChatOpenAI: forced and required calls, unary and streamed, a tool-result round trip, auto on
the default model (configured with its own call syntax), and every bad input refused."""
from __future__ import annotations

import json

import jsonschema
import openai
import pytest

from conftest import MODEL

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "The current weather of a city",
    "parameters": {"type": "object", "properties": {
        "city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["city", "unit"]}}}
TIME = {"type": "function", "function": {
    "name": "get_time", "description": "The current time in a time zone",
    "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]}}}
TOOLS = [WEATHER, TIME]
ASK = [{"role": "user", "content": "What is the weather in Paris right now?"}]
NAMED = {"type": "function", "function": {"name": "get_weather"}}


def schema(name: str) -> dict:
    return next(t for t in TOOLS if t["function"]["name"] == name)["function"]["parameters"]


def test_a_named_tool_choice_returns_a_call_the_sdk_parses(client):
    completion = client.chat.completions.create(model=MODEL, messages=ASK, tools=TOOLS, tool_choice=NAMED,
                                                temperature=0, max_tokens=64)

    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    [call] = choice.message.tool_calls
    assert call.type == "function" and call.id.startswith("call_")
    assert call.function.name == "get_weather"
    jsonschema.validate(json.loads(call.function.arguments), schema("get_weather"))


def test_required_streams_openai_shaped_deltas_that_join_to_the_unary_call(client):
    whole = client.chat.completions.create(model=MODEL, messages=ASK, tools=TOOLS, tool_choice="required",
                                           parallel_tool_calls=False, temperature=0, max_tokens=96)
    chunks = list(client.chat.completions.create(model=MODEL, messages=ASK, tools=TOOLS, tool_choice="required",
                                                 parallel_tool_calls=False, temperature=0, max_tokens=96,
                                                 stream=True))

    deltas = [d for c in chunks if c.choices for d in (c.choices[0].delta.tool_calls or [])]
    first, rest = deltas[0], deltas[1:]
    assert (first.index, first.type) == (0, "function") and first.id and first.function.name
    assert first.function.arguments == ""
    assert rest and all(d.id is None and d.function.name is None for d in rest), "later pieces: arguments only"
    streamed = (first.function.name, "".join(d.function.arguments for d in rest))
    [call] = whole.choices[0].message.tool_calls
    assert streamed == (call.function.name, call.function.arguments)
    jsonschema.validate(json.loads(call.function.arguments), schema(call.function.name))
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["tool_calls"]


def test_the_sdks_stream_helper_assembles_the_call(client):
    with client.chat.completions.stream(model=MODEL, messages=ASK, tools=TOOLS, tool_choice=NAMED,
                                        temperature=0, max_tokens=64) as stream:
        final = stream.get_final_completion()

    [call] = final.choices[0].message.tool_calls
    assert call.function.name == "get_weather"
    jsonschema.validate(json.loads(call.function.arguments), schema("get_weather"))


def test_a_tool_result_round_trip(client):
    asked = client.chat.completions.create(model=MODEL, messages=ASK, tools=TOOLS, tool_choice=NAMED,
                                           temperature=0, max_tokens=64)
    message = asked.choices[0].message
    history = ASK + [message.model_dump(exclude_none=True),
                     {"role": "tool", "tool_call_id": message.tool_calls[0].id,
                      "content": json.dumps({"temperature": 21, "sky": "sunny"})}]
    answer = client.chat.completions.create(model=MODEL, messages=history, tools=TOOLS, tool_choice="none",
                                            temperature=0, max_tokens=32)

    assert answer.choices[0].message.content
    assert answer.choices[0].message.tool_calls is None
    # The tools and the call are part of the prompt, and counted as such.
    bare = client.chat.completions.create(model=MODEL, messages=ASK, temperature=0, max_tokens=1)
    assert answer.usage.prompt_tokens > bare.usage.prompt_tokens + 50


def test_auto_on_the_default_model_parses_the_call_it_makes(client):
    """The default model's tool parser reads its own syntax; it calls the tool when the
    conversation shows it how (a 135M model does not decide to from a bare question)."""
    history = []
    for i, city in enumerate(["London", "Berlin"]):
        call = {"id": f"call_{i}", "type": "function",
                "function": {"name": "get_weather", "arguments": json.dumps({"city": city, "unit": "celsius"})}}
        history += [{"role": "user", "content": f"What is the weather in {city}?"},
                    {"role": "assistant", "content": None, "tool_calls": [call]},
                    {"role": "tool", "tool_call_id": call["id"], "content": '{"temperature": 12}'},
                    {"role": "assistant", "content": f"It is 12 degrees in {city}."}]
    completion = client.chat.completions.create(model=MODEL, messages=history + ASK, tools=TOOLS,
                                                temperature=0, max_tokens=64)

    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    [call] = choice.message.tool_calls
    arguments = json.loads(call.function.arguments)
    assert call.function.name == "get_weather" and arguments["city"] == "Paris"
    assert "<tool_call>" not in (choice.message.content or "")


def test_langchain_bind_tools_gets_a_tool_call(stack):
    from langchain_core.tools import tool
    from langchain_openai import ChatOpenAI

    @tool
    def get_weather(city: str, unit: str) -> str:
        """The current weather of a city, in celsius or fahrenheit."""
        return "sunny"

    model = ChatOpenAI(model=MODEL, base_url=f"{stack.gateway_url}/v1", api_key=stack.admin_key(), temperature=0,
                       max_tokens=64, max_retries=0)
    bound = model.bind_tools([get_weather], tool_choice="get_weather")
    message = bound.invoke("What is the weather in Paris?")
    streamed = None
    for chunk in bound.stream("What is the weather in Paris?"):
        streamed = chunk if streamed is None else streamed + chunk

    assert [c["name"] for c in message.tool_calls] == ["get_weather"]
    assert set(message.tool_calls[0]["args"]) == {"city", "unit"}
    assert [(c["name"], c["args"]) for c in streamed.tool_calls] == [(c["name"], c["args"])
                                                                     for c in message.tool_calls]


@pytest.mark.parametrize("body, param", [
    ({"tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "nonsense"}}}]},
     "tools[0].function.parameters"),
    ({"tools": [WEATHER, WEATHER]}, "tools[1].function.name"),
    ({"tools": [{"type": "function", "function": {"name": "bad name"}}]}, "tools[0].function.name"),
    ({"tools": TOOLS, "tool_choice": {"type": "function", "function": {"name": "nope"}}}, "tool_choice"),
    ({"tool_choice": "required"}, "tool_choice"),
    ({"tools": TOOLS, "tool_choice": "sometimes"}, "tool_choice"),
    ({"messages": ASK + [{"role": "tool", "tool_call_id": "call_unknown", "content": "x"}], "tools": TOOLS,
      "tool_choice": "none"}, "messages[1].tool_call_id"),
])
def test_bad_tool_input_is_a_clear_400(client, body, param):
    request = {"model": MODEL, "messages": ASK, "max_tokens": 8, **body}
    with pytest.raises(openai.BadRequestError) as error:
        client.chat.completions.create(**request)

    assert error.value.status_code == 400
    assert error.value.body["param"].startswith(param), error.value.body
    assert error.value.body["message"]
