"""Reciprocal Rank Fusion and metadata filters are pure functions."""
import math

import pytest

from tianshu_rag.errors import InvalidArgument
from tianshu_rag.retrieval.filters import (AND, EQ, GTE, NIN, OR, Comparison, Compound, checked_condition,
                                            condition_sql, equality_filter)
from tianshu_rag.retrieval.fusion import FusionWeights, checked_weights, reciprocal_rank_fusion


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


def test_fusion_weights_are_checked_and_unset_ones_follow_the_defaults():
    assert checked_weights(None, 0.5) == {"full_text": 0.5}
    assert FusionWeights(1.0, 1.0).with_overrides({"full_text": 0.5}) == FusionWeights(1.0, 0.5)
    with pytest.raises(InvalidArgument, match="settings.fusion.vector_weight"):
        checked_weights(-1.0, None)
    with pytest.raises(InvalidArgument, match="settings.fusion.full_text_weight"):
        checked_weights(None, math.inf)
    with pytest.raises(InvalidArgument, match="at least one weight"):
        checked_weights(0.0, 0.0)


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
