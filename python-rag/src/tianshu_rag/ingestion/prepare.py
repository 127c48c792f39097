"""Documents checked, parsed and chunked before any job exists: bad input is refused in the
call, naming the first bad document. What comes out (PreparedDocument) is what a queued job
stores (job_inputs.py) and what its run embeds."""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import InvalidArgument
from ..retrieval.terms import index_terms
from ..storage.documents import DocumentVersion
from .chunking import Chunk, chunk_blocks
from .parsing import UnreadableDocument, normalize_content_type, parse
from .tokens import TokenCounter

MAX_DOCUMENT_ID_CHARS = 256


@dataclass(frozen=True)
class DocumentInput:
    document_id: str
    content: bytes
    content_type: str
    metadata: dict


@dataclass(frozen=True)
class PreparedDocument:
    version: DocumentVersion
    chunks: list[Chunk]
    # Per chunk: the Chinese words of its headings and of its text, for full-text search.
    search_terms: list[tuple[str, str]]
    # Tokens the embedding model reads for all of embedding_texts() (TokenCounter.count_embedded).
    embedding_tokens: int

    def embedding_texts(self) -> list[str]:
        return embedding_texts(self.chunks)


def embedding_texts(chunks: Sequence[Chunk]) -> list[str]:
    # Headings go into the embedded text: "Install > Linux" says what a chunk is about
    # even when its own text only says "run the script".
    return [" > ".join(c.heading_path) + "\n" + c.text if c.heading_path else c.text for c in chunks]


@dataclass(frozen=True)
class ChunkingLimits:
    chunk_tokens: int
    overlap_tokens: int
    max_document_bytes: int
    max_documents: int


def prepare(documents: Sequence[DocumentInput], tokens: TokenCounter, limits: ChunkingLimits) -> list[PreparedDocument]:
    """Parses and chunks every document, or refuses the request naming the first bad one."""
    if not documents:
        raise InvalidArgument("documents", "no documents given")
    if len(documents) > limits.max_documents:
        raise InvalidArgument("documents", f"at most {limits.max_documents} documents per call, got {len(documents)}")
    seen: set[str] = set()
    prepared = []
    for i, doc in enumerate(documents):
        field = f"documents[{i}]"
        if not doc.document_id or len(doc.document_id) > MAX_DOCUMENT_ID_CHARS:
            raise InvalidArgument(f"{field}.document_id", f"must have 1 to {MAX_DOCUMENT_ID_CHARS} characters")
        if doc.document_id in seen:
            raise InvalidArgument(f"{field}.document_id", f"{doc.document_id!r} appears twice in one call")
        seen.add(doc.document_id)
        if not doc.content:
            raise InvalidArgument(f"{field}.content", f"document {doc.document_id!r} is empty")
        if len(doc.content) > limits.max_document_bytes:
            raise InvalidArgument(f"{field}.content", f"document {doc.document_id!r} has {len(doc.content)} bytes; "
                                                      f"the limit is {limits.max_document_bytes}")
        try:
            blocks = parse(doc.content, doc.content_type)
        except UnreadableDocument as error:
            raise InvalidArgument(f"{field}", f"document {doc.document_id!r}: {error}") from None
        chunks = chunk_blocks(blocks, tokens, limits.chunk_tokens, limits.overlap_tokens)
        version = DocumentVersion(doc.document_id, normalize_content_type(doc.content_type),
                                  hashlib.sha256(doc.content).hexdigest(), doc.metadata)
        terms = [(index_terms(" ".join(c.heading_path)), index_terms(c.text)) for c in chunks]
        prepared.append(PreparedDocument(version, chunks, terms, tokens.count_embedded(embedding_texts(chunks))))
    return prepared
