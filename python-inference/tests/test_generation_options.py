"""n choices, stops, seeds, logprobs, max_tokens defaults and structured output."""
from __future__ import annotations

import json
import re

import jsonschema
from tianshu.inference.v1 import inference_pb2 as pb

from conftest import chat

STORY = "Write a short poem about the sea."


async def test_n_returns_that_many_choices_with_usage_over_all(stub):
    response = await stub.Generate(pb.GenerateRequest(generation=chat(STORY, n=3, max_tokens=12, seed=1)))

    assert [c.index for c in response.choices] == [0, 1, 2]
    assert all(c.text for c in response.choices)
    assert response.usage.completion_tokens == 36  # 3 choices, each cut at 12 tokens


async def test_streamed_n_choices_each_end_once(stub):
    messages = [m async for m in stub.GenerateStream(pb.GenerateStreamRequest(
        generation=chat(STORY, n=2, max_tokens=8)))]

    finished = [m.index for m in messages if m.finish_reason != pb.FINISH_REASON_UNSPECIFIED]
    assert sorted(finished) == [0, 1]
    assert messages[-1].usage.completion_tokens == 16


async def test_same_seed_gives_the_same_text(stub):
    generation = chat(STORY, temperature=1.0, max_tokens=24, seed=1234)
    first = await stub.Generate(pb.GenerateRequest(generation=generation))
    second = await stub.Generate(pb.GenerateRequest(generation=generation))
    other = await stub.Generate(pb.GenerateRequest(generation=chat(STORY, temperature=1.0, max_tokens=24, seed=99)))

    assert first.choices[0].text == second.choices[0].text
    assert other.choices[0].text != first.choices[0].text


async def test_stop_string_ends_the_choice_before_it(stub):
    response = await stub.Generate(pb.GenerateRequest(generation=chat(
        "What is the capital of France?", temperature=0, max_tokens=32, stop=["Paris"])))

    assert "Paris" not in response.choices[0].text
    assert response.choices[0].finish_reason == pb.FINISH_REASON_STOP


async def test_stop_token_id_ends_the_choice(stub):
    ids = (await stub.Tokenize(pb.TokenizeRequest(prompt=" Paris", return_token_ids=True))).token_ids
    response = await stub.Generate(pb.GenerateRequest(generation=chat(
        "What is the capital of France?", temperature=0, max_tokens=32, stop_token_ids=[ids[-1]])))

    assert response.choices[0].finish_reason == pb.FINISH_REASON_STOP
    assert response.usage.completion_tokens < 32


async def test_logprobs_report_the_top_alternatives(stub):
    # Greedy: a sampled special token (<|endoftext|> is not this model's end token) would be in
    # the logprobs but, rightly, not in the text.
    response = await stub.Generate(pb.GenerateRequest(generation=chat(STORY, max_tokens=6, logprobs=3,
                                                                      temperature=0)))

    logprobs = response.choices[0].logprobs
    assert len(logprobs) == response.usage.completion_tokens
    assert "".join(lp.token for lp in logprobs) == response.choices[0].text
    for lp in logprobs:
        assert lp.logprob <= 0
        assert len(lp.top_logprobs) == 3
        assert [t.logprob for t in lp.top_logprobs] == sorted((t.logprob for t in lp.top_logprobs), reverse=True)


async def test_max_tokens_defaults_to_what_is_left_of_the_context(stub):
    counted = await stub.Tokenize(pb.TokenizeRequest(prompt="word " * 2030))
    response = await stub.Generate(pb.GenerateRequest(generation=pb.Generation(
        prompt="word " * 2030, sampling=pb.SamplingParams(ignore_eos=True))))

    assert response.choices[0].finish_reason == pb.FINISH_REASON_LENGTH
    assert response.usage.completion_tokens == 2048 - counted.token_count


# Bounded fields: an unbounded integer or string lets a small model run on until
# max_tokens cuts the JSON short.
SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string", "maxLength": 40},
                   "country_code": {"type": "string", "enum": ["FR", "DE", "IT", "ES", "GB"]}},
    "required": ["city", "country_code"],
    "additionalProperties": False,
}


async def test_json_schema_output_validates(stub):
    generation = chat("Give the capital of France and the country's ISO code as JSON.", max_tokens=200,
                      temperature=0)
    generation.structured_output.json_schema = json.dumps(SCHEMA)
    response = await stub.Generate(pb.GenerateRequest(generation=generation))

    assert response.choices[0].finish_reason == pb.FINISH_REASON_STOP, response.choices[0].text
    jsonschema.validate(json.loads(response.choices[0].text), SCHEMA)


async def test_json_object_output_parses(stub):
    generation = chat("Describe a cat as JSON.", max_tokens=64)
    generation.structured_output.json_object = True
    response = await stub.Generate(pb.GenerateRequest(generation=generation))

    if response.choices[0].finish_reason == pb.FINISH_REASON_STOP:
        assert isinstance(json.loads(response.choices[0].text), dict)
    else:  # cut by max_tokens: still a JSON object in the making
        assert response.choices[0].text.lstrip().startswith("{")


async def test_regex_output_matches(stub):
    generation = chat("What year did the Second World War end?", max_tokens=16)
    generation.structured_output.regex = r"[0-9]{4}"
    response = await stub.Generate(pb.GenerateRequest(generation=generation))

    assert re.fullmatch(r"[0-9]{4}", response.choices[0].text)


async def test_choice_output_is_one_of_the_choices(stub):
    generation = chat("Is the sky blue? Answer yes or no.", max_tokens=8)
    generation.structured_output.choice.choices.extend(["yes", "no"])
    response = await stub.Generate(pb.GenerateRequest(generation=generation))

    assert response.choices[0].text in ("yes", "no")
