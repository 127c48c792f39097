"""The Kafka topics of batch jobs, created with explicit partitions and retention (brokers
may refuse to auto-create topics, and defaults differ from cluster to cluster)."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from .settings import BatchSettings

log = logging.getLogger(__name__)
_HOUR_MS = 3600 * 1000


@dataclass(frozen=True)
class Topics:
    items: str  # BatchItem, one per line to run
    results: str  # BatchItemResult, one per finished line
    events: str  # BatchEvent, one per status change
    dead_letter: str  # BatchItem with its error, for lines that kept failing
    submissions: str  # BatchSubmission from internal producers

    @classmethod
    def named(cls, prefix: str) -> "Topics":
        return cls(f"{prefix}items", f"{prefix}results", f"{prefix}events", f"{prefix}dead-letter",
                   f"{prefix}submissions")


def ensure_topics(settings: BatchSettings) -> Topics:
    """Creates the topics that do not exist yet; existing ones are left as they are."""
    topics = Topics.named(settings.topic_prefix)
    item_retention = str(settings.item_retention_hours * _HOUR_MS)
    wanted = [
        NewTopic(topics.items, settings.item_partitions, settings.replication_factor,
                 topic_configs={"retention.ms": item_retention}),
        NewTopic(topics.results, settings.item_partitions, settings.replication_factor,
                 topic_configs={"retention.ms": item_retention}),
        NewTopic(topics.submissions, settings.item_partitions, settings.replication_factor,
                 topic_configs={"retention.ms": item_retention}),
        NewTopic(topics.events, 1, settings.replication_factor, topic_configs={"retention.ms": item_retention}),
        NewTopic(topics.dead_letter, 1, settings.replication_factor,
                 topic_configs={"retention.ms": str(settings.dead_letter_retention_hours * _HOUR_MS)}),
    ]
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers, client_id="tianshu-batch-admin")
    try:
        existing = set(admin.list_topics())
        missing = [t for t in wanted if t.name not in existing]
        if missing:
            try:
                admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass  # another replica created it in between
            log.info("kafka topics created", extra={"topics": [t.name for t in missing]})
    finally:
        admin.close()
    return topics


def item_key(batch_id: str, custom_id: str) -> bytes:
    """Keyed by line, not by batch, so that one batch's lines spread over every partition
    and every worker of the group shares it."""
    return f"{batch_id}/{custom_id}".encode()
