"""Ranking metrics (pure) and the shipped evaluation set against the real service."""
from pathlib import Path

import pytest

from tianshu_rag.evaluation.metrics import mrr_at, ndcg_at, recall_at, summarize
from tianshu_rag.evaluation.run import evaluate, format_table, ingest_corpus, load_queries

EVAL = Path(__file__).resolve().parents[1] / "eval"


def test_recall_counts_relevant_ids_within_k():
    assert recall_at(["a", "b", "c"], {"b", "z"}, 2) == 0.5
    assert recall_at(["a", "b", "c"], {"c"}, 2) == 0.0
    assert recall_at([], {"a"}, 10) == 0.0


def test_mrr_is_the_reciprocal_rank_of_the_first_relevant_id_within_k():
    assert mrr_at(["a", "b", "c"], {"c", "b"}, 10) == 0.5
    assert mrr_at(["a", "b", "c"], {"c"}, 2) == 0.0


def test_ndcg_is_one_for_an_ideal_ranking_and_discounts_later_positions():
    assert ndcg_at(["a", "b", "x"], {"a", "b"}, 10) == 1.0
    assert ndcg_at(["x", "a"], {"a"}, 10) == pytest.approx(1 / 1.5849625)
    assert ndcg_at(["x", "y"], {"a"}, 10) == 0.0


def test_summary_averages_over_queries():
    summary = summarize([(["a"], {"a"}), (["x", "b"], {"b"})])
    assert summary == {"recall@5": 1.0, "recall@10": 1.0, "mrr@10": 0.75, "ndcg@10": pytest.approx((1 + 0.6309) / 2, abs=1e-4)}


def test_the_shipped_eval_set_names_only_documents_of_the_shipped_corpus():
    ids = {p.stem for p in (EVAL / "corpus").iterdir()}
    queries = load_queries(EVAL / "queries.jsonl")
    assert len(queries) >= 30 and len(ids) >= 20
    assert all(set(q["relevant"]) <= ids for q in queries)


async def test_hybrid_retrieval_reaches_mrr_at_10_above_0_7_on_the_shipped_eval_set(stub, tenant):
    await ingest_corpus(stub, tenant, "eval", EVAL / "corpus")
    results = await evaluate(stub, tenant, "eval", load_queries(EVAL / "queries.jsonl"))
    print("\n" + format_table(results))
    assert results["hybrid"]["mrr@10"] > 0.7
