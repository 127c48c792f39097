package io.tianshu.gateway.rag;

import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import com.google.protobuf.Timestamp;
import io.tianshu.rag.v1.AnswerOutcome;
import io.tianshu.rag.v1.AnswerResponse;
import io.tianshu.rag.v1.AnswerUsage;
import io.tianshu.rag.v1.Citation;
import io.tianshu.rag.v1.Collection;
import io.tianshu.rag.v1.CollectionLanguage;
import io.tianshu.rag.v1.CollectionSettings;
import io.tianshu.rag.v1.DocumentChunk;
import io.tianshu.rag.v1.FusionMethod;
import io.tianshu.rag.v1.FusionSettings;
import io.tianshu.rag.v1.GetDocumentResponse;
import io.tianshu.rag.v1.Hit;
import io.tianshu.rag.v1.IngestJob;
import io.tianshu.rag.v1.IngestJobState;
import io.tianshu.rag.v1.RerankSettings;
import io.tianshu.rag.v1.RetrievalMode;
import io.tianshu.rag.v1.RetrieverScore;
import io.tianshu.rag.v1.SearchResponse;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What the /v1/rag routes answer, in the API's snake_case JSON. Enum values lose their proto
 * prefix ("INGEST_JOB_STATE_RUNNING" becomes "running"); times are epoch seconds, as in
 * OpenAI's objects.
 */
final class RagViews {

    private RagViews() {
    }

    /** settings: the collection's retrieval settings, defaults filled in; null from a RAG service without them. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record CollectionView(String object, String name, String embeddingModel, int dimension, String description,
            long documentCount, long chunkCount, long createdAt, SettingsView settings) {
        static CollectionView of(Collection c) {
            return new CollectionView("rag.collection", c.getCollectionId(), c.getEmbeddingModel(), c.getDimension(),
                    c.getDescription(), c.getDocumentCount(), c.getChunkCount(), seconds(c.getCreateTime()),
                    c.hasSettings() ? SettingsView.of(c.getSettings()) : null);
        }
    }

    /** rerank: null from a RAG service without the reranking stage. */
    record SettingsView(FusionView fusion, String language, RerankView rerank) {
        static SettingsView of(CollectionSettings s) {
            FusionSettings f = s.getFusion();
            RerankSettings r = s.getRerank();
            return new SettingsView(new FusionView(f.getVectorWeight(), f.getFullTextWeight(),
                    f.getMethod() == FusionMethod.FUSION_METHOD_UNSPECIFIED ? null
                            : name(f.getMethod().name(), "FUSION_METHOD_")),
                    s.getLanguage() == CollectionLanguage.COLLECTION_LANGUAGE_UNSPECIFIED ? "auto"
                            : name(s.getLanguage().name(), "COLLECTION_LANGUAGE_"),
                    s.hasRerank() ? new RerankView(r.getEnabled(), r.getModel(), r.getCandidates()) : null);
        }
    }

    record RerankView(boolean enabled, String model, int candidates) {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record FusionView(double vectorWeight, double fullTextWeight, String method) {
    }

    /**
     * Search hits, as a list object, with the mode that ran: the one asked for unless hybrid
     * fell back to full text because the collection's embedding model cannot read its language,
     * which fallback_reason then explains (null otherwise; mode null from an older RAG service).
     */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record SearchView(String object, List<HitView> data, String mode, String fallbackReason, String rerankModel) {
        static SearchView of(SearchResponse r) {
            return new SearchView("list", r.getHitsList().stream().map(HitView::of).toList(),
                    r.getMode() == RetrievalMode.RETRIEVAL_MODE_UNSPECIFIED ? null
                            : name(r.getMode().name(), "RETRIEVAL_MODE_"),
                    r.getFallbackReason().isEmpty() ? null : r.getFallbackReason(),
                    r.getRerankModel().isEmpty() ? null : r.getRerankModel());
        }
    }

    record ListView<T>(String object, List<T> data) {
        static <T> ListView<T> of(List<T> data) {
            return new ListView<>("list", data);
        }
    }

    /** Answer of the deletes, as OpenAI's deleted objects. */
    record Deleted(String id, String object, boolean deleted) {
    }

    /**
     * An ingest job. status "queued" waits for a slot of the RAG service: queue_position is its
     * place (1 = next), null in every other status. embedding_tokens is what the upload was
     * charged to the tenant's ingestion quota and limits.
     */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record JobView(String id, String object, String collection, String status, Integer queuePosition,
            int documentsTotal, int documentsDone, int documentsSkipped, int documentsFailed, int chunksTotal,
            int chunksDone, long embeddingTokens, String error, long createdAt, long updatedAt) {
        static JobView of(IngestJob j) {
            boolean queued = j.getState() == IngestJobState.INGEST_JOB_STATE_QUEUED;
            return new JobView(j.getJobId(), "rag.ingest_job", j.getCollectionId(),
                    name(j.getState().name(), "INGEST_JOB_STATE_"), queued ? j.getQueuePosition() : null,
                    j.getDocumentsTotal(), j.getDocumentsDone(), j.getDocumentsSkipped(), j.getDocumentsFailed(),
                    j.getChunksTotal(), j.getChunksDone(), j.getEmbeddingTokens(),
                    j.getError().isEmpty() ? null : j.getError(), seconds(j.getCreateTime()),
                    seconds(j.getUpdateTime()));
        }
    }

    /**
     * A stored document and a page of its chunks, in order. The document's text is its chunks
     * joined, each without its first overlap_chars (the sentences it repeats of the chunk
     * before); next_page_token reads the following chunks, null on the last page.
     */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record DocumentView(String id, String object, String collection, String contentType,
            Map<String, Object> metadata, int chunkCount, long updatedAt, List<ChunkView> chunks,
            String nextPageToken) {
        static DocumentView of(GetDocumentResponse r) {
            var d = r.getDocument();
            return new DocumentView(d.getDocumentId(), "rag.document", d.getCollectionId(), d.getContentType(),
                    Structs.toMap(d.getMetadata()), d.getChunkCount(), seconds(d.getUpdateTime()),
                    r.getChunksList().stream().map(ChunkView::of).toList(),
                    r.getNextPageToken().isEmpty() ? null : r.getNextPageToken());
        }
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record ChunkView(int index, String chunkId, List<String> headingPath, String text, int overlapChars) {
        static ChunkView of(DocumentChunk c) {
            return new ChunkView(c.getIndex(), c.getChunkId(), c.getHeadingPathList(), c.getText(),
                    c.getOverlapChars());
        }
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record HitView(String documentId, String chunkId, String text, List<String> headingPath,
            Map<String, Object> metadata, float score, int rank, List<RetrieverView> retrievers) {
        static HitView of(Hit h) {
            return new HitView(h.getDocumentId(), h.getChunkId(), h.getText(), h.getHeadingPathList(),
                    Structs.toMap(h.getMetadata()), h.getScore(), h.getRank(),
                    h.getRetrieverScoresList().stream().map(RetrieverView::of).toList());
        }
    }

    /**
     * One retriever's view of a hit: "vector" (cosine similarity), "full_text" (BM25), or
     * "rerank" (the reranking model's score, when the search was reranked).
     */
    record RetrieverView(String retriever, float score, int rank) {
        static RetrieverView of(RetrieverScore s) {
            return new RetrieverView(name(s.getRetriever().name(), "RETRIEVER_"), s.getScore(), s.getRank());
        }
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record CitationView(int marker, String documentId, String chunkId, List<String> headingPath, String text) {
        static CitationView of(Citation c) {
            return new CitationView(c.getMarker(), c.getDocumentId(), c.getChunkId(), c.getHeadingPathList(),
                    c.getText());
        }

        static List<CitationView> all(List<Citation> citations) {
            return citations.stream().map(CitationView::of).toList();
        }
    }

    /** The non-streaming answer. */
    record AnswerView(String object, String model, String answer, String outcome, List<CitationView> citations,
            UsageView usage) {
    }

    /** Tokens an answer used, as OpenAI's usage object; null when the service did not report them. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record UsageView(int promptTokens, int completionTokens, int totalTokens) {
        static UsageView of(AnswerResponse last) {
            if (!last.hasUsage()) {
                return null;
            }
            AnswerUsage u = last.getUsage();
            return new UsageView(u.getPromptTokens(), u.getCompletionTokens(),
                    u.getPromptTokens() + u.getCompletionTokens());
        }
    }

    /** A streamed answer's text since the previous event. */
    record AnswerDelta(String type, String text) {
        AnswerDelta(String text) {
            this("answer.delta", text);
        }
    }

    /**
     * The last event of a streamed answer: the [n] markers used and the chunks they cite, the
     * model that answered and the tokens it used.
     */
    record AnswerCitations(String type, String outcome, List<CitationView> citations, String model, UsageView usage) {
        AnswerCitations(String outcome, List<CitationView> citations, String model, UsageView usage) {
            this("answer.citations", outcome, citations, model, usage);
        }
    }

    static String outcome(AnswerOutcome outcome) {
        return name(outcome.name(), "ANSWER_OUTCOME_");
    }

    private static String name(String enumName, String prefix) {
        // UNRECOGNIZED: a value newer than this gateway's copy of the contract.
        String bare = enumName.startsWith(prefix) ? enumName.substring(prefix.length()) : enumName;
        return bare.toLowerCase(Locale.ROOT);
    }

    private static long seconds(Timestamp t) {
        return t.getSeconds();
    }
}
