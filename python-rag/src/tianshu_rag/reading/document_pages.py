"""A stored document read back a page of chunks at a time, each chunk with the characters it
repeats from the one before (chunking's overlap), so that a client can rebuild the document's
text and mark a cited chunk in it.

A page token names the next chunk and the version (content sha256) the pages so far came from:
a document replaced between two pages is refused (FAILED_PRECONDITION), never shown half old,
half new.
"""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from ..errors import FailedPrecondition, InvalidArgument
from ..ingestion.chunking import repeated_prefix_chars
from ..storage import documents as document_store
from ..storage.collections import CollectionStore
from ..storage.database import Database
from ..storage.documents import ChunkText, StoredDocument

DEFAULT_PAGE_CHUNKS = 100
# At 256 tokens a chunk (the most a caller may ask for), 500 chunks are about 0.5 MB of text:
# far under gRPC's 4 MB message limit.
MAX_PAGE_CHUNKS = 500


@dataclass(frozen=True)
class PageChunk:
    chunk: ChunkText
    repeated_chars: int


@dataclass(frozen=True)
class DocumentPage:
    document: StoredDocument
    chunks: list[PageChunk]
    next_page_token: str


def page_token(next_index: int, content_sha256: str) -> str:
    return base64.urlsafe_b64encode(f"{next_index}:{content_sha256}".encode()).decode().rstrip("=")


def read_page_token(token: str) -> tuple[int, str]:
    """(first chunk index, content sha256) of a token, (0, "") for none; InvalidArgument when
    it is not one of ours."""
    if not token:
        return 0, ""
    try:
        index, sha = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode().split(":", 1)
        if int(index) > 0 and sha:
            return int(index), sha
    except (ValueError, binascii.Error, UnicodeDecodeError):
        pass
    raise InvalidArgument("page_token", "is not a next_page_token of GetDocument")


def page_size(asked: int) -> int:
    if asked < 0:
        raise InvalidArgument("page_size", "must not be negative")
    return min(asked or DEFAULT_PAGE_CHUNKS, MAX_PAGE_CHUNKS)


def with_repeats(chunks: list[ChunkText], before: ChunkText | None) -> list[PageChunk]:
    """Each chunk with the characters it repeats of the previous chunk of its section."""
    out = []
    for chunk in chunks:
        repeated = repeated_prefix_chars(before.text, chunk.text) \
            if before is not None and before.heading_path == chunk.heading_path else 0
        out.append(PageChunk(chunk, repeated))
        before = chunk
    return out


class DocumentReader:
    def __init__(self, db: Database, collections: CollectionStore):
        self._db, self._collections = db, collections

    async def page(self, tenant_id: str, collection_name: str, document_id: str, asked_size: int,
                   token: str) -> DocumentPage:
        size = page_size(asked_size)
        first, version = read_page_token(token)
        collection = await self._collections.get(tenant_id, collection_name, counted=False)
        # One chunk more in front: the overlap of the page's first chunk is read from it.
        start = max(first - 1, 0)
        document, chunks = await document_store.read(self._db, collection, document_id, start, first + size - start)
        if version and version != document.content_sha256:
            raise FailedPrecondition("DOCUMENT_CHANGED", document_id,
                                     f"document {document_id!r} was replaced since the first page was read; "
                                     "read it again from the first page")
        before = chunks.pop(0) if first > 0 and chunks and chunks[0].index == start else None
        end = first + size
        token = page_token(end, document.content_sha256) if end < document.chunk_count else ""
        return DocumentPage(document, with_repeats(chunks, before), token)
