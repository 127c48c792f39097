"""Prometheus metrics of the batch service, served over HTTP on their own port."""
from __future__ import annotations

from prometheus_client import Counter, start_http_server

REQUESTS = Counter("tianshu_batch_requests_total", "Finished RPCs by method and gRPC status code", ["method", "code"])
LINES = Counter("tianshu_batch_lines_total", "Lines finished by this process's worker, by outcome", ["outcome"])
TOKENS = Counter("tianshu_batch_tokens_total", "Prompt plus completion tokens of finished lines")
RETRIES = Counter("tianshu_batch_retries_total", "Transient inference failures of lines")
DEAD_LETTERS = Counter("tianshu_batch_dead_letters_total", "Lines sent to the dead-letter topic")
WEBHOOK_DELIVERIES = Counter("tianshu_batch_webhook_deliveries_total",
                             "Completion webhook attempts by outcome: delivered, retried, failed (after the last)",
                             ["outcome"])


def serve_http(port: int) -> None:
    start_http_server(port)
