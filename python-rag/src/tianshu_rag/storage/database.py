"""The database: a URL (any PostgreSQL with pgvector) or an embedded PostgreSQL, migrated,
behind an async connection pool whose connections know the vector type."""
from __future__ import annotations

from pgvector.psycopg import register_vector_async
from tianshu_pg import database

from . import migrations

# Rows a writer formats for COPY between turns of the event loop. Formatting rows is Python
# work that never waits (a chunk's vector alone is 384 floats): a group of 2,000 chunks held the
# loop for about 100 ms, and every search of every tenant on this process waited that long.
ROWS_PER_YIELD = 100


class Database(database.Database):
    @classmethod
    async def open(cls, url: str, min_size: int = 1, max_size: int = 8) -> "Database":
        """Migrates the schema, then opens the pool (register_vector needs the extension)."""
        return await super().open(url, migrations.migrate, min_size, max_size, configure=register_vector_async)
