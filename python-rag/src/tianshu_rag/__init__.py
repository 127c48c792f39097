"""Tianshu RAG service: retrieval-augmented generation over PostgreSQL + pgvector."""
