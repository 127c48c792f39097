"""Sentence embeddings of one model, off the event loop, in two lanes.

Interactive calls (a search query, /v1/embeddings) and batch calls (ingestion, batch lines)
each have worker threads of their own, fed in steps by embed_queue.py, so a query never
queues behind ingestion. On a CPU each worker computes on one core (torch's intra-op threads
set to 1) and the lanes have several workers: a step's math split over cores makes every
operator wait at a barrier for the slowest core, which on a busy host meant a one-line query
taking 380 ms instead of 44 ms (measured with two cores and a load beside it); workers of one
core each read as many texts per second as one two-core model and never wait for each other.
The batch lane's threads run at a low CPU priority (`batch_nice`): alone they have every core,
and the moment an interactive call (or a search's SQL, the gateway) needs a core the kernel
hands it over. Each worker has its own copy of the model (90 MB) because a model's tokenizer is
not safe to call from two threads at once. Every embedding model served has an Embedder of its
own, so a model's lanes never wait for another model's work.
"""
from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

from . import metrics
from .embed_queue import EmbedCall, EmbedPriority, EmbedQueue
from .generation import ModelCard
from .sentence_encoder import SentenceEncoder

log = logging.getLogger(__name__)

# Texts the model reads at once within a step, sorted by length (_encode says why).
_SUB_BATCH = 8


@dataclass(frozen=True)
class _Worker:
    model: SentenceEncoder
    thread: ThreadPoolExecutor


class Embedder:
    """One embedding model's lanes. `load` builds a copy of the model for one worker thread;
    `on_gpu` says whether it computes on a GPU (one worker per lane is enough there)."""

    def __init__(self, model_id: str, load: Callable[[], SentenceEncoder], max_batch: int, step_texts: int,
                 batch_nice: int, workers: int = 0, on_gpu: bool = False):
        count = workers or (1 if on_gpu else min(os.cpu_count() or 1, 4))
        self.workers_per_lane = count
        self._workers = {
            priority: [_Worker(load(), ThreadPoolExecutor(
                max_workers=1, thread_name_prefix=f"embed-{priority.value}",
                initializer=_lower_thread_priority if priority is EmbedPriority.BATCH else None,
                initargs=(batch_nice,) if priority is EmbedPriority.BATCH else ())) for _ in range(count)]
            for priority in EmbedPriority}
        self._queue = EmbedQueue(step_texts)
        self._wake = {priority: asyncio.Event() for priority in EmbedPriority}
        self._runners: list[asyncio.Task] = []
        model = self._workers[EmbedPriority.INTERACTIVE][0].model
        self.card = ModelCard(id=model_id, kind="embed", context_length=model.max_seq_length,
                              dimension=model.dimension, max_batch_size=max_batch)
        for priority in EmbedPriority:
            metrics.EMBED_WAITING_TEXTS.labels(model_id, priority.value).set_function(
                lambda p=priority: self._queue.waiting_texts(p))

    async def embed(self, texts: list[str], priority: EmbedPriority = EmbedPriority.INTERACTIVE,
                    tenant: str = "") -> tuple[list[list[float]], int]:
        """Normalized vectors, in input order, and the number of tokens read."""
        loop = asyncio.get_running_loop()
        if not self._runners:
            # Started on first use: the embedder is built in a worker thread, outside any loop.
            self._runners = [loop.create_task(self._run(lane, worker), name=f"embed-{lane.value}")
                             for lane, workers in self._workers.items() for worker in workers]
        done = loop.create_future()

        def settle(call: EmbedCall) -> None:
            if not done.done():
                done.set_exception(call.error) if call.error else done.set_result((call.vectors, call.tokens))

        call = EmbedCall(texts, priority, tenant, settle)
        self._queue.add(call)
        self._wake[priority].set()
        try:
            return await done
        finally:
            # A caller that went away leaves no texts behind for the model to read.
            self._queue.drop(call)
            if call.started is not None:
                metrics.EMBED_QUEUE_SECONDS.labels(self.card.id, priority.value).observe(call.started - call.arrived)
            metrics.EMBED_CALLS.labels(self.card.id, priority.value).inc()
            metrics.EMBEDDED_TEXTS.labels(self.card.id, priority.value).inc(len(texts))

    async def _run(self, lane: EmbedPriority, worker: _Worker) -> None:
        loop = asyncio.get_running_loop()
        wake = self._wake[lane]
        while True:
            parts = self._queue.take(lane)
            if not parts:
                # Nothing awaits between take() and wait(): a call added meanwhile sets the event after.
                wake.clear()
                await wake.wait()
                continue
            texts = [text for part in parts for text in part.texts]
            try:
                vectors, tokens = await loop.run_in_executor(worker.thread, self._encode, lane, worker.model, texts)
            except asyncio.CancelledError:
                self._queue.fail(parts, RuntimeError("the embedder stopped"))
                raise
            except Exception as error:  # noqa: BLE001 - the calls in the step get it, the lane goes on
                self._queue.fail(parts, error)
            else:
                self._queue.finish(parts, vectors, tokens)

    def _encode(self, lane: EmbedPriority, model: SentenceEncoder, texts: list[str]) -> tuple[list[list[float]], list[int]]:
        """The step's texts in sub-batches of similar length: a batch is padded to its longest
        text, and chunks of 50 to 250 tokens in arrival order wasted 40% of the model's time on
        padding (measured: 36 texts/s in batches of 32 as they come, 63 sorted by length in
        batches of 8, on one core)."""
        started = time.perf_counter()
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors: list = [None] * len(texts)
        tokens = [0] * len(texts)
        for start in range(0, len(order), _SUB_BATCH):
            part = order[start:start + _SUB_BATCH]
            found, counts = model.encode([texts[i] for i in part])
            for i, vector, count in zip(part, found, counts):
                vectors[i], tokens[i] = vector, count
        metrics.EMBED_STEP_SECONDS.labels(self.card.id, lane.value).observe(time.perf_counter() - started)
        return vectors, tokens

    def shutdown(self) -> None:
        for runner in self._runners:
            runner.cancel()
        for workers in self._workers.values():
            for worker in workers:
                worker.thread.shutdown(wait=False, cancel_futures=True)


def _lower_thread_priority(nice: int) -> None:
    """Lowers the calling thread's CPU priority (Linux: nice is per thread, and threads it
    starts later inherit it)."""
    if nice <= 0:
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
    except (AttributeError, OSError) as error:  # not Linux, or not allowed: the lane still works
        log.warning("could not lower the batch embedding thread's priority: %s", error)
