"""The language of a first ingest's documents (ingestion/language.py), pure counting."""
import pytest

from tianshu_rag.ingestion.language import EN, ZH, chinese_share, detected


def test_chinese_text_with_english_terms_in_it_is_chinese():
    assert detected(["保险理赔需要提交身份证、保单和医院出具的诊断证明，通过 App 或 email 都可以。"]) == ZH


def test_english_text_with_a_chinese_name_in_it_is_english():
    assert detected(["The Beijing office (北京) handles claims filed through the online portal."]) == EN


def test_the_share_counts_words_over_every_text():
    texts = ["熊猫吃竹子", "pandas eat bamboo"]
    assert chinese_share(texts) == pytest.approx((5 / 1.7) / (5 / 1.7 + 3))


def test_a_mixed_corpus_that_is_mostly_english_by_words_is_english():
    # Three English sentences of 9 to 12 words, two Chinese ones of 20-odd characters.
    english = ["HNSW builds a layered proximity graph for approximate nearest neighbour search.",
               "The global interpreter lock lets one Python thread run bytecode at a time.",
               "Sourdough bread rises with wild yeast from a starter."]
    chinese = ["大熊猫主要生活在四川的竹林里，每天吃大量竹子。", "长城是中国古代的军事防御工程，大部分是明代修建的。"]
    assert detected(english + chinese) == EN
    assert detected(english[:1] + chinese) == ZH


def test_text_without_letters_keeps_the_default_language():
    assert detected(["12345 67.8 %", ""]) == EN
    assert chinese_share([]) == 0.0
