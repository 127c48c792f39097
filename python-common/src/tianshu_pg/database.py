"""A service's database: migrated first, then behind an async connection pool."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from psycopg_pool import AsyncConnectionPool


class Database:
    def __init__(self, pool: AsyncConnectionPool, url: str):
        self.pool = pool
        self.url = url

    @classmethod
    async def open(cls, url: str, migrate: Callable[[str], object], min_size: int = 1, max_size: int = 8,
                   configure: Callable[[object], Awaitable[None]] | None = None) -> "Database":
        """Migrates the schema (migrate(url)), then opens the pool; configure runs on each new
        connection (e.g. registering types the migrations created)."""
        await asyncio.to_thread(migrate, url)
        pool = AsyncConnectionPool(url, min_size=min_size, max_size=max_size, open=False, configure=configure)
        await pool.open(wait=True)
        return cls(pool, url)

    async def close(self) -> None:
        await self.pool.close()
