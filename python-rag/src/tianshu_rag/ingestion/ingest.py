"""Starting an ingest job: documents checked and chunked up front (bad input is refused before
a job exists), their embedding tokens counted against the caller's limit, then queued with
the job in one transaction. The dispatcher (dispatcher.py) starts it when a slot is free and
the runner (runner.py) embeds and stores it."""
from __future__ import annotations

from collections.abc import Callable, Sequence

from ..embedding_models import FOLLOWS_LANGUAGE, EmbeddingModels
from ..errors import InvalidArgument, OverBudget, model_mismatch
from ..storage.collections import CollectionStore
from ..storage.jobs import IngestJob, JobStore
from .prepare import Chunking, DocumentInput
from .preparer import Preparer


class Ingestor:
    def __init__(self, collections: CollectionStore, jobs: JobStore, preparer: Preparer, models: EmbeddingModels,
                 on_queued: Callable[[], None]):
        self._collections, self._jobs, self._preparer, self._models = collections, jobs, preparer, models
        self._on_queued = on_queued

    async def start(self, tenant_id: str, collection_name: str, documents: Sequence[DocumentInput],
                    embedding_model: str = "", max_embedding_tokens: int = 0,
                    chunking: Chunking | None = None) -> IngestJob:
        """Queues a job for the documents, chunked with the caller's sizes (None = the
        configured ones); max_embedding_tokens (0 = no limit) refuses, before anything is
        stored, a job whose chunks would need more embedding tokens. A collection whose model
        follows its language takes the model for the language of these documents."""
        if max_embedding_tokens < 0:
            raise InvalidArgument("max_embedding_tokens", "must not be negative (0 = no limit)")
        collection = await self._collections.get(tenant_id, collection_name, counted=False)
        follows_language = bool(collection.settings.get(FOLLOWS_LANGUAGE))
        if embedding_model and embedding_model != collection.embedding_model and not follows_language:
            raise model_mismatch(collection.name, collection.embedding_model, embedding_model)
        prepared = await self._preparer.prepare(documents, chunking)
        needed = prepared.embedding_tokens
        if max_embedding_tokens and needed > max_embedding_tokens:
            # Refused before anything is stored.
            raise OverBudget(f"tenant:{tenant_id}", needed, max_embedding_tokens)
        if follows_language:
            # The collection's first ingest: its model is settled before any chunk is embedded.
            model = await self._models.for_language(prepared.language)
            collection = await self._collections.settle_model(collection, model, prepared.language)
            if embedding_model and embedding_model != collection.embedding_model:
                raise model_mismatch(collection.name, collection.embedding_model, embedding_model)
        job = await self._jobs.create(tenant_id, collection.id, collection.name, prepared.inputs, prepared.chunks,
                                      needed, collection.embedding_model)
        self._on_queued()
        return job
