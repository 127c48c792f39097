"""Prometheus metrics of the inference service, served over HTTP on their own port."""
from __future__ import annotations

import time

from prometheus_client import Counter, Gauge, Histogram, start_http_server

from .batch_lane import BATCH_PRIORITY

REQUESTS = Counter("tianshu_inference_requests_total", "Finished RPCs by method and gRPC status code",
                   ["method", "code"])
TIME_TO_FIRST_TOKEN = Histogram(
    "tianshu_inference_time_to_first_token_seconds", "Time from a generation's admission to its first token",
    ["model"], buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
TIME_PER_OUTPUT_TOKEN = Histogram(
    "tianshu_inference_time_per_output_token_seconds", "Mean time between output tokens of a generation",
    ["model"], buckets=(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1))
GENERATIONS = Counter("tianshu_inference_generations_total",
                      "Generations admitted, by model and priority (interactive, batch)", ["model", "priority"])
PROMPT_TOKENS = Counter("tianshu_inference_prompt_tokens_total", "Prompt tokens of admitted generations",
                        ["model"])
COMPLETION_TOKENS = Counter("tianshu_inference_completion_tokens_total", "Generated tokens", ["model"])
EMBEDDED_TEXTS = Counter("tianshu_inference_embedded_texts_total", "Texts embedded, by priority (interactive, batch)",
                         ["model", "priority"])
EMBED_CALLS = Counter("tianshu_inference_embed_calls_total", "Embed calls answered, by priority (interactive, batch)",
                      ["model", "priority"])
EMBED_QUEUE_SECONDS = Histogram(
    "tianshu_inference_embed_queue_seconds", "Time from an Embed call's arrival to the model's first step on it",
    ["model", "priority"], buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
EMBED_STEP_SECONDS = Histogram(
    "tianshu_inference_embed_step_seconds", "Time the embedding model takes for one step of texts, by lane",
    ["model", "priority"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
EMBED_WAITING_TEXTS = Gauge("tianshu_inference_embed_waiting_texts",
                            "Texts of Embed calls waiting for an embedding model, by model and priority",
                            ["model", "priority"])
RERANKED_DOCUMENTS = Counter("tianshu_inference_reranked_documents_total",
                             "Documents scored by Rerank, by model and priority", ["model", "priority"])
RERANK_STEP_SECONDS = Histogram(
    "tianshu_inference_rerank_step_seconds", "Time a cross-encoder takes to score one Rerank call", ["model"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
RUNNING = Gauge("tianshu_inference_running_requests", "Generations the engine is running")
WAITING = Gauge("tianshu_inference_waiting_requests", "Generations waiting for the engine")
KV_CACHE_USAGE = Gauge("tianshu_inference_kv_cache_usage_ratio", "Fraction of the KV cache in use")


def serve_http(port: int, load) -> None:
    """Starts the /metrics endpoint; `load` is read at scrape time so gauges are never stale."""
    RUNNING.set_function(lambda: load().running)
    WAITING.set_function(lambda: load().waiting)
    KV_CACHE_USAGE.set_function(lambda: load().kv_cache_usage)
    start_http_server(port)


class GenerationTimer:
    """Times one generation: first token, then the mean gap between later tokens."""

    def __init__(self, model: str, prompt_tokens: int, priority: int):
        self._model = model
        GENERATIONS.labels(model, "batch" if priority == BATCH_PRIORITY else "interactive").inc()
        PROMPT_TOKENS.labels(model).inc(prompt_tokens)
        self._start = time.perf_counter()
        self._first: float | None = None
        self._count = 0

    def tokens(self, count: int) -> None:
        if count and self._first is None:
            self._first = time.perf_counter()
            TIME_TO_FIRST_TOKEN.labels(self._model).observe(self._first - self._start)
        self._count += count

    def __enter__(self) -> "GenerationTimer":
        return self

    def __exit__(self, *exc) -> None:
        self.done()

    def done(self) -> None:
        COMPLETION_TOKENS.labels(self._model).inc(self._count)
        if self._first is not None and self._count > 1:
            TIME_PER_OUTPUT_TOKEN.labels(self._model).observe(
                (time.perf_counter() - self._first) / (self._count - 1))
