"""Full-text search must not pay for another tenant's upload: chunks go straight into the GIN
indexes instead of a pending list every search scans (migration 0007, docs/benchmarks.md
"RAG under bulk ingestion")."""
from __future__ import annotations

import asyncio

import psycopg

from tianshu_rag.storage import migrations


def _add_chunks(url: str, collection: str, count: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        collection_id = conn.execute(
            "INSERT INTO collections (tenant_id, name, embedding_model, dimension) VALUES ('t', %s, 'm', 3)"
            " RETURNING id", (collection,)).fetchone()[0]
        conn.execute("INSERT INTO documents (collection_id, document_id, content_type, content_sha256, chunk_count)"
                     " VALUES (%s, 'd', 'text/plain', 'x', %s)", (collection_id, count))
        conn.execute("INSERT INTO chunks (collection_id, document_id, chunk_index, text, token_count, metadata,"
                     " dimension, embedding)"
                     " SELECT %s, 'd', i, 'restart the gateway after chunk ' || i, 8, jsonb_build_object('n', i),"
                     " 3, '[1,0,0]' FROM generate_series(1, %s) i", (collection_id, count))


def _pending_tuples(url: str, indexes=("chunks_tsv", "chunks_metadata")) -> dict[str, int]:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pgstattuple")
        return {index: conn.execute("SELECT pending_tuples FROM pgstatginindex(%s::regclass)", (index,)).fetchone()[0]
                for index in indexes}


async def test_chunks_reach_the_gin_indexes_without_a_pending_list(database_at):
    url = database_at(6)
    await asyncio.to_thread(_add_chunks, url, "before", 300)
    # What PostgreSQL does by default, and what each full-text search then scanned linearly.
    assert all(pending > 0 for pending in (await asyncio.to_thread(_pending_tuples, url)).values())

    # Migration 0008 then replaces the tsvector index by BM25's postings (test_bm25.py).
    assert (await asyncio.to_thread(migrations.migrate, url))[:2] == [7, 8]
    assert await asyncio.to_thread(_pending_tuples, url, ("chunks_metadata",)) == {"chunks_metadata": 0}, \
        "the migration merges what was pending"

    await asyncio.to_thread(_add_chunks, url, "after", 300)
    assert await asyncio.to_thread(_pending_tuples, url, ("chunks_metadata",)) == {"chunks_metadata": 0}
