"""BM25 over the inverted index of migration 0008, exact, reading as few postings as it can.

Score of a chunk D for query terms q (each counted once):
    sum over q in D of idf(q) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * |D| / avgdl))
    idf(q) = ln(1 + (N - df + 0.5) / (df + 0.5))
with N, df and avgdl the collection's own (bm25_collections, bm25_terms). This is Lucene's
BM25 (its IDF never goes negative, unlike the original Robertson-Sparck Jones form that
rank_bm25's BM25Okapi uses, which then patches negative values with a floor).

Reading every posting of every query term is what made the old full-text search slow: a
common word's postings cover most of a collection. Instead, MaxScore (Turtle & Flood, 1995):
no term adds more than upper_bound = idf * (k1 + 1) to a chunk. A first pass scores the
chunks holding the rarest terms (postings up to FIRST_PASS_POSTINGS) and completes their
scores with index look-ups of the other terms; if the other terms together cannot reach the
n-th score found, no chunk holding only them can enter the top n and the answer is exact.
Otherwise a second pass takes as essential every term outside the longest run of common
terms whose bounds sum below that score, which is exact by construction.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from .filters import MATCH_ALL, Where

# Robertson & Zaragoza's usual values, Lucene's and Elasticsearch's defaults.
K1 = 1.2
B = 0.75
# Postings the first pass reads through its essential terms: enough candidates to set a
# high n-th score for top_k up to 100, few enough to stay a few milliseconds.
FIRST_PASS_POSTINGS = 4000


@dataclass(frozen=True)
class QueryTerm:
    term_id: int
    df: int
    idf: float

    @property
    def upper_bound(self) -> float:
        return self.idf * (K1 + 1)


def idf(df: int, chunk_count: int) -> float:
    return math.log(1 + (chunk_count - df + 0.5) / (df + 0.5))


def first_split(terms: Sequence[QueryTerm], budget: int = FIRST_PASS_POSTINGS,
                ) -> tuple[list[QueryTerm], list[QueryTerm]]:
    """(essential, rest): the rarest terms while their postings stay within budget (at least
    one term), and the others."""
    ordered = sorted(terms, key=lambda t: (t.df, t.term_id))
    essential, postings = [], 0
    for term in ordered:
        if essential and postings + term.df > budget:
            break
        essential.append(term)
        postings += term.df
    return essential, ordered[len(essential):]


def split_below(terms: Sequence[QueryTerm], threshold: float) -> tuple[list[QueryTerm], list[QueryTerm]]:
    """(essential, rest): rest is the longest run of the commonest terms whose upper bounds
    sum below threshold: a chunk holding only those cannot score threshold."""
    ordered = sorted(terms, key=lambda t: (-t.df, t.term_id))
    rest, bound = [], 0.0
    for term in ordered:
        if bound + term.upper_bound >= threshold:
            break
        rest.append(term)
        bound += term.upper_bound
    return ordered[len(rest):], rest


def is_exact(rest: Sequence[QueryTerm], scores: Sequence[float], limit: int) -> bool:
    """Whether a pass that left rest out found the true top `limit` (scores best first)."""
    if not rest:
        return True
    threshold = scores[limit - 1] if len(scores) >= limit else 0.0
    return sum(t.upper_bound for t in rest) < threshold


_TERMS_SQL = """
SELECT s.chunk_count, s.total_length, d.id, d.df
FROM bm25_collections s
LEFT JOIN LATERAL (
    SELECT d.id, d.df FROM (SELECT DISTINCT term FROM bm25_terms_of('{}', %(q)s, '', %(zh)s)) q
    JOIN bm25_terms d ON d.collection_id = s.collection_id AND d.term = q.term) d ON true
WHERE s.collection_id = %(c)s"""

def scoring_sql(fields: str, dimension: int, where: sql.Composable = MATCH_ALL.clause, filtered: bool = False,
                embedded: bool = False, thresholded: bool = False) -> sql.Composed:
    """One pass, selecting best.score then fields (of chunks) then the similarity when
    embedded (parameters e/ei: essential term ids and idfs, r/ri: the rest's, rest_ub, n,
    avgdl; f and where's own when filtered; q when embedded; t when thresholded).

    Essential terms' postings are summed per chunk (an index-only scan of bm25_postings);
    chunks that cannot reach the n-th partial score even with every other term are dropped;
    the rest get the other terms' contributions by primary-key look-ups."""
    dim = sql.Literal(int(dimension))
    # Guarded by a CASE, the one construct whose order PostgreSQL keeps: the planner may push
    # a similarity cut down into a scan of the whole chunks table, where other collections'
    # vectors have other dimensions and the cast would fail on them.
    similarity = sql.SQL("CASE WHEN chunks.dimension = {dim} THEN 1 - (embedding::vector({dim}) <=> "
                         "%(q)s::vector({dim})) END").format(dim=dim)
    tf_part = sql.SQL("p.tf * {k1p1} / (p.tf + {k1} * (1 - {b} + {b} * p.length / %(avgdl)s::float8))").format(
        k1p1=sql.Literal(K1 + 1), k1=sql.Literal(K1), b=sql.Literal(B))
    keep = sql.SQL("")
    if filtered:
        keep = sql.SQL(" JOIN chunks ON chunks.id = a.chunk_id WHERE metadata @> %(f)s AND {where}{cut}").format(
            where=where, cut=sql.SQL(" AND {} >= %(t)s").format(similarity) if thresholded else sql.SQL(""))
    return sql.SQL(
        "WITH essential AS (SELECT * FROM unnest(%(e)s::bigint[], %(ei)s::float8[]) AS e (term_id, idf)),"
        " rest AS (SELECT * FROM unnest(%(r)s::bigint[], %(ri)s::float8[]) AS r (term_id, idf)),"
        " matched AS (SELECT p.chunk_id, sum(e.idf * {tf}) AS score"
        "  FROM essential e JOIN bm25_postings p ON p.term_id = e.term_id GROUP BY p.chunk_id),"
        " partial AS MATERIALIZED (SELECT a.chunk_id, a.score FROM matched a{keep}),"
        " floor AS (SELECT CASE WHEN count(*) < %(n)s THEN 0 ELSE min(score) END AS theta"
        "  FROM (SELECT score FROM partial ORDER BY score DESC LIMIT %(n)s) top),"
        " scored AS (SELECT a.chunk_id, a.score + coalesce((SELECT sum(r.idf * {tf}) FROM rest r"
        "   JOIN bm25_postings p ON p.term_id = r.term_id AND p.chunk_id = a.chunk_id), 0) AS score"
        "  FROM partial a, floor WHERE a.score + %(rest_ub)s >= floor.theta),"
        " best AS (SELECT chunk_id, score FROM scored ORDER BY score DESC, chunk_id LIMIT %(n)s)"
        " SELECT best.score, {fields}{similar} FROM best JOIN chunks ON chunks.id = best.chunk_id"
        " ORDER BY best.score DESC, chunks.id").format(
            tf=tf_part, keep=keep, fields=sql.SQL(fields),
            similar=sql.SQL(", {}").format(similarity) if embedded else sql.SQL(""))


async def search(conn: psycopg.AsyncConnection, fields: str, collection_id: int, dimension: int, text: str,
                 chinese: str, limit: int, metadata_filter: dict, where: Where = MATCH_ALL, query=None,
                 score_threshold: float = 0.0) -> list[tuple]:
    """The top `limit` chunks by BM25 as rows (score, the chunk's fields[, similarity]), best
    first; text is the query (its non-Chinese words are analysed in SQL), chinese its Chinese
    terms."""
    thresholded = query is not None and score_threshold > 0
    filtered = bool(metadata_filter) or where is not MATCH_ALL or thresholded
    # One snapshot for the statistics and the postings, so a commit in between cannot pair
    # one version's document frequencies with another's postings.
    async with conn.transaction():
        await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cur = await conn.execute(_TERMS_SQL, {"q": text, "zh": chinese, "c": collection_id})
        rows = await cur.fetchall()
        if not rows or rows[0][0] == 0:
            return []
        chunk_count, total_length = rows[0][0], rows[0][1]
        terms = [QueryTerm(term_id, df, idf(df, chunk_count)) for _, _, term_id, df in rows if term_id is not None]
        if not terms:
            return []
        statement = scoring_sql(fields, dimension, where.clause, filtered, query is not None, thresholded)
        params = {"n": limit, "avgdl": max(total_length / chunk_count, 1e-9), "f": Jsonb(metadata_filter),
                  "q": query, "t": score_threshold, **where.params}
        essential, rest = first_split(terms, FIRST_PASS_POSTINGS)
        found = await _pass(conn, statement, params, essential, rest)
        if not is_exact(rest, [row[0] for row in found], limit):
            threshold = found[limit - 1][0] if len(found) >= limit else 0.0
            essential, rest = split_below(terms, threshold)
            found = await _pass(conn, statement, params, essential, rest)
        return found


async def _pass(conn: psycopg.AsyncConnection, statement: sql.Composed, params: dict,
                essential: list[QueryTerm], rest: list[QueryTerm]) -> list[tuple]:
    cur = await conn.execute(statement, {
        **params, "e": [t.term_id for t in essential], "ei": [t.idf for t in essential],
        "r": [t.term_id for t in rest], "ri": [t.idf for t in rest],
        "rest_ub": sum(t.upper_bound for t in rest)})
    return await cur.fetchall()
