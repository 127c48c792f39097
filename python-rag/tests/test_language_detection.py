"""The language of a first ingest's documents (ingestion/language.py), pure counting."""
from tianshu_rag.ingestion.language import EN, ZH, chinese_share, detected


def test_chinese_text_with_english_terms_in_it_is_chinese():
    assert detected(["保险理赔需要提交身份证、保单和医院出具的诊断证明，通过 App 或 email 都可以。"]) == ZH


def test_english_text_with_a_chinese_name_in_it_is_english():
    assert detected(["The Beijing office (北京) handles claims filed through the online portal."]) == EN


def test_the_share_counts_over_every_text():
    texts = ["熊猫吃竹子", "pandas eat bamboo"]
    assert chinese_share(texts) == 5 / (5 + 3)


def test_text_without_letters_keeps_the_default_language():
    assert detected(["12345 67.8 %", ""]) == EN
    assert chinese_share([]) == 0.0
