"""Words for PostgreSQL full-text search, on both sides (chunks indexed, queries asked).

PostgreSQL's parser cannot split Chinese into words, so Chinese runs are segmented with
jieba (search mode, which also yields the shorter words inside long ones) and stored as
space-separated words in a column indexed under the 'simple' configuration. Everything
else is indexed under 'english' (stemming, English stop words). Queries OR their words
together (websearch syntax), and ts_rank orders chunks by how many and how often they
match: natural-language questions rarely have every word in one chunk.
"""
from __future__ import annotations

import logging
import re

import jieba

jieba.setLogLevel(logging.WARNING)

_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
# Latin words; a leading '-' would mean NOT in websearch syntax, so words start alphanumeric.
_WORD = re.compile(r"[0-9A-Za-z\u00c0-\u024f]+(?:[-.][0-9A-Za-z\u00c0-\u024f]+)*")
# Function words that would match nearly every Chinese chunk under 'simple' (which has no
# stop words); 'english' already drops the English ones.
_CHINESE_STOP = frozenset(
    "的 了 是 在 和 与 及 或 也 都 就 而 被 把 对 为 以 于 之 其 这 那 有 个 中 上 下 不 吗 呢 吧 啊 "
    "什么 怎么 怎样 如何 哪些 哪个 为什么 多少 是否 可以 能 会 要 我 你 他 她 它 我们 你们 他们 "
    "一个 一些 以及 还是 如果 因为 所以 但是 通过 进行 使用".split())


def chinese_words(text: str) -> list[str]:
    words = []
    for run in _CJK_RUN.findall(text):
        words.extend(w for w in jieba.cut_for_search(run) if w.strip() and w not in _CHINESE_STOP)
    return words


def index_terms(text: str) -> str:
    """The Chinese words of a chunk, for its 'simple' tsvector."""
    return " ".join(chinese_words(text))


def query_terms(query: str) -> tuple[str, str]:
    """(English websearch query, Chinese websearch query): each the query's words OR-ed."""
    english = [w for w in _WORD.findall(query) if w.lower() not in ("or", "and")]
    chinese = list(dict.fromkeys(chinese_words(query)))
    return " or ".join(english), " or ".join(chinese)
