"""Function calling on the real engine: required and named choices are enforced, auto is read
by the model's tool parser, streams carry OpenAI's pieces, and bad tools are refused."""
from __future__ import annotations

import json

import grpc
import jsonschema
import pytest
from tianshu.inference.v1 import inference_pb2 as pb

from conftest import MODEL, chat

WEATHER = pb.Tool(name="get_weather", description="The current weather of a city",
                  parameters_json=json.dumps({"type": "object", "properties": {
                      "city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
                      "required": ["city", "unit"]}))
TIME = pb.Tool(name="get_time", description="The current time in a time zone",
               parameters_json=json.dumps({"type": "object", "properties": {"zone": {"type": "string"}},
                                           "required": ["zone"]}))
QUESTION = "What is the weather in Paris right now?"


def with_tools(generation: pb.Generation, tools=(WEATHER, TIME), **choice) -> pb.Generation:
    generation.tools.extend(tools)
    if choice:
        generation.tool_choice.CopyFrom(pb.ToolChoice(**choice))
    return generation


def schema_of(name: str) -> dict:
    return json.loads({"get_weather": WEATHER, "get_time": TIME}[name].parameters_json)


async def test_named_choice_calls_that_function_with_valid_arguments(stub):
    response = await stub.Generate(pb.GenerateRequest(generation=with_tools(
        chat(QUESTION, temperature=0, max_tokens=64), function_name="get_weather")))

    choice = response.choices[0]
    assert [c.name for c in choice.tool_calls] == ["get_weather"]
    jsonschema.validate(json.loads(choice.tool_calls[0].arguments), schema_of("get_weather"))
    assert choice.tool_calls[0].id.startswith("call_")
    assert choice.text == "", "the call's JSON is not repeated as content"
    assert choice.finish_reason == pb.FINISH_REASON_TOOL_CALLS


async def test_required_choice_makes_one_call_when_parallel_calls_are_off(stub):
    generation = with_tools(chat(QUESTION, temperature=0, max_tokens=96), mode=pb.ToolChoice.MODE_REQUIRED)
    generation.parallel_tool_calls = False
    response = await stub.Generate(pb.GenerateRequest(generation=generation))

    calls = response.choices[0].tool_calls
    assert len(calls) == 1
    assert calls[0].name in ("get_weather", "get_time")
    jsonschema.validate(json.loads(calls[0].arguments), schema_of(calls[0].name))
    assert response.choices[0].finish_reason == pb.FINISH_REASON_TOOL_CALLS


async def test_a_streamed_call_joins_to_the_unary_one(stub):
    """Greedy and the same prompt: the stream's pieces (id and name first, then argument
    fragments) join to exactly the call Generate returns."""
    def generation():
        return with_tools(chat(QUESTION, temperature=0, max_tokens=96), mode=pb.ToolChoice.MODE_REQUIRED)

    whole = (await stub.Generate(pb.GenerateRequest(generation=generation()))).choices[0]
    pieces = []
    messages = [m async for m in stub.GenerateStream(pb.GenerateStreamRequest(generation=generation()))]
    for message in messages:
        pieces.extend(message.tool_calls)
        assert message.text == ""

    calls: dict[int, dict] = {}
    for piece in pieces:
        if piece.index not in calls:
            assert piece.id and piece.name and piece.arguments == "", "a call starts with its id and name"
            calls[piece.index] = {"name": piece.name, "arguments": ""}
        else:
            assert not piece.id and not piece.name
            calls[piece.index]["arguments"] += piece.arguments
    assert [(c["name"], c["arguments"]) for c in calls.values()] == [(c.name, c.arguments) for c in whole.tool_calls]
    assert len([p for p in pieces if p.arguments]) > 1, "arguments arrive in fragments as they are generated"
    assert messages[-1].finish_reason == pb.FINISH_REASON_TOOL_CALLS
    assert messages[-1].usage.completion_tokens > 0


async def test_tools_are_rendered_into_the_prompt_and_counted(stub):
    plain = await stub.Tokenize(pb.TokenizeRequest(messages=[pb.ChatMessage(role="user", content=QUESTION)]))
    with_weather = await stub.Tokenize(pb.TokenizeRequest(
        messages=[pb.ChatMessage(role="user", content=QUESTION)], tools=[WEATHER]))
    response = await stub.Generate(pb.GenerateRequest(generation=with_tools(
        chat(QUESTION, max_tokens=16), tools=[WEATHER], function_name="get_weather")))

    assert with_weather.token_count > plain.token_count + 20
    assert response.usage.prompt_tokens == with_weather.token_count


async def test_a_tool_result_round_trip_answers_in_text(stub):
    first = (await stub.Generate(pb.GenerateRequest(generation=with_tools(
        chat(QUESTION, temperature=0, max_tokens=64), function_name="get_weather")))).choices[0]
    call = first.tool_calls[0]
    generation = with_tools(chat(QUESTION, temperature=0, max_tokens=32), mode=pb.ToolChoice.MODE_NONE)
    generation.messages.extend([
        pb.ChatMessage(role="assistant", tool_calls=[call]),
        pb.ChatMessage(role="tool", tool_call_id=call.id, content='{"temperature": 21, "sky": "sunny"}')])
    answer = (await stub.Generate(pb.GenerateRequest(generation=generation))).choices[0]

    assert answer.text and not answer.tool_calls
    assert answer.finish_reason in (pb.FINISH_REASON_STOP, pb.FINISH_REASON_LENGTH)


def two_calls_before(question: str) -> list[pb.ChatMessage]:
    """Two earlier calls of get_weather and their answers, then the question: a 135M model does
    not decide to call on its own from a bare question, but does after a history like this."""
    history = []
    for i, city in enumerate(["London", "Berlin"]):
        call = pb.ToolCall(id=f"call_{i}", name="get_weather", arguments=json.dumps({"city": city, "unit": "celsius"}))
        history += [pb.ChatMessage(role="user", content=f"What is the weather in {city}?"),
                    pb.ChatMessage(role="assistant", tool_calls=[call]),
                    pb.ChatMessage(role="tool", tool_call_id=call.id, content='{"temperature": 12}'),
                    pb.ChatMessage(role="assistant", content=f"It is 12 degrees in {city}.")]
    return history + [pb.ChatMessage(role="user", content=question)]


async def test_auto_cut_inside_a_call_sends_none_of_its_syntax_as_text(stub):
    """max_tokens ends the output inside "<tool_call>[{..."; the call is unfinished, and its
    markup is not the answer's content either (OpenAI's stream shows a cut call as pieces)."""
    def generation(max_tokens):
        return with_tools(pb.Generation(model=MODEL, sampling=pb.SamplingParams(temperature=0, max_tokens=max_tokens),
                                        messages=two_calls_before(QUESTION)))

    for max_tokens in (2, 4, 8):
        choice = (await stub.Generate(pb.GenerateRequest(generation=generation(max_tokens)))).choices[0]
        streamed = [m async for m in stub.GenerateStream(pb.GenerateStreamRequest(generation=generation(max_tokens)))]

        assert "<tool" not in choice.text and "tool_call" not in choice.text, (max_tokens, choice.text)
        assert "tool_call" not in "".join(m.text for m in streamed), max_tokens
        assert choice.finish_reason == pb.FINISH_REASON_LENGTH


async def test_auto_reads_the_models_own_call_syntax(stub):
    """The default model is configured with its own function-calling format (a JSON list in
    <tool_call> tags) and vLLM's parser for it: a call it makes comes back parsed, never as raw
    text. The chat shows it two earlier calls of the same tool, as a real conversation would."""
    models = (await stub.ListModels(pb.ListModelsRequest())).models
    assert next(m for m in models if m.id == MODEL).tool_parser == "xlam"

    def generation():
        return with_tools(pb.Generation(model=MODEL, sampling=pb.SamplingParams(temperature=0, max_tokens=64),
                                        messages=two_calls_before(QUESTION)))

    choice = (await stub.Generate(pb.GenerateRequest(generation=generation()))).choices[0]
    streamed = [m async for m in stub.GenerateStream(pb.GenerateStreamRequest(generation=generation()))]

    assert "<tool_call>" not in choice.text
    assert [c.name for c in choice.tool_calls] == ["get_weather"], choice.text
    arguments = json.loads(choice.tool_calls[0].arguments)
    jsonschema.validate(arguments, schema_of("get_weather"))
    assert arguments["city"] == "Paris"
    assert choice.finish_reason == pb.FINISH_REASON_TOOL_CALLS
    pieces = [p for m in streamed for p in m.tool_calls]
    assert [(p.name, p.index) for p in pieces if p.name] == [("get_weather", 0)]
    assert json.loads("".join(p.arguments for p in pieces)) == arguments
    # Not even the opener's first tokens, which the parser cannot yet tell from an answer.
    assert "<tool" not in "".join(m.text for m in streamed) and "tool_call" not in "".join(m.text for m in streamed)
    assert streamed[-1].finish_reason == pb.FINISH_REASON_TOOL_CALLS


@pytest.mark.parametrize("change, field", [
    (lambda g: g.tools.append(pb.Tool(name="get_weather")), "tools[2].name"),
    (lambda g: g.tools.append(pb.Tool(name="bad name!")), "tools[2].name"),
    (lambda g: g.tools.append(pb.Tool(name="x", parameters_json="{not json")), "tools[2].parameters_json"),
    (lambda g: g.tools.append(pb.Tool(name="x", parameters_json="[1]")), "tools[2].parameters_json"),
    (lambda g: g.tool_choice.CopyFrom(pb.ToolChoice(function_name="nope")), "tool_choice.function_name"),
    (lambda g: (g.tool_choice.CopyFrom(pb.ToolChoice(mode=pb.ToolChoice.MODE_REQUIRED)),
                g.structured_output.CopyFrom(pb.StructuredOutput(json_object=True))), "structured_output"),
    (lambda g: g.messages.append(pb.ChatMessage(role="tool", tool_call_id="call_unknown", content="x")),
     "messages[1].tool_call_id"),
    (lambda g: g.messages.append(pb.ChatMessage(role="tool", content="x")), "messages[1].tool_call_id"),
    (lambda g: g.messages.append(pb.ChatMessage(role="user", content="x", tool_calls=[
        pb.ToolCall(id="c", name="get_weather", arguments="{}")])), "messages[1].tool_calls"),
])
async def test_bad_tools_are_refused_naming_the_field(stub, change, field):
    generation = with_tools(chat(QUESTION, max_tokens=8))
    change(generation)
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stub.Generate(pb.GenerateRequest(generation=generation))

    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in error.value.details()


async def test_a_tool_choice_without_tools_is_refused(stub):
    generation = chat(QUESTION, max_tokens=8)
    generation.tool_choice.CopyFrom(pb.ToolChoice(mode=pb.ToolChoice.MODE_REQUIRED))
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stub.Generate(pb.GenerateRequest(generation=generation))

    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "tool_choice" in error.value.details()
