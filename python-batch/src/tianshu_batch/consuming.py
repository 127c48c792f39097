"""The consume loop shared by the item worker and the submission reader: poll, handle every
record, and only then commit. A failed round rewinds to its first records, so nothing is
skipped; handlers are idempotent, so what is seen twice is done once."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from kafka import KafkaConsumer

log = logging.getLogger(__name__)

Handler = Callable[[list], Awaitable[None]]


def consumer(bootstrap_servers: str, topic: str, group: str, max_records: int) -> KafkaConsumer:
    return KafkaConsumer(topic, bootstrap_servers=bootstrap_servers, group_id=group, client_id=group,
                         enable_auto_commit=False, auto_offset_reset="earliest", max_poll_records=max_records,
                         # A round may hold lines that each take minutes on a CPU engine.
                         max_poll_interval_ms=30 * 60 * 1000)


async def consume(kafka: KafkaConsumer, handle: Handler, stopping: asyncio.Event, retry_seconds: float) -> None:
    while not stopping.is_set():
        polled = await asyncio.to_thread(kafka.poll, 500)
        records = [record for batch in polled.values() for record in batch]
        if not records:
            continue
        try:
            await handle(records)
            await asyncio.to_thread(kafka.commit)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - e.g. the database is away; try the same records again
            log.exception("round failed; rewinding to retry it", extra={"records": len(records)})
            for tp, batch in polled.items():
                kafka.seek(tp, batch[0].offset)
            await asyncio.sleep(retry_seconds)
