"""The readers that turn a required choice's JSON list into calls, fed the way a stream feeds
them: in pieces cut anywhere, including inside strings, escapes and nested objects."""
from __future__ import annotations

import json
import random

import pytest

from tianshu_inference.tool_calls import NamedReader, RequiredReader, _opener_at

OUTPUTS = [
    '[{"name": "get_weather", "parameters": {"city": "Paris", "unit": "celsius"}}]',
    '[ {"name":"a","parameters":{"q":"x \\"quoted\\" ] } [ {","n":[1,{"deep":true}]}} ,'
    ' {"name": "b_2", "parameters": {}} ]',
    '[{"parameters": {"zone": "UTC"}, "name": "get_time"}]',  # parameters before the name
    '[{"name": "\\u00e9t\\u00e9", "parameters": {"s": "\\\\"}}]',
]


def feed_in_pieces(reader, text: str, rng: random.Random):
    pieces, i = [], 0
    while i < len(text):
        step = rng.randint(1, 7)
        content, new = reader.feed(text[i:i + step])
        assert content == ""
        pieces += new
        i += step
    pieces += reader.finish()[1]
    return pieces


@pytest.mark.parametrize("text", OUTPUTS)
def test_required_calls_join_to_the_models_own_json_however_the_stream_is_cut(text):
    expected = [(c["name"], c["parameters"]) for c in json.loads(text)]
    for seed in range(20):
        reader = RequiredReader()
        pieces = feed_in_pieces(reader, text, random.Random(seed))

        calls = reader.calls()
        assert [(c.name, json.loads(c.arguments)) for c in calls] == expected
        assert all(c.arguments in text for c in calls), "the model's own text, not a re-serialisation"
        starts = [p for p in pieces if p.id]
        assert [(p.index, p.name, p.arguments) for p in starts] == [(i, n, "") for i, (n, _) in enumerate(expected)]
        for index, call in enumerate(calls):
            fragments = [p for p in pieces if p.index == index]
            assert fragments[0].id, "a call's first piece carries its id and name"
            assert "".join(p.arguments for p in fragments) == call.arguments
        assert len({c.id for c in calls}) == len(calls)


def test_required_calls_of_a_cut_off_output_keep_what_arrived():
    reader = RequiredReader()
    reader.whole('[{"name": "get_weather", "parameters": {"city": "Par')

    [call] = reader.calls()
    assert (call.name, call.arguments) == ("get_weather", '{"city": "Par')


def test_a_named_call_is_the_whole_output():
    reader = NamedReader("get_weather")
    first = reader.feed("")[1] + reader.feed('{"city"')[1]
    rest = reader.feed(': "Oslo"}')[1]

    assert (first[0].name, first[0].arguments) == ("get_weather", "")
    assert "".join(p.arguments for p in first + rest) == '{"city": "Oslo"}'
    assert [(c.name, c.arguments) for c in reader.calls()] == [("get_weather", '{"city": "Oslo"}')]


@pytest.mark.parametrize("text, at", [
    ("The weather is fine.", 20),
    ("<tool_call>[{", 0),
    ("Sure. <tool_call>[", 6),
    ("Sure. <tool", 6),  # cut inside the opener
    ("a < b", 5),  # "<" followed by a space cannot open a call any more
    ("ends with <", 10),
    ("[TOOL_CALLS] [", 0),
])
def test_text_is_held_back_from_where_a_call_may_open(text, at):
    assert _opener_at(text) == at
