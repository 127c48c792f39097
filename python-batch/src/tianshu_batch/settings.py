"""The batch service's settings: the only place that reads the environment."""
from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    return Path.home() / ".cache" / "tianshu" / "batch-pg"


class BatchSettings(BaseSettings):
    """Every value can be set as TIANSHU_BATCH_<NAME> (e.g. TIANSHU_BATCH_KAFKA_BOOTSTRAP_SERVERS)."""

    model_config = SettingsConfigDict(env_prefix="TIANSHU_BATCH_", frozen=True)

    host: str = "127.0.0.1"
    port: int = 50053
    # Prometheus metrics over HTTP; 0 turns the endpoint off.
    metrics_port: int = 9466
    # One process may serve JobsService, run a worker, or both (the default for local runs);
    # in production workers scale apart from the API.
    run_api: bool = True
    run_worker: bool = True

    # Any PostgreSQL. Empty = start an embedded PostgreSQL in embedded_data_dir.
    database_url: str = ""
    embedded_data_dir: Path = Field(default_factory=_default_data_dir)
    pool_min_size: int = Field(1, ge=0)
    pool_max_size: int = Field(8, gt=0)

    # Any Kafka cluster (comma-separated host:port).
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    topic_prefix: str = "tianshu.batch."
    # Items spread over this many partitions, so that this many workers can share one batch.
    item_partitions: int = Field(8, gt=0)
    replication_factor: int = Field(1, gt=0)
    # Items must outlive the longest completion window, with room for a stopped worker.
    item_retention_hours: int = Field(7 * 24, gt=0)
    # Dead letters are kept for people to look at and replay.
    dead_letter_retention_hours: int = Field(30 * 24, gt=0)
    consumer_group: str = "tianshu-batch-workers"
    # Longest a send to Kafka (queueing a batch's lines, a dead letter) may wait for the broker;
    # CreateBatch answers UNAVAILABLE after it instead of hanging while the broker is away.
    kafka_send_timeout_seconds: float = Field(30.0, ge=1)
    # Longest wait between reconnection attempts to a broker that went away (the client's
    # default is 30 s, which would leave a restarted broker idle that long).
    kafka_reconnect_backoff_max_seconds: float = Field(5.0, gt=0)

    # The inference service; this service loads no model.
    inference_target: str = "127.0.0.1:50051"
    inference_timeout_seconds: float = Field(300.0, gt=0)
    # Lines a worker runs at once: more than the inference service's batch lane lets into its
    # engine while no interactive call runs, so the engine has enough batch work then; the
    # lane, not this, keeps batch sequences out of the way of interactive ones.
    worker_concurrency: int = Field(128, gt=0)
    # Tries of one line on transient failures (UNAVAILABLE, RESOURCE_EXHAUSTED, ...) before
    # it goes to the dead-letter topic; the wait doubles from retry_base_seconds up to retry_max_seconds.
    max_attempts: int = Field(4, gt=0)
    retry_base_seconds: float = Field(0.5, gt=0)
    retry_max_seconds: float = Field(30.0, gt=0)

    # Limits on what callers may send.
    max_lines_per_batch: int = Field(50_000, gt=0)
    max_line_bytes: int = Field(1024 * 1024, gt=0)
    max_metadata_pairs: int = Field(16, ge=0)
    default_completion_window: str = "24h"
    max_completion_window_hours: int = Field(7 * 24, gt=0)
    max_message_bytes: int = Field(256 * 1024 * 1024, gt=0)

    # Completion webhooks: the final Batch is POSTed to the batch's webhook_url, signed with
    # HMAC-SHA256 of this secret. Unset = webhook_url is refused (FAILED_PRECONDITION).
    webhook_secret: SecretStr = SecretStr("")
    # Tries of one delivery (timeouts, connection errors, non-2xx answers) before it is FAILED;
    # the wait doubles from webhook_retry_base_seconds up to webhook_retry_max_seconds, with jitter.
    webhook_max_attempts: int = Field(8, gt=0)
    webhook_retry_base_seconds: float = Field(5.0, gt=0)
    webhook_retry_max_seconds: float = Field(15 * 60.0, gt=0)
    # One attempt, connection included; a receiver slower than this is tried again later.
    webhook_timeout_seconds: float = Field(10.0, gt=0)
    # How often the delivery loop looks for due deliveries, and how many it sends at once.
    webhook_poll_seconds: float = Field(1.0, gt=0)
    webhook_concurrency: int = Field(4, gt=0)

    # How often the expiry sweep looks for batches past their completion window.
    expiry_sweep_seconds: float = Field(10.0, gt=0)
    shutdown_grace_seconds: float = Field(10.0, ge=0)
    log_level: str = "INFO"
