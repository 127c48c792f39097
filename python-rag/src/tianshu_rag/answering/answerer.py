"""Answer: retrieve, decide whether anything relevant was found, prompt the model with the
chunks as quoted sources, stream its text, then the citations of the markers it used."""
from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from .. import metrics
from ..errors import InvalidArgument, Unavailable
from ..inference import GenerationUsage, InferenceClient
from ..retrieval.search import FULL_TEXT, Hit, Retriever, SearchOptions
from .citations import CitationFilter
from .prompt import Source, build_messages

log = logging.getLogger(__name__)

ANSWERED, NO_RELEVANT_CONTEXT = "answered", "no_relevant_context"
DO_NOT_KNOW = "I don't know: nothing relevant to this question was found in the collection."


@dataclass(frozen=True)
class Citation:
    marker: int
    hit: Hit


NO_USAGE = GenerationUsage(0, 0)


@dataclass(frozen=True)
class AnswerEvent:
    text: str = ""
    citations: tuple[Citation, ...] = ()
    # Set on the last event only.
    outcome: str = ""
    usage: GenerationUsage | None = None
    model: str = ""


@dataclass(frozen=True)
class AnswerSettings:
    model: str  # when the request names none
    top_k: int
    min_similarity: float
    max_tokens: int


class Answerer:
    def __init__(self, retriever: Retriever, inference: InferenceClient, settings: AnswerSettings):
        self._retriever, self._inference, self._settings = retriever, inference, settings

    async def answer(self, tenant_id: str, collection: str, question: str, options: SearchOptions,
                     max_tokens: int = 0, model: str = "", request_id: str = "",
                     retrieval_query: str = "", history: Sequence[tuple[str, str]] = ()
                     ) -> AsyncIterator[AnswerEvent]:
        max_tokens = max_tokens or self._settings.max_tokens
        if max_tokens < 0:
            raise InvalidArgument("max_tokens", "must not be negative")
        model = model or self._settings.model
        # Before anything is spent, the question's embedding included: the inference service
        # refuses an unknown model (NOT_FOUND) or an embedding model (INVALID_ARGUMENT) itself.
        await self._inference.count_tokens(model, build_messages(question, []))
        options = dataclasses.replace(options, min_similarity=options.min_similarity or self._settings.min_similarity)
        found = await self._retriever.search(tenant_id, collection, retrieval_query or question, options)
        hits = found.hits
        if not _relevant(hits, found.mode):
            metrics.ANSWERS.labels(NO_RELEVANT_CONTEXT).inc()
            yield AnswerEvent(text=DO_NOT_KNOW)
            yield AnswerEvent(outcome=NO_RELEVANT_CONTEXT, usage=NO_USAGE, model=model)
            return

        sources = [Source(h.rank, h.candidate.heading_path, h.candidate.text) for h in hits]
        messages, sources = await self._fit(model, question, sources, list(history), max_tokens)
        markers = CitationFilter({s.number for s in sources})
        usage, answered_by = None, model
        async for delta in self._inference.generate_stream(model, messages, max_tokens,
                                                           tenant_id=tenant_id, request_id=request_id):
            text = markers.feed(delta.text)
            if text:
                yield AnswerEvent(text=text)
            usage, answered_by = delta.usage or usage, delta.model or answered_by
        if usage is None:
            # The callers bill from this usage; an answer that cannot be billed exactly is not given.
            raise Unavailable("the inference service ended the generation without reporting its usage")
        rest = markers.finish()
        by_number = {h.rank: h for h in hits}
        metrics.ANSWERS.labels(ANSWERED).inc()
        yield AnswerEvent(text=rest, citations=tuple(Citation(n, by_number[n]) for n in markers.used),
                          outcome=ANSWERED, usage=usage, model=answered_by)

    async def _fit(self, model: str, question: str, sources: list[Source], history: list[tuple[str, str]],
                   max_tokens: int) -> tuple[list[tuple[str, str]], list[Source]]:
        """Leaves out the oldest turns of the conversation, then the lowest-ranked sources,
        until prompt + answer fit the model's context: the sources are what the answer stands on."""
        while True:
            messages = build_messages(question, sources, history)
            count, context = await self._inference.count_tokens(model, messages)
            if count + max_tokens <= context or (len(sources) == 1 and not history):
                return messages, sources
            if history:
                history = history[1:]
            else:
                sources = sources[:-1]


def _relevant(hits: list[Hit], mode: str) -> bool:
    """Full-text matches alone OR the question's words, so they show that a word occurs,
    not that the question is answered; outside full-text mode only the vector retriever
    (above min_similarity, applied in search) vouches for relevance."""
    if mode == FULL_TEXT:
        return bool(hits)
    return any(h.vector_similarity is not None for h in hits)
