"""The Responses API through the gateway, driven by the official openai package: unary and
streamed answers, stored conversations continued with previous_response_id, retrieval,
input items, deletion, tenancy and bad input."""
from __future__ import annotations

import json
import uuid

import httpx
import jsonschema
import openai
import pytest
from openai import OpenAI

from conftest import MODEL

QUESTION = "What is the capital of France?"


@pytest.fixture(scope="module")
def other_client(stack, auth) -> OpenAI:
    """An SDK client with a key of a second tenant."""
    with httpx.Client(base_url=stack.gateway_url, headers=auth, timeout=60) as http:
        tenant = f"other-{uuid.uuid4().hex[:8]}"
        http.post("/v1/admin/tenants", json={"id": tenant, "name": tenant}).raise_for_status()
        key = http.post("/v1/admin/keys", json={"tenant": tenant, "name": "responses", "scopes": ["chat"]})
        key.raise_for_status()
    return OpenAI(base_url=f"{stack.gateway_url}/v1", api_key=key.json()["key"], max_retries=0, timeout=120)


def test_a_response_answers_and_is_stored(client):
    response = client.responses.create(model=MODEL, input=QUESTION, instructions="Answer briefly.",
                                       temperature=0, max_output_tokens=24)

    assert response.id.startswith("resp_") and response.object == "response"
    assert response.status in ("completed", "incomplete")
    assert response.output_text
    [message] = response.output
    assert (message.type, message.role, message.content[0].type) == ("message", "assistant", "output_text")
    assert response.usage.input_tokens > 0 and response.usage.output_tokens > 0
    assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens
    again = client.responses.retrieve(response.id)
    assert again.model_dump() == response.model_dump()
    items = client.responses.input_items.list(response.id)
    assert [(i.type, i.role, i.content[0].text) for i in items.data] == [("message", "user", QUESTION)]


def test_the_stream_sends_openais_events_in_order_and_its_text_is_the_answer(client):
    events = list(client.responses.create(model=MODEL, input=QUESTION, temperature=0, max_output_tokens=24,
                                          stream=True))
    whole = client.responses.create(model=MODEL, input=QUESTION, temperature=0, max_output_tokens=24)

    types = [e.type for e in events]
    assert types[:4] == ["response.created", "response.in_progress", "response.output_item.added",
                         "response.content_part.added"]
    assert types[-4:] == ["response.output_text.done", "response.content_part.done", "response.output_item.done",
                          "response.completed" if whole.status == "completed" else "response.incomplete"]
    assert types.count("response.output_text.delta") > 2
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    final = events[-1].response
    assert deltas == final.output_text == whole.output_text
    assert client.responses.retrieve(final.id).output_text == deltas


CITY = {"type": "object", "properties": {"city": {"type": "string", "enum": ["Paris", "Lyon"]}},
        "required": ["city"], "additionalProperties": False}


def test_the_sdks_stream_helper_reads_the_events(client):
    # The SDK's helper waits for response.completed: the schema makes the answer end by itself.
    with client.responses.stream(model=MODEL, input=QUESTION, temperature=0, max_output_tokens=32,
                                 text={"format": {"type": "json_schema", "name": "city", "schema": CITY}}) as stream:
        final = stream.get_final_response()

    assert final.status == "completed"
    assert json.loads(final.output_text)["city"] in ("Paris", "Lyon")


def test_previous_response_id_continues_the_conversation(client):
    first = client.responses.create(model=MODEL, input="My name is Ada. Remember it.", temperature=0,
                                    max_output_tokens=16)
    second = client.responses.create(model=MODEL, input="What is my name?", previous_response_id=first.id,
                                     temperature=0, max_output_tokens=16)
    alone = client.responses.create(model=MODEL, input="What is my name?", temperature=0, max_output_tokens=16)

    # The second turn reads the first turn's input and answer before its own question.
    assert second.usage.input_tokens >= alone.usage.input_tokens + first.usage.output_tokens
    assert second.previous_response_id == first.id
    assert [i.content[0].text for i in client.responses.input_items.list(second.id).data] == ["What is my name?"]


def test_json_schema_output(client):
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
              "additionalProperties": False}
    response = client.responses.create(model=MODEL, input="Name the capital of France as JSON.", temperature=0,
                                       max_output_tokens=48,
                                       text={"format": {"type": "json_schema", "name": "city", "schema": schema}})

    jsonschema.validate(json.loads(response.output_text), schema)


def test_delete_forgets_the_response(client):
    response = client.responses.create(model=MODEL, input=QUESTION, max_output_tokens=4)
    deleted = client.responses.delete(response.id)

    assert deleted is None or getattr(deleted, "deleted", True)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(response.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model=MODEL, input="Go on.", previous_response_id=response.id, max_output_tokens=4)


def test_store_false_keeps_nothing(client):
    response = client.responses.create(model=MODEL, input=QUESTION, max_output_tokens=4, store=False)

    assert response.output_text is not None
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(response.id)


def test_another_tenant_cannot_read_or_continue_a_response(client, other_client):
    response = client.responses.create(model=MODEL, input=QUESTION, max_output_tokens=4)

    with pytest.raises(openai.NotFoundError):
        other_client.responses.retrieve(response.id)
    with pytest.raises(openai.NotFoundError) as error:
        other_client.responses.create(model=MODEL, input="Go on.", previous_response_id=response.id,
                                      max_output_tokens=4)
    assert error.value.body["param"] == "previous_response_id"
    with pytest.raises(openai.NotFoundError):
        other_client.responses.delete(response.id)
    assert client.responses.retrieve(response.id).id == response.id


WEATHER = {"type": "function", "name": "get_weather", "description": "The current weather of a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


def test_a_function_tool_call_and_its_output_round_trip(client):
    called = client.responses.create(model=MODEL, input="What is the weather in Paris?", tools=[WEATHER],
                                     tool_choice={"type": "function", "name": "get_weather"}, temperature=0,
                                     max_output_tokens=48)

    [call] = [item for item in called.output if item.type == "function_call"]
    assert call.name == "get_weather" and call.call_id.startswith("call_") and call.status == "completed"
    jsonschema.validate(json.loads(call.arguments), WEATHER["parameters"])
    answered = client.responses.create(model=MODEL, previous_response_id=called.id, temperature=0,
                                       max_output_tokens=24, input=[{"type": "function_call_output",
                                                                     "call_id": call.call_id,
                                                                     "output": '{"temperature": 21}'}])
    bare = client.responses.create(model=MODEL, input="What is the weather in Paris?", max_output_tokens=1)
    assert answered.output_text
    # The tools are not carried over (as at OpenAI); the call and its output are.
    assert answered.usage.input_tokens > bare.usage.input_tokens + 10
    [item] = client.responses.input_items.list(answered.id).data
    assert (item.type, item.call_id) == ("function_call_output", call.call_id)


def _streamed_calls(events):
    """Each function call's streamed item, its joined argument deltas and its done event, by item id."""
    calls = {}
    for e in events:
        if e.type == "response.output_item.added" and e.item.type == "function_call":
            calls[e.item.id] = {"item": e.item, "deltas": "", "count": 0, "done": None}
        elif e.type == "response.function_call_arguments.delta":
            calls[e.item_id]["deltas"] += e.delta
            calls[e.item_id]["count"] += 1
        elif e.type == "response.function_call_arguments.done":
            calls[e.item_id]["done"] = e.arguments
    return list(calls.values())


def test_a_streamed_function_call_sends_argument_deltas(client):
    events = list(client.responses.create(model=MODEL, input="What is the weather in Paris?", tools=[WEATHER],
                                          tool_choice="required", temperature=0, max_output_tokens=64,
                                          stream=True))

    assert [e.sequence_number for e in events] == list(range(len(events)))
    calls = _streamed_calls(events)
    # Parallel calls are allowed here, and the model may make more than one: each call's
    # deltas, read by its item id, add up to that call's arguments.
    assert calls and all(c["item"].name == "get_weather" for c in calls)
    assert all(c["deltas"] == c["done"] for c in calls), calls
    assert calls[0]["count"] > 1
    for c in calls:
        jsonschema.validate(json.loads(c["done"]), WEATHER["parameters"])
    final = events[-1]
    assert final.type == "response.completed"
    assert [(i.type, i.call_id, i.arguments) for i in final.response.output] == [
        ("function_call", c["item"].call_id, c["done"]) for c in calls]


def test_a_streamed_answer_without_parallel_calls_makes_exactly_one_call(client):
    events = list(client.responses.create(model=MODEL, input="What is the weather in Paris and in Rome?",
                                          tools=[WEATHER], tool_choice="required", parallel_tool_calls=False,
                                          temperature=0, max_output_tokens=96, stream=True))

    [call] = _streamed_calls(events)
    assert call["deltas"] == call["done"] and call["count"] > 1
    final = events[-1]
    assert final.response.parallel_tool_calls is False
    assert [(i.type, i.call_id) for i in final.response.output] == [("function_call", call["item"].call_id)]


@pytest.mark.parametrize("body, param", [
    ({"input": QUESTION, "tools": [WEATHER], "tool_choice": {"type": "function", "name": "nope"}},
     "tool_choice.name"),
    ({"input": QUESTION, "tools": [{**WEATHER, "parameters": {"type": "nonsense"}}]}, "tools[0].parameters"),
    ({"input": QUESTION, "tools": [WEATHER, WEATHER]}, "tools[1].name"),
    ({"input": QUESTION, "tools": [{"type": "web_search"}]}, "tools[0].type"),
    ({"input": []}, "input"),
    ({"input": [{"type": "message", "role": "robot", "content": "x"}]}, "input[0].role"),
    ({"input": [{"type": "input_image", "image_url": "x"}]}, "input[0].type"),
    ({"input": [{"type": "function_call_output", "call_id": "call_nope", "output": "x"}]}, "input[0].call_id"),
    ({"input": QUESTION, "text": {"format": {"type": "xml"}}}, "text.format.type"),
    ({"input": QUESTION, "max_output_tokens": 0}, "max_output_tokens"),
    ({"input": QUESTION, "temperature": 3}, "temperature"),
])
def test_bad_input_is_a_clear_400_and_stores_nothing(client, body, param):
    with pytest.raises(openai.BadRequestError) as error:
        client.responses.create(model=MODEL, **body)

    assert error.value.body["param"] == param, error.value.body
    assert error.value.body["message"]
