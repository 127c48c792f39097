"""Which language a collection's first documents are in, for the choice of its embedding
model (embedding_models.py). Pure counting, no model: Chinese characters against Latin-script
words. A Chinese word is about 1.7 characters, so the Chinese share passes one half when about
a third of the words are Chinese: text that is mostly Chinese with English names and terms in
it counts as Chinese, which is what the Chinese model reads better (it reads the English
words too; the default model reads no Chinese at all)."""
from __future__ import annotations

import re
from collections.abc import Iterable

AUTO, ZH, EN = "auto", "zh", "en"
LANGUAGES = (AUTO, ZH, EN)

_CHINESE_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z\u00c0-\u024f]+")
# Documents are Chinese above this share of Chinese characters among characters and words.
CHINESE_SHARE = 0.5


def chinese_share(texts: Iterable[str]) -> float:
    chinese = latin = 0
    for text in texts:
        chinese += len(_CHINESE_CHAR.findall(text))
        latin += len(_LATIN_WORD.findall(text))
    return chinese / (chinese + latin) if chinese + latin else 0.0


def detected(texts: Iterable[str]) -> str:
    """ZH or EN: text with neither Chinese nor Latin letters (numbers, symbols) counts as EN,
    which keeps the service's default model."""
    return ZH if chinese_share(texts) > CHINESE_SHARE else EN
