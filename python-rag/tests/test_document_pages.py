"""Reading a document back: the overlap between neighbouring chunks found again in their
stored texts, page tokens and sizes. Pure logic, no server."""
import pytest

from tianshu_rag.errors import InvalidArgument
from tianshu_rag.ingestion.chunking import chunk_blocks, repeated_prefix_chars
from tianshu_rag.ingestion.parsing import parse
from tianshu_rag.reading.document_pages import (MAX_PAGE_CHUNKS, page_size, page_token, read_page_token,
                                                with_repeats)
from tianshu_rag.storage.documents import ChunkText


def rebuilt(chunks) -> str:
    """The document's text as a reader joins the chunks: each without what it repeats."""
    parts = with_repeats([ChunkText(c.index, c.heading_path, c.text) for c in chunks], None)
    return "".join(p.chunk.text[p.repeated_chars:] for p in parts)


@pytest.mark.parametrize("text", [
    " ".join(f"Fact {i} is about the HNSW index." for i in range(20)),
    "\n\n".join(f"Paragraph {i} says the gateway restarts in {i} seconds." for i in range(12)),
    "".join(f"第{i}句很短。" for i in range(30)),
])
def test_chunks_joined_without_their_repeated_start_are_the_text_chunked_without_overlap(tokens, text):
    blocks = parse(text.encode(), "text/plain")
    overlapping = chunk_blocks(blocks, tokens, max_tokens=40, overlap_tokens=12)
    plain = chunk_blocks(blocks, tokens, max_tokens=40, overlap_tokens=0)
    assert len(overlapping) > len(plain) > 1
    assert any(repeated_prefix_chars(a.text, b.text) for a, b in zip(overlapping, overlapping[1:]))
    separator = "" if "。" in text else (" " if "\n" not in text else "\n\n")
    assert rebuilt(overlapping) == separator.join(c.text for c in plain)


def test_chunks_that_share_nothing_repeat_nothing():
    assert repeated_prefix_chars("The port is 8080.", "Set the port.") == 0
    # A shared word that is not a whole sentence of the earlier chunk is no overlap.
    assert repeated_prefix_chars("Restart the gateway", "gateway logs rotate.") == 0
    assert repeated_prefix_chars("One. Two.", "Two. Three.") == len("Two.")


def test_a_sections_first_chunk_repeats_nothing_of_the_section_before():
    before = ChunkText(0, ("Install",), "Run it. Done.")
    after = ChunkText(1, ("Configure",), "Done. Set the port.")
    assert [p.repeated_chars for p in with_repeats([after], before)] == [0]
    assert [p.repeated_chars for p in with_repeats([after], ChunkText(0, ("Configure",), before.text))] == [5]


def test_a_page_token_names_the_next_chunk_and_the_version_read():
    assert read_page_token(page_token(500, "ab12")) == (500, "ab12")
    assert read_page_token("") == (0, "")


@pytest.mark.parametrize("token", ["not-a-token", page_token(0, "ab12"), "MTIz", "%%%"])
def test_a_page_token_not_made_here_is_refused_naming_the_field(token):
    with pytest.raises(InvalidArgument) as refused:
        read_page_token(token)
    assert refused.value.field == "page_token"


def test_page_size_defaults_and_is_capped():
    assert page_size(0) == 100
    assert page_size(7) == 7
    assert page_size(10_000) == MAX_PAGE_CHUNKS == 500
    with pytest.raises(InvalidArgument):
        page_size(-1)
