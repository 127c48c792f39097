"""The one Kafka producer of a process: items, results, events and dead letters."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from google.protobuf import message as pb_message
from kafka import KafkaProducer

from .topics import Topics

log = logging.getLogger(__name__)


class Publisher:
    def __init__(self, bootstrap_servers: str, topics: Topics, max_request_bytes: int):
        self.topics = topics
        # acks=all + idempotence: an item acknowledged is an item stored, once.
        self._producer = KafkaProducer(bootstrap_servers=bootstrap_servers, acks="all", enable_idempotence=True,
                                       linger_ms=5, max_request_size=max_request_bytes,
                                       client_id="tianshu-batch")

    async def send_all(self, topic: str, messages: Sequence[tuple[bytes, pb_message.Message]]) -> None:
        """Sends every message and returns once the broker acknowledged all of them."""
        def send() -> None:
            futures = [self._producer.send(topic, key=key, value=m.SerializeToString()) for key, m in messages]
            self._producer.flush()
            for future in futures:
                future.get(timeout=30)  # raises the send's error, if any
        await asyncio.to_thread(send)

    async def send_best_effort(self, topic: str, key: bytes, m: pb_message.Message) -> None:
        """For notifications (results, events) that PostgreSQL already holds: a lost one is
        logged, never fails the work it reports."""
        try:
            await asyncio.to_thread(self._producer.send, topic, key=key, value=m.SerializeToString())
        except Exception:  # noqa: BLE001 - a notification must not fail the line
            log.warning("could not publish to kafka", extra={"topic": topic}, exc_info=True)

    def close(self) -> None:
        self._producer.close(timeout=10)
