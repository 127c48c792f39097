"""Retrieval: vector search, full-text search, and their fusion."""
