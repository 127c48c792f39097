"""Sentence embeddings with sentence-transformers, off the event loop."""
from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .generation import ModelCard


class Embedder:
    def __init__(self, model_id: str, path: Path, max_batch: int):
        # The model is a local folder; never reach for a hub at run time.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(str(path), device="cpu" if not _cuda() else "cuda")
        # One worker: the model is not safe to call from several threads at once, and the
        # math inside already uses every core.
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed")
        dimension = self._model.get_embedding_dimension() if hasattr(self._model, "get_embedding_dimension") \
            else self._model.get_sentence_embedding_dimension()
        self.card = ModelCard(id=model_id, kind="embed", context_length=self._model.max_seq_length,
                              dimension=dimension, max_batch_size=max_batch)

    async def embed(self, texts: list[str]) -> tuple[list[list[float]], int]:
        """Normalized vectors, in input order, and the number of tokens read."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._embed, texts)

    def _embed(self, texts: list[str]) -> tuple[list[list[float]], int]:
        vectors = self._model.encode(texts, normalize_embeddings=True, convert_to_numpy=True,
                                     batch_size=min(len(texts), 64))
        encoded = self._model.tokenizer(texts, truncation=True, max_length=self._model.max_seq_length)
        tokens = sum(len(ids) for ids in encoded["input_ids"])
        return vectors.tolist(), tokens

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()
