"""Parsing, chunking and counting of uploads in worker processes at a low CPU priority.

prepare() is pure Python. Run in a thread of the service, it holds the interpreter's lock
while it works: with twenty uploads of a thousand documents being chunked, the event loop that
answers searches waited its turn for that lock between every step. Worker processes have
interpreters of their own, and at a raised nice value they give the cores to searches, the
database and the gateway at once. The workers also turn a prepared job into the bytes a queued
job keeps (job_inputs) and back, so the service's own process only moves bytes.
"""
from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from ..errors import InvalidArgument
from . import job_inputs, language
from .language import EN
from .prepare import Chunking, ChunkingLimits, DocumentInput, PreparedDocument, prepare
from .tokens import TokenCounter


@dataclass(frozen=True)
class Prepared:
    """An upload ready to queue: its documents as stored bytes, and what it will cost."""
    inputs: list[bytes]
    chunks: int
    embedding_tokens: int
    # The language of the chunks' text (language.py), counted here, off the event loop.
    language: str = EN


class Preparer:
    def __init__(self, tokenizer_path: str, limits: ChunkingLimits, workers: int, nice: int):
        # spawn: a forked copy of a process running gRPC and asyncio threads is not safe.
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_start_worker, initargs=(str(tokenizer_path), limits, nice))

    async def warm_up(self) -> None:
        """Starts a worker now (imports and the tokenizer take a few seconds), not on the first upload."""
        await asyncio.get_running_loop().run_in_executor(self._pool, _ready)

    async def prepare(self, documents: Sequence[DocumentInput], chunking: Chunking | None = None) -> Prepared:
        """Checks, parses, chunks (with the caller's sizes, else the configured ones) and counts
        the documents; INVALID_ARGUMENT naming the first bad one."""
        result = await asyncio.get_running_loop().run_in_executor(self._pool, _prepare, list(documents), chunking)
        if isinstance(result, _Refusal):
            raise InvalidArgument(result.field, result.reason)
        return result

    async def decode(self, inputs: list[bytes]) -> list[PreparedDocument]:
        return await asyncio.get_running_loop().run_in_executor(self._pool, _decode, inputs)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


@dataclass(frozen=True)
class _Refusal:
    """An InvalidArgument on its way back from a worker (exceptions with their own constructor
    arguments do not survive pickling)."""
    field: str
    reason: str


# One worker's own tokenizer and limits, set once when it starts.
_tokens: TokenCounter | None = None
_limits: ChunkingLimits | None = None


def _start_worker(tokenizer_path: str, limits: ChunkingLimits, nice: int) -> None:
    global _tokens, _limits
    if nice > 0:
        os.nice(nice)
    _tokens, _limits = TokenCounter(tokenizer_path), limits
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), name="parent-watch", daemon=True).start()


# How often a worker checks that the service that started it still runs.
_PARENT_CHECK_SECONDS = 1.0


def _exit_with_parent(parent: int) -> None:
    """Ends the worker once its service is gone. A service killed outright (SIGKILL, the OOM
    killer) never shuts its pool down, and its workers sat idle forever, each holding its
    tokenizer and interpreter."""
    while os.getppid() == parent:
        time.sleep(_PARENT_CHECK_SECONDS)
    os._exit(0)


def _ready() -> bool:
    return _tokens is not None


def _prepare(documents: list[DocumentInput], chunking: Chunking | None) -> Prepared | _Refusal:
    try:
        prepared = prepare(documents, _tokens, _limits, chunking)
    except InvalidArgument as refusal:
        return _Refusal(refusal.field, refusal.reason)
    return Prepared([job_inputs.encode(p) for p in prepared], sum(len(p.chunks) for p in prepared),
                    sum(p.embedding_tokens for p in prepared),
                    language.detected(text for p in prepared for text in p.embedding_texts()))


def _decode(inputs: list[bytes]) -> list[PreparedDocument]:
    return [job_inputs.decode(data) for data in inputs]
