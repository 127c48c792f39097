"""Weighted Reciprocal Rank Fusion (Cormack, Clarke & Buettcher, SIGIR 2009; weights as in
Elasticsearch's and Weaviate's weighted RRF): each list adds weight / (k + rank) to every
item in it, so items ranked well by several retrievers rise and no retriever's raw scores
(cosine vs BM25) need to be comparable. Equal weights let a weaker retriever pull a
stronger one's good hits down (hybrid ranked below vector alone on English sets); the
weights are per collection (FusionWeights), their defaults chosen by the evaluation command."""
from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

from ..errors import InvalidArgument

MAX_WEIGHT = 100.0


@dataclass
class Fused:
    key: Hashable
    score: float
    ranks: dict[str, int] = field(default_factory=dict)


def reciprocal_rank_fusion(rankings: Mapping[str, Sequence[Hashable]], k: int = 60,
                           weights: Mapping[str, float] | None = None) -> list[Fused]:
    """rankings: retriever name -> keys best first; weights: retriever name -> weight (1 when
    absent; a list of weight 0 is left out). Returns the union, best first; ties keep the
    order in which keys were first seen (retrievers in mapping order)."""
    fused: dict[Hashable, Fused] = {}
    for retriever, keys in rankings.items():
        weight = 1.0 if weights is None else weights.get(retriever, 1.0)
        if weight == 0:
            continue
        for rank, key in enumerate(keys, start=1):
            entry = fused.setdefault(key, Fused(key, 0.0))
            if retriever in entry.ranks:
                continue  # a retriever listing a key twice counts its best rank only
            entry.ranks[retriever] = rank
            entry.score += weight / (k + rank)
    return sorted(fused.values(), key=lambda f: -f.score)


@dataclass(frozen=True)
class FusionWeights:
    vector: float
    full_text: float

    def with_overrides(self, stored: Mapping[str, float]) -> "FusionWeights":
        """These defaults with a collection's stored weights ({"vector": w, "full_text": w})
        in their place."""
        return FusionWeights(float(stored.get("vector", self.vector)), float(stored.get("full_text", self.full_text)))


def checked_weights(vector: float | None, full_text: float | None,
                    field_prefix: str = "settings.fusion") -> dict[str, float]:
    """The weights a caller set (None = unset), as stored: finite, 0..MAX_WEIGHT, not both 0."""
    stored = {}
    for name, value in (("vector", vector), ("full_text", full_text)):
        if value is None:
            continue
        if not math.isfinite(value) or not 0 <= value <= MAX_WEIGHT:
            raise InvalidArgument(f"{field_prefix}.{name}_weight", f"must be between 0 and {MAX_WEIGHT:g}, got {value}")
        stored[name] = float(value)
    if stored and not any(stored.values()) and len(stored) == 2:
        raise InvalidArgument(field_prefix, "at least one weight must be above 0")
    return stored
