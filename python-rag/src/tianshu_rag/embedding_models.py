"""Which embedding model a collection gets: the one its caller names; else the model for its
language (CollectionSettings.language): the Chinese model for ZH, the default for EN, and for
AUTO the default until the collection's first ingest, which takes the model for the language
of its documents before any chunk is stored (ingestion/ingest.py)."""
from __future__ import annotations

import logging

from .errors import FailedPrecondition, InvalidArgument
from .inference import EmbeddingModel, InferenceClient
from .ingestion.language import AUTO, ZH

log = logging.getLogger(__name__)

# Set in a collection's settings while its model still follows the language of its first
# ingest; cleared when that ingest decides it.
FOLLOWS_LANGUAGE = "model_follows_language"


class EmbeddingModels:
    def __init__(self, inference: InferenceClient, default_model: str, chinese_model: str):
        self._inference = inference
        self._default, self._chinese = default_model, chinese_model

    async def for_new_collection(self, asked: str, language: str) -> tuple[EmbeddingModel, bool]:
        """The model of a new collection, and whether it still follows the language of the
        collection's first ingest."""
        if asked:
            return await self._inference.embedding_model(asked), False
        if language == ZH and self._chinese:
            return await self._inference.embedding_model(self._chinese), False
        return await self._inference.embedding_model(self._default), language == AUTO and bool(self._chinese)

    async def for_language(self, language: str) -> EmbeddingModel | None:
        """The model for documents in this language; None where that is the default model or
        the Chinese one is not served (the collection keeps the default then)."""
        if language != ZH or not self._chinese:
            return None
        try:
            return await self._inference.embedding_model(self._chinese)
        except (InvalidArgument, FailedPrecondition) as error:
            # Not served (an outage, UNAVAILABLE, fails the ingest instead: it must not settle
            # a Chinese collection on the default model for good).
            log.warning("Chinese embedding model unavailable; the collection keeps the default model",
                        extra={"model": self._chinese, "error": error.message})
            return None
