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
    return [passage(c.heading_path, c.text) for c in chunks]


def passage(heading_path: Sequence[str], text: str) -> str:
    """What a model reads of a chunk (embedding it, reranking it). Headings go in: "Install >
    Linux" says what a chunk is about even when its own text only says "run the script"."""
    return " > ".join(heading_path) + "\n" + text if heading_path else text


@dataclass(frozen=True)
class ChunkingLimits:
    chunk_tokens: int
    overlap_tokens: int
    max_document_bytes: int
    max_documents: int
    # The largest chunk a caller may ask for (IngestDocumentsRequest.chunking).
    max_chunk_tokens: int = 256


# A caller's chunk sizes: (max_chunk_tokens, overlap_tokens).
Chunking = tuple[int, int]
MIN_CHUNK_TOKENS = 17


def chunk_sizes(chunking: Chunking | None, limits: ChunkingLimits) -> Chunking:
    """The sizes to chunk with: the caller's, once checked, or the configured ones."""
    if chunking is None:
        return limits.chunk_tokens, limits.overlap_tokens
    size, overlap = chunking
    if not MIN_CHUNK_TOKENS <= size <= limits.max_chunk_tokens:
        raise InvalidArgument("chunking.max_chunk_tokens", f"must be in {MIN_CHUNK_TOKENS}..{limits.max_chunk_tokens} "
                                                            f"(the most the embedding model reads), got {size}")
    if not 0 <= overlap <= size // 2:
        raise InvalidArgument("chunking.overlap_tokens", f"must be in 0..{size // 2} (half of max_chunk_tokens), "
                                                          f"got {overlap}")
    return size, overlap


def prepare(documents: Sequence[DocumentInput], tokens: TokenCounter, limits: ChunkingLimits,
            chunking: Chunking | None = None) -> list[PreparedDocument]:
    """Parses and chunks every document (with the caller's chunk sizes, else the configured
    ones), or refuses the request naming the first bad document or size."""
    size, overlap = chunk_sizes(chunking, limits)
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
        chunks = chunk_blocks(blocks, tokens, size, overlap)
        version = DocumentVersion(doc.document_id, normalize_content_type(doc.content_type),
                                  hashlib.sha256(doc.content).hexdigest(), doc.metadata)
        terms = [(index_terms(" ".join(c.heading_path)), index_terms(c.text)) for c in chunks]
        prepared.append(PreparedDocument(version, chunks, terms, tokens.count_embedded(embedding_texts(chunks))))
    return prepared
