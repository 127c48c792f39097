"""Plain baselines anyone can reproduce in a notebook, computed on the very chunks the service
stored (read back from its database) and the query vectors of the same model:

- `bm25`: rank_bm25's BM25Okapi (its defaults, k1 1.5, b 0.75) over the service's own terms
  of each chunk (bm25_terms_of: English stems and the Chinese words and bigrams);
- `bm25 jieba` / `bm25 bigrams`: the same with only jieba words or only character bigrams as
  Chinese terms (shown for sets with Chinese text);
- `cosine`: exact cosine similarity over the stored vectors, in memory;
- `rrf`: Reciprocal Rank Fusion (k 60, equal weights) of `cosine` and `bm25`.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import psycopg
from pgvector.psycopg import register_vector
from rank_bm25 import BM25Okapi

from ..retrieval.fusion import reciprocal_rank_fusion
from ..retrieval.terms import chinese_bigrams, chinese_words, has_chinese, query_terms

BM25, BM25_JIEBA, BM25_BIGRAMS, COSINE, RRF = "bm25", "bm25 jieba", "bm25 bigrams", "cosine", "rrf"

_CHUNKS_SQL = """
SELECT k.document_id, k.embedding::real[], array_to_string(k.heading_path, ' ') || ' ' || k.text,
       ARRAY(SELECT t.term FROM bm25_terms_of(k.heading_path, k.text, k.search_headings, k.search_cjk) t,
                    generate_series(1, t.tf)),
       ARRAY(SELECT t.term FROM bm25_terms_of(k.heading_path, k.text, '', '') t, generate_series(1, t.tf))
FROM chunks k JOIN collections c ON c.id = k.collection_id
WHERE c.tenant_id = %s AND c.name = %s ORDER BY k.id"""
_QUERY_SQL = ("SELECT ARRAY(SELECT term FROM bm25_terms_of('{}', %(q)s, '', %(zh)s)),"
              " ARRAY(SELECT term FROM bm25_terms_of('{}', %(q)s, '', ''))")


@dataclass
class Baselines:
    """Rankings of chunk document ids per query, per baseline, with the seconds each took."""
    rankings: dict[str, list[list[str]]]
    seconds: dict[str, list[float]]


def _timed(rank: Callable[[], list[str]], seconds: list[float]) -> list[str]:
    started = time.perf_counter()
    ranked = rank()
    seconds.append(time.perf_counter() - started)
    return ranked


def compute(url: str, tenant: str, collection: str, queries: Sequence[str], query_vectors: np.ndarray,
            hits: int) -> Baselines:
    """The top `hits` chunks (as their document ids) of each baseline for each query."""
    with psycopg.connect(url) as conn:
        register_vector(conn)
        rows = conn.execute(_CHUNKS_SQL, (tenant, collection)).fetchall()
        asked = [conn.execute(_QUERY_SQL, {"q": q, "zh": query_terms(q)}).fetchone() for q in queries]
    if not rows:
        raise RuntimeError(f"collection {collection!r} of tenant {tenant!r} has no chunks")
    documents = [row[0] for row in rows]
    vectors = np.asarray([row[1] for row in rows], dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    tokenizations = {BM25: ([row[3] for row in rows], [a[0] for a in asked])}
    if any(has_chinese(row[2]) for row in rows):
        for name, chinese in ((BM25_JIEBA, chinese_words), (BM25_BIGRAMS, chinese_bigrams)):
            tokenizations[name] = ([row[4] + chinese(row[2]) for row in rows],
                                   [a[1] + list(dict.fromkeys(chinese(q))) for a, q in zip(asked, queries)])

    def top(scores: np.ndarray, matching_only: bool = True) -> list[int]:
        """The best `hits` chunks; BM25 leaves out chunks without a query term, as the service does."""
        return [int(i) for i in np.argsort(-scores, kind="stable")[:hits] if not matching_only or scores[i] > 0]

    rankings: dict[str, list[list[str]]] = {}
    seconds: dict[str, list[float]] = {}
    chunk_lists: dict[str, list[list[int]]] = {}
    for name, (corpus, query_tokens) in tokenizations.items():
        model, seconds[name] = BM25Okapi(corpus), []
        chunk_lists[name] = [_timed(lambda t=tokens: top(model.get_scores(t)), seconds[name])
                             for tokens in query_tokens]
    seconds[COSINE] = []
    chunk_lists[COSINE] = [_timed(lambda v=v: top(vectors @ (v / np.linalg.norm(v)), matching_only=False),
                                  seconds[COSINE]) for v in query_vectors]
    fusing: list[float] = []
    chunk_lists[RRF] = [_timed(lambda c=c, b=b: [f.key for f in reciprocal_rank_fusion(
        {"vector": c, "full_text": b})][:hits], fusing)
        for c, b in zip(chunk_lists[COSINE], chunk_lists[BM25])]
    # RRF's time includes the two rankings it fuses.
    seconds[RRF] = [sum(parts) for parts in zip(seconds[COSINE], seconds[BM25], fusing)]
    for name, lists in chunk_lists.items():
        rankings[name] = [[documents[i] for i in chunks] for chunks in lists]
    return Baselines(rankings, seconds)
