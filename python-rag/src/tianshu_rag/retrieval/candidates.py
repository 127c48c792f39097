"""The two retrievers' database queries. Both read only one collection's chunks (the
collection was found by tenant first) and take the metadata filters as bound parameters
(filters.py); a score threshold is a bound number too."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from .. import metrics
from ..storage.collections import Collection
from . import bm25
from .filters import MATCH_ALL, Where


@dataclass(frozen=True)
class Candidate:
    chunk_pk: int
    document_id: str
    chunk_index: int
    text: str
    heading_path: tuple[str, ...]
    metadata: dict
    score: float
    # Cosine similarity of the chunk to the query; None when the query was not embedded.
    similarity: float | None = None

    @property
    def chunk_id(self) -> str:
        return f"{self.document_id}#{self.chunk_index}"


_FIELDS = "id, document_id, chunk_index, text, heading_path, metadata"


def _candidate(row) -> Candidate:
    pk, document_id, index, text, headings, metadata, score, *similarity = row
    return Candidate(pk, document_id, index, text, tuple(headings), metadata, float(score),
                     float(similarity[0]) if similarity else None)


def nearest_sql(dimension: int, where: sql.Composable = MATCH_ALL.clause, thresholded: bool = False) -> sql.Composed:
    """The vector query (parameters q, c, f, n, with t when thresholded, and where's own);
    also what the benchmark EXPLAINs. The dimension comes from the collection row (an int),
    not from a caller.

    The threshold is applied outside the index scan: inside, pgvector's iterative scan would
    go on through the whole index looking for enough rows within it (pgvector's README:
    filter by distance in an outer query over a materialized one)."""
    dim = sql.Literal(int(dimension))
    return sql.SQL(
        "WITH nearest AS MATERIALIZED ("
        " SELECT {fields}, embedding::vector({dim}) <=> %(q)s::vector({dim}) AS distance FROM chunks"
        " WHERE collection_id = %(c)s AND dimension = {dim} AND metadata @> %(f)s AND {where}"
        " ORDER BY embedding::vector({dim}) <=> %(q)s::vector({dim}) LIMIT %(n)s)"
        " SELECT {fields}, 1 - distance, 1 - distance FROM nearest{cut} ORDER BY distance, id").format(
            fields=sql.SQL(_FIELDS), dim=dim, where=where,
            cut=sql.SQL(" WHERE 1 - distance >= %(t)s") if thresholded else sql.SQL(""))


async def nearest(conn: psycopg.AsyncConnection, collection: Collection, query: np.ndarray, limit: int,
                  metadata_filter: dict, ef_search: int, where: Where = MATCH_ALL,
                  score_threshold: float = 0.0) -> list[Candidate]:
    """Chunks by cosine similarity through the collection dimension's HNSW index, those
    below score_threshold (when above 0) left out.

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
        cur = await conn.execute(nearest_sql(collection.dimension, where.clause, score_threshold > 0),
                                 {"q": query, "c": collection.id, "f": Jsonb(metadata_filter), "n": limit,
                                  "t": score_threshold, **where.params})
        rows = await cur.fetchall()
    metrics.RETRIEVER_LATENCY.labels("vector").observe(time.perf_counter() - started)
    return [_candidate(row) for row in rows]


async def full_text(conn: psycopg.AsyncConnection, collection: Collection, text: str, chinese: str, limit: int,
                    metadata_filter: dict, where: Where = MATCH_ALL, query: np.ndarray | None = None,
                    score_threshold: float = 0.0) -> list[Candidate]:
    """Chunks by BM25 over the collection's own statistics (bm25.py). With the query's
    vector, each carries its similarity and those below score_threshold (when above 0) are
    left out."""
    if not text.strip() and not chinese:
        return []
    started = time.perf_counter()
    rows = await bm25.search(conn, _FIELDS, collection.id, collection.dimension, text, chinese, limit, metadata_filter,
                             where, query, score_threshold)
    metrics.RETRIEVER_LATENCY.labels("full_text").observe(time.perf_counter() - started)
    # bm25 selects the score first: move it where _candidate reads it.
    return [_candidate((*row[1:7], row[0], *row[7:])) for row in rows]
