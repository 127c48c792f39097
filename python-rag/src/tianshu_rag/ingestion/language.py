"""Which language a collection's first documents are in, for the choice of its embedding
model (embedding_models.py). Pure counting, no model: Chinese words (estimated from Chinese
characters, 1.7 to a word) against Latin-script words, Chinese above one half of the words.
That is where the full-text side already calls a collection Chinese (retrieval/search.py,
CHINESE_COLLECTION_SHARE: 80% of terms, about half of the words), so a collection whose
hybrid search would fall back on the English-only model gets the Chinese model instead, and a
mixed one that is mostly English keeps the default model, which reads English better.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

AUTO, ZH, EN = "auto", "zh", "en"
LANGUAGES = (AUTO, ZH, EN)

_CHINESE_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z\u00c0-\u024f]+")
# Characters of an average Chinese word: 1.76 in jieba's segmentation (precise mode) of 500
# InsuranceQA answers in Chinese.
CHARS_PER_CHINESE_WORD = 1.7
# Documents are Chinese above this share of Chinese words among all words.
CHINESE_SHARE = 0.5


def chinese_share(texts: Iterable[str]) -> float:
    chinese = latin = 0
    for text in texts:
        chinese += len(_CHINESE_CHAR.findall(text))
        latin += len(_LATIN_WORD.findall(text))
    words = chinese / CHARS_PER_CHINESE_WORD
    return words / (words + latin) if chinese + latin else 0.0


def detected(texts: Iterable[str]) -> str:
    """ZH or EN: text with neither Chinese nor Latin letters (numbers, symbols) counts as EN,
    which keeps the service's default model."""
    return ZH if chinese_share(texts) > CHINESE_SHARE else EN
