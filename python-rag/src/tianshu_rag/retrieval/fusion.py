"""Fusion of hybrid search's two rankings, weighted per collection (FusionWeights):

- score fusion (the default): each list's scores min-max normalised, then combined by weight;
- weighted Reciprocal Rank Fusion (Cormack, Clarke & Buettcher, SIGIR 2009; weights as in
  Elasticsearch's and Weaviate's): each list adds weight / (k + rank) to every item in it.

Plain RRF at equal weights ranked below vector search alone on InsuranceQA in English (MRR@10
0.586 against 0.599), and no RRF weight did much better (0.616): rank 1 and rank 2 of a list
differ by almost nothing, so a weaker list's picks pull a stronger one's good hits down.
Normalised scores keep how sure each retriever is; at weights 1 (vector) and 0.3 (full text)
they beat both inputs on both English evaluation sets (0.637; docs/benchmarks.md, "Retrieval
quality"), and so are the defaults."""
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


def score_fusion(scored: Mapping[str, Sequence[tuple[Hashable, float]]],
                 weights: Mapping[str, float] | None = None) -> list[Fused]:
    """Convex combination of min-max normalised scores (Bruch, Gai & Ingber, "An Analysis of
    Fusion Functions for Hybrid Retrieval", TOIS 2023): each list's scores are mapped onto
    [0, 1] (its best 1, its worst 0; a list of one score gives 1) and a key scores the sum of
    weight * normalised score over the lists that hold it. Unlike RRF it keeps how far apart
    a list's scores are, so a retriever that is sure of its first hit is heard."""
    fused: dict[Hashable, Fused] = {}
    for retriever, pairs in scored.items():
        weight = 1.0 if weights is None else weights.get(retriever, 1.0)
        if weight == 0 or not pairs:
            continue
        high, low = max(s for _, s in pairs), min(s for _, s in pairs)
        for rank, (key, score) in enumerate(pairs, start=1):
            entry = fused.setdefault(key, Fused(key, 0.0))
            if retriever in entry.ranks:
                continue
            entry.ranks[retriever] = rank
            entry.score += weight * ((score - low) / (high - low) if high > low else 1.0)
    return sorted(fused.values(), key=lambda f: -f.score)


SCORE, RRF = "score", "rrf"
METHODS = (SCORE, RRF)


@dataclass(frozen=True)
class FusionWeights:
    vector: float
    full_text: float
    method: str = SCORE

    def with_overrides(self, stored: Mapping[str, object]) -> "FusionWeights":
        """These defaults with a collection's stored settings ({"vector": w, "full_text": w,
        "method": m}, each optional) in their place."""
        return FusionWeights(float(stored.get("vector", self.vector)), float(stored.get("full_text", self.full_text)),
                             str(stored.get("method", self.method)))

    def fuse(self, lists: Mapping[str, Sequence[tuple[Hashable, float]]], names: tuple[str, str],
             rrf_k: int) -> list[Fused]:
        """lists: retriever name -> (key, score) best first; names: the (vector, full-text)
        retrievers' names."""
        weights = dict(zip(names, (self.vector, self.full_text)))
        if self.method == RRF:
            return reciprocal_rank_fusion({name: [key for key, _ in pairs] for name, pairs in lists.items()},
                                          k=rrf_k, weights=weights)
        return score_fusion(lists, weights)


def checked_fusion(vector: float | None, full_text: float | None, method: str | None,
                   field_prefix: str = "settings.fusion") -> dict[str, object]:
    """The fusion settings a caller set (None = unset), as stored: weights finite, 0..MAX_WEIGHT
    and not both 0, a known method."""
    stored: dict[str, object] = {}
    for name, value in (("vector", vector), ("full_text", full_text)):
        if value is None:
            continue
        if not math.isfinite(value) or not 0 <= value <= MAX_WEIGHT:
            raise InvalidArgument(f"{field_prefix}.{name}_weight", f"must be between 0 and {MAX_WEIGHT:g}, got {value}")
        stored[name] = float(value)
    if stored.get("vector") == 0 and stored.get("full_text") == 0:
        raise InvalidArgument(field_prefix, "at least one weight must be above 0")
    if method is not None:
        if method not in METHODS:
            raise InvalidArgument(f"{field_prefix}.method", f"must be one of {', '.join(METHODS)}")
        stored["method"] = method
    return stored
