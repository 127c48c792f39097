"""A resumed generation's text joins its earlier text exactly, wherever the preemption fell."""
from __future__ import annotations

import tokenizers.decoders
from transformers import AutoTokenizer

from tianshu_inference import model_store
from tianshu_inference.generation import GenerationJob, Sampling
from tianshu_inference.resumption import ResumedText, continuation, resumable
from tianshu_inference.settings import InferenceSettings

# Characters of one to four bytes: many of their tokens are parts of a character.
TEXT = " Hello 世界! Ça va? 🎉🎉 naïve café — 日本語のテキスト. New\nline  two  spaces."


def _tokenizer():
    return AutoTokenizer.from_pretrained(str(model_store.chat_model_path(InferenceSettings())))


def test_text_joins_exactly_at_every_possible_preemption_point():
    tokenizer = _tokenizer()
    raw = tokenizer.backend_tokenizer
    prompt = tokenizer.encode(tokenizer.apply_chat_template(
        [{"role": "user", "content": "Say something."}], tokenize=False, add_generation_prompt=True),
        add_special_tokens=False)
    generated = tokenizer.encode(TEXT, add_special_tokens=False) + [tokenizer.eos_token_id]

    def first_part(count: int) -> str:  # what an uninterrupted detokenizer emitted for them
        stream = tokenizers.decoders.DecodeStream(ids=prompt, skip_special_tokens=True)
        return "".join(stream.step(raw, t) or "" for t in generated[:count])

    whole = first_part(len(generated) - 1)
    assert whole == TEXT
    for cut in range(1, len(generated)):
        rest = ResumedText(raw, prompt, generated[:cut]).text(generated[cut:], stop_terminated=True)
        assert first_part(cut) + rest == whole, f"preempted after {cut} tokens"


def _job(**sampling) -> GenerationJob:
    return GenerationJob(request_id="r", prompt_token_ids=[1, 2, 3], sampling=Sampling(max_tokens=10, **sampling),
                         priority=1)


def test_only_generations_a_continuation_reproduces_are_resumable():
    assert resumable(_job(temperature=0))
    assert resumable(_job(temperature=0, seed=7))
    assert resumable(_job(temperature=0.8))
    assert resumable(_job(stop_token_ids=(5,), logprobs=2))
    assert not resumable(_job(temperature=0.8, seed=7))
    assert not resumable(_job(n=2, temperature=0))
    assert not resumable(_job(stop=("\n",), temperature=0))
    assert not resumable(_job(presence_penalty=0.5, temperature=0))
    assert not resumable(_job(frequency_penalty=0.5, temperature=0))


def test_a_continuation_asks_for_what_is_left():
    resumed = continuation(_job(temperature=0), [7, 8, 9])
    assert resumed.prompt_token_ids == [1, 2, 3, 7, 8, 9]
    assert resumed.sampling.max_tokens == 7
    assert resumed.priority == 1
