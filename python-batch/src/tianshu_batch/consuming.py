"""The consume loop shared by the item worker and the submission reader, pipelined: up to
`concurrency` records are handled at once and more are polled as soon as a slot frees up
(while every slot is busy, the partitions are paused so that polling only keeps the
membership alive). Per partition, only the offset below the lowest record still being
handled is committed (offsets.py), so nothing is ever skipped; handlers are idempotent, so
what comes back after a crash or a rebalance is done once. A record whose handler fails (the
database is away, Kafka is away) is tried again with backoff, holding its partition's offset."""
from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable

from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

from .offsets import OffsetTracker

log = logging.getLogger(__name__)

Handler = Callable[[object], Awaitable[None]]
# Wait before trying a failed record again doubles from retry_seconds up to this.
_MOST_RETRY_SECONDS = 30.0


def consumer(bootstrap_servers: str, group: str, reconnect_backoff_max_seconds: float) -> KafkaConsumer:
    return KafkaConsumer(bootstrap_servers=bootstrap_servers, group_id=group, client_id=group,
                         enable_auto_commit=False, auto_offset_reset="earliest",
                         # A line may take minutes on a CPU engine; while all slots are busy the
                         # loop still polls (paused), so this only bounds a stuck process.
                         max_poll_interval_ms=30 * 60 * 1000,
                         reconnect_backoff_max_ms=int(reconnect_backoff_max_seconds * 1000))


class _Partitions(ConsumerRebalanceListener):
    """The offset trackers of the partitions this consumer owns. The client calls the listener
    from its own I/O thread, hence the lock; a tracker dropped at a revocation is simply no
    longer committed (its records' tasks finish into it and are forgotten)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._trackers: dict[TopicPartition, OffsetTracker] = {}

    def on_partitions_revoked(self, revoked) -> None:
        with self._lock:
            for tp in revoked:
                self._trackers.pop(tp, None)

    def on_partitions_assigned(self, assigned) -> None:
        pass  # trackers start with the first record polled

    def tracker(self, tp: TopicPartition) -> OffsetTracker:
        with self._lock:
            return self._trackers.setdefault(tp, OffsetTracker())

    def committable(self) -> dict[TopicPartition, tuple[OffsetTracker, int]]:
        with self._lock:
            owned = list(self._trackers.items())
        return {tp: (t, offset) for tp, t in owned if (offset := t.committable()) is not None}


class Pipeline:
    def __init__(self, kafka: KafkaConsumer, topic: str, handle: Handler, concurrency: int, retry_seconds: float,
                 commit_timeout_seconds: float):
        self._kafka, self._topic, self._handle = kafka, topic, handle
        self._concurrency, self._retry, self._commit_timeout_ms = concurrency, retry_seconds, \
            int(commit_timeout_seconds * 1000)
        self._partitions = _Partitions()
        self._running: set[asyncio.Task] = set()

    async def run(self, stopping: asyncio.Event) -> None:
        await asyncio.to_thread(self._kafka.subscribe, [self._topic], listener=self._partitions)
        try:
            while not stopping.is_set():
                free = self._concurrency - len(self._running)
                polled = await asyncio.to_thread(self._poll, free, 200 if self._running else 500)
                for tp, records in polled.items():
                    tracker = self._partitions.tracker(tp)
                    for record in records:
                        tracker.started(record.offset)
                        task = asyncio.create_task(self._until_done(record, tracker, stopping))
                        self._running.add(task)
                        task.add_done_callback(self._running.discard)
                await self._commit()
                if len(self._running) >= self._concurrency:
                    await asyncio.wait(self._running, timeout=1, return_when=asyncio.FIRST_COMPLETED)
            # Stopping: no new record; those running finish (the caller bounds how long) and
            # are committed, so that the next owner does not run them again.
            if self._running:
                await asyncio.wait(self._running)
            await self._commit()
        finally:
            for task in self._running:
                task.cancel()
            await asyncio.gather(*self._running, return_exceptions=True)

    def _poll(self, free: int, timeout_ms: int) -> dict:
        if free <= 0:
            self._kafka.pause(*self._kafka.assignment())
            return self._kafka.poll(timeout_ms=0, max_records=1)
        paused = self._kafka.paused()
        if paused:
            self._kafka.resume(*paused)
        return self._kafka.poll(timeout_ms=timeout_ms, max_records=free)

    async def _until_done(self, record, tracker: OffsetTracker, stopping: asyncio.Event) -> None:
        failures = 0
        while True:
            try:
                await self._handle(record)
                break
            except Exception:  # noqa: BLE001 - e.g. the database is away; the record waits, holding its offset
                failures += 1
                log.exception("record failed; trying it again", extra={
                    "topic": record.topic, "partition": record.partition, "offset": record.offset,
                    "failures": failures})
                if stopping.is_set():
                    return  # left uncommitted: it comes back to the next owner
                await asyncio.sleep(min(_MOST_RETRY_SECONDS, self._retry * 2 ** min(failures, 16)))
        tracker.finished(record.offset)

    async def _commit(self) -> None:
        due = self._partitions.committable()
        if not due:
            return
        offsets = {tp: OffsetAndMetadata(offset, "", -1) for tp, (_, offset) in due.items()}
        try:
            await asyncio.to_thread(self._kafka.commit, offsets, self._commit_timeout_ms)
        except Exception:  # noqa: BLE001 - broker away, rebalance: the same or a later offset is committed next time
            log.warning("offset commit failed; retrying with the next one", exc_info=True)
            return
        for tracker, offset in due.values():
            tracker.committed(offset)
