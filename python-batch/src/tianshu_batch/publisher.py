"""The one Kafka producer of a process: items, results, events and dead letters."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Sequence

from google.protobuf import message as pb_message
from kafka import KafkaProducer

from .settings import BatchSettings
from .topics import Topics

log = logging.getLogger(__name__)


class Publisher:
    def __init__(self, settings: BatchSettings, topics: Topics):
        self.topics = topics
        self._s = settings
        self._timeout = settings.kafka_send_timeout_seconds
        self._lock = threading.Lock()
        self._producer: KafkaProducer | None = self._new_producer()

    def _new_producer(self) -> KafkaProducer:
        s = self._s
        timeout_ms, linger_ms = int(self._timeout * 1000), 5
        # acks=all + idempotence: an item acknowledged is an item stored, once. The timeouts bound
        # how long a send waits for a broker that went away (the client retries until then and
        # reconnects on its own when it is back).
        return KafkaProducer(bootstrap_servers=s.kafka_bootstrap_servers, acks="all", enable_idempotence=True,
                             linger_ms=linger_ms, max_request_size=s.max_message_bytes, client_id="tianshu-batch",
                             delivery_timeout_ms=timeout_ms, max_block_ms=timeout_ms, bootstrap_timeout_ms=timeout_ms,
                             # the client wants a delivery to outlast linger + one request
                             request_timeout_ms=min(30_000, timeout_ms - linger_ms - 100),
                             reconnect_backoff_max_ms=int(s.kafka_reconnect_backoff_max_seconds * 1000))

    def _current(self, wait: bool = True) -> KafkaProducer | None:
        """The producer, made anew after one failed: a broker killed mid-request can leave a
        kafka-python producer with a batch that never completes, after which every later send
        on that partition waits behind it. Made lazily, since making one needs the broker;
        without `wait`, None while another thread is making it."""
        producer = self._producer
        if producer is not None:
            return producer
        if not self._lock.acquire(blocking=wait):
            return None
        try:
            if self._producer is None:
                self._producer = self._new_producer()
            return self._producer
        finally:
            self._lock.release()

    def _discard(self, producer: KafkaProducer) -> None:
        with self._lock:
            if self._producer is producer:
                self._producer = None
        try:
            producer.close(timeout=0)
        except Exception:  # noqa: BLE001 - close() flushes first and gives up on the stuck batch
            # before stopping its I/O thread; stop that thread here (kafka-python has no public way).
            sender = getattr(producer, "_sender", None)
            if sender is not None:
                with contextlib.suppress(Exception):
                    sender.force_close()

    async def send_all(self, topic: str, messages: Sequence[tuple[bytes, pb_message.Message]]) -> None:
        """Sends every message and returns once the broker acknowledged all of them, or raises
        within kafka_send_timeout_seconds."""
        def send() -> None:
            producer = self._current()
            deadline = time.monotonic() + self._timeout
            try:
                futures = [producer.send(topic, key=key, value=m.SerializeToString()) for key, m in messages]
                # Waits for these records only (flush() would also wait for every notification).
                for future in futures:
                    future.get(timeout=max(0.0, deadline - time.monotonic()))  # raises the send's error
            except Exception:
                self._discard(producer)
                raise
        await asyncio.to_thread(send)

    async def send_best_effort(self, topic: str, key: bytes, m: pb_message.Message) -> None:
        """For notifications (results, events) that PostgreSQL already holds: a lost one is
        logged, never fails the work it reports."""
        try:
            producer = await asyncio.to_thread(self._current, False)
            if producer is None:
                log.warning("kafka producer being remade; notification dropped", extra={"topic": topic})
                return
            await asyncio.to_thread(producer.send, topic, key=key, value=m.SerializeToString())
        except Exception:  # noqa: BLE001 - a notification must not fail the line
            log.warning("could not publish to kafka", extra={"topic": topic}, exc_info=True)

    def close(self) -> None:
        with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            try:
                producer.close(timeout=10)
            except Exception:  # noqa: BLE001 - notifications still queued are given up (PostgreSQL has them)
                log.warning("kafka producer closed with records unsent", exc_info=True)
