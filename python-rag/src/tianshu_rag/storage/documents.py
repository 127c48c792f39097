"""Documents and their chunks. Writes happen inside a transaction the caller owns, so that a
whole ingest job becomes visible at once; chunks go in by binary COPY."""
from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import psycopg
from psycopg.types.json import Jsonb

from ..errors import NotFound
from .collections import Collection
from .database import ROWS_PER_YIELD, Database


@dataclass(frozen=True)
class StoredChunk:
    index: int
    heading_path: tuple[str, ...]
    text: str
    token_count: int
    embedding: np.ndarray
    search_headings: str
    search_cjk: str


@dataclass(frozen=True)
class DocumentVersion:
    document_id: str
    content_type: str
    content_sha256: str
    metadata: dict


async def current_versions(conn: psycopg.AsyncConnection, collection_id: int,
                           document_ids: Sequence[str]) -> dict[str, DocumentVersion]:
    cur = await conn.execute(
        "SELECT document_id, content_type, content_sha256, metadata FROM documents "
        "WHERE collection_id = %s AND document_id = ANY(%s)", (collection_id, list(document_ids)))
    return {row[0]: DocumentVersion(*row) for row in await cur.fetchall()}


# Chunks written by one DELETE and one COPY. The chunks table's statement-level triggers (the
# BM25 statistics, 0008_bm25_index.sql) run once per statement, a dozen statements each however
# few rows changed: written a document at a time, a bulk upload of one-chunk documents spent
# more of PostgreSQL's time in them than in storing the chunks. A group is bounded because the
# insert trigger holds the group's rows, vectors included, in one array.
REPLACE_GROUP_CHUNKS = 2000


async def replace(conn: psycopg.AsyncConnection, collection: Collection, document: DocumentVersion,
                  chunks: Sequence[StoredChunk]) -> None:
    """Replaces one document and all its chunks; call inside a transaction."""
    await replace_all(conn, collection, [(document, chunks)])


async def replace_all(conn: psycopg.AsyncConnection, collection: Collection,
                      documents: Sequence[tuple[DocumentVersion, Sequence[StoredChunk]]]) -> None:
    """Replaces documents (each named once) and all their chunks, in groups of about
    REPLACE_GROUP_CHUNKS chunks; call inside a transaction."""
    # In document id order: the upserts lock the documents' rows, so two jobs replacing some of
    # the same documents take turns on them instead of colliding on chunk numbers or deadlocking.
    ordered = sorted(documents, key=lambda d: d[0].document_id)
    group: list[tuple[DocumentVersion, Sequence[StoredChunk]]] = []
    chunks_in_group = 0
    for document in ordered:
        group.append(document)
        chunks_in_group += len(document[1])
        if chunks_in_group >= REPLACE_GROUP_CHUNKS:
            await _replace_group(conn, collection, group)
            group, chunks_in_group = [], 0
    if group:
        await _replace_group(conn, collection, group)


async def _replace_group(conn: psycopg.AsyncConnection, collection: Collection,
                         group: Sequence[tuple[DocumentVersion, Sequence[StoredChunk]]]) -> None:
    async with conn.cursor() as cur:
        for start in range(0, len(group), ROWS_PER_YIELD):
            await cur.executemany(
                "INSERT INTO documents (collection_id, document_id, content_type, content_sha256, metadata, "
                "chunk_count) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (collection_id, document_id) DO UPDATE "
                "SET content_type = excluded.content_type, content_sha256 = excluded.content_sha256, "
                "metadata = excluded.metadata, chunk_count = excluded.chunk_count, updated_at = now()",
                [(collection.id, d.document_id, d.content_type, d.content_sha256, Jsonb(d.metadata), len(chunks))
                 for d, chunks in group[start:start + ROWS_PER_YIELD]])
    await conn.execute("DELETE FROM chunks WHERE collection_id = %s AND document_id = ANY(%s)",
                       (collection.id, [d.document_id for d, _ in group]))
    cur = conn.cursor()
    async with cur.copy(
            "COPY chunks (collection_id, document_id, chunk_index, heading_path, text, token_count, metadata, "
            "dimension, embedding, search_headings, search_cjk) FROM STDIN WITH (FORMAT BINARY)") as copy:
        copy.set_types(["int8", "text", "int4", "text[]", "text", "int4", "jsonb", "int4", "vector", "text", "text"])
        written = 0
        for document, chunks in group:
            metadata = Jsonb(document.metadata)
            for chunk in chunks:
                await copy.write_row((collection.id, document.document_id, chunk.index, list(chunk.heading_path),
                                      chunk.text, chunk.token_count, metadata, collection.dimension,
                                      chunk.embedding, chunk.search_headings, chunk.search_cjk))
                written += 1
                if written % ROWS_PER_YIELD == 0:
                    await asyncio.sleep(0)


async def update_metadata(conn: psycopg.AsyncConnection, collection_id: int, document_id: str,
                          metadata: dict) -> None:
    await conn.execute("UPDATE documents SET metadata = %s, updated_at = now() "
                       "WHERE collection_id = %s AND document_id = %s", (Jsonb(metadata), collection_id, document_id))
    await conn.execute("UPDATE chunks SET metadata = %s WHERE collection_id = %s AND document_id = %s",
                       (Jsonb(metadata), collection_id, document_id))


async def delete(db: Database, collection: Collection, document_id: str) -> None:
    async with db.pool.connection() as conn:
        cur = await conn.execute("DELETE FROM documents WHERE collection_id = %s AND document_id = %s",
                                 (collection.id, document_id))
        if cur.rowcount == 0:
            raise NotFound("document", document_id)


@dataclass(frozen=True)
class StoredDocument:
    document_id: str
    content_type: str
    content_sha256: str
    metadata: dict
    chunk_count: int
    updated_at: dt.datetime


@dataclass(frozen=True)
class ChunkText:
    index: int
    heading_path: tuple[str, ...]
    text: str


async def read(db: Database, collection: Collection, document_id: str, first: int,
               count: int) -> tuple[StoredDocument, list[ChunkText]]:
    """The document and its chunks first..first+count-1, read in one snapshot so that a
    replacement committing in between cannot mix two versions; NotFound if it is not stored."""
    async with db.pool.connection() as conn:
        async with conn.transaction():
            await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            cur = await conn.execute(
                "SELECT document_id, content_type, content_sha256, metadata, chunk_count, updated_at FROM documents "
                "WHERE collection_id = %s AND document_id = %s", (collection.id, document_id))
            row = await cur.fetchone()
            if row is None:
                raise NotFound("document", document_id)
            cur = await conn.execute(
                "SELECT chunk_index, heading_path, text FROM chunks WHERE collection_id = %s AND document_id = %s "
                "AND chunk_index >= %s AND chunk_index < %s ORDER BY chunk_index",
                (collection.id, document_id, first, first + count))
            chunks = [ChunkText(index, tuple(path), text) for index, path, text in await cur.fetchall()]
    return StoredDocument(*row), chunks
