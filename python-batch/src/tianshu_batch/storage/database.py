"""The database: a URL (any PostgreSQL) or an embedded PostgreSQL, migrated, behind an async
connection pool."""
from __future__ import annotations

from tianshu_pg import database

from . import migrations


class Database(database.Database):
    @classmethod
    async def open(cls, url: str, min_size: int = 1, max_size: int = 8) -> "Database":
        return await super().open(url, migrations.migrate, min_size, max_size)
