-- BM25 for full-text search: an inverted index of each collection's chunks with the
-- statistics BM25 needs (Robertson & Zaragoza, "The Probabilistic Relevance Framework: BM25
-- and Beyond", 2009): per term its document frequency and postings (chunk, term frequency,
-- chunk length), per collection its chunk count and total length. ts_rank, used until now,
-- knows neither term rarity in the collection nor chunk length, and ranked every chunk
-- matching any query word (about 1 s per query at 30,000 chunks); retrieval/bm25.py reads
-- only the postings of the query's rarer terms.
--
-- Triggers on chunks keep it current in the writer's transaction: a failed ingest rolls
-- the statistics back with its chunks. Chunk text is never updated in place (a new version
-- of a document deletes and re-inserts its chunks), so inserts and deletes are all there is.

-- A chunk's terms: English stems (english configuration, stop words dropped) of its heading
-- path and text with Chinese runs removed (the english parser would keep each run whole as
-- one "word"), plus its Chinese terms (jieba words and character bigrams, segmented in
-- Python into search_headings / search_cjk) under 'simple'. Queries are analysed by the same
-- function (retrieval/bm25.py passes the query as text and its Chinese terms as cjk_text),
-- so both sides always agree.
CREATE FUNCTION bm25_terms_of(heading_path text[], body text, cjk_headings text, cjk_text text)
    RETURNS TABLE (term text, tf int) LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT lexeme, array_length(positions, 1)
    FROM unnest(to_tsvector('english'::regconfig, regexp_replace(
                     array_to_string(heading_path, ' ') || ' ' || body,
                     '[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+', ' ', 'g'))
                || to_tsvector('simple'::regconfig, cjk_headings || ' ' || cjk_text))
$$;

-- chinese_length: the part of total_length that is Chinese terms, which tells a collection
-- of Chinese documents (hybrid search then leaves out an embedding model that reads only
-- English; retrieval/search.py).
CREATE TABLE bm25_collections (
    collection_id  bigint PRIMARY KEY REFERENCES collections (id) ON DELETE CASCADE,
    chunk_count    bigint NOT NULL DEFAULT 0,
    total_length   bigint NOT NULL DEFAULT 0,
    chinese_length bigint NOT NULL DEFAULT 0
);

CREATE FUNCTION bm25_is_chinese(term text) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT term ~ '[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]'
$$;

-- df = chunks of the collection containing the term; a term whose df falls to 0 is removed.
CREATE TABLE bm25_terms (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    collection_id bigint NOT NULL,
    term          text   NOT NULL,
    df            int    NOT NULL,
    UNIQUE (collection_id, term)
);

-- No foreign keys here: one per posting row would cost an RI check for each of the ~70
-- postings of every chunk. The triggers below keep postings and terms consistent. The
-- primary key carries tf and length, so scoring reads the index alone.
CREATE TABLE bm25_postings (
    term_id  bigint NOT NULL,
    chunk_id bigint NOT NULL,
    tf       int    NOT NULL,
    length   int    NOT NULL,
    PRIMARY KEY (term_id, chunk_id) INCLUDE (tf, length)
);

-- Fills this connection's temporary bm25_changed with the terms of the chunks whose collections have
-- statistics, one row per (chunk, term) with its frequency.
CREATE FUNCTION bm25_collect(changed chunks[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    CREATE TEMP TABLE IF NOT EXISTS bm25_changed (collection_id bigint, chunk_id bigint, term text, tf int)
        ON COMMIT DELETE ROWS;
    TRUNCATE bm25_changed;
    INSERT INTO bm25_changed
    SELECT c.collection_id, c.id, t.term, t.tf
    FROM unnest(changed) c JOIN bm25_collections s ON s.collection_id = c.collection_id,
         bm25_terms_of(c.heading_path, c.text, c.search_headings, c.search_cjk) t;
END $$;

-- Adds chunks (rows of chunks) to their collections' statistics. The collections' statistics
-- rows are locked first, in id order: every writer of a collection then waits for the one
-- before it to commit, instead of two writers locking shared terms in different orders and
-- deadlocking.
CREATE FUNCTION bm25_add(added chunks[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO bm25_collections (collection_id)
    SELECT DISTINCT a.collection_id FROM unnest(added) a ORDER BY 1 ON CONFLICT DO NOTHING;
    PERFORM 1 FROM bm25_collections
    WHERE collection_id IN (SELECT a.collection_id FROM unnest(added) a) ORDER BY collection_id FOR UPDATE;

    PERFORM bm25_collect(added);

    UPDATE bm25_collections s SET chunk_count = s.chunk_count + c.chunks, total_length = s.total_length + c.length,
                                  chinese_length = s.chinese_length + c.chinese
    FROM (SELECT collection_id, count(DISTINCT chunk_id) AS chunks, sum(tf) AS length,
                 coalesce(sum(tf) FILTER (WHERE bm25_is_chinese(term)), 0) AS chinese
          FROM bm25_changed GROUP BY collection_id) c
    WHERE s.collection_id = c.collection_id;
    -- Chunks without a single term count as chunks of length 0.
    UPDATE bm25_collections s SET chunk_count = s.chunk_count + e.chunks
    FROM (SELECT a.collection_id, count(*) AS chunks FROM unnest(added) a
          WHERE NOT EXISTS (SELECT 1 FROM bm25_changed c WHERE c.chunk_id = a.id) GROUP BY 1) e
    WHERE s.collection_id = e.collection_id;

    INSERT INTO bm25_terms (collection_id, term, df)
    SELECT collection_id, term, count(*) FROM bm25_changed GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (collection_id, term) DO UPDATE SET df = bm25_terms.df + excluded.df;

    INSERT INTO bm25_postings (term_id, chunk_id, tf, length)
    SELECT d.id, c.chunk_id, c.tf, sum(c.tf) OVER (PARTITION BY c.chunk_id)
    FROM bm25_changed c JOIN bm25_terms d ON d.collection_id = c.collection_id AND d.term = c.term;
    TRUNCATE bm25_changed;
END $$;

-- Removes chunks from their collections' statistics; chunks of a collection being deleted
-- (its statistics row already gone, see bm25_forget_collection) are skipped.
CREATE FUNCTION bm25_remove(removed chunks[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM bm25_collections
    WHERE collection_id IN (SELECT r.collection_id FROM unnest(removed) r) ORDER BY collection_id FOR UPDATE;

    PERFORM bm25_collect(removed);

    UPDATE bm25_collections s SET chunk_count = s.chunk_count - r.chunks,
                                  total_length = s.total_length - coalesce(c.length, 0),
                                  chinese_length = s.chinese_length - coalesce(c.chinese, 0)
    FROM (SELECT collection_id, count(*) AS chunks FROM unnest(removed) GROUP BY 1) r
         LEFT JOIN (SELECT collection_id, sum(tf) AS length,
                           coalesce(sum(tf) FILTER (WHERE bm25_is_chinese(term)), 0) AS chinese
                    FROM bm25_changed GROUP BY 1) c USING (collection_id)
    WHERE s.collection_id = r.collection_id;

    DELETE FROM bm25_postings p USING bm25_changed c, bm25_terms d
    WHERE d.collection_id = c.collection_id AND d.term = c.term AND p.term_id = d.id AND p.chunk_id = c.chunk_id;

    UPDATE bm25_terms d SET df = d.df - c.chunks
    FROM (SELECT collection_id, term, count(*) AS chunks FROM bm25_changed GROUP BY 1, 2 ORDER BY 1, 2) c
    WHERE d.collection_id = c.collection_id AND d.term = c.term;
    DELETE FROM bm25_terms d USING (SELECT DISTINCT collection_id, term FROM bm25_changed) c
    WHERE d.collection_id = c.collection_id AND d.term = c.term AND d.df <= 0;
    TRUNCATE bm25_changed;
END $$;

CREATE FUNCTION bm25_chunks_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM bm25_add(ARRAY(SELECT n::chunks FROM inserted n));
    RETURN NULL;
END $$;

CREATE FUNCTION bm25_chunks_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM bm25_remove(ARRAY(SELECT o::chunks FROM deleted o));
    RETURN NULL;
END $$;

-- Statement-level with transition tables: one call per COPY or DELETE (a document's cascade
-- included), not one per chunk.
CREATE TRIGGER chunks_bm25_insert AFTER INSERT ON chunks
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION bm25_chunks_inserted();
CREATE TRIGGER chunks_bm25_delete AFTER DELETE ON chunks
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION bm25_chunks_deleted();

-- A deleted collection takes its statistics with it before its chunks go, so the chunks'
-- delete trigger finds nothing to update.
CREATE FUNCTION bm25_forget_collection() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM bm25_postings p USING bm25_terms d WHERE d.collection_id = OLD.id AND p.term_id = d.id;
    DELETE FROM bm25_terms WHERE collection_id = OLD.id;
    DELETE FROM bm25_collections WHERE collection_id = OLD.id;
    RETURN OLD;
END $$;
CREATE TRIGGER collections_bm25_delete BEFORE DELETE ON collections
    FOR EACH ROW EXECUTE FUNCTION bm25_forget_collection();

-- The tsvector column and its GIN index served ts_rank only.
DROP INDEX chunks_tsv;
ALTER TABLE chunks DROP COLUMN tsv;

-- Chunks stored before this migration, one collection at a time.
DO $$
DECLARE c bigint;
BEGIN
    FOR c IN SELECT id FROM collections ORDER BY id LOOP
        PERFORM bm25_add(ARRAY(SELECT k FROM chunks k WHERE k.collection_id = c));
    END LOOP;
END $$;
