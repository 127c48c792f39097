"""Retriever: a query in, hits out, by vector search, full-text search, or both fused."""
from __future__ import annotations

import asyncio
import dataclasses
import time
from dataclasses import dataclass, field

from .. import metrics
from ..errors import InvalidArgument, model_mismatch
from ..inference import InferenceClient
from ..ingestion.prepare import passage
from ..ingestion.language import ZH
from ..storage.collections import Collection, CollectionStore
from ..storage.database import Database
from . import candidates
from .candidates import Candidate
from .filters import Condition, Where, checked_condition, condition_sql, equality_filter
from .fusion import FusionWeights
from .rerank import RerankChoice, RerankPlan, plan
from .terms import query_terms

VECTOR, FULL_TEXT, HYBRID = "vector", "full_text", "hybrid"
# The name the reranking stage's scores go under beside the retrievers' (Hit.retriever_scores).
RERANK = "rerank"
MODES = (VECTOR, FULL_TEXT, HYBRID)


@dataclass(frozen=True)
class SearchOptions:
    mode: str = HYBRID
    top_k: int = 10
    # Vector candidates below this cosine similarity are dropped before anything else.
    min_similarity: float = 0.0
    metadata_filter: dict = field(default_factory=dict)
    embedding_model: str = ""
    # Comparisons of metadata values combined by and/or (filters.py); None = no condition.
    metadata_condition: Condition | None = None
    # Hits whose cosine similarity to the query is below this are dropped, whichever
    # retriever found them; 0 keeps all.
    score_threshold: float = 0.0
    # The reranking stage as this call asks for it (unset parts follow the collection's).
    rerank: RerankChoice = RerankChoice()


@dataclass(frozen=True)
class RetrieverScore:
    retriever: str
    score: float
    rank: int


@dataclass(frozen=True)
class Hit:
    candidate: Candidate
    score: float
    rank: int
    retriever_scores: tuple[RetrieverScore, ...]

    @property
    def vector_similarity(self) -> float | None:
        return next((s.score for s in self.retriever_scores if s.retriever == VECTOR), None)

    @property
    def similarity(self) -> float | None:
        """The chunk's cosine similarity to the query, whichever retriever found it."""
        return self.candidate.similarity


@dataclass(frozen=True)
class Retrieved:
    hits: list[Hit]
    # The mode that ran: the one asked for unless hybrid fell back to full text, and why.
    mode: str
    fallback_reason: str = ""
    # The model that reranked the hits; "" when none did.
    rerank_model: str = ""


# A collection is Chinese when more than this share of its full-text terms (term occurrences)
# are Chinese. A Chinese word yields about 2.2 terms (jieba's words and the bigrams), an
# English word about 0.6 (stop words are dropped), so 0.8 is reached when about half of the
# words are Chinese.
CHINESE_COLLECTION_SHARE = 0.8


@dataclass(frozen=True)
class SearchLimits:
    max_query_chars: int
    max_top_k: int
    rrf_k: int
    candidates_per_hit: int
    hnsw_ef_search: int
    # Fusion weights of collections that set none (their settings override them), and of
    # Chinese collections (reads_chinese) that set none.
    fusion: FusionWeights = FusionWeights(1.0, 1.0)
    chinese_fusion: FusionWeights = FusionWeights(1.0, 1.0)
    # Embedding models that read English only: hybrid search of a Chinese collection of one
    # of these runs full text alone (Retrieved.fallback_reason).
    english_only_embedding_models: frozenset[str] = frozenset()
    # The reranking stage of collections and calls that do not set it (off by default).
    rerank: RerankChoice = RerankChoice(enabled=False, candidates=30)


def reads_chinese(collection: Collection) -> bool:
    """The collection says its documents are Chinese, or most of its full-text terms are."""
    return collection.settings.get("language") == ZH or collection.chinese_share > CHINESE_COLLECTION_SHARE


class Retriever:
    def __init__(self, db: Database, collections: CollectionStore, inference: InferenceClient, limits: SearchLimits):
        self._db, self._collections, self._inference, self._limits = db, collections, inference, limits

    def fusion_of(self, collection: Collection) -> FusionWeights:
        """The fusion its hybrid searches apply: its own settings over the service's defaults
        for its language."""
        defaults = self._limits.chinese_fusion if reads_chinese(collection) else self._limits.fusion
        return defaults.with_overrides(collection.settings.get("fusion", {}))

    def rerank_of(self, collection: Collection) -> RerankChoice:
        """The reranking stage its searches apply when a call says nothing (the model empty
        for its embedding model)."""
        return RerankChoice.from_stored(collection.settings.get("rerank", {})).over(self._limits.rerank)

    async def search(self, tenant_id: str, collection_name: str, query: str, options: SearchOptions) -> Retrieved:
        if not query.strip():
            raise InvalidArgument("query", "must not be empty")
        if len(query) > self._limits.max_query_chars:
            raise InvalidArgument("query", f"{len(query)} characters; the limit is {self._limits.max_query_chars}")
        if options.mode not in MODES:
            raise InvalidArgument("options.mode", f"unknown mode {options.mode!r}")
        if not 0 < options.top_k <= self._limits.max_top_k:
            raise InvalidArgument("options.top_k", f"must be in 1..{self._limits.max_top_k}")
        if not 0 <= options.score_threshold <= 1:
            raise InvalidArgument("options.score_threshold", "must be between 0 and 1")
        metadata_filter = equality_filter(options.metadata_filter)
        where = condition_sql(checked_condition(options.metadata_condition)
                              if options.metadata_condition is not None else None)
        collection = await self._collections.get(tenant_id, collection_name, counted=False)
        if options.embedding_model and options.embedding_model != collection.embedding_model:
            raise model_mismatch(collection.name, collection.embedding_model, options.embedding_model)

        fallback = self._fallback(collection, options.mode)
        if fallback:
            options = dataclasses.replace(options, mode=FULL_TEXT)
        started = time.perf_counter()
        reranking = plan(options.rerank, self.rerank_of(collection), collection.embedding_model, options.top_k)
        # Retrieval finds as many hits as the reranking stage rescores.
        depth = reranking.candidates if reranking else options.top_k
        pool_size = depth if options.mode != HYBRID else depth * self._limits.candidates_per_hit
        # The query is embedded first whenever a retriever needs its vector: the vector
        # retriever, and the full-text one in hybrid mode (so that every hit carries its
        # similarity) or under a score threshold (which is a similarity).
        vector = None
        if options.mode != FULL_TEXT or options.score_threshold > 0:
            [vector] = await self._inference.embed(collection.embedding_model, [query],
                                                   tenant_id=collection.tenant_id)
        retrievers = {}
        if options.mode in (VECTOR, HYBRID):
            retrievers[VECTOR] = self._vector(collection, vector, pool_size, metadata_filter, where, options)
        if options.mode in (FULL_TEXT, HYBRID):
            retrievers[FULL_TEXT] = self._full_text(collection, query, vector, pool_size, metadata_filter, where,
                                                    options.score_threshold)
        # Hybrid runs both at once, on two pooled connections: its retrieval takes the slower
        # query's time, not the sum.
        found = await asyncio.gather(*retrievers.values())
        lists: dict[str, list[Candidate]] = dict(zip(retrievers, found))
        hits = self._rank(options.mode, lists, depth, self.fusion_of(collection))
        if reranking and hits:
            hits = await self._reranked(collection, query, hits, reranking, options.top_k)
        metrics.SEARCH_LATENCY.labels(options.mode).observe(time.perf_counter() - started)
        return Retrieved(hits, options.mode, fallback, reranking.model if reranking else "")

    async def _reranked(self, collection: Collection, query: str, hits: list[Hit], reranking: RerankPlan,
                        top_k: int) -> list[Hit]:
        """The hits ordered by the reranking model's score, top_k of them; each keeps its
        retrievers' scores and gains the stage's."""
        started = time.perf_counter()
        if reranking.model == collection.embedding_model and all(h.similarity is not None for h in hits):
            # The collection's own model scores by the cosine its stored vectors already give
            # (Hit.similarity): embedding the candidates again would cost a second or so of
            # CPU per search for the same numbers.
            scored = sorted(((i, h.similarity) for i, h in enumerate(hits)), key=lambda pair: -pair[1])[:top_k]
        else:
            passages = [passage(h.candidate.heading_path, h.candidate.text) for h in hits]
            scored = await self._inference.rerank(reranking.model, query, passages, top_k,
                                                  tenant_id=collection.tenant_id)
        metrics.RERANK_LATENCY.observe(time.perf_counter() - started)
        return [Hit(hits[index].candidate, score, rank,
                    hits[index].retriever_scores + (RetrieverScore(RERANK, score, rank),))
                for rank, (index, score) in enumerate(scored, start=1)]

    def _fallback(self, collection: Collection, mode: str) -> str:
        """Why hybrid search runs as full-text search alone for this collection, or "": its
        documents are mostly Chinese and its embedding model reads English only, so fusing
        the vector ranking would only add noise (InsuranceQA in Chinese: hybrid MRR@10 0.058
        against full text's 0.144 before BM25). An explicit VECTOR search is left alone. A
        Chinese collection without a model named by its caller has the Chinese model
        (embedding_models.py), which fuses."""
        if mode != HYBRID or collection.embedding_model not in self._limits.english_only_embedding_models:
            return ""
        if not reads_chinese(collection):
            return ""
        why = "says its documents are Chinese" if collection.settings.get("language") == ZH else \
            f"is mostly Chinese ({collection.chinese_share:.0%} of its terms)"
        return (f"collection {collection.name!r} {why} and its embedding model {collection.embedding_model!r} "
                f"reads English only: full-text search alone")

    async def _vector(self, collection: Collection, vector, limit: int, metadata_filter: dict, where: Where,
                      options: SearchOptions) -> list[Candidate]:
        async with self._db.pool.connection() as conn:
            found = await candidates.nearest(conn, collection, vector, limit, metadata_filter,
                                             self._limits.hnsw_ef_search, where, options.score_threshold)
        min_similarity = options.min_similarity
        return [c for c in found if c.score >= min_similarity] if min_similarity else found

    async def _full_text(self, collection: Collection, query: str, vector, limit: int, metadata_filter: dict,
                         where: Where, score_threshold: float) -> list[Candidate]:
        async with self._db.pool.connection() as conn:
            return await candidates.full_text(conn, collection, query, query_terms(query), limit, metadata_filter,
                                              where, vector, score_threshold)

    def _rank(self, mode: str, lists: dict[str, list[Candidate]], top_k: int, weights: FusionWeights) -> list[Hit]:
        by_pk = {c.chunk_pk: c for found in lists.values() for c in found}
        scores = {(name, c.chunk_pk): (c.score, rank) for name, found in lists.items()
                  for rank, c in enumerate(found, start=1)}

        def retriever_scores(pk: int) -> tuple[RetrieverScore, ...]:
            return tuple(RetrieverScore(name, *scores[(name, pk)]) for name in lists if (name, pk) in scores)

        if mode == HYBRID:
            fused = weights.fuse({name: [(c.chunk_pk, c.score) for c in found] for name, found in lists.items()},
                                 (VECTOR, FULL_TEXT), self._limits.rrf_k)
            ranked = [(by_pk[f.key], f.score) for f in fused[:top_k]]
        else:
            ranked = [(c, c.score) for c in lists[mode][:top_k]]
        return [Hit(c, score, rank, retriever_scores(c.chunk_pk)) for rank, (c, score) in enumerate(ranked, start=1)]
