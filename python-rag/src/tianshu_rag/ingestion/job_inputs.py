"""A prepared document as the bytes a queued job keeps in PostgreSQL (ingest_job_inputs), and
back: whatever replica runs the job reads exactly what prepare() made when the job was
created, without parsing or chunking again. JSON, so that a row can be read by hand."""
from __future__ import annotations

import json

from ..storage.documents import DocumentVersion
from .chunking import Chunk
from .prepare import PreparedDocument


def encode(document: PreparedDocument) -> bytes:
    v = document.version
    return json.dumps({
        "version": {"document_id": v.document_id, "content_type": v.content_type,
                    "content_sha256": v.content_sha256, "metadata": v.metadata},
        "chunks": [{"index": c.index, "heading_path": list(c.heading_path), "text": c.text,
                    "token_count": c.token_count} for c in document.chunks],
        "search_terms": [list(terms) for terms in document.search_terms],
        "embedding_tokens": document.embedding_tokens,
    }, ensure_ascii=False, separators=(",", ":")).encode()


def decode(data: bytes) -> PreparedDocument:
    fields = json.loads(data)
    return PreparedDocument(
        DocumentVersion(**fields["version"]),
        [Chunk(c["index"], tuple(c["heading_path"]), c["text"], c["token_count"]) for c in fields["chunks"]],
        [(headings, cjk) for headings, cjk in fields["search_terms"]],
        fields["embedding_tokens"])
