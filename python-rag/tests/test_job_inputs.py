"""What a queued job stores of a prepared document reads back exactly as prepare() made it,
and its token count is the embedding model's (no server needed)."""
from tianshu_rag.ingestion import job_inputs
from tianshu_rag.ingestion.prepare import ChunkingLimits, DocumentInput, prepare

MANUAL = """# 运维手册

## Backups

Backups run nightly; 备份保留三十五天。 Restores need a ticket.
"""


def test_a_prepared_document_survives_encoding_unchanged(tokens):
    [prepared] = prepare([DocumentInput("ops", MANUAL.encode(), "text/markdown",
                                        {"team": "storage", "year": 2024, "tags": ["a", "b"], "ok": True})],
                         tokens, ChunkingLimits(chunk_tokens=40, overlap_tokens=8, max_document_bytes=10_000,
                                                max_documents=10))
    assert prepared.chunks and prepared.chunks[0].heading_path == ("运维手册", "Backups")
    assert any(cjk for _, cjk in prepared.search_terms)
    assert job_inputs.decode(job_inputs.encode(prepared)) == prepared


def test_embedding_tokens_count_each_embedded_text_with_its_special_tokens(tokens):
    [prepared] = prepare([DocumentInput("d", b"# Install\n\nRun the script.", "text/markdown", {})],
                         tokens, ChunkingLimits(200, 32, 10_000, 10))
    [text] = prepared.embedding_texts()
    assert text == "Install\nRun the script."
    # [CLS] install run the script . [SEP]
    assert prepared.embedding_tokens == tokens.count(text) + 2 == 7
