"""Reciprocal Rank Fusion (Cormack, Clarke & Buettcher, SIGIR 2009): each list adds
1 / (k + rank) to every item in it, so items ranked well by several retrievers rise and no
retriever's raw scores (cosine vs ts_rank) need to be comparable."""
from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field


@dataclass
class Fused:
    key: Hashable
    score: float
    ranks: dict[str, int] = field(default_factory=dict)


def reciprocal_rank_fusion(rankings: Mapping[str, Sequence[Hashable]], k: int = 60) -> list[Fused]:
    """rankings: retriever name -> keys best first. Returns the union, best first; ties keep
    the order in which keys were first seen (retrievers in mapping order)."""
    fused: dict[Hashable, Fused] = {}
    for retriever, keys in rankings.items():
        for rank, key in enumerate(keys, start=1):
            entry = fused.setdefault(key, Fused(key, 0.0))
            if retriever in entry.ranks:
                continue  # a retriever listing a key twice counts its best rank only
            entry.ranks[retriever] = rank
            entry.score += 1.0 / (k + rank)
    return sorted(fused.values(), key=lambda f: -f.score)
