"""The batch lane: how many batch-priority sequences the engine may run, given interactive work.

On CPU every engine step slows with each running sequence, and vLLM's priority scheduling
preempts only under KV-cache pressure, so batch sequences already running would slow every
step an interactive prompt shares. The lane lets batch sequences in up to a wide limit while
no interactive sequence is in the engine and up to a narrow one while any is; the rest wait
here, in arrival order. When interactive work arrives it names the newest running batch
tickets beyond the narrow limit (the least work lost) for the engine to preempt; a preempted
ticket enters again ahead of younger ones.

Pure bookkeeping: no engine, no clock. The engine does the aborting and resuming.
"""
from __future__ import annotations

import asyncio
import bisect
import itertools
from dataclasses import dataclass, field


@dataclass(eq=False)
class Ticket:
    """One batch generation's place in the lane."""

    request_id: str
    sequences: int
    # Only generations whose resumption reproduces them exactly may be preempted.
    preemptible: bool
    order: int
    # Set when the lane picked this ticket for preemption; the engine clears it on resuming.
    preempted: bool = False
    _granted: asyncio.Future | None = field(default=None, repr=False)


class BatchLane:
    def __init__(self, idle_limit: int, interactive_limit: int):
        if idle_limit < 1 or not 0 <= interactive_limit <= idle_limit:
            raise ValueError(f"need 1 <= idle_limit and 0 <= interactive_limit <= idle_limit, "
                             f"got {idle_limit} and {interactive_limit}")
        self.idle_limit = idle_limit
        self.interactive_limit = interactive_limit
        self._interactive = 0
        self._running: list[Ticket] = []  # in the order they entered the engine
        self._waiting: list[Ticket] = []  # by arrival order
        self._orders = itertools.count()

    @property
    def limit(self) -> int:
        return self.interactive_limit if self._interactive else self.idle_limit

    @property
    def running_sequences(self) -> int:
        return sum(t.sequences for t in self._running)

    @property
    def waiting_sequences(self) -> int:
        return sum(t.sequences for t in self._waiting)

    def ticket(self, request_id: str, sequences: int, preemptible: bool) -> Ticket:
        return Ticket(request_id=request_id, sequences=sequences, preemptible=preemptible,
                      order=next(self._orders))

    async def enter(self, ticket: Ticket) -> None:
        """Returns once the ticket may run in the engine; a cancelled wait leaves no trace."""
        ticket.preempted = False
        if not self._waiting_before(ticket) and self._fits(ticket):
            self._running.append(ticket)
            return
        ticket._granted = asyncio.get_running_loop().create_future()
        bisect.insort(self._waiting, ticket, key=lambda t: t.order)
        try:
            await ticket._granted
        except asyncio.CancelledError:
            # Still waiting, or granted in the same loop turn as the cancel: either way the
            # room goes to the next ticket.
            self.leave(ticket)
            raise
        finally:
            ticket._granted = None

    def leave(self, ticket: Ticket) -> None:
        """The ticket's generation ended (finished, failed or cancelled) or was preempted."""
        if ticket in self._running:
            self._running.remove(ticket)
        elif ticket in self._waiting:
            self._waiting.remove(ticket)
        self._admit_waiting()

    def interactive_arrived(self, sequences: int) -> list[Ticket]:
        """Counts interactive sequences in; returns the batch tickets the engine must preempt,
        already out of the running set and marked preempted."""
        self._interactive += sequences
        excess = self.running_sequences - self.interactive_limit
        victims = []
        for ticket in reversed(self._running):
            if excess <= 0:
                break
            if ticket.preemptible:
                victims.append(ticket)
                excess -= ticket.sequences
        for ticket in victims:
            self._running.remove(ticket)
            ticket.preempted = True
        return victims

    def interactive_left(self, sequences: int) -> None:
        self._interactive -= sequences
        self._admit_waiting()

    def _waiting_before(self, ticket: Ticket) -> bool:
        return bool(self._waiting) and self._waiting[0].order < ticket.order

    def _fits(self, ticket: Ticket) -> bool:
        limit = self.limit
        if limit == 0:
            return False
        # A generation of more sequences than the limit still runs, alone.
        running = self.running_sequences
        return running == 0 or running + ticket.sequences <= limit

    def _admit_waiting(self) -> None:
        while self._waiting and self._fits(self._waiting[0]):
            ticket = self._waiting.pop(0)
            self._running.append(ticket)
            if ticket._granted is not None and not ticket._granted.done():
                ticket._granted.set_result(None)
