"""Sentence embeddings with sentence-transformers, off the event loop, interactive calls first.

One thread runs the model, a step of texts at a time, in the order embed_queue.py chooses:
a search query waits for at most the bulk step under way, not for every ingestion call queued
before it.
"""
from __future__ import annotations

import asyncio
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import metrics
from .embed_queue import EmbedCall, EmbedPriority, EmbedQueue
from .generation import ModelCard


class Embedder:
    def __init__(self, model_id: str, path: Path, max_batch: int, step_texts: int):
        # The model is a local folder; never reach for a hub at run time.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(str(path), device="cpu" if not _cuda() else "cuda")
        # One worker: the model is not safe to call from several threads at once, and the
        # math inside already uses every core.
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed")
        self._queue = EmbedQueue(step_texts)
        self._wake = asyncio.Event()
        self._runner: asyncio.Task | None = None
        dimension = self._model.get_embedding_dimension() if hasattr(self._model, "get_embedding_dimension") \
            else self._model.get_sentence_embedding_dimension()
        self.card = ModelCard(id=model_id, kind="embed", context_length=self._model.max_seq_length,
                              dimension=dimension, max_batch_size=max_batch)
        for priority in EmbedPriority:
            metrics.EMBED_WAITING_TEXTS.labels(priority.value).set_function(
                lambda p=priority: self._queue.waiting_texts(p))

    async def embed(self, texts: list[str], priority: EmbedPriority = EmbedPriority.INTERACTIVE,
                    tenant: str = "") -> tuple[list[list[float]], int]:
        """Normalized vectors, in input order, and the number of tokens read."""
        if self._runner is None:
            # Started on first use: the embedder is built in a worker thread, outside any loop.
            self._runner = asyncio.get_running_loop().create_task(self._run(), name="embed-steps")
        done = asyncio.get_running_loop().create_future()

        def settle(call: EmbedCall) -> None:
            if not done.done():
                done.set_exception(call.error) if call.error else done.set_result((call.vectors, call.tokens))

        call = EmbedCall(texts, priority, tenant, settle)
        self._queue.add(call)
        self._wake.set()
        try:
            return await done
        finally:
            # A caller that went away leaves no texts behind for the model to read.
            self._queue.drop(call)
            if call.started is not None:
                metrics.EMBED_QUEUE_SECONDS.labels(priority.value).observe(call.started - call.arrived)
            metrics.EMBED_CALLS.labels(self.card.id, priority.value).inc()
            metrics.EMBEDDED_TEXTS.labels(self.card.id, priority.value).inc(len(texts))

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            parts = self._queue.take()
            if not parts:
                # Nothing awaits between take() and wait(): a call added meanwhile sets the event after.
                self._wake.clear()
                await self._wake.wait()
                continue
            texts = [text for part in parts for text in part.texts]
            try:
                vectors, tokens = await loop.run_in_executor(self._pool, self._encode, texts)
            except asyncio.CancelledError:
                self._queue.fail(parts, RuntimeError("the embedder stopped"))
                raise
            except Exception as error:  # noqa: BLE001 - the calls in the step get it, the loop goes on
                self._queue.fail(parts, error)
            else:
                self._queue.finish(parts, vectors, tokens)

    def _encode(self, texts: list[str]) -> tuple[list[list[float]], list[int]]:
        started = time.perf_counter()
        vectors = self._model.encode(texts, normalize_embeddings=True, convert_to_numpy=True,
                                     batch_size=len(texts))
        encoded = self._model.tokenizer(texts, truncation=True, max_length=self._model.max_seq_length)
        metrics.EMBED_STEP_SECONDS.labels(self.card.id).observe(time.perf_counter() - started)
        return vectors.tolist(), [len(ids) for ids in encoded["input_ids"]]

    def shutdown(self) -> None:
        if self._runner is not None:
            self._runner.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()
