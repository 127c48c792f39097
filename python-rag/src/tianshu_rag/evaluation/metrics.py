"""Ranking metrics over document ids with binary relevance. Pure functions.

ranked: the retrieved ids, best first (duplicates already removed); relevant: the ids that
answer the query.
"""
from __future__ import annotations

import math
from collections.abc import Collection, Sequence


def recall_at(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Share of the relevant ids found in the first k."""
    if not relevant:
        return 0.0
    return len(set(ranked[:k]) & set(relevant)) / len(set(relevant))


def mrr_at(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """1 / rank of the first relevant id within the first k, else 0."""
    for rank, doc in enumerate(ranked[:k], start=1):
        if doc in relevant:
            return 1.0 / rank
    return 0.0


def ndcg_at(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """DCG of the first k (gain 1 per relevant id, discounted by log2(rank + 1)) divided by
    the DCG of an ideal ranking."""
    dcg = sum(1.0 / math.log2(rank + 1) for rank, doc in enumerate(ranked[:k], start=1) if doc in relevant)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(set(relevant)), k) + 1))
    return dcg / ideal if ideal else 0.0


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def summarize(runs: Sequence[tuple[Sequence[str], Collection[str]]]) -> dict[str, float]:
    """Mean metrics over (ranked, relevant) pairs, one per query."""
    return {
        "recall@5": mean([recall_at(r, rel, 5) for r, rel in runs]),
        "recall@10": mean([recall_at(r, rel, 10) for r, rel in runs]),
        "mrr@10": mean([mrr_at(r, rel, 10) for r, rel in runs]),
        "ndcg@10": mean([ndcg_at(r, rel, 10) for r, rel in runs]),
    }
