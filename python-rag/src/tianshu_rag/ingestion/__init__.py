"""Ingestion: documents parsed into blocks, chunked by structure, embedded and stored."""
