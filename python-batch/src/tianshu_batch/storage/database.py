"""The database: a URL (any PostgreSQL) or an embedded PostgreSQL, migrated, behind an async
connection pool."""
from __future__ import annotations

import asyncio

from psycopg_pool import AsyncConnectionPool

from . import migrations


class Database:
    def __init__(self, pool: AsyncConnectionPool, url: str):
        self.pool = pool
        self.url = url

    @classmethod
    async def open(cls, url: str, min_size: int = 1, max_size: int = 8) -> "Database":
        await asyncio.to_thread(migrations.migrate, url)
        pool = AsyncConnectionPool(url, min_size=min_size, max_size=max_size, open=False)
        await pool.open(wait=True)
        return cls(pool, url)

    async def close(self) -> None:
        await self.pool.close()
