"""Which offset of one partition may be committed while records of it are still being
handled, apart from any I/O: the lowest offset still running, or the one after the last
record seen when none is. Everything below it is finished, so a crash never skips a record;
records above it that finished already come back after a crash and are found done in
PostgreSQL."""
from __future__ import annotations


class OffsetTracker:
    def __init__(self) -> None:
        self._running: set[int] = set()
        self._next: int | None = None  # one past the highest offset seen
        self._committed: int | None = None

    @property
    def running(self) -> int:
        return len(self._running)

    def started(self, offset: int) -> None:
        self._running.add(offset)
        self._next = offset + 1 if self._next is None else max(self._next, offset + 1)

    def finished(self, offset: int) -> None:
        self._running.discard(offset)

    def committable(self) -> int | None:
        """The offset to commit (the next record not known to be finished), or None when it
        has not moved since the last commit."""
        if self._next is None:
            return None
        low = min(self._running) if self._running else self._next
        return None if low == self._committed else low

    def committed(self, offset: int) -> None:
        self._committed = offset
