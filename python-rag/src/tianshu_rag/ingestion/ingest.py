"""Ingest jobs: documents checked and chunked up front (bad input is refused before a job
exists), then embedded in batches in the background with progress recorded, then stored in
ONE transaction. A failure anywhere before the commit (the inference service going away,
the database) leaves the collection exactly as it was."""
from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from .. import metrics
from ..errors import FailedPrecondition, InvalidArgument, ServiceError, model_mismatch
from ..inference import InferenceClient
from ..retrieval.terms import index_terms
from ..storage import documents as document_store
from ..storage.collections import Collection, CollectionStore
from ..storage.database import Database
from ..storage.documents import DocumentVersion, StoredChunk
from ..storage.jobs import IngestJob, JobNotRunning, JobStore, collection_deleted
from .chunking import Chunk, chunk_blocks
from .parsing import UnreadableDocument, normalize_content_type, parse
from .tokens import TokenCounter

log = logging.getLogger(__name__)

MAX_DOCUMENT_ID_CHARS = 256


@dataclass(frozen=True)
class DocumentInput:
    document_id: str
    content: bytes
    content_type: str
    metadata: dict


@dataclass(frozen=True)
class PreparedDocument:
    version: DocumentVersion
    chunks: list[Chunk]
    # Per chunk: the Chinese words of its headings and of its text, for full-text search.
    search_terms: list[tuple[str, str]]

    def embedding_texts(self) -> list[str]:
        # Headings go into the embedded text: "Install > Linux" says what a chunk is about
        # even when its own text only says "run the script".
        return [" > ".join(c.heading_path) + "\n" + c.text if c.heading_path else c.text for c in self.chunks]


@dataclass(frozen=True)
class ChunkingLimits:
    chunk_tokens: int
    overlap_tokens: int
    max_document_bytes: int
    max_documents: int


def prepare(documents: Sequence[DocumentInput], tokens: TokenCounter, limits: ChunkingLimits) -> list[PreparedDocument]:
    """Parses and chunks every document, or refuses the request naming the first bad one."""
    if not documents:
        raise InvalidArgument("documents", "no documents given")
    if len(documents) > limits.max_documents:
        raise InvalidArgument("documents", f"at most {limits.max_documents} documents per call, got {len(documents)}")
    seen: set[str] = set()
    prepared = []
    for i, doc in enumerate(documents):
        field = f"documents[{i}]"
        if not doc.document_id or len(doc.document_id) > MAX_DOCUMENT_ID_CHARS:
            raise InvalidArgument(f"{field}.document_id", f"must have 1 to {MAX_DOCUMENT_ID_CHARS} characters")
        if doc.document_id in seen:
            raise InvalidArgument(f"{field}.document_id", f"{doc.document_id!r} appears twice in one call")
        seen.add(doc.document_id)
        if not doc.content:
            raise InvalidArgument(f"{field}.content", f"document {doc.document_id!r} is empty")
        if len(doc.content) > limits.max_document_bytes:
            raise InvalidArgument(f"{field}.content", f"document {doc.document_id!r} has {len(doc.content)} bytes; "
                                                      f"the limit is {limits.max_document_bytes}")
        try:
            blocks = parse(doc.content, doc.content_type)
        except UnreadableDocument as error:
            raise InvalidArgument(f"{field}", f"document {doc.document_id!r}: {error}") from None
        chunks = chunk_blocks(blocks, tokens, limits.chunk_tokens, limits.overlap_tokens)
        version = DocumentVersion(doc.document_id, normalize_content_type(doc.content_type),
                                  hashlib.sha256(doc.content).hexdigest(), doc.metadata)
        terms = [(index_terms(" ".join(c.heading_path)), index_terms(c.text)) for c in chunks]
        prepared.append(PreparedDocument(version, chunks, terms))
    return prepared


class Ingestor:
    def __init__(self, db: Database, collections: CollectionStore, jobs: JobStore, inference: InferenceClient,
                 tokens: TokenCounter, limits: ChunkingLimits, embed_batch_size: int, lease_seconds: float):
        self._db, self._collections, self._jobs = db, collections, jobs
        self._inference, self._tokens, self._limits = inference, tokens, limits
        self._batch = embed_batch_size
        self._lease = lease_seconds
        self._tasks: set[asyncio.Task] = set()

    async def start(self, tenant_id: str, collection_name: str, documents: Sequence[DocumentInput],
                    embedding_model: str = "") -> IngestJob:
        collection = await self._collections.get(tenant_id, collection_name)
        if embedding_model and embedding_model != collection.embedding_model:
            raise model_mismatch(collection.name, collection.embedding_model, embedding_model)
        prepared = await asyncio.to_thread(prepare, documents, self._tokens, self._limits)
        job = await self._jobs.create(tenant_id, collection.id, collection.name, len(prepared),
                                      sum(len(p.chunks) for p in prepared), self._lease)
        task = asyncio.create_task(self._run(job.id, collection, prepared), name=f"ingest-{job.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job

    async def stop(self) -> None:
        """Cancels running jobs (their transactions roll back) and marks them failed."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _run(self, job_id: str, collection: Collection, prepared: list[PreparedDocument]) -> None:
        heartbeat = asyncio.create_task(self._heartbeat(job_id, asyncio.current_task()), name=f"lease-{job_id}")
        try:
            await self._ingest(job_id, collection, prepared)
        except JobNotRunning:
            log.warning("ingest job ended meanwhile (its worker declared dead, or its collection deleted); "
                        "its work is dropped", extra={"job_id": job_id})
        except asyncio.CancelledError:
            await asyncio.shield(self._jobs.fail(job_id, "the service stopped before the job finished"))
            raise
        except ServiceError as error:
            log.warning("ingest job failed", extra={"job_id": job_id, "error": error.message})
            await self._jobs.fail(job_id, error.message)
        except Exception as error:  # noqa: BLE001 - a background job must record why it ended
            log.exception("ingest job failed", extra={"job_id": job_id})
            await self._jobs.fail(job_id, f"internal error: {type(error).__name__}")
        finally:
            heartbeat.cancel()

    async def _heartbeat(self, job_id: str, work: asyncio.Task) -> None:
        """Renews the job's lease three times per lease period, so one slow renewal does not
        lose it. If the job is no longer RUNNING (a replica saw the lease run out, e.g. after
        this process stalled), the work is cancelled: it must not commit a FAILED job."""
        while True:
            await asyncio.sleep(self._lease / 3)
            try:
                await self._jobs.renew(job_id, self._lease)
            except JobNotRunning:
                log.warning("ingest job lease lost; cancelling it", extra={"job_id": job_id})
                work.cancel()
                return
            except Exception:  # noqa: BLE001 - a database hiccup; the next renewal may succeed
                log.warning("ingest job lease renewal failed", extra={"job_id": job_id}, exc_info=True)

    async def _ingest(self, job_id: str, collection: Collection, prepared: list[PreparedDocument]) -> None:
        async with self._db.pool.connection() as conn:
            current = await document_store.current_versions(conn, collection.id, [p.version.document_id for p in prepared])
        def same(p: PreparedDocument) -> bool:
            old = current.get(p.version.document_id)
            return old is not None and (old.content_sha256, old.content_type) == (
                p.version.content_sha256, p.version.content_type)

        unchanged = [p for p in prepared if same(p)]
        changed = [p for p in prepared if not same(p)]
        chunks_total = sum(len(p.chunks) for p in changed)
        await self._jobs.progress(job_id, documents_done=0, documents_skipped=len(unchanged),
                                  chunks_total=chunks_total, chunks_done=0)

        vectors = await self._embed(job_id, collection, changed, len(unchanged), chunks_total)

        async with self._db.pool.connection() as conn, conn.transaction():
            # The collection's row before anything else, as a delete of the collection does.
            if not await CollectionStore.lock_against_delete(conn, collection.id):
                raise FailedPrecondition("COLLECTION", collection.name, collection_deleted(collection.name))
            for doc in changed:
                stored = [StoredChunk(c.index, c.heading_path, c.text, c.token_count, v, headings, cjk)
                          for c, v, (headings, cjk) in zip(doc.chunks, vectors[doc.version.document_id],
                                                           doc.search_terms, strict=True)]
                await document_store.replace(conn, collection, doc.version, stored)
            for doc in unchanged:
                if current[doc.version.document_id].metadata != doc.version.metadata:
                    await document_store.update_metadata(conn, collection.id, doc.version.document_id,
                                                         doc.version.metadata)
            await JobStore.succeed(conn, job_id, len(changed))
        metrics.INGESTED_CHUNKS.inc(chunks_total)
        metrics.INGESTED_DOCUMENTS.inc(len(changed))
        log.info("ingest job succeeded", extra={"job_id": job_id, "documents": len(changed),
                                                "skipped": len(unchanged), "chunks": chunks_total})

    async def _embed(self, job_id: str, collection: Collection, docs: list[PreparedDocument], skipped: int,
                     chunks_total: int) -> dict[str, list]:
        """Embeds every chunk in batches, recording progress after each batch."""
        owners = [(d.version.document_id, text) for d in docs for text in d.embedding_texts()]
        remaining = {d.version.document_id: len(d.chunks) for d in docs}
        vectors: dict[str, list] = {d.version.document_id: [] for d in docs}
        documents_done = sum(1 for n in remaining.values() if n == 0)
        for start in range(0, len(owners), self._batch):
            batch = owners[start:start + self._batch]
            embedded = await self._inference.embed(collection.embedding_model, [t for _, t in batch],
                                                   tenant_id=collection.tenant_id, bulk=True)
            for (owner, _), vector in zip(batch, embedded, strict=True):
                if vector.shape[0] != collection.dimension:
                    raise model_mismatch(collection.name, f"{collection.embedding_model} ({collection.dimension} dims)",
                                         f"{collection.embedding_model} now returning {vector.shape[0]} dims")
                vectors[owner].append(vector)
                remaining[owner] -= 1
                if remaining[owner] == 0:
                    documents_done += 1
            await self._jobs.progress(job_id, documents_done=documents_done, documents_skipped=skipped,
                                      chunks_total=chunks_total, chunks_done=start + len(batch))
        return vectors
