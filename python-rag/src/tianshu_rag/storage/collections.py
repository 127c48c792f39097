"""Collections per tenant. Every query here names the tenant: a collection is found by
(tenant_id, name) and nothing else."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import psycopg
from psycopg import sql
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from ..embedding_models import FOLLOWS_LANGUAGE
from ..errors import AlreadyExists, FailedPrecondition, NotFound
from ..inference import EmbeddingModel
from .database import Database
from .jobs import JobStore

# pgvector's HNSW index takes vectors of at most 2,000 dimensions.
MAX_INDEXED_DIMENSION = 2000


@dataclass(frozen=True)
class Collection:
    id: int
    tenant_id: str
    name: str
    embedding_model: str
    dimension: int
    description: str
    created_at: dt.datetime
    document_count: int = 0
    chunk_count: int = 0
    # What the collection set for itself (migration 0009), e.g. {"fusion": {"vector": 1.0}};
    # the rest takes the service's defaults.
    settings: dict = field(default_factory=dict)
    # Share of the collection's full-text terms that are Chinese (bm25_collections).
    chinese_share: float = 0.0


_SELECT = """
SELECT c.id, c.tenant_id, c.name, c.embedding_model, c.dimension, c.description, c.created_at,
       (SELECT count(*) FROM documents d WHERE d.collection_id = c.id) AS document_count,
       (SELECT count(*) FROM chunks k WHERE k.collection_id = c.id) AS chunk_count, c.settings,
       coalesce(s.chinese_length::float8 / nullif(s.total_length, 0), 0) AS chinese_share
FROM collections c LEFT JOIN bm25_collections s ON s.collection_id = c.id"""
# Without the counts, which cost a scan of the collection's chunks: for a search or a job,
# which need the model, dimension and settings only.
_SELECT_UNCOUNTED = """
SELECT id, tenant_id, name, embedding_model, dimension, description, created_at,
       0 AS document_count, 0 AS chunk_count, settings,
       coalesce(s.chinese_length::float8 / nullif(s.total_length, 0), 0) AS chinese_share
FROM collections LEFT JOIN bm25_collections s ON s.collection_id = id"""


class CollectionStore:
    def __init__(self, db: Database):
        self._db = db

    async def create(self, tenant_id: str, name: str, embedding_model: str, dimension: int,
                     description: str, settings: dict | None = None) -> Collection:
        if dimension > MAX_INDEXED_DIMENSION:
            raise FailedPrecondition("EMBEDDING_DIMENSION", embedding_model,
                                     f"model {embedding_model!r} has {dimension} dimensions; "
                                     f"the HNSW index takes at most {MAX_INDEXED_DIMENSION}")
        async with self._db.pool.connection() as conn:
            try:
                async with conn.transaction():
                    await conn.execute(
                        "INSERT INTO collections (tenant_id, name, embedding_model, dimension, description, settings) "
                        "VALUES (%s, %s, %s, %s, %s, %s)",
                        (tenant_id, name, embedding_model, dimension, description, Jsonb(settings or {})))
                    await _ensure_vector_index(conn, dimension)
            except psycopg.errors.UniqueViolation:
                raise AlreadyExists("collection", name) from None
        return await self.get(tenant_id, name)

    async def settle_model(self, collection: Collection, model: EmbeddingModel | None, language: str) -> Collection:
        """Ends the wait of a collection whose model follows the language of its first ingest
        (embedding_models.py): it takes `model` (None: keeps its own) if it still waits and
        holds no chunk, and records the language found. Of concurrent first ingests the first
        decides; the others get the collection as it decided."""
        async with self._db.pool.connection() as conn, conn.transaction():
            if model is not None and model.dimension > MAX_INDEXED_DIMENSION:
                model = None
            if model is not None:
                await _ensure_vector_index(conn, model.dimension)
            await conn.execute(
                "UPDATE collections SET embedding_model = coalesce(%s, embedding_model), "
                "dimension = coalesce(%s, dimension), "
                "settings = (settings - %s) || jsonb_build_object('detected_language', %s::text) "
                "WHERE id = %s AND settings ? %s AND NOT EXISTS (SELECT 1 FROM chunks WHERE collection_id = %s)",
                (model.id if model else None, model.dimension if model else None, FOLLOWS_LANGUAGE, language,
                 collection.id, FOLLOWS_LANGUAGE, collection.id))
        found = await self.by_id(collection.tenant_id, collection.id)
        if found is None:
            raise NotFound("collection", collection.name)
        return found

    async def get(self, tenant_id: str, name: str, counted: bool = True) -> Collection:
        """The collection, NotFound if the tenant has none of that name; counted=False leaves
        document_count and chunk_count at 0 and spares a scan of its chunks."""
        async with self._db.pool.connection() as conn:
            cur = conn.cursor(row_factory=class_row(Collection))
            await cur.execute((_SELECT + " WHERE c.tenant_id = %s AND c.name = %s") if counted else
                              (_SELECT_UNCOUNTED + " WHERE tenant_id = %s AND name = %s"), (tenant_id, name))
            found = await cur.fetchone()
        if found is None:
            raise NotFound("collection", name)
        return found

    async def by_id(self, tenant_id: str, collection_id: int) -> Collection | None:
        """The collection a job was created for, or None if it was deleted since; uncounted."""
        async with self._db.pool.connection() as conn:
            cur = conn.cursor(row_factory=class_row(Collection))
            await cur.execute(_SELECT_UNCOUNTED + " WHERE tenant_id = %s AND id = %s", (tenant_id, collection_id))
            return await cur.fetchone()

    async def list(self, tenant_id: str) -> list[Collection]:
        async with self._db.pool.connection() as conn:
            cur = conn.cursor(row_factory=class_row(Collection))
            await cur.execute(_SELECT + " WHERE c.tenant_id = %s ORDER BY c.name", (tenant_id,))
            return await cur.fetchall()

    async def delete(self, tenant_id: str, name: str) -> None:
        """Deletes the collection with its documents and chunks; its queued and running ingest
        jobs end FAILED saying so, and every job of it stays readable, no longer linked to it.

        The collection's row is locked first, as an ingest's commit does (lock_against_delete):
        whichever comes second waits for the other, and neither holds a job's row while
        waiting for the collection's, so the two never deadlock."""
        async with self._db.pool.connection() as conn, conn.transaction():
            cur = await conn.execute("SELECT id FROM collections WHERE tenant_id = %s AND name = %s FOR UPDATE",
                                     (tenant_id, name))
            found = await cur.fetchone()
            if found is None:
                raise NotFound("collection", name)
            await JobStore.fail_unfinished_in(conn, found[0], name)
            await conn.execute("DELETE FROM collections WHERE id = %s", (found[0],))

    @staticmethod
    async def lock_against_delete(conn: psycopg.AsyncConnection, collection_id: int) -> bool:
        """Keeps the collection from being deleted until the caller's transaction ends (a
        delete already under way is waited for); False if it is gone. FOR KEY SHARE: the lock
        its foreign keys take anyway, so concurrent writers of one collection do not block
        each other."""
        cur = await conn.execute("SELECT 1 FROM collections WHERE id = %s FOR KEY SHARE", (collection_id,))
        return await cur.fetchone() is not None


async def _ensure_vector_index(conn: psycopg.AsyncConnection, dimension: int) -> None:
    """One partial HNSW index per dimension; the 384 one comes with the first migration.
    dimension is an int reported by the inference service, never caller text."""
    await conn.execute(sql.SQL(
        "CREATE INDEX IF NOT EXISTS {name} ON chunks USING hnsw ((embedding::vector({dim})) "
        "vector_cosine_ops) WHERE dimension = {dim}").format(
            name=sql.Identifier(f"chunks_embedding_{int(dimension)}_hnsw"), dim=sql.Literal(int(dimension))))
