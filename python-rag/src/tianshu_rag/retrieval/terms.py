"""Chinese terms for full-text search, on both sides (chunks indexed, queries asked).

PostgreSQL's parser cannot split Chinese into words, so Chinese runs are segmented here and
stored as space-separated terms that the database indexes under its 'simple' configuration
(migration 0008's bm25_terms_of); everything else is analysed there under 'english'
(stemming, English stop words). Two kinds of Chinese term, both kept: jieba's words (search
mode, which also yields the shorter words inside long ones) and overlapping character
bigrams, which still match where jieba segments a query and a chunk differently. Plain BM25
over the InsuranceQA Chinese answers (27,413 answers, its first 500 test questions) scored
MRR@10 0.157 with jieba words, 0.182 with bigrams and 0.191 with both (docs/benchmarks.md).
"""
from __future__ import annotations

import logging
import re

import jieba

jieba.setLogLevel(logging.WARNING)

_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
# Function words that would match nearly every Chinese chunk under 'simple' (which has no
# stop words); 'english' already drops the English ones.
_CHINESE_STOP = frozenset(
    "的 了 是 在 和 与 及 或 也 都 就 而 被 把 对 为 以 于 之 其 这 那 有 个 中 上 下 不 吗 呢 吧 啊 "
    "什么 怎么 怎样 如何 哪些 哪个 为什么 多少 是否 可以 能 会 要 我 你 他 她 它 我们 你们 他们 "
    "一个 一些 以及 还是 如果 因为 所以 但是 通过 进行 使用".split())


def has_chinese(text: str) -> bool:
    return _CJK_RUN.search(text) is not None


def load_dictionary() -> None:
    """Loads jieba's dictionary now (about a second) rather than in the first Chinese search."""
    jieba.initialize()


def chinese_words(text: str) -> list[str]:
    words = []
    for run in _CJK_RUN.findall(text):
        words.extend(w for w in jieba.cut_for_search(run) if w.strip() and w not in _CHINESE_STOP)
    return words


def chinese_bigrams(text: str) -> list[str]:
    """Overlapping pairs of characters of each Chinese run (a lone character stands alone)."""
    grams = []
    for run in _CJK_RUN.findall(text):
        pairs = [run[i:i + 2] for i in range(len(run) - 1)] if len(run) > 1 else [run]
        grams.extend(g for g in pairs if g not in _CHINESE_STOP)
    return grams


def chinese_terms(text: str) -> list[str]:
    """Every Chinese term of the text, repeated as often as it occurs (term frequency counts)."""
    return chinese_words(text) + chinese_bigrams(text)


def index_terms(text: str) -> str:
    """The Chinese terms of a chunk's text or headings, for its search_cjk / search_headings."""
    return " ".join(chinese_terms(text))


def query_terms(query: str) -> str:
    """The query's Chinese terms, each once (BM25 here scores each query term once)."""
    return " ".join(dict.fromkeys(chinese_terms(query)))
