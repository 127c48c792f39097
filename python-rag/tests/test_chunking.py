"""Chunking follows structure and counts tokens with the embedding model's tokenizer."""
from tianshu_rag.ingestion.chunking import chunk_blocks, split_sentences
from tianshu_rag.ingestion.parsing import parse

MARKDOWN = """# Guide

Intro paragraph.

## Install

### Linux

Run the installer script.

## Configure

Set the port.
"""


def test_markdown_chunks_keep_their_heading_path_and_never_cross_a_heading(tokens):
    chunks = chunk_blocks(parse(MARKDOWN.encode(), "text/markdown"), tokens, max_tokens=200, overlap_tokens=10)
    assert [(c.heading_path, c.text) for c in chunks] == [
        (("Guide",), "Intro paragraph."),
        (("Guide", "Install", "Linux"), "Run the installer script."),
        (("Guide", "Configure"), "Set the port."),
    ]
    assert [c.index for c in chunks] == [0, 1, 2]


def test_short_paragraphs_of_one_section_are_packed_into_one_chunk(tokens):
    text = "First paragraph.\n\nSecond paragraph.\n\nThird paragraph."
    [chunk] = chunk_blocks(parse(text.encode(), "text/plain"), tokens, max_tokens=50, overlap_tokens=0)
    assert chunk.text == "First paragraph.\n\nSecond paragraph.\n\nThird paragraph."


def test_long_paragraph_is_cut_at_sentence_ends_within_the_token_budget(tokens):
    sentences = [f"Sentence number {i} talks about vector databases and indexes." for i in range(30)]
    chunks = chunk_blocks(parse(" ".join(sentences).encode(), "text/plain"), tokens, max_tokens=60, overlap_tokens=0)
    assert len(chunks) > 1
    assert all(c.token_count <= 60 for c in chunks)
    assert all(c.text.endswith(".") for c in chunks)  # no sentence was cut in the middle
    assert " ".join(c.text for c in chunks) == " ".join(sentences)


def test_consecutive_chunks_share_whole_sentences_up_to_the_overlap(tokens):
    sentences = [f"Fact {i} is about the HNSW index." for i in range(20)]
    chunks = chunk_blocks(parse(" ".join(sentences).encode(), "text/plain"), tokens, max_tokens=40, overlap_tokens=12)
    for before, after in zip(chunks, chunks[1:]):
        last_sentence = split_sentences(before.text)[-1]
        assert after.text.startswith(last_sentence)
        assert tokens.count(last_sentence) <= 12


def test_chinese_text_is_cut_at_chinese_sentence_ends(tokens):
    sentences = [f"第{i}句讲的是向量数据库的索引结构。" for i in range(20)] + ["最后一句是问句吗？"]
    chunks = chunk_blocks(parse("".join(sentences).encode(), "text/plain"), tokens, max_tokens=50, overlap_tokens=0)
    assert len(chunks) > 1
    assert all(c.token_count <= 50 for c in chunks)
    assert all(c.text[-1] in "。？" for c in chunks)
    assert "".join(c.text for c in chunks) == "".join(sentences)  # no spaces inserted between Chinese sentences


def test_split_sentences_handles_english_and_chinese_punctuation_but_not_decimals():
    assert split_sentences("Pi is 3.14 exactly. Really? 是的。好！") == ["Pi is 3.14 exactly.", "Really?", "是的。", "好！"]


def test_a_sentence_longer_than_a_chunk_is_cut_at_token_edges(tokens):
    words = " ".join(f"word{i}" for i in range(300))
    chunks = chunk_blocks(parse(words.encode(), "text/plain"), tokens, max_tokens=50, overlap_tokens=0)
    assert all(c.token_count <= 50 for c in chunks)
    assert " ".join(c.text for c in chunks).split() == words.split()
