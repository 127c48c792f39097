-- Runs once, when the container's data folder is new (POSTGRES_DB=tianshu already exists).
-- The RAG and batch services migrate their own databases at start-up; the RAG store needs
-- pgvector, created here by the superuser so the service's migration finds it.
CREATE DATABASE tianshu_rag;
CREATE DATABASE tianshu_batch;
\connect tianshu_rag
CREATE EXTENSION IF NOT EXISTS vector;
