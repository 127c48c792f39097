-- OpenAI's vector stores over the RAG service: each store is one RAG collection (named by the
-- store's id) of its tenant; what RAG does not keep is kept here: the store's name and
-- metadata, which files it holds with their attributes, and how far each file's ingestion got.

-- Uploads of purpose "assistants" are documents for vector stores: their format (one of the
-- types the RAG service reads) is decided at upload. NULL for batch files.
ALTER TABLE batch_file ADD COLUMN content_type text;

CREATE TABLE vector_store (
    id             text PRIMARY KEY,                      -- "vs_" + random; also the RAG collection's name
    tenant_id      text NOT NULL,
    name           text NOT NULL DEFAULT '',
    description    text,
    metadata       jsonb NOT NULL DEFAULT '{}',
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_active_at timestamptz NOT NULL DEFAULT now()    -- created, searched or given files
);
CREATE INDEX vector_store_tenant ON vector_store (tenant_id, created_at DESC, id DESC);

-- A batch of files added in one call; its files point at it.
CREATE TABLE vector_store_file_batch (
    id              text PRIMARY KEY,                     -- "vsfb_" + random
    vector_store_id text NOT NULL REFERENCES vector_store (id) ON DELETE CASCADE,
    tenant_id       text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- A file in a store: the RAG document of id file_id in the store's collection. The file's name
-- and size are copied here, so a store still names its files after the upload is deleted.
CREATE TABLE vector_store_file (
    vector_store_id    text NOT NULL REFERENCES vector_store (id) ON DELETE CASCADE,
    file_id            text NOT NULL,
    tenant_id          text NOT NULL,
    filename           text NOT NULL,
    bytes              bigint NOT NULL,
    batch_id           text REFERENCES vector_store_file_batch (id) ON DELETE SET NULL,
    -- The RAG ingest job that stores the document; NULL when the RAG service refused it at once.
    job_id             text,
    status             text NOT NULL CHECK (status IN ('in_progress', 'completed', 'failed', 'cancelled')),
    usage_bytes        bigint NOT NULL DEFAULT 0,
    last_error_code    text,
    last_error_message text,
    attributes         jsonb NOT NULL DEFAULT '{}',       -- also the RAG document's metadata
    chunking_strategy  jsonb NOT NULL,                    -- as the file object reports it
    created_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (vector_store_id, file_id)
);
CREATE INDEX vector_store_file_order ON vector_store_file (vector_store_id, created_at, file_id);
CREATE INDEX vector_store_file_pending ON vector_store_file (job_id) WHERE status = 'in_progress';
CREATE INDEX vector_store_file_by_file ON vector_store_file (tenant_id, file_id);
