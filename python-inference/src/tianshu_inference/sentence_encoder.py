"""What an embedding lane's worker reads texts with: `SentenceEncoder`, one copy per worker
thread (a tokenizer is not safe to call from two threads at once), and its
sentence-transformers implementation. onnx_encoder.py has the other."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol


class SentenceEncoder(Protocol):
    # Tokens the model reads of a text; the rest is cut off.
    max_seq_length: int
    dimension: int

    def encode(self, texts: list[str]) -> tuple[list[list[float]], list[int]]:
        """Unit-length vectors of texts read as one padded batch, and each text's token count."""


def torch_device() -> str:
    """Where sentence-transformers models compute: a GPU if torch sees one, else the CPU with
    torch's intra-op threads set to 1 (process-wide: the one other user of torch here is the
    embedder, whose workers compute on one core each; embedder.py says why)."""
    import torch

    if torch.cuda.is_available():
        return "cuda"
    torch.set_num_threads(1)
    return "cpu"


class SentenceTransformerEncoder:
    """A sentence-transformers folder (its own pooling and normalisation modules)."""

    def __init__(self, path: Path, device: str):
        # The model is a local folder; never reach for a hub at run time.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(str(path), device=device)
        self.max_seq_length = self._model.max_seq_length
        model = self._model
        self.dimension = model.get_embedding_dimension() if hasattr(model, "get_embedding_dimension") \
            else model.get_sentence_embedding_dimension()

    def encode(self, texts: list[str]) -> tuple[list[list[float]], list[int]]:
        """What SentenceTransformer.encode does, tokenizing once: the token counts come from the
        attention mask the model reads."""
        import torch
        from sentence_transformers.util import batch_to_device

        features = self._model.preprocess(texts)
        counts = features["attention_mask"].sum(dim=1).tolist()
        with torch.inference_mode():
            output = self._model(batch_to_device(features, self._model.device))
            vectors = torch.nn.functional.normalize(output["sentence_embedding"], p=2, dim=1).float().cpu().tolist()
        return vectors, counts
