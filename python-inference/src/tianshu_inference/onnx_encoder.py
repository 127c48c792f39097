"""A BERT encoder exported to ONNX, run by onnxruntime, pooled as BGE models are: the [CLS]
token's last hidden state, scaled to unit length (BAAI's FlagEmbedding does exactly this for
the bge-*-v1.5 family; mean pooling would give other vectors than the model was trained for).

The session computes on the calling thread alone (intra_op_num_threads=1): the embedder runs
one worker per core, and the batch lane's lowered CPU priority (embedder.py) holds only for
work done on its own thread. Padding cannot change a text's vector beyond float rounding: the
attention mask keeps padded positions out of every attention step.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

# BERT's position table: bge-small-zh-v1.5 reads at most 512 tokens.
_MAX_TOKENS = 512


def session(folder: Path):
    """The model's onnxruntime session, which every worker of the model shares: its run() may
    be called from several threads at once, and each copy would hold 140 MB."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    return onnxruntime.InferenceSession(str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"])


class OnnxBertEncoder:
    """One worker's encoder: the shared session, and a tokenizer of its own (a tokenizer is
    not safe to call from two threads at once)."""

    def __init__(self, folder: Path, shared_session):
        from tokenizers import Tokenizer

        self._session = shared_session
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(_MAX_TOKENS)
        pad = self._tokenizer.token_to_id("[PAD]")
        self._tokenizer.enable_padding(pad_id=0 if pad is None else pad, pad_token="[PAD]")
        self.max_seq_length = _MAX_TOKENS
        self.dimension = int(self._session.get_outputs()[0].shape[-1])

    def encode(self, texts: list[str]) -> tuple[list[list[float]], list[int]]:
        encodings = self._tokenizer.encode_batch(texts)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": np.array([e.ids for e in encodings], dtype=np.int64), "attention_mask": mask,
                "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64)}
        [hidden] = self._session.run(None, {name: value for name, value in feed.items() if name in self._inputs})
        cls = hidden[:, 0, :].astype(np.float32)
        vectors = cls / np.maximum(np.linalg.norm(cls, axis=1, keepdims=True), 1e-12)
        return vectors.tolist(), mask.sum(axis=1).tolist()
