"""The database: a URL (any PostgreSQL with pgvector) or an embedded PostgreSQL, migrated,
behind an async connection pool whose connections know the vector type."""
from __future__ import annotations

import asyncio
import logging

from pgvector.psycopg import register_vector_async
from psycopg_pool import AsyncConnectionPool

from . import migrations

log = logging.getLogger(__name__)


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
