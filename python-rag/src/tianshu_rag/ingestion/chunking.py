"""Blocks cut into chunks that follow the document's structure.

A chunk never crosses a heading: each section (blocks under one heading path) is packed
paragraph by paragraph up to max_tokens. A paragraph too long for one chunk is cut at
sentence ends (English . ! ? ; and Chinese 。！？；), and a sentence too long for one chunk
at token edges. Consecutive chunks of a section share up to overlap_tokens of whole
sentences, so a fact that straddles a cut is still found whole in one of them.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Protocol

from .parsing import Block


class Tokens(Protocol):
    def count(self, text: str) -> int: ...

    def split(self, text: str, max_tokens: int) -> list[str]: ...


@dataclass(frozen=True)
class Chunk:
    index: int
    heading_path: tuple[str, ...]
    text: str
    token_count: int


@dataclass(frozen=True)
class _Unit:
    text: str
    tokens: int
    starts_paragraph: bool


# Chinese full stops end a sentence with no space after them; English ones need a space
# (or a line end) so that 3.14 and e.g. version 1.2 stay whole.
_SENTENCE_END = re.compile(r"(?<=[。！？；])|(?<=[.!?;])\s+|\n+")
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def _join(units: list[_Unit]) -> str:
    out = []
    for i, unit in enumerate(units):
        if i:
            if unit.starts_paragraph:
                out.append("\n\n")
            elif not (_CJK.match(out[-1][-1]) and _CJK.match(unit.text[0])):
                out.append(" ")
        out.append(unit.text)
    return "".join(out)


def _units(text: str, tokens: Tokens, max_tokens: int) -> list[_Unit]:
    """A paragraph as one unit if it fits, else its sentences, else token-cut pieces."""
    count = tokens.count(text)
    if count <= max_tokens:
        return [_Unit(text, count, True)]
    units = []
    for sentence in split_sentences(text):
        count = tokens.count(sentence)
        pieces = [(sentence, count)] if count <= max_tokens else \
            [(p, tokens.count(p)) for p in tokens.split(sentence, max_tokens)]
        units.extend(_Unit(p, c, not units) for p, c in pieces)
    return units


def _overlap(units: list[_Unit], overlap_tokens: int) -> list[_Unit]:
    """The trailing units of a chunk that fit in overlap_tokens (never the whole chunk)."""
    kept, total = [], 0
    for unit in reversed(units[1:]):
        if total + unit.tokens > overlap_tokens:
            break
        kept.insert(0, unit)
        total += unit.tokens
    return kept


def _pack(units: list[_Unit], max_tokens: int, overlap_tokens: int) -> list[list[_Unit]]:
    chunks: list[list[_Unit]] = []
    current: list[_Unit] = []
    for unit in units:
        if current and sum(u.tokens for u in current) + unit.tokens > max_tokens:
            chunks.append(current)
            current = _overlap(current, overlap_tokens)
            while current and sum(u.tokens for u in current) + unit.tokens > max_tokens:
                current.pop(0)
        current.append(unit)
    if current:
        chunks.append(current)
    return chunks


def _unit_start(text: str, at: int) -> bool:
    """Whether a sentence or paragraph unit of _join could start at text[at]: after a line
    break, a sentence end and a space, or a Chinese sentence end (joined with no space)."""
    before = text[:at]
    return before.endswith("\n") or before.endswith(tuple(c + " " for c in ".!?;")) or before[-1:] in "。！？；"


def repeated_prefix_chars(previous: str, text: str) -> int:
    """Characters at the start of text (a chunk) that repeat the end of previous (the chunk
    before it in its section): the whole sentences _pack carried over (_overlap). Read back
    from the stored texts, since the cut positions are not stored: the longest start of text
    that previous ends with, begins a sentence there, and is not all of text. 0 when the
    chunks share none (also when the shared units were pieces of one over-long sentence,
    which then simply show twice)."""
    for k in range(min(len(previous) - 1, len(text) - 1), 0, -1):
        if text[k - 1] != previous[-1]:
            continue
        next_unit_follows = text[k] in " \n" or _CJK.match(text[k])
        if next_unit_follows and previous.endswith(text[:k]) and _unit_start(previous, len(previous) - k):
            return k
    return 0


def chunk_blocks(blocks: list[Block], tokens: Tokens, max_tokens: int, overlap_tokens: int) -> list[Chunk]:
    if overlap_tokens >= max_tokens:
        raise ValueError("overlap_tokens must be smaller than max_tokens")
    chunks: list[Chunk] = []
    for path, section in itertools.groupby(blocks, key=lambda b: b.heading_path):
        units = [u for block in section for u in _units(block.text, tokens, max_tokens)]
        for packed in _pack(units, max_tokens, overlap_tokens):
            text = _join(packed)
            chunks.append(Chunk(len(chunks), path, text, tokens.count(text)))
    return chunks
