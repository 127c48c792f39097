"""Reciprocal Rank Fusion and metadata filters are pure functions."""
import math

import pytest

from tianshu_rag.errors import InvalidArgument
from tianshu_rag.retrieval.filters import (AND, EQ, GTE, NIN, OR, Comparison, Compound, checked_condition,
                                            condition_sql, equality_filter)
from tianshu_rag.retrieval.fusion import FusionWeights, checked_fusion, reciprocal_rank_fusion, score_fusion


def test_rrf_ranks_items_found_by_both_retrievers_above_items_found_by_one():
    fused = reciprocal_rank_fusion({"vector": ["a", "b", "c"], "full_text": ["c", "a", "d"]}, k=60)
    assert [f.key for f in fused] == ["a", "c", "b", "d"]
    assert fused[0].ranks == {"vector": 1, "full_text": 2}
    assert fused[0].score == pytest.approx(1 / 61 + 1 / 62)
    assert fused[3].ranks == {"full_text": 3}


def test_rrf_with_one_list_keeps_its_order_and_counts_a_repeated_key_once():
    fused = reciprocal_rank_fusion({"vector": ["x", "y", "x"]}, k=10)
    assert [(f.key, f.score) for f in fused] == [("x", pytest.approx(1 / 11)), ("y", pytest.approx(1 / 12))]


def test_rrf_of_nothing_is_empty():
    assert reciprocal_rank_fusion({"vector": [], "full_text": []}) == []


def test_weighted_rrf_lets_the_heavier_retriever_decide_and_leaves_a_zero_weight_list_out():
    rankings = {"vector": ["a", "b"], "full_text": ["b", "c"]}
    fused = reciprocal_rank_fusion(rankings, k=60, weights={"vector": 1.0, "full_text": 0.25})
    assert [f.key for f in fused] == ["b", "a", "c"]
    assert fused[0].score == pytest.approx(1 / 62 + 0.25 / 61)
    fused = reciprocal_rank_fusion(rankings, k=60, weights={"vector": 1.0, "full_text": 0.0})
    assert [f.key for f in fused] == ["a", "b"] and fused[1].ranks == {"vector": 2}


def test_score_fusion_normalises_each_list_and_keeps_how_sure_a_retriever_is():
    lists = {"vector": [("a", 0.9), ("b", 0.5), ("c", 0.1)], "full_text": [("c", 12.0), ("a", 11.0), ("d", 2.0)]}
    fused = score_fusion(lists, {"vector": 1.0, "full_text": 0.3})
    scores = {f.key: f.score for f in fused}
    assert scores == pytest.approx({"a": 1.0 + 0.3 * 0.9, "b": 0.5, "c": 0.3, "d": 0.0})
    assert [f.key for f in fused] == ["a", "b", "c", "d"] and fused[0].ranks == {"vector": 1, "full_text": 2}
    assert score_fusion({"vector": [("x", 0.4)], "full_text": []})[0].score == 1.0, "one score: its list's best"


def test_fusion_settings_are_checked_and_unset_ones_follow_the_defaults():
    assert checked_fusion(None, 0.5, None) == {"full_text": 0.5}
    assert checked_fusion(None, None, "rrf") == {"method": "rrf"}
    defaults = FusionWeights(1.0, 0.3)
    assert defaults.with_overrides({"full_text": 0.5}) == FusionWeights(1.0, 0.5, "score")
    assert defaults.with_overrides({"method": "rrf"}).fuse(
        {"v": [("a", 0.9), ("b", 0.8)], "t": [("b", 3.0)]}, ("v", "t"), 60)[0].key == "b"
    with pytest.raises(InvalidArgument, match="settings.fusion.vector_weight"):
        checked_fusion(-1.0, None, None)
    with pytest.raises(InvalidArgument, match="settings.fusion.full_text_weight"):
        checked_fusion(None, math.inf, None)
    with pytest.raises(InvalidArgument, match="at least one weight"):
        checked_fusion(0.0, 0.0, None)
    with pytest.raises(InvalidArgument, match="settings.fusion.method"):
        checked_fusion(None, None, "borda")


def test_equality_filter_accepts_scalars_and_turns_integral_doubles_back_into_ints():
    assert equality_filter({"team": "search", "year": 2024.0, "public": True, "score": 0.5}) == \
        {"team": "search", "year": 2024, "public": True, "score": 0.5}


@pytest.mark.parametrize("conditions, field", [
    ({"tags": ["a"]}, "options.metadata_filter.tags"),
    ({"nested": {"a": 1}}, "options.metadata_filter.nested"),
    ({"none": None}, "options.metadata_filter.none"),
    ({"": "x"}, "options.metadata_filter"),
    ({f"k{i}": i for i in range(17)}, "options.metadata_filter"),
])
def test_equality_filter_refuses_what_is_not_a_scalar_equality(conditions, field):
    with pytest.raises(InvalidArgument) as raised:
        equality_filter(conditions)
    assert raised.value.field == field


def test_a_filter_value_that_looks_like_sql_is_only_data():
    evil = "x'); DROP TABLE chunks; --"
    assert equality_filter({"team": evil}) == {"team": evil}


def test_a_condition_becomes_sql_whose_keys_and_values_are_all_parameters():
    evil_key, evil_value = "k') OR true --", "v'); DROP TABLE chunks; --"
    condition = checked_condition(Compound(OR, (Comparison(EQ, evil_key, evil_value),
                                                Compound(AND, (Comparison(GTE, evil_key, 2020.0),
                                                               Comparison(NIN, evil_key, [evil_value, 1.0]))))))
    where = condition_sql(condition)
    text = where.clause.as_string(None)
    assert evil_key not in text and evil_value not in text and "DROP" not in text
    assert text.startswith("(metadata @> %(w0)s OR (") and " AND NOT " in text
    assert list(where.params) == ["w0", "w1", "w2", "w3", "w4"]
    assert where.params["w1"] == evil_key
    assert where.params["w2"].obj == {"v": 2020}  # an integral double is an int again
    assert where.params["w4"].obj == {"v": [evil_value, 1]}


def test_no_condition_matches_everything():
    assert condition_sql(None).clause.as_string(None) == "TRUE"
