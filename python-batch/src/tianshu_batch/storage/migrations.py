"""The batch database's migrations (migrations/NNNN_name.sql), applied by tianshu_pg."""
from __future__ import annotations

from tianshu_pg import migrations as _migrations

# Arbitrary constant, other than the RAG service's: the advisory lock of migrating replicas.
_LOCK_KEY = 7_305_118_002


def available() -> list[_migrations.Migration]:
    return _migrations.available(__package__)


def migrate(url: str) -> list[int]:
    """Applies every migration not yet recorded; returns the versions applied now."""
    return _migrations.migrate(url, __package__, _LOCK_KEY)
