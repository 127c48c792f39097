-- Collections, documents, chunks with embeddings and full-text vectors, ingest jobs.
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE collections (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id       text NOT NULL,
    name            text NOT NULL,
    embedding_model text NOT NULL,
    dimension       int  NOT NULL CHECK (dimension > 0),
    description     text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, name)
);

CREATE TABLE documents (
    collection_id  bigint NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
    document_id    text   NOT NULL,
    content_type   text   NOT NULL,
    content_sha256 text   NOT NULL,
    metadata       jsonb  NOT NULL DEFAULT '{}',
    chunk_count    int    NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (collection_id, document_id)
);

-- The vector column has no fixed dimension because collections may use different
-- embedding models; each dimension gets its own partial HNSW index on a cast expression
-- (created with the first collection of that dimension; 384 = all-MiniLM-L6-v2 here).
-- metadata is the document's, copied onto its chunks so a filter and the HNSW scan read
-- one table. tsv: English stemming of headings (weighted higher) and text, plus the
-- jieba-segmented Chinese words under the 'simple' configuration.
CREATE TABLE chunks (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    collection_id   bigint NOT NULL,
    document_id     text   NOT NULL,
    chunk_index     int    NOT NULL,
    heading_path    text[] NOT NULL DEFAULT '{}',
    text            text   NOT NULL,
    token_count     int    NOT NULL,
    metadata        jsonb  NOT NULL DEFAULT '{}',
    dimension       int    NOT NULL,
    embedding       vector NOT NULL,
    search_headings text   NOT NULL DEFAULT '',
    search_cjk      text   NOT NULL DEFAULT '',
    tsv tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, search_headings), 'A')
        || to_tsvector('english'::regconfig, text)
        || to_tsvector('simple'::regconfig, search_cjk)) STORED,
    UNIQUE (collection_id, document_id, chunk_index),
    FOREIGN KEY (collection_id, document_id)
        REFERENCES documents (collection_id, document_id) ON DELETE CASCADE
);
CREATE INDEX chunks_embedding_384_hnsw ON chunks
    USING hnsw ((embedding::vector(384)) vector_cosine_ops) WHERE dimension = 384;
CREATE INDEX chunks_tsv ON chunks USING gin (tsv);
CREATE INDEX chunks_metadata ON chunks USING gin (metadata jsonb_path_ops);

CREATE TABLE ingest_jobs (
    id                uuid PRIMARY KEY,
    tenant_id         text   NOT NULL,
    collection_id     bigint NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
    collection_name   text   NOT NULL,
    state             text   NOT NULL,
    documents_total   int    NOT NULL,
    documents_done    int    NOT NULL DEFAULT 0,
    documents_skipped int    NOT NULL DEFAULT 0,
    documents_failed  int    NOT NULL DEFAULT 0,
    chunks_total      int    NOT NULL DEFAULT 0,
    chunks_done       int    NOT NULL DEFAULT 0,
    error             text   NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ingest_jobs_tenant ON ingest_jobs (tenant_id, id);
