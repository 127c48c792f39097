"""Relevance scores of documents for a query (Rerank), by one of two kinds of model.

A cross-encoder reads the query and a document together and is what production RAG stacks put
after retrieval; none ships in a package the registries serve (weights live on model hubs), so
one is loaded only where the deployment points `rerank_model_path` at a sentence-transformers
CrossEncoder folder (e.g. BAAI/bge-reranker-base). Without one, any embedding model scores as a
bi-encoder: the cosine of the query's vector and each document's, which is what vLLM's score
API does for embedding models. The bi-encoder goes through the embedder's lanes, so its priority
and fair turns hold; the cross-encoder has one thread of its own and serves searches only.
"""
from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import metrics
from .embed_queue import EmbedPriority
from .embedder import Embedder
from .generation import ModelCard

# Pairs the cross-encoder reads at once; a search reranks a few dozen.
_PAIRS_PER_STEP = 16


async def bi_encoder_scores(embedder: Embedder, query: str, documents: list[str], priority: EmbedPriority,
                            tenant: str) -> tuple[list[float], int]:
    """Cosine of the query's vector with each document's (the vectors are unit length), and the
    tokens read. The query is embedded in the same call, so it waits for no second turn."""
    vectors, tokens = await embedder.embed([query, *documents], priority, tenant)
    question = vectors[0]
    return [sum(q * d for q, d in zip(question, vector)) for vector in vectors[1:]], tokens


class CrossEncoderReranker:
    def __init__(self, model_id: str, path: Path, max_batch: int):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from sentence_transformers import CrossEncoder

        device = "cuda" if torch.cuda.is_available() else "cpu"
        # Sigmoid whatever the folder's config says: scores in 0..1 are what rerank APIs return.
        self._model = CrossEncoder(str(path), device=device, local_files_only=True,
                                   activation_fn=torch.nn.Sigmoid())
        if self._model.config.num_labels != 1:
            raise ValueError(f"{path} is not a reranker: a cross-encoder for reranking has one output, "
                             f"this one has {self._model.config.num_labels}")
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rerank")
        self.card = ModelCard(id=model_id, kind="rerank", context_length=self._model.max_seq_length or 512,
                              max_batch_size=max_batch)

    async def scores(self, query: str, documents: list[str]) -> tuple[list[float], int]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self._score, query, documents)

    def _score(self, query: str, documents: list[str]) -> tuple[list[float], int]:
        with metrics.RERANK_STEP_SECONDS.labels(self.card.id).time():
            pairs = [(query, document) for document in documents]
            # Counted the way the model reads them: the pair as one sequence, truncated at max_length.
            encoded = self._model.tokenizer(pairs, truncation=True, max_length=self.card.context_length)
            tokens = sum(len(ids) for ids in encoded["input_ids"])
            found = self._model.predict(pairs, batch_size=_PAIRS_PER_STEP, show_progress_bar=False)
        return [float(score) for score in found], tokens

    def shutdown(self) -> None:
        self._thread.shutdown(wait=False, cancel_futures=True)
