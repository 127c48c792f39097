"""Ranking metrics (pure), the evaluation sets, and the evaluation command's table against
the real service."""
import pytest
from tianshu.inference.v1 import inference_pb2_grpc

import grpc
from tianshu_rag.evaluation import baselines, datasets
from tianshu_rag.evaluation.metrics import mrr_at, ndcg_at, recall_at, summarize
from tianshu_rag.evaluation.run import MODES, evaluate, format_table, ingest


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
    shipped = datasets.shipped()
    ids = {d.document_id for d in shipped.documents}
    assert len(shipped.queries) >= 30 and len(ids) >= 20
    assert all(set(q["relevant"]) <= ids for q in shipped.queries)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_insuranceqa_sets_hold_the_answers_their_questions_name_and_distractors(language):
    eval_set = datasets.load(f"insuranceqa-{language}", questions=20, answers=300)
    ids = [d.document_id for d in eval_set.documents]
    assert len(eval_set.queries) == 20 and len(ids) == len(set(ids)) == 300
    assert all(q["relevant"] and set(q["relevant"]) <= set(ids) for q in eval_set.queries)
    text = eval_set.queries[0]["query"] + eval_set.documents[0].content.decode()
    assert any("\u4e00" <= ch <= "\u9fff" for ch in text) == (language == "zh")


async def test_the_evaluation_table_shows_every_mode_beside_every_baseline(stub, tenant, pg_url, inference_server):
    shipped = datasets.shipped()
    await ingest(stub, tenant, "eval", shipped.documents)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{inference_server.port}") as channel:
        result = await evaluate(stub, inference_pb2_grpc.InferenceServiceStub(channel), pg_url, tenant, "eval",
                                shipped)
    table = format_table(result)
    print("\n" + table)
    expected = [*MODES, baselines.BM25, baselines.BM25_JIEBA, baselines.BM25_BIGRAMS, baselines.COSINE,
                baselines.RRF]
    assert list(result.rows) == expected, "the shipped set has Chinese documents: both Chinese baselines too"
    rows = {line.split("  ")[0].strip(): line for line in table.splitlines()[2:2 + len(expected)]}
    assert list(rows) == expected
    for name, row in result.rows.items():
        assert len(row.seconds) == len(shipped.queries) and 0 < row.percentile(0.5) <= row.percentile(0.99), name
        assert 0 < row.metrics["mrr@10"] <= 1, name
    assert result.rows["hybrid"].metrics["mrr@10"] > 0.7
    assert result.chunks >= len(shipped.documents) and result.documents == len(shipped.documents)
    # Mostly English: the collection kept the default model, and the table says which it was.
    assert result.embedding_model == "all-minilm-l6-v2" and table.splitlines()[0].endswith("all-minilm-l6-v2")
    assert {("rrf", 1.0, 1.0), ("rrf", 0.0, 1.0), ("score", 1.0, 0.5)} <= set(result.fusion)
