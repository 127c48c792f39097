"""Prometheus metrics of the RAG service, served over HTTP on their own port."""
from __future__ import annotations

from prometheus_client import Counter, Histogram, start_http_server

REQUESTS = Counter("tianshu_rag_requests_total", "Finished RPCs by method and gRPC status code", ["method", "code"])
INGESTED_CHUNKS = Counter("tianshu_rag_ingested_chunks_total", "Chunks embedded and stored by ingest jobs")
INGESTED_DOCUMENTS = Counter("tianshu_rag_ingested_documents_total", "Documents stored (added or replaced)")
SEARCH_LATENCY = Histogram(
    "tianshu_rag_search_latency_seconds", "Time of one retrieval, including the query's embedding",
    ["mode"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
RETRIEVER_LATENCY = Histogram(
    "tianshu_rag_retriever_latency_seconds", "Time of one retriever's database query",
    ["retriever"], buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
RERANK_LATENCY = Histogram(
    "tianshu_rag_rerank_latency_seconds", "Time of a search's reranking stage (the inference service's Rerank)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
ANSWERS = Counter("tianshu_rag_answers_total", "Answers by outcome", ["outcome"])


def serve_http(port: int) -> None:
    start_http_server(port)
