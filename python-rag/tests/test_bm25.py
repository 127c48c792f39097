"""BM25 full-text search (retrieval/bm25.py, migration 0008) against a reference: rank_bm25's
BM25Okapi with k1 1.2, b 0.75 and Lucene's IDF, ln(1 + (N - df + 0.5) / (df + 0.5)), which
the service uses. BM25Okapi's own IDF, ln((N - df + 0.5) / (df + 0.5)), goes negative for a
term in more than half of the chunks and is then replaced by a floor; everything else
(term-frequency saturation, length normalisation, average length) is rank_bm25's."""
from __future__ import annotations

import asyncio
import math
import random
import re
import string

import psycopg
import pytest
from rank_bm25 import BM25Okapi
from tianshu.rag.v1 import rag_pb2 as pb

from tianshu_rag.retrieval import bm25
from tianshu_rag.retrieval.bm25 import QueryTerm, first_split, is_exact, split_below
from tianshu_rag.retrieval.terms import chinese_terms, index_terms, query_terms
from tianshu_rag.storage import documents as document_store
from tianshu_rag.storage import migrations


class LuceneBM25(BM25Okapi):
    def __init__(self, corpus: list[list[str]]):
        super().__init__(corpus, k1=bm25.K1, b=bm25.B)

    def _calc_idf(self, nd):
        for word, freq in nd.items():
            self.idf[word] = math.log(1 + (self.corpus_size - freq + 0.5) / (freq + 0.5))


# Content words only (no English stop words), each with a stem of its own, so that the
# reference can count the words themselves.
WORDS = ["harbor", "crane", "steel", "container", "ship", "cargo", "engine", "anchor", "rope", "deck",
         "captain", "storm", "compass", "lantern", "whale"]


def english_corpus(rng: random.Random, documents: int) -> dict[str, list[str]]:
    common = WORDS[:3]
    return {f"en-{i}": rng.choices(common, k=rng.randint(1, 4)) + rng.choices(WORDS, k=rng.randint(3, 30))
            for i in range(documents)}


CHINESE = {
    "zh-panda": "大熊猫主要吃竹子，每天要花十几个小时进食。野生大熊猫生活在四川的山林里。",
    "zh-tea": "绿茶不经过发酵，乌龙茶半发酵，红茶全发酵。泡绿茶的水温不宜太高。",
    "zh-rail": "高速铁路的列车时速可以超过三百公里，京沪高铁连接北京和上海。",
    "zh-opera": "京剧的角色分为生旦净丑，脸谱的颜色代表人物的性格。",
}


def reference_scores(corpus: dict[str, list[str]], query: list[str]) -> dict[str, float]:
    ids = list(corpus)
    scores = LuceneBM25([corpus[i] for i in ids]).get_scores(list(dict.fromkeys(query)))
    return {i: s for i, s in zip(ids, scores) if s > 0}


def tokens_of(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text) + chinese_terms(text)


async def full_text_scores(search, collection: str, query: str) -> dict[str, float]:
    hits = await search(collection, query, mode=pb.RETRIEVAL_MODE_FULL_TEXT, top_k=100)
    assert len({h.document_id for h in hits}) == len(hits), "one chunk per document in this corpus"
    return {h.document_id: h.score for h in hits}


def assert_scores_match(found: dict[str, float], expected: dict[str, float]) -> None:
    assert expected, "the query matches something"
    assert set(found) == set(expected)
    for doc, score in expected.items():
        assert found[doc] == pytest.approx(score, abs=1e-4), doc


async def test_full_text_scores_are_bm25_of_the_collection_own_statistics_also_after_a_delete(
        stub, tenant, new_collection, ingest, search):
    rng = random.Random(36)
    corpus = english_corpus(rng, 24)
    texts = {doc: " ".join(words) for doc, words in corpus.items()} | CHINESE
    await new_collection("bm25")
    job = await ingest("bm25", [(doc, text, "text/plain") for doc, text in texts.items()])
    assert job.state == pb.INGEST_JOB_STATE_SUCCEEDED
    # Another collection of the same tenant and one of another tenant, with the same words:
    # their chunks must not count in this collection's statistics.
    for owner in (tenant, f"{tenant}-other"):
        await new_collection("noise", tenant_id=owner)
        await ingest("noise", [(f"n{i}", " ".join(rng.choices(WORDS, k=40)), "text/plain") for i in range(6)],
                     tenant_id=owner)
    tokens = {doc: tokens_of(text) for doc, text in texts.items()}

    for query in ("steel whale anchor", "captain lantern storm compass harbor", "大熊猫吃什么", "绿茶的水温"):
        expected = reference_scores(tokens, tokens_of(query))
        assert_scores_match(await full_text_scores(search, "bm25", query), expected)

    await stub.DeleteDocument(pb.DeleteDocumentRequest(tenant_id=tenant, collection_id="bm25", document_id="en-3"))
    await stub.DeleteDocument(pb.DeleteDocumentRequest(tenant_id=tenant, collection_id="bm25", document_id="zh-tea"))
    del tokens["en-3"], tokens["zh-tea"]
    for query in ("steel whale anchor", "大熊猫吃什么"):
        expected = reference_scores(tokens, tokens_of(query))
        assert_scores_match(await full_text_scores(search, "bm25", query), expected)


async def test_a_job_stored_in_several_groups_of_chunks_keeps_the_statistics_exact_also_when_replaced(
        monkeypatch, new_collection, ingest, search):
    # Chunks go in a group of documents at a time (one DELETE and one COPY, so the statistics'
    # triggers run once per group): groups of four chunks here, so a job of 28 documents is
    # seven groups, and a second job replaces every other document across group boundaries.
    monkeypatch.setattr(document_store, "REPLACE_GROUP_CHUNKS", 4)
    rng = random.Random(32)
    texts = {doc: " ".join(words) for doc, words in english_corpus(rng, 24).items()} | CHINESE
    await new_collection("grouped")
    job = await ingest("grouped", [(doc, text, "text/plain") for doc, text in texts.items()])
    assert job.state == pb.INGEST_JOB_STATE_SUCCEEDED
    tokens = {doc: tokens_of(text) for doc, text in texts.items()}
    for query in ("steel whale anchor", "大熊猫吃什么"):
        assert_scores_match(await full_text_scores(search, "grouped", query), reference_scores(tokens, tokens_of(query)))

    replaced = {doc: " ".join(rng.choices(WORDS, k=rng.randint(3, 30))) for doc in sorted(texts)[::2]}
    job = await ingest("grouped", [(doc, text, "text/plain") for doc, text in replaced.items()])
    assert job.state == pb.INGEST_JOB_STATE_SUCCEEDED
    tokens |= {doc: tokens_of(text) for doc, text in replaced.items()}
    for query in ("steel whale anchor", "captain lantern storm compass harbor", "大熊猫吃什么"):
        assert_scores_match(await full_text_scores(search, "grouped", query), reference_scores(tokens, tokens_of(query)))


async def test_chinese_questions_find_the_chinese_chunk_that_answers_them(new_collection, ingest, search):
    await new_collection("zh")
    await ingest("zh", [(doc, text, "text/plain") for doc, text in CHINESE.items()])
    for question, answer in (("熊猫每天吃多长时间的竹子？", "zh-panda"), ("乌龙茶是发酵茶吗", "zh-tea"),
                             ("北京到上海的高铁有多快", "zh-rail"), ("京剧脸谱的颜色有什么意义", "zh-opera")):
        hits = await search("zh", question, mode=pb.RETRIEVAL_MODE_FULL_TEXT, top_k=3)
        assert hits and hits[0].document_id == answer, question


def test_chinese_terms_are_jieba_words_and_character_bigrams():
    terms = query_terms("大熊猫吃竹子").split()
    assert {"大熊猫", "熊猫", "竹子"} <= set(terms), "jieba's words, the shorter ones inside long ones too"
    assert {"大熊", "猫吃", "吃竹"} <= set(terms), "every pair of neighbouring characters"
    assert len(terms) == len(set(terms)), "a query counts each term once"
    assert index_terms("the 的 panda") == "", "stop words, and nothing but Chinese"


# --- the pruning (MaxScore) is exact: the same top n as scoring every posting ----------------

def _term(term_id: int, df: int, n: int = 1000) -> QueryTerm:
    return QueryTerm(term_id, df, bm25.idf(df, n))


def test_the_first_pass_reads_the_rarest_terms_within_its_postings_budget():
    terms = [_term(1, 900), _term(2, 5), _term(3, 50), _term(4, 3000)]
    essential, rest = first_split(terms, budget=100)
    assert [t.term_id for t in essential] == [2, 3]
    assert [t.term_id for t in rest] == [1, 4]
    essential, rest = first_split([_term(1, 900)], budget=100)
    assert [t.term_id for t in essential] == [1] and rest == [], "at least one term"


def test_left_out_terms_must_not_reach_the_nth_score():
    common = [_term(1, 990), _term(2, 980)]
    bound = sum(t.upper_bound for t in common)
    assert is_exact(common, [9.0, bound + 0.01], limit=2)
    assert not is_exact(common, [9.0, bound], limit=2)
    assert not is_exact(common, [9.0], limit=2), "fewer than n found: a chunk of common terms only may enter"
    assert is_exact([], [], limit=2)
    essential, rest = split_below([_term(1, 990), _term(2, 980), _term(3, 4)], threshold=bound + 0.01)
    assert [t.term_id for t in rest] == [1, 2] and [t.term_id for t in essential] == [3]


def _load(url: str, corpus: dict[str, list[str]]) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        collection_id = conn.execute("INSERT INTO collections (tenant_id, name, embedding_model, dimension)"
                                     " VALUES ('t', 'c', 'm', 3) RETURNING id").fetchone()[0]
        conn.execute("INSERT INTO documents (collection_id, document_id, content_type, content_sha256, chunk_count)"
                     " VALUES (%s, 'd', 'text/plain', 'x', %s)", (collection_id, len(corpus)))
        with conn.cursor().copy("COPY chunks (collection_id, document_id, chunk_index, text, token_count, dimension,"
                                " embedding) FROM STDIN") as copy:
            for index, words in enumerate(corpus.values()):
                copy.write_row((collection_id, "d", index, " ".join(words), len(words), 3, "[1,0,0]"))
    return collection_id


async def test_pruned_passes_return_the_top_n_of_full_scoring(database_url, monkeypatch):
    await asyncio.to_thread(migrations.migrate, database_url)
    rng = random.Random(7)
    # Zipf-like frequencies: a few words in most chunks, many rare ones (words whose English
    # stems are all different).
    vocabulary = [f"q{a}{b}" for a in string.ascii_lowercase for b in string.ascii_lowercase if b != "y"][:200]
    weights = [1 / (rank + 1) for rank in range(len(vocabulary))]
    corpus = {str(i): rng.choices(vocabulary, weights, k=rng.randint(5, 60)) for i in range(600)}
    collection_id = await asyncio.to_thread(_load, database_url, corpus)
    reference = LuceneBM25(list(corpus.values()))
    passes = []
    original = bm25._pass

    async def counted(*args):
        passes.append(len(args[3]))
        return await original(*args)

    monkeypatch.setattr(bm25, "_pass", counted)
    monkeypatch.setattr(bm25, "FIRST_PASS_POSTINGS", 50)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        for _ in range(40):
            query = rng.sample(vocabulary[:40], 2) + rng.sample(vocabulary[40:], 2)
            rows = await bm25.search(conn, "id", collection_id, 3, " ".join(query), "", 10, {})
            expected = sorted(reference.get_scores(query), reverse=True)[:10]
            assert [row[0] for row in rows] == pytest.approx(expected, abs=1e-6)
    assert len(passes) > 40, "some queries needed the second pass"


def _statistics(url: str) -> tuple:
    with psycopg.connect(url, autocommit=True) as conn:
        return (conn.execute("SELECT chunk_count, total_length FROM bm25_collections").fetchall(),
                conn.execute("SELECT count(*), sum(df) FROM bm25_terms").fetchone(),
                conn.execute("SELECT count(*) FROM bm25_postings").fetchone())


async def test_a_rolled_back_write_leaves_the_statistics_as_they_were(database_url):
    await asyncio.to_thread(migrations.migrate, database_url)
    await asyncio.to_thread(_load, database_url, {"a": ["qab", "qac"], "b": ["qab"]})
    before = await asyncio.to_thread(_statistics, database_url)
    assert before == ([(2, 3)], (2, 3), (3,))

    def failing_write():
        with psycopg.connect(database_url) as conn:
            conn.execute("INSERT INTO chunks (collection_id, document_id, chunk_index, text, token_count, dimension,"
                         " embedding) SELECT id, 'd', 9, 'qab qad qae', 3, 3, '[1,0,0]' FROM collections")
            conn.execute("DELETE FROM chunks WHERE chunk_index = 0")
            conn.rollback()

    await asyncio.to_thread(failing_write)
    assert await asyncio.to_thread(_statistics, database_url) == before


async def test_migration_0008_indexes_the_chunks_stored_before_it(database_at):
    url = database_at(7)
    with psycopg.connect(url, autocommit=True) as conn:
        collection_id = conn.execute("INSERT INTO collections (tenant_id, name, embedding_model, dimension)"
                                     " VALUES ('t', 'c', 'm', 3) RETURNING id").fetchone()[0]
        conn.execute("INSERT INTO documents (collection_id, document_id, content_type, content_sha256, chunk_count)"
                     " VALUES (%s, 'd', 'text/plain', 'x', 2)", (collection_id,))
        conn.execute("INSERT INTO chunks (collection_id, document_id, chunk_index, text, token_count, dimension,"
                     " embedding, search_cjk) VALUES (%s, 'd', 0, 'steel whale', 2, 3, '[1,0,0]', ''),"
                     " (%s, 'd', 1, 'whale 熊猫', 2, 3, '[1,0,0]', %s)", (collection_id, collection_id, index_terms("熊猫")))
    assert (await asyncio.to_thread(migrations.migrate, url))[0] == 8
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("SELECT chunk_count, total_length FROM bm25_collections").fetchall() == [(2, 5)]
        assert dict(conn.execute("SELECT term, df FROM bm25_terms").fetchall()) == {"steel": 1, "whale": 2, "熊猫": 1}
