"""Starting an ingest job: documents checked and chunked up front (bad input is refused before
a job exists), their embedding tokens counted against the caller's limit, then queued with
the job in one transaction. The dispatcher (dispatcher.py) starts it when a slot is free and
the runner (runner.py) embeds and stores it."""
from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from ..errors import InvalidArgument, OverBudget, model_mismatch
from ..storage.collections import CollectionStore
from ..storage.jobs import IngestJob, JobStore
from . import job_inputs
from .prepare import ChunkingLimits, DocumentInput, prepare
from .tokens import TokenCounter


class Ingestor:
    def __init__(self, collections: CollectionStore, jobs: JobStore, tokens: TokenCounter, limits: ChunkingLimits,
                 on_queued: Callable[[], None]):
        self._collections, self._jobs = collections, jobs
        self._tokens, self._limits = tokens, limits
        self._on_queued = on_queued

    async def start(self, tenant_id: str, collection_name: str, documents: Sequence[DocumentInput],
                    embedding_model: str = "", max_embedding_tokens: int = 0) -> IngestJob:
        """Queues a job for the documents; max_embedding_tokens (0 = no limit) refuses, before
        anything is stored, a job whose chunks would need more embedding tokens."""
        if max_embedding_tokens < 0:
            raise InvalidArgument("max_embedding_tokens", "must not be negative (0 = no limit)")
        collection = await self._collections.get(tenant_id, collection_name)
        if embedding_model and embedding_model != collection.embedding_model:
            raise model_mismatch(collection.name, collection.embedding_model, embedding_model)
        prepared = await asyncio.to_thread(prepare, documents, self._tokens, self._limits)
        needed = sum(p.embedding_tokens for p in prepared)
        if max_embedding_tokens and needed > max_embedding_tokens:
            raise OverBudget(f"tenant:{tenant_id}",
                             f"the documents need {needed} embedding tokens, more than max_embedding_tokens "
                             f"({max_embedding_tokens})")
        inputs = await asyncio.to_thread(lambda: [job_inputs.encode(p) for p in prepared])
        job = await self._jobs.create(tenant_id, collection.id, collection.name, inputs,
                                      sum(len(p.chunks) for p in prepared), needed, collection.embedding_model)
        self._on_queued()
        return job
