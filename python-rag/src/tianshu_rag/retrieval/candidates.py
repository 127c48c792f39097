"""The two retrievers' database queries. Both read only one collection's chunks (the
collection was found by tenant first) and take the metadata filter as a bound parameter."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from .. import metrics
from ..storage.collections import Collection


@dataclass(frozen=True)
class Candidate:
    chunk_pk: int
    document_id: str
    chunk_index: int
    text: str
    heading_path: tuple[str, ...]
    metadata: dict
    score: float

    @property
    def chunk_id(self) -> str:
        return f"{self.document_id}#{self.chunk_index}"


_FIELDS = "id, document_id, chunk_index, text, heading_path, metadata"


def _candidate(row) -> Candidate:
    pk, document_id, index, text, headings, metadata, score = row
    return Candidate(pk, document_id, index, text, tuple(headings), metadata, float(score))


def nearest_sql(dimension: int) -> sql.Composed:
    """The vector query (parameters q, c, f, n); also what the benchmark EXPLAINs.
    The dimension comes from the collection row (an int), not from a caller."""
    dim = sql.Literal(int(dimension))
    return sql.SQL(
        "WITH nearest AS MATERIALIZED ("
        " SELECT {fields}, embedding::vector({dim}) <=> %(q)s::vector({dim}) AS distance FROM chunks"
        " WHERE collection_id = %(c)s AND dimension = {dim} AND metadata @> %(f)s"
        " ORDER BY embedding::vector({dim}) <=> %(q)s::vector({dim}) LIMIT %(n)s)"
        " SELECT {fields}, 1 - distance FROM nearest ORDER BY distance, id").format(
            fields=sql.SQL(_FIELDS), dim=dim)


async def nearest(conn: psycopg.AsyncConnection, collection: Collection, query: np.ndarray, limit: int,
                  metadata_filter: dict, ef_search: int) -> list[Candidate]:
    """Chunks by cosine similarity through the collection dimension's HNSW index.

    With a filter, an HNSW scan alone would return only those of its ef_search nearest
    neighbours that pass, often fewer than asked; pgvector 0.8's iterative scan keeps
    scanning until enough pass. relaxed_order may return them slightly out of order, so
    the outer query sorts them again.
    """
    started = time.perf_counter()
    async with conn.transaction():
        await conn.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        # ef_search bounds the candidates of one scan round (and so recall); at least the
        # number asked for, at most pgvector's limit of 1000.
        await conn.execute(sql.SQL("SET LOCAL hnsw.ef_search = {}").format(
            sql.Literal(min(max(ef_search, limit), 1000))))
        cur = await conn.execute(nearest_sql(collection.dimension),
                                 {"q": query, "c": collection.id, "f": Jsonb(metadata_filter), "n": limit})
        rows = await cur.fetchall()
    metrics.RETRIEVER_LATENCY.labels("vector").observe(time.perf_counter() - started)
    return [_candidate(row) for row in rows]


async def full_text(conn: psycopg.AsyncConnection, collection: Collection, english: str, chinese: str, limit: int,
                    metadata_filter: dict) -> list[Candidate]:
    """Chunks matching any query word, by ts_rank (normalization 1: divided by 1 + log of
    the chunk's length, so long chunks do not win by size alone)."""
    if not english and not chinese:
        return []
    started = time.perf_counter()
    cur = await conn.execute(
        f"SELECT {_FIELDS}, ts_rank(tsv, q, 1) AS score FROM chunks,"
        " (SELECT websearch_to_tsquery('english', %(en)s) || websearch_to_tsquery('simple', %(zh)s) AS q) query"
        " WHERE collection_id = %(c)s AND metadata @> %(f)s AND tsv @@ q"
        " ORDER BY score DESC, id LIMIT %(n)s",
        {"en": english, "zh": chinese, "c": collection.id, "f": Jsonb(metadata_filter), "n": limit})
    rows = await cur.fetchall()
    metrics.RETRIEVER_LATENCY.labels("full_text").observe(time.perf_counter() - started)
    return [_candidate(row) for row in rows]
