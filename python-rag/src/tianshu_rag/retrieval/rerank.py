"""The reranking stage's choice: on or off, which model, how many hits it rescores. A request
sets what it wants, the collection's settings fill the rest, the service's defaults the
remainder (field by field, as FusionSettings are resolved)."""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import InvalidArgument

# A cross-encoder reads every candidate with the query: past this the stage costs more than
# the retrieval it refines.
MAX_CANDIDATES = 100
MAX_MODEL_CHARS = 128


@dataclass(frozen=True)
class RerankChoice:
    """What one level (request, collection, service) set; None, "" and 0 leave it to the next."""
    enabled: bool | None = None
    model: str = ""
    candidates: int = 0

    def over(self, lower: RerankChoice) -> RerankChoice:
        return RerankChoice(self.enabled if self.enabled is not None else lower.enabled,
                            self.model or lower.model, self.candidates or lower.candidates)

    def stored(self) -> dict:
        """As a collection keeps it in its settings (only what was set)."""
        found = {"enabled": self.enabled, "model": self.model, "candidates": self.candidates}
        return {key: value for key, value in found.items() if value not in (None, "", 0)}

    @classmethod
    def from_stored(cls, stored: dict) -> RerankChoice:
        return cls(stored.get("enabled"), stored.get("model", ""), stored.get("candidates", 0))


def checked(choice: RerankChoice, field: str) -> RerankChoice:
    if not 0 <= choice.candidates <= MAX_CANDIDATES:
        raise InvalidArgument(f"{field}.candidates", f"must be in 0..{MAX_CANDIDATES} (0: the default), "
                                                     f"got {choice.candidates}")
    if len(choice.model) > MAX_MODEL_CHARS:
        raise InvalidArgument(f"{field}.model", f"{len(choice.model)} characters; the limit is {MAX_MODEL_CHARS}")
    return choice


@dataclass(frozen=True)
class RerankPlan:
    """A search's reranking stage, resolved: the model and the hits it rescores."""
    model: str
    candidates: int


def plan(asked: RerankChoice, collection: RerankChoice, embedding_model: str, top_k: int) -> RerankPlan | None:
    """None when the stage is off. `collection` is what the collection's searches apply (its
    settings over the service's). A model nobody named is the collection's embedding model,
    the one model every collection is sure to have."""
    resolved = asked.over(collection)
    if not resolved.enabled:
        return None
    return RerankPlan(resolved.model or embedding_model, max(top_k, resolved.candidates))
