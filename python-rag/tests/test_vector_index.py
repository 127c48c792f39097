"""Vector search through the HNSW index with a selective metadata filter still returns top_k.

Storage-level test on the real embedded PostgreSQL with synthetic unit vectors (no model
needed: the behaviour under test is the index scan). The planner is steered onto the HNSW
index the way it goes for large collections, and the test checks that it did."""
import numpy as np
import pytest_asyncio
from psycopg.types.json import Jsonb
from tianshu_testing.postgres import new_database

from tianshu_rag.retrieval import candidates
from tianshu_rag.settings import RagSettings
from tianshu_rag.storage import documents as document_store
from tianshu_rag.storage.collections import CollectionStore
from tianshu_rag.storage.database import Database

DOCUMENTS, CHUNKS_PER_DOCUMENT, RARE_DOCUMENTS, TOP_K = 40, 50, 1, 10  # 2,000 chunks, 50 rare
EF_SEARCH = RagSettings().hnsw_ef_search


@pytest_asyncio.fixture(scope="module")
async def filled(pg_server):
    # A database of its own: which index the planner takes depends on everything the chunks
    # table holds, and other tests store collections of other dimensions there.
    db = await Database.open(new_database(pg_server))
    collection = await CollectionStore(db).create("index-tenant", "synthetic", "synthetic-384", 384, "")
    rng = np.random.default_rng(7)
    async with db.pool.connection() as conn, conn.transaction():
        for doc in range(DOCUMENTS):
            vectors = rng.standard_normal((CHUNKS_PER_DOCUMENT, 384)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            chunks = [document_store.StoredChunk(i, (), f"doc {doc} chunk {i}", 4, v, "", "")
                      for i, v in enumerate(vectors)]
            team = "rare" if doc < RARE_DOCUMENTS else "common"
            await document_store.replace(conn, collection, document_store.DocumentVersion(
                f"doc-{doc}", "text/plain", str(doc), {"team": team}), chunks)
    async with db.pool.connection() as conn:
        await conn.execute("ANALYZE chunks")
    yield db, collection, rng.standard_normal(384).astype(np.float32)
    await db.close()


async def _on_the_hnsw_index(conn) -> None:
    # What a large collection gets from the planner anyway: no full scan of the table.
    await conn.execute("SET enable_seqscan = off")
    await conn.execute("SET enable_bitmapscan = off")


async def test_a_selective_filter_still_returns_top_k_hits_through_the_hnsw_index(filled):
    db, collection, query = filled
    async with db.pool.connection() as conn:
        await _on_the_hnsw_index(conn)
        plan = await conn.execute(
            "EXPLAIN SELECT id FROM chunks WHERE collection_id = %s AND dimension = 384 AND metadata @> %s "
            "ORDER BY embedding::vector(384) <=> %s::vector(384) LIMIT 10",
            (collection.id, Jsonb({"team": "rare"}), query))
        assert "chunks_embedding_384_hnsw" in "\n".join(row[0] for row in await plan.fetchall())

        found = await candidates.nearest(conn, collection, query, TOP_K, {"team": "rare"}, EF_SEARCH)
    assert len(found) == TOP_K
    assert all(c.metadata == {"team": "rare"} for c in found)
    assert [c.score for c in found] == sorted((c.score for c in found), reverse=True)


async def test_without_iterative_scans_the_same_filter_would_return_fewer_hits(filled):
    """The control: proves the test above exercises the iterative scan, not luck."""
    db, collection, query = filled
    async with db.pool.connection() as conn:
        await _on_the_hnsw_index(conn)
        await conn.execute("SET hnsw.iterative_scan = off")
        cur = await conn.execute(
            "SELECT count(*) FROM (SELECT id FROM chunks WHERE collection_id = %s AND dimension = 384 "
            "AND metadata @> %s ORDER BY embedding::vector(384) <=> %s::vector(384) LIMIT %s) found",
            (collection.id, Jsonb({"team": "rare"}), query, TOP_K))
        assert (await cur.fetchone())[0] < TOP_K


async def test_exact_nearest_neighbours_come_back_first_without_a_filter(filled):
    db, collection, query = filled
    async with db.pool.connection() as conn:
        found = await candidates.nearest(conn, collection, query, 5, {}, EF_SEARCH)
        cur = await conn.execute("SELECT id FROM chunks WHERE collection_id = %s "
                                 "ORDER BY embedding::vector(384) <=> %s::vector(384) LIMIT 5", (collection.id, query))
        exact = [row[0] for row in await cur.fetchall()]
    assert len(set(c.chunk_pk for c in found) & set(exact)) >= 4  # HNSW is approximate
