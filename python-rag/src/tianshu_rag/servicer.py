"""RagService: converts proto <-> domain and calls one method per RPC; nothing else."""
from __future__ import annotations

import re
from dataclasses import dataclass

from google.protobuf import json_format, struct_pb2, timestamp_pb2
from tianshu.rag.v1 import rag_pb2 as pb
from tianshu.rag.v1 import rag_pb2_grpc as pb_grpc

from tianshu_grpc_server import json_logging
from .answering.answerer import ANSWERED, NO_RELEVANT_CONTEXT, Answerer
from .embedding_models import FOLLOWS_LANGUAGE, EmbeddingModels
from .errors import InvalidArgument, Unavailable
from .ingestion import language
from .ingestion.ingest import Ingestor
from .ingestion.prepare import DocumentInput
from .inference import InferenceClient
from .reading.document_pages import DocumentPage, DocumentReader
from .retrieval import filters, fusion, rerank
from .retrieval.rerank import RerankChoice
from .retrieval.search import FULL_TEXT, HYBRID, RERANK, VECTOR, Hit, Retriever, SearchOptions
from .storage import documents as document_store
from .storage.collections import Collection, CollectionStore
from .storage.database import Database
from .storage.job_events import JobWatcher
from .storage.jobs import FAILED, QUEUED, RUNNING, SUCCEEDED, IngestJob, JobStore

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_MODES = {pb.RETRIEVAL_MODE_UNSPECIFIED: HYBRID, pb.RETRIEVAL_MODE_HYBRID: HYBRID,
          pb.RETRIEVAL_MODE_VECTOR: VECTOR, pb.RETRIEVAL_MODE_FULL_TEXT: FULL_TEXT}
_MODE_VALUES = {HYBRID: pb.RETRIEVAL_MODE_HYBRID, VECTOR: pb.RETRIEVAL_MODE_VECTOR,
                FULL_TEXT: pb.RETRIEVAL_MODE_FULL_TEXT}
_RETRIEVERS = {VECTOR: pb.RETRIEVER_VECTOR, FULL_TEXT: pb.RETRIEVER_FULL_TEXT, RERANK: pb.RETRIEVER_RERANK}
_JOB_STATES = {QUEUED: pb.INGEST_JOB_STATE_QUEUED, RUNNING: pb.INGEST_JOB_STATE_RUNNING,
               SUCCEEDED: pb.INGEST_JOB_STATE_SUCCEEDED, FAILED: pb.INGEST_JOB_STATE_FAILED}
_OUTCOMES = {ANSWERED: pb.ANSWER_OUTCOME_ANSWERED, NO_RELEVANT_CONTEXT: pb.ANSWER_OUTCOME_NO_RELEVANT_CONTEXT}
_COMPARISONS = {pb.COMPARISON_OPERATOR_EQ: filters.EQ, pb.COMPARISON_OPERATOR_NE: filters.NE,
                pb.COMPARISON_OPERATOR_GT: filters.GT, pb.COMPARISON_OPERATOR_GTE: filters.GTE,
                pb.COMPARISON_OPERATOR_LT: filters.LT, pb.COMPARISON_OPERATOR_LTE: filters.LTE,
                pb.COMPARISON_OPERATOR_IN: filters.IN, pb.COMPARISON_OPERATOR_NIN: filters.NIN}
_COMPOUNDS = {pb.COMPOUND_OPERATOR_AND: filters.AND, pb.COMPOUND_OPERATOR_OR: filters.OR}


def _tenant(tenant_id: str) -> str:
    if not tenant_id or len(tenant_id) > 128:
        raise InvalidArgument("tenant_id", "must have 1 to 128 characters")
    return tenant_id


def _collection_name(name: str) -> str:
    if not _NAME.match(name):
        raise InvalidArgument("collection_id", "1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit")
    return name


def _plain(struct: struct_pb2.Struct) -> dict:
    """Struct -> dict; integral numbers (all doubles in a Struct) become ints again."""
    def fix(value):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, dict):
            return {k: fix(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fix(v) for v in value]
        return value
    return fix(json_format.MessageToDict(struct))


def _struct(value: dict) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(value)
    return struct


def _timestamp(moment) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(moment)
    return ts


_FUSION_METHODS = {pb.FUSION_METHOD_SCORE: fusion.SCORE, pb.FUSION_METHOD_RRF: fusion.RRF}
_FUSION_METHOD_VALUES = {name: value for value, name in _FUSION_METHODS.items()}


_LANGUAGES = {pb.COLLECTION_LANGUAGE_UNSPECIFIED: language.AUTO, pb.COLLECTION_LANGUAGE_AUTO: language.AUTO,
              pb.COLLECTION_LANGUAGE_ZH: language.ZH, pb.COLLECTION_LANGUAGE_EN: language.EN}
_LANGUAGE_VALUES = {language.AUTO: pb.COLLECTION_LANGUAGE_AUTO, language.ZH: pb.COLLECTION_LANGUAGE_ZH,
                    language.EN: pb.COLLECTION_LANGUAGE_EN}


def _collection(c: Collection, retriever: Retriever) -> pb.Collection:
    """The collection with its settings as its searches apply them (its own over the service's)."""
    weights, reranking = retriever.fusion_of(c), retriever.rerank_of(c)
    return pb.Collection(tenant_id=c.tenant_id, collection_id=c.name, embedding_model=c.embedding_model,
                         dimension=c.dimension, description=c.description, document_count=c.document_count,
                         chunk_count=c.chunk_count, create_time=_timestamp(c.created_at),
                         settings=pb.CollectionSettings(fusion=pb.FusionSettings(
                             vector_weight=weights.vector, full_text_weight=weights.full_text,
                             method=_FUSION_METHOD_VALUES[weights.method]),
                             language=_LANGUAGE_VALUES[c.settings.get("language", language.AUTO)],
                             rerank=pb.RerankSettings(enabled=bool(reranking.enabled),
                                                      model=reranking.model or c.embedding_model,
                                                      candidates=reranking.candidates)))


def _rerank_choice(asked: pb.RerankSettings, field: str) -> RerankChoice:
    return rerank.checked(RerankChoice(asked.enabled if asked.HasField("enabled") else None, asked.model,
                                       asked.candidates), field)


def _settings(request_settings: pb.CollectionSettings) -> dict:
    """What a caller set, checked, as stored; unset fields are left out (they follow the
    service's defaults)."""
    asked = request_settings.fusion
    if asked.method not in (pb.FUSION_METHOD_UNSPECIFIED, *_FUSION_METHODS):
        raise InvalidArgument("settings.fusion.method", f"unknown fusion method {asked.method}")
    if request_settings.language not in _LANGUAGES:
        raise InvalidArgument("settings.language", f"unknown collection language {request_settings.language}")
    stored = fusion.checked_fusion(asked.vector_weight if asked.HasField("vector_weight") else None,
                                   asked.full_text_weight if asked.HasField("full_text_weight") else None,
                                   _FUSION_METHODS.get(asked.method))
    reranking = _rerank_choice(request_settings.rerank, "settings.rerank").stored()
    return {**({"fusion": stored} if stored else {}), **({"rerank": reranking} if reranking else {}),
            "language": _LANGUAGES[request_settings.language]}


def _job(j: IngestJob) -> pb.IngestJob:
    return pb.IngestJob(job_id=j.id, tenant_id=j.tenant_id, collection_id=j.collection_name,
                        state=_JOB_STATES[j.state], documents_total=j.documents_total,
                        documents_done=j.documents_done, documents_skipped=j.documents_skipped,
                        documents_failed=j.documents_failed, chunks_total=j.chunks_total, chunks_done=j.chunks_done,
                        error=j.error, create_time=_timestamp(j.created_at), update_time=_timestamp(j.updated_at),
                        queue_position=j.queue_position, embedding_tokens=j.embedding_tokens,
                        embedding_model=j.embedding_model)


def _hit(h: Hit) -> pb.Hit:
    c = h.candidate
    return pb.Hit(document_id=c.document_id, chunk_id=c.chunk_id, text=c.text, heading_path=list(c.heading_path),
                  metadata=_struct(c.metadata), score=h.score, rank=h.rank,
                  retriever_scores=[pb.RetrieverScore(retriever=_RETRIEVERS[s.retriever], score=s.score, rank=s.rank)
                                    for s in h.retriever_scores],
                  similarity=h.similarity)


def _document_page(page: DocumentPage, collection_id: str) -> pb.GetDocumentResponse:
    d = page.document
    return pb.GetDocumentResponse(
        document=pb.StoredDocument(document_id=d.document_id, collection_id=collection_id,
                                   content_type=d.content_type, metadata=_struct(d.metadata),
                                   chunk_count=d.chunk_count, update_time=_timestamp(d.updated_at)),
        chunks=[pb.DocumentChunk(index=c.chunk.index, chunk_id=f"{d.document_id}#{c.chunk.index}",
                                 heading_path=list(c.chunk.heading_path), text=c.chunk.text,
                                 overlap_chars=c.repeated_chars) for c in page.chunks],
        next_page_token=page.next_page_token)


def _history(turns) -> list[tuple[str, str]]:
    for i, turn in enumerate(turns):
        if turn.role not in ("user", "assistant"):
            raise InvalidArgument(f"history[{i}].role", f"must be user or assistant, not {turn.role[:32]!r}")
    return [(turn.role, turn.content) for turn in turns]


def _options(options: pb.RetrievalOptions, default_top_k: int) -> SearchOptions:
    if options.mode not in _MODES:
        raise InvalidArgument("options.mode", f"unknown retrieval mode {options.mode}")
    if options.top_k < 0:
        raise InvalidArgument("options.top_k", "must not be negative")
    condition = _condition(options.metadata_condition, "options.metadata_condition") \
        if options.HasField("metadata_condition") else None
    return SearchOptions(mode=_MODES[options.mode], top_k=options.top_k or default_top_k,
                         min_similarity=options.min_similarity, metadata_filter=_plain(options.metadata_filter),
                         embedding_model=options.embedding_model, metadata_condition=condition,
                         score_threshold=options.score_threshold,
                         rerank=_rerank_choice(options.rerank, "options.rerank"))


def _condition(condition: pb.MetadataCondition, field: str) -> filters.Condition:
    """The proto's condition as filters' (which checks it): operators by name, values plain."""
    kind = condition.WhichOneof("condition")
    if kind == "compound":
        compound = condition.compound
        return filters.Compound(_COMPOUNDS.get(compound.operator, ""), tuple(
            _condition(c, f"{field}.compound.conditions[{i}]") for i, c in enumerate(compound.conditions)))
    if kind == "comparison":
        comparison = condition.comparison
        value = json_format.MessageToDict(comparison.value) if comparison.HasField("value") else None
        return filters.Comparison(_COMPARISONS.get(comparison.operator, ""), comparison.key, value)
    raise InvalidArgument(field, "needs a comparison or a compound")


@dataclass(frozen=True)
class Components:
    """What the servicer calls, wired by the server once the database is ready."""
    db: Database
    inference: InferenceClient
    collections: CollectionStore
    jobs: JobStore
    job_watcher: JobWatcher
    ingestor: Ingestor
    retriever: Retriever
    answerer: Answerer
    documents: DocumentReader
    embedding_models: EmbeddingModels


class RagServicer(pb_grpc.RagServiceServicer):
    def __init__(self, default_top_k: int, answer_top_k: int):
        self._top_k, self._answer_top_k = default_top_k, answer_top_k
        self._components: Components | None = None

    def attach(self, components: Components) -> None:
        self._components = components

    @property
    def _c(self) -> Components:
        if self._components is None:
            raise Unavailable("the service is starting: database not ready yet")
        return self._components

    async def CreateCollection(self, request, context):
        settings = _settings(request.settings)
        model, follows_language = await self._c.embedding_models.for_new_collection(request.embedding_model,
                                                                                    settings["language"])
        if follows_language:
            settings[FOLLOWS_LANGUAGE] = True
        created = await self._c.collections.create(_tenant(request.tenant_id), _collection_name(request.collection_id),
                                                   model.id, model.dimension, request.description, settings)
        return pb.CreateCollectionResponse(collection=_collection(created, self._c.retriever))

    async def ListCollections(self, request, context):
        found = await self._c.collections.list(_tenant(request.tenant_id))
        return pb.ListCollectionsResponse(collections=[_collection(c, self._c.retriever) for c in found])

    async def DeleteCollection(self, request, context):
        await self._c.collections.delete(_tenant(request.tenant_id), request.collection_id)
        return pb.DeleteCollectionResponse()

    async def IngestDocuments(self, request, context):
        docs = [DocumentInput(d.document_id, d.content, d.content_type, _plain(d.metadata)) for d in request.documents]
        chunking = (request.chunking.max_chunk_tokens, request.chunking.overlap_tokens) \
            if request.HasField("chunking") else None
        job = await self._c.ingestor.start(_tenant(request.tenant_id), request.collection_id, docs,
                                           request.embedding_model, request.max_embedding_tokens, chunking)
        return pb.IngestDocumentsResponse(job=_job(job))

    async def GetIngestJob(self, request, context):
        return pb.GetIngestJobResponse(job=_job(await self._c.jobs.get(_tenant(request.tenant_id), request.job_id)))

    async def WatchIngestJob(self, request, context):
        async for job in self._c.job_watcher.watch(_tenant(request.tenant_id), request.job_id):
            yield pb.WatchIngestJobResponse(job=_job(job))

    async def DeleteDocument(self, request, context):
        collection = await self._c.collections.get(_tenant(request.tenant_id), request.collection_id, counted=False)
        await document_store.delete(self._c.db, collection, request.document_id)
        return pb.DeleteDocumentResponse()

    async def GetDocument(self, request, context):
        page = await self._c.documents.page(_tenant(request.tenant_id), request.collection_id, request.document_id,
                                            request.page_size, request.page_token)
        return _document_page(page, request.collection_id)

    async def Search(self, request, context):
        found = await self._c.retriever.search(_tenant(request.tenant_id), request.collection_id, request.query,
                                               _options(request.options, self._top_k))
        return pb.SearchResponse(hits=[_hit(h) for h in found.hits], mode=_MODE_VALUES[found.mode],
                                 fallback_reason=found.fallback_reason, rerank_model=found.rerank_model)

    async def Answer(self, request, context):
        if not request.question.strip():
            raise InvalidArgument("question", "must not be empty")
        events = self._c.answerer.answer(_tenant(request.tenant_id), request.collection_id, request.question,
                                         _options(request.options, self._answer_top_k), request.max_tokens,
                                         model=request.model, request_id=json_logging.request_id.get(),
                                         retrieval_query=request.retrieval_query.strip(),
                                         history=_history(request.history))
        async for event in events:
            response = pb.AnswerResponse(
                text=event.text, outcome=_OUTCOMES.get(event.outcome, pb.ANSWER_OUTCOME_UNSPECIFIED),
                citations=[pb.Citation(marker=c.marker, document_id=c.hit.candidate.document_id,
                                       chunk_id=c.hit.candidate.chunk_id,
                                       heading_path=list(c.hit.candidate.heading_path), text=c.hit.candidate.text)
                           for c in event.citations],
                model=event.model)
            if event.usage is not None:
                # Present even when zero, so the caller can tell "nothing used" from "not reported".
                response.usage.SetInParent()
                response.usage.prompt_tokens = event.usage.prompt_tokens
                response.usage.completion_tokens = event.usage.completion_tokens
            yield response
