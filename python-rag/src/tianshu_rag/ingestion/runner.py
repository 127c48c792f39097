"""Running one claimed ingest job: its documents embedded in batches with progress recorded,
then stored in ONE transaction. A failure anywhere before the commit (the inference service
going away, the database) leaves the collection exactly as it was; a stop of the service
puts the job back in the queue, to run again from the start."""
from __future__ import annotations

import asyncio
import logging
from collections import deque

from .. import metrics
from ..errors import FailedPrecondition, ServiceError, model_mismatch
from ..inference import InferenceClient
from ..storage import documents as document_store
from ..storage.collections import Collection, CollectionStore
from ..storage.database import Database
from ..storage.documents import StoredChunk
from ..storage.jobs import ClaimedJob, JobNotRunning, JobStore, collection_deleted
from .prepare import PreparedDocument
from .preparer import Preparer

log = logging.getLogger(__name__)

# Embed calls one job keeps in flight: while the model embeds one batch, the next is already
# waiting at the inference service, so a lone job keeps the model busy instead of idling
# for the round trip and the progress write between batches. Two are enough for that; more
# would only queue more bulk texts there.
EMBEDS_IN_FLIGHT = 2


class JobRunner:
    def __init__(self, db: Database, collections: CollectionStore, jobs: JobStore, inference: InferenceClient,
                 preparer: Preparer, embed_batch_size: int, lease_seconds: float):
        self._db, self._collections, self._jobs, self._inference = db, collections, jobs, inference
        self._preparer = preparer
        self._batch, self._lease = embed_batch_size, lease_seconds

    async def run(self, claimed: ClaimedJob) -> None:
        """Runs the job to its end; cancelled (the service stopping), it queues the job again."""
        job_id = claimed.id
        heartbeat = asyncio.create_task(self._heartbeat(job_id, asyncio.current_task()), name=f"lease-{job_id}")
        try:
            prepared = await self._preparer.decode(claimed.inputs)
            collection = await self._collections.by_id(claimed.tenant_id, claimed.collection_id)
            if collection is None:
                # Deleted since the job was queued: the delete failed it, unless a replica of a
                # release before the queue existed deleted it (and failed only running jobs).
                raise FailedPrecondition("COLLECTION", claimed.collection_name,
                                         collection_deleted(claimed.collection_name))
            await self._ingest(job_id, collection, prepared)
        except JobNotRunning:
            log.warning("ingest job ended meanwhile (its worker declared dead, or its collection deleted); "
                        "its work is dropped", extra={"job_id": job_id})
        except asyncio.CancelledError:
            if await asyncio.shield(self._jobs.requeue(job_id, claimed.chunks_total)):
                log.info("ingest job queued again: the service is stopping", extra={"job_id": job_id})
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
            await document_store.replace_all(conn, collection, [
                (doc.version, [StoredChunk(c.index, c.heading_path, c.text, c.token_count, v, headings, cjk)
                               for c, v, (headings, cjk) in zip(doc.chunks, vectors[doc.version.document_id],
                                                                doc.search_terms, strict=True)])
                for doc in changed])
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
        """Embeds every chunk in batches, EMBEDS_IN_FLIGHT calls at a time, and records progress
        after each batch in order."""
        owners = [(d.version.document_id, text) for d in docs for text in d.embedding_texts()]
        batches = [owners[start:start + self._batch] for start in range(0, len(owners), self._batch)]
        remaining = {d.version.document_id: len(d.chunks) for d in docs}
        vectors: dict[str, list] = {d.version.document_id: [] for d in docs}
        documents_done = sum(1 for n in remaining.values() if n == 0)
        chunks_done = 0
        in_flight: deque[asyncio.Task] = deque()
        try:
            for index, batch in enumerate(batches):
                while len(in_flight) < EMBEDS_IN_FLIGHT and index + len(in_flight) < len(batches):
                    texts = [text for _, text in batches[index + len(in_flight)]]
                    in_flight.append(asyncio.create_task(self._inference.embed(
                        collection.embedding_model, texts, tenant_id=collection.tenant_id, bulk=True)))
                embedded = await in_flight.popleft()
                for (owner, _), vector in zip(batch, embedded, strict=True):
                    if vector.shape[0] != collection.dimension:
                        raise model_mismatch(collection.name,
                                             f"{collection.embedding_model} ({collection.dimension} dims)",
                                             f"{collection.embedding_model} now returning {vector.shape[0]} dims")
                    vectors[owner].append(vector)
                    remaining[owner] -= 1
                    if remaining[owner] == 0:
                        documents_done += 1
                chunks_done += len(batch)
                await self._jobs.progress(job_id, documents_done=documents_done, documents_skipped=skipped,
                                          chunks_total=chunks_total, chunks_done=chunks_done)
        finally:
            for call in in_flight:
                call.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)
        return vectors
