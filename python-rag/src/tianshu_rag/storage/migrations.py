"""The RAG database's migrations (migrations/NNNN_name.sql), applied by tianshu_pg."""
from __future__ import annotations

from tianshu_pg import migrations as _migrations

# Arbitrary constant: the key of the advisory lock that serializes migrating replicas.
_LOCK_KEY = 7_305_118_001


def available() -> list[_migrations.Migration]:
    return _migrations.available(__package__)


def migrate(url: str) -> list[int]:
    """Applies every migration not yet recorded; returns the versions applied now."""
    return _migrations.migrate(url, __package__, _LOCK_KEY)
