"""Which texts the embedding model reads next, in two lanes.

Embed calls wait here for the embedder's two worker threads, one per lane; each reads a
*step* of at most `step_texts` texts at a time:
- the interactive lane (a search query, /v1/embeddings) takes calls oldest first, small ones
  sharing a step; it never waits for bulk work, whose thread runs apart (embedder.py);
- the batch lane (ingestion, batch lines) takes one step at a time with tenants in turn
  (round robin, oldest call first within a tenant), so one tenant's many uploads do not hold
  another's one upload back until they all finish, and a cancelled call stops within a step.
Pure bookkeeping, no model and no event loop of its own: embedder.py drives it.
"""
from __future__ import annotations

import enum
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Callable


class EmbedPriority(enum.Enum):
    INTERACTIVE = "interactive"
    BATCH = "batch"


@dataclass(eq=False)
class EmbedCall:
    """One Embed call's texts and, as steps finish, their vectors and token counts."""
    texts: list[str]
    priority: EmbedPriority
    tenant: str
    on_done: Callable[["EmbedCall"], None]
    arrived: float = field(default_factory=time.monotonic)
    started: float | None = None
    vectors: list = field(default_factory=list)
    tokens: int = 0
    error: BaseException | None = None
    _taken: int = 0
    _finished: int = 0

    def __post_init__(self) -> None:
        self.vectors = [None] * len(self.texts)

    @property
    def waiting_texts(self) -> int:
        return len(self.texts) - self._taken

    @property
    def done(self) -> bool:
        return self.error is not None or self._finished == len(self.texts)


@dataclass(frozen=True)
class StepPart:
    """Texts [start, end) of one call, read in a step."""
    call: EmbedCall
    start: int
    end: int

    @property
    def texts(self) -> list[str]:
        return self.call.texts[self.start:self.end]


class EmbedQueue:
    def __init__(self, step_texts: int):
        if step_texts < 1:
            raise ValueError("step_texts must be at least 1")
        self.step_texts = step_texts
        self._interactive: deque[EmbedCall] = deque()
        # tenant -> its bulk calls, oldest first; the tenant whose turn it is comes first.
        self._bulk: OrderedDict[str, deque[EmbedCall]] = OrderedDict()

    def add(self, call: EmbedCall) -> None:
        if call.priority is EmbedPriority.INTERACTIVE:
            self._interactive.append(call)
        else:
            self._bulk.setdefault(call.tenant, deque()).append(call)

    def waiting_texts(self, priority: EmbedPriority) -> int:
        if priority is EmbedPriority.INTERACTIVE:
            return sum(c.waiting_texts for c in self._interactive)
        return sum(c.waiting_texts for calls in self._bulk.values() for c in calls)

    def take(self, priority: EmbedPriority) -> list[StepPart]:
        """The next step's texts of a lane; empty when nothing waits there."""
        if priority is EmbedPriority.INTERACTIVE:
            return self._take_interactive()
        return self._take_bulk()

    def _take_interactive(self) -> list[StepPart]:
        parts, room = [], self.step_texts
        while room and self._interactive:
            call = self._interactive[0]
            parts.append(self._part(call, room))
            room -= parts[-1].end - parts[-1].start
            if not call.waiting_texts:
                self._interactive.popleft()
        return parts

    def _take_bulk(self) -> list[StepPart]:
        parts, room = [], self.step_texts
        while room and self._bulk:
            tenant, calls = next(iter(self._bulk.items()))
            call = calls[0]
            parts.append(self._part(call, room))
            room -= parts[-1].end - parts[-1].start
            if not call.waiting_texts:
                calls.popleft()
            # The tenant's turn ends with its part of the step: it goes to the back of the line.
            self._bulk.pop(tenant)
            if calls:
                self._bulk[tenant] = calls
        return parts

    @staticmethod
    def _part(call: EmbedCall, room: int) -> StepPart:
        if call.started is None:
            call.started = time.monotonic()
        start = call._taken
        call._taken = min(len(call.texts), start + room)
        return StepPart(call, start, call._taken)

    def finish(self, parts: list[StepPart], vectors: list, tokens: list[int]) -> None:
        """Records a step's results (one vector and token count per text, in step order)."""
        offset = 0
        for part in parts:
            count = part.end - part.start
            call = part.call
            call.vectors[part.start:part.end] = vectors[offset:offset + count]
            call.tokens += sum(tokens[offset:offset + count])
            call._finished += count
            offset += count
            if call.done and call.error is None:
                call.on_done(call)

    def fail(self, parts: list[StepPart], error: BaseException) -> None:
        """A step failed: each call in it fails, and its texts still waiting are dropped."""
        for call in {id(p.call): p.call for p in parts}.values():
            if call.error is None:
                call.error = error
                self.drop(call)
                call.on_done(call)

    def drop(self, call: EmbedCall) -> None:
        """Forgets a call's waiting texts (its caller went away or it failed)."""
        if call in self._interactive:
            self._interactive.remove(call)
        calls = self._bulk.get(call.tenant)
        if calls is not None and call in calls:
            calls.remove(call)
            if not calls:
                del self._bulk[call.tenant]
