"""Resuming a preempted generation so that its caller sees one uninterrupted generation.

A continuation is the same generation asked again with the tokens generated so far appended
to its prompt and max_tokens reduced by them; with prefix caching most of its prefill is
cached. That reproduces the original only for some generations, which `resumable` names.
"""
from __future__ import annotations

import dataclasses

import tokenizers
import tokenizers.decoders

from .generation import GenerationJob

# tokenizers' message when a decode stream meets output that is not a continuation of its text.
_INVALID_PREFIX = "Invalid prefix encountered"


def resumable(job: GenerationJob) -> bool:
    """Whether a continuation generates exactly what the original would have.

    Not with n > 1 (choices share one request), a structured-output constraint (its grammar
    state starts over), a seed (the generator's state starts over), stop strings (they would be
    matched against the continuation's text alone) or presence/frequency penalties (they count
    generated tokens, which a continuation sees as prompt). Greedy and unseeded sampling are
    exact: the next token depends only on the tokens before it.
    """
    s = job.sampling
    return (s.n == 1 and job.constraint is None and not s.stop
            and (s.temperature == 0 or s.seed is None)
            and not s.presence_penalty and not s.frequency_penalty)


def continuation(job: GenerationJob, generated: list[int]) -> GenerationJob:
    return dataclasses.replace(
        job, prompt_token_ids=job.prompt_token_ids + generated,
        sampling=dataclasses.replace(job.sampling, max_tokens=job.sampling.max_tokens - len(generated)))


class ResumedText:
    """Detokenizes a continuation's tokens as the original generation's detokenizer would have.

    The engine's own detokenizer of a continuation starts from the longer prompt, which goes
    wrong when the preemption fell inside a character of several tokens (it emits the prompt's
    text, or loses the character). This one is primed with the original prompt and then walks
    every token generated before, the way vLLM's FastIncrementalDetokenizer walks them
    (skip_special_tokens, the default), so the text joins exactly at the seam.
    """

    def __init__(self, tokenizer: tokenizers.Tokenizer, prompt_ids: list[int], generated: list[int]):
        self._tokenizer = tokenizer
        self._stream = tokenizers.decoders.DecodeStream(ids=prompt_ids, skip_special_tokens=True)
        for token_id in generated:
            self._step(token_id)

    def text(self, token_ids: list[int], stop_terminated: bool) -> str:
        """Text of the next tokens. A stop token ending the generation adds no text in vLLM."""
        if stop_terminated:
            token_ids = token_ids[:-1]
        return "".join(self._step(t) for t in token_ids)

    def _step(self, token_id: int) -> str:
        try:
            return self._stream.step(self._tokenizer, token_id) or ""
        except Exception as error:
            if not str(error).startswith(_INVALID_PREFIX):
                raise
            # The same recovery as vLLM's detokenizer: start a fresh stream.
            self._stream = tokenizers.decoders.DecodeStream(skip_special_tokens=True)
            return self._stream.step(self._tokenizer, token_id) or ""
