package io.tianshu.gateway.rag;

import com.google.protobuf.Any;
import com.google.protobuf.Timestamp;
import com.google.rpc.BadRequest;
import com.google.rpc.Code;
import com.google.rpc.ErrorInfo;
import com.google.rpc.QuotaFailure;
import io.grpc.Status;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.StreamObserver;
import io.tianshu.rag.v1.AnswerOutcome;
import io.tianshu.rag.v1.AnswerRequest;
import io.tianshu.rag.v1.AnswerResponse;
import io.tianshu.rag.v1.AnswerUsage;
import io.tianshu.rag.v1.Citation;
import io.tianshu.rag.v1.Collection;
import io.tianshu.rag.v1.CollectionLanguage;
import io.tianshu.rag.v1.CollectionSettings;
import io.tianshu.rag.v1.CreateCollectionRequest;
import io.tianshu.rag.v1.CreateCollectionResponse;
import io.tianshu.rag.v1.DeleteCollectionRequest;
import io.tianshu.rag.v1.DeleteCollectionResponse;
import io.tianshu.rag.v1.DeleteDocumentRequest;
import io.tianshu.rag.v1.DeleteDocumentResponse;
import io.tianshu.rag.v1.Document;
import io.tianshu.rag.v1.DocumentChunk;
import io.tianshu.rag.v1.FusionMethod;
import io.tianshu.rag.v1.FusionSettings;
import io.tianshu.rag.v1.GetDocumentRequest;
import io.tianshu.rag.v1.GetDocumentResponse;
import io.tianshu.rag.v1.GetIngestJobRequest;
import io.tianshu.rag.v1.GetIngestJobResponse;
import io.tianshu.rag.v1.Hit;
import io.tianshu.rag.v1.IngestDocumentsRequest;
import io.tianshu.rag.v1.IngestDocumentsResponse;
import io.tianshu.rag.v1.IngestJob;
import io.tianshu.rag.v1.IngestJobState;
import io.tianshu.rag.v1.ListCollectionsRequest;
import io.tianshu.rag.v1.ListCollectionsResponse;
import io.tianshu.rag.v1.RagServiceGrpc;
import io.tianshu.rag.v1.RerankSettings;
import io.tianshu.rag.v1.RetrievalMode;
import io.tianshu.rag.v1.Retriever;
import io.tianshu.rag.v1.RetrieverScore;
import io.tianshu.rag.v1.SearchRequest;
import io.tianshu.rag.v1.SearchResponse;
import io.tianshu.rag.v1.StoredDocument;
import io.tianshu.rag.v1.WatchIngestJobRequest;
import io.tianshu.rag.v1.WatchIngestJobResponse;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * RagService keeping collections and jobs in memory per tenant, as the real one scopes them:
 * another tenant's collection or job is NOT_FOUND. Search and Answer give canned results;
 * a query or question names the failure to simulate. Every collection keeps its documents, which
 * GetDocument reads back; collections named like vector stores ("vs_...") answer searches with
 * them, one hit per document in the order ingested, similarities 0.9, 0.8, ...
 */
public class FakeRagService extends RagServiceGrpc.RagServiceImplBase {

    /** Content of a document the service refuses as unreadable (INVALID_ARGUMENT naming documents[i]). */
    public static final String UNREADABLE = "%unreadable";
    /** A filter key the fake refuses as the real service refuses a key over its length limit. */
    public static final String REFUSED_KEY = "refused-key";
    /** The largest chunk the fake takes, as the real service's max_chunk_tokens. */
    public static final int MAX_CHUNK_TOKENS = 256;

    /** A query or question answered with FAILED_PRECONDITION (another embedding model). */
    static final String MISMATCH = "model-mismatch";
    /** A query answered with INVALID_ARGUMENT naming options.top_k in a BadRequest detail. */
    static final String BAD_TOP_K = "bad-top-k";
    /** A query never answered: only the caller's deadline ends the call. */
    static final String NEVER_ANSWERED = "never-answered";
    /** A query failed with UNAVAILABLE whose description carries {@link #INTERNALS}. */
    static final String LEAKY_FAILURE = "leaky-failure";
    /** What a failing backend's description may hold and a caller must never read. */
    static final String INTERNALS = "io exception [remote_addr=/10.1.2.3:50052] Traceback (most recent call last): "
            + "File \"/srv/tianshu_rag/retrieval/hybrid.py\", line 42";
    /** A question whose answer stream fails after its first text. */
    static final String FAIL_MID_ANSWER = "fail-mid-answer";
    // Searches of this collection fall back to full text, as the RAG service's do for a Chinese
    // collection whose embedding model reads English only.
    static final String CHINESE_COLLECTION = "zh-docs";
    static final String CHINESE_FALLBACK = "collection 'zh-docs' is mostly Chinese (93% of its terms) and its "
            + "embedding model 'tiny-embed' reads English only: full-text search alone";
    /** Tokens every completed answer reports on its last message. */
    static final int PROMPT_TOKENS = 120;
    static final int COMPLETION_TOKENS = 3;

    final AtomicReference<CreateCollectionRequest> lastCreate = new AtomicReference<>();
    public final AtomicReference<IngestDocumentsRequest> lastIngest = new AtomicReference<>();
    /** Every IngestDocuments call, to tell which tenant's uploads reached the service. */
    public final List<IngestDocumentsRequest> ingests = new CopyOnWriteArrayList<>();
    public final AtomicReference<SearchRequest> lastSearch = new AtomicReference<>();
    public final AtomicReference<GetDocumentRequest> lastGetDocument = new AtomicReference<>();
    /** Every DeleteDocument and DeleteCollection call, as "tenant/collection[/document]". */
    public final List<String> deletions = new CopyOnWriteArrayList<>();
    final AtomicReference<AnswerRequest> lastAnswer = new AtomicReference<>();
    /** Every Search and Answer call, to tell which tenant's calls reached the service. */
    public final List<SearchRequest> searches = new CopyOnWriteArrayList<>();
    final List<AnswerRequest> answers = new CopyOnWriteArrayList<>();
    private final Map<String, Collection> collections = new ConcurrentHashMap<>();
    private final Map<String, IngestJob> jobs = new ConcurrentHashMap<>();
    private final AtomicInteger jobNumbers = new AtomicInteger();
    /** The job of the last accepted ingest call of each collection (by collection id). */
    private final Map<String, String> lastJobs = new ConcurrentHashMap<>();
    /** Documents of "vs_" collections, by tenant/collection, in the order ingested. */
    private final Map<String, Map<String, Document>> documents = new ConcurrentHashMap<>();

    @Override
    public void createCollection(CreateCollectionRequest request, StreamObserver<CreateCollectionResponse> out) {
        lastCreate.set(request);
        FusionSettings asked = request.getSettings().getFusion();
        // The RAG service fills in its defaults (1 here) for the weights a request leaves unset.
        FusionSettings fusion = FusionSettings.newBuilder()
                .setVectorWeight(asked.hasVectorWeight() ? asked.getVectorWeight() : 1)
                .setFullTextWeight(asked.hasFullTextWeight() ? asked.getFullTextWeight() : 1)
                .setMethod(asked.getMethod() == FusionMethod.FUSION_METHOD_UNSPECIFIED ? FusionMethod.FUSION_METHOD_SCORE
                        : asked.getMethod()).build();
        Collection collection = Collection.newBuilder().setTenantId(request.getTenantId())
                .setCollectionId(request.getCollectionId()).setEmbeddingModel("tiny-embed").setDimension(384)
                .setDescription(request.getDescription()).setCreateTime(Timestamp.newBuilder().setSeconds(1700000000))
                .setSettings(CollectionSettings.newBuilder().setFusion(fusion).setLanguage(
                        request.getSettings().getLanguage() == CollectionLanguage.COLLECTION_LANGUAGE_UNSPECIFIED
                                ? CollectionLanguage.COLLECTION_LANGUAGE_AUTO : request.getSettings().getLanguage())
                        .setRerank(RerankSettings.newBuilder()
                        .setEnabled(request.getSettings().getRerank().getEnabled())
                        .setModel(request.getSettings().getRerank().getModel().isEmpty() ? "tiny-embed"
                                : request.getSettings().getRerank().getModel())
                        .setCandidates(request.getSettings().getRerank().getCandidates() > 0
                                ? request.getSettings().getRerank().getCandidates() : 30)))
                .build();
        if (collections.putIfAbsent(key(request.getTenantId(), request.getCollectionId()), collection) != null) {
            out.onError(Status.ALREADY_EXISTS.withDescription("collection '" + request.getCollectionId()
                    + "' already exists").asRuntimeException());
            return;
        }
        reply(out, CreateCollectionResponse.newBuilder().setCollection(collection).build());
    }

    @Override
    public void listCollections(ListCollectionsRequest request, StreamObserver<ListCollectionsResponse> out) {
        reply(out, ListCollectionsResponse.newBuilder().addAllCollections(collections.values().stream()
                .filter(c -> c.getTenantId().equals(request.getTenantId())).toList()).build());
    }

    @Override
    public void deleteCollection(DeleteCollectionRequest request, StreamObserver<DeleteCollectionResponse> out) {
        deletions.add(key(request.getTenantId(), request.getCollectionId()));
        documents.remove(key(request.getTenantId(), request.getCollectionId()));
        if (collections.remove(key(request.getTenantId(), request.getCollectionId())) == null) {
            out.onError(notFound("collection '" + request.getCollectionId() + "'"));
            return;
        }
        reply(out, DeleteCollectionResponse.getDefaultInstance());
    }

    /**
     * A queued job, or RESOURCE_EXHAUSTED with a QuotaFailure and an ErrorInfo as the real service refuses an
     * upload over max_embedding_tokens, before it stores anything. The fake counts one embedding
     * token per byte of content ({@link #embeddingTokens}).
     */
    @Override
    public void ingestDocuments(IngestDocumentsRequest request, StreamObserver<IngestDocumentsResponse> out) {
        lastIngest.set(request);
        ingests.add(request);
        if (missing(request.getTenantId(), request.getCollectionId(), out)) {
            return;
        }
        if (request.hasChunking() && request.getChunking().getMaxChunkTokens() > MAX_CHUNK_TOKENS) {
            invalid(out, "chunking.max_chunk_tokens", "must be in 17.." + MAX_CHUNK_TOKENS
                    + " (the most the embedding model reads), got " + request.getChunking().getMaxChunkTokens());
            return;
        }
        for (int i = 0; i < request.getDocumentsCount(); i++) {
            Document document = request.getDocuments(i);
            if (document.getContent().toStringUtf8().startsWith(UNREADABLE)) {
                invalid(out, "documents[" + i + "]", "document '" + document.getDocumentId() + "': cannot read it");
                return;
            }
        }
        long needed = embeddingTokens(request);
        long max = request.getMaxEmbeddingTokens();
        if (max > 0 && needed > max) {
            String message = "the documents need " + needed + " embedding tokens, more than max_embedding_tokens ("
                    + max + ")";
            out.onError(StatusProto.toStatusRuntimeException(com.google.rpc.Status.newBuilder()
                    .setCode(Code.RESOURCE_EXHAUSTED_VALUE).setMessage(message)
                    .addDetails(Any.pack(QuotaFailure.newBuilder().addViolations(QuotaFailure.Violation.newBuilder()
                            .setSubject("tenant:" + request.getTenantId()).setDescription(message)
                            .setQuotaId("max_embedding_tokens").setQuotaValue(max)).build()))
                    .addDetails(Any.pack(ErrorInfo.newBuilder().setReason(OverQuota.REASON)
                            .setDomain("rag.tianshu.io").putMetadata(OverQuota.NEEDED, Long.toString(needed))
                            .putMetadata("max_embedding_tokens", Long.toString(max)).build()))
                    .build()));
            return;
        }
        Collection collection = collections.get(key(request.getTenantId(), request.getCollectionId()));
        IngestJob job = IngestJob.newBuilder().setJobId("job-" + jobNumbers.getAndIncrement())
                .setTenantId(request.getTenantId())
                .setCollectionId(request.getCollectionId()).setState(IngestJobState.INGEST_JOB_STATE_QUEUED)
                .setQueuePosition(1).setDocumentsTotal(request.getDocumentsCount()).setEmbeddingTokens(needed)
                .setEmbeddingModel(collection.getEmbeddingModel()).build();
        jobs.put(job.getJobId(), job);
        lastJobs.put(request.getCollectionId(), job.getJobId());
        Map<String, Document> stored = documents.computeIfAbsent(key(request.getTenantId(),
                request.getCollectionId()), k -> Collections.synchronizedMap(new LinkedHashMap<>()));
        request.getDocumentsList().forEach(d -> stored.put(d.getDocumentId(), d));
        reply(out, IngestDocumentsResponse.newBuilder().setJob(job).build());
    }

    /** The job of the last accepted ingest call into the collection. */
    public String lastJob(String collectionId) {
        return lastJobs.get(collectionId);
    }

    /** Ends a job as the real service would: SUCCEEDED, or FAILED with the error. */
    public void finish(String jobId, IngestJobState state, String error) {
        jobs.computeIfPresent(jobId, (id, job) -> job.toBuilder().setState(state).setQueuePosition(0)
                .setError(error).build());
    }

    /** Forgets a job, as a RAG database that was reset would. */
    public void forget(String jobId) {
        jobs.remove(jobId);
    }

    private static void invalid(StreamObserver<?> out, String field, String reason) {
        out.onError(StatusProto.toStatusRuntimeException(com.google.rpc.Status.newBuilder()
                .setCode(Code.INVALID_ARGUMENT_VALUE).setMessage(field + ": " + reason)
                .addDetails(Any.pack(BadRequest.newBuilder().addFieldViolations(BadRequest.FieldViolation
                        .newBuilder().setField(field).setDescription(reason)).build()))
                .build()));
    }

    /** The fake's count: one embedding token per byte of every document's content. */
    static long embeddingTokens(IngestDocumentsRequest request) {
        return request.getDocumentsList().stream().mapToLong(d -> d.getContent().size()).sum();
    }

    @Override
    public void getIngestJob(GetIngestJobRequest request, StreamObserver<GetIngestJobResponse> out) {
        IngestJob job = job(request.getTenantId(), request.getJobId(), out);
        if (job == null) {
            return;
        }
        reply(out, GetIngestJobResponse.newBuilder().setJob(job).build());
    }

    /** The job as it was queued, running half done, then succeeded. */
    @Override
    public void watchIngestJob(WatchIngestJobRequest request, StreamObserver<WatchIngestJobResponse> out) {
        IngestJob job = job(request.getTenantId(), request.getJobId(), out);
        if (job == null) {
            return;
        }
        out.onNext(WatchIngestJobResponse.newBuilder().setJob(job).build());
        IngestJob running = job.toBuilder().setState(IngestJobState.INGEST_JOB_STATE_RUNNING).setQueuePosition(0)
                .setChunksTotal(2).build();
        out.onNext(WatchIngestJobResponse.newBuilder().setJob(running.toBuilder().setChunksDone(1)).build());
        out.onNext(WatchIngestJobResponse.newBuilder().setJob(running.toBuilder().setChunksDone(2)
                .setDocumentsDone(job.getDocumentsTotal()).setState(IngestJobState.INGEST_JOB_STATE_SUCCEEDED))
                .build());
        out.onCompleted();
    }

    @Override
    public void deleteDocument(DeleteDocumentRequest request, StreamObserver<DeleteDocumentResponse> out) {
        if (missing(request.getTenantId(), request.getCollectionId(), out)) {
            return;
        }
        deletions.add(key(request.getTenantId(), request.getCollectionId()) + "/" + request.getDocumentId());
        Map<String, Document> stored = documents.get(key(request.getTenantId(), request.getCollectionId()));
        if (stored != null) {
            stored.remove(request.getDocumentId());
        }
        reply(out, DeleteDocumentResponse.getDefaultInstance());
    }

    /**
     * A stored document as the real service reads one back: its paragraphs are its chunks, each
     * after the first repeating the paragraph before it (overlap_chars of it), pages of
     * page_size chunks (0 = 100) whose token is the next chunk's index.
     */
    @Override
    public void getDocument(GetDocumentRequest request, StreamObserver<GetDocumentResponse> out) {
        lastGetDocument.set(request);
        if (missing(request.getTenantId(), request.getCollectionId(), out)) {
            return;
        }
        Document document = documents.getOrDefault(key(request.getTenantId(), request.getCollectionId()), Map.of())
                .get(request.getDocumentId());
        if (document == null) {
            out.onError(notFound("document '" + request.getDocumentId() + "'"));
            return;
        }
        String[] paragraphs = document.getContent().toStringUtf8().split("\n\n");
        int first = request.getPageToken().isEmpty() ? 0 : Integer.parseInt(request.getPageToken());
        int end = Math.min(paragraphs.length, first + (request.getPageSize() == 0 ? 100 : request.getPageSize()));
        GetDocumentResponse.Builder page = GetDocumentResponse.newBuilder().setDocument(StoredDocument.newBuilder()
                .setDocumentId(document.getDocumentId()).setCollectionId(request.getCollectionId())
                .setContentType(document.getContentType()).setMetadata(document.getMetadata())
                .setChunkCount(paragraphs.length).setUpdateTime(Timestamp.newBuilder().setSeconds(1700000100)));
        for (int i = first; i < end; i++) {
            String repeated = i == 0 ? "" : paragraphs[i - 1] + "\n\n";
            page.addChunks(DocumentChunk.newBuilder().setIndex(i).setChunkId(document.getDocumentId() + "#" + i)
                    .addHeadingPath("Doc").setText(repeated + paragraphs[i])
                    .setOverlapChars(i == 0 ? 0 : paragraphs[i - 1].length()));
        }
        reply(out, page.setNextPageToken(end < paragraphs.length ? Integer.toString(end) : "").build());
    }

    @Override
    public void search(SearchRequest request, StreamObserver<SearchResponse> out) {
        lastSearch.set(request);
        searches.add(request);
        if (failed(request.getQuery(), out)) {
            return;
        }
        if (request.getCollectionId().startsWith("vs_")) {
            if (missing(request.getTenantId(), request.getCollectionId(), out)) {
                return;
            }
            if (request.getOptions().getMetadataCondition().getComparison().getKey().equals(REFUSED_KEY)) {
                invalid(out, "options.metadata_condition.comparison.key", "must have 1 to 128 characters");
                return;
            }
            reply(out, storedHits(request));
            return;
        }
        RetrievalMode asked = request.getOptions().getMode();
        SearchResponse.Builder response = SearchResponse.newBuilder().setMode(
                asked == RetrievalMode.RETRIEVAL_MODE_UNSPECIFIED ? RetrievalMode.RETRIEVAL_MODE_HYBRID : asked);
        if (request.getCollectionId().equals(CHINESE_COLLECTION)) {
            response.setMode(RetrievalMode.RETRIEVAL_MODE_FULL_TEXT).setFallbackReason(CHINESE_FALLBACK);
        }
        if (request.getOptions().getRerank().getEnabled()) {
            response.setRerankModel(request.getOptions().getRerank().getModel().isEmpty() ? "tiny-embed"
                    : request.getOptions().getRerank().getModel());
        }
        reply(out, response.addHits(Hit.newBuilder().setDocumentId("runbook")
                .setChunkId("runbook#1").setText("Drain traffic first.").addHeadingPath("Ops").addHeadingPath("Restart")
                .setScore(0.03f).setRank(1)
                .addRetrieverScores(RetrieverScore.newBuilder().setRetriever(Retriever.RETRIEVER_VECTOR)
                        .setScore(0.8f).setRank(1))
                .addRetrieverScores(RetrieverScore.newBuilder().setRetriever(Retriever.RETRIEVER_FULL_TEXT)
                        .setScore(0.1f).setRank(2)))
                .build());
    }

    private SearchResponse storedHits(SearchRequest request) {
        SearchResponse.Builder hits = SearchResponse.newBuilder();
        Map<String, Document> stored = documents.getOrDefault(key(request.getTenantId(), request.getCollectionId()),
                Map.of());
        int rank = 1;
        synchronized (stored) {
            for (Document document : stored.values()) {
                if (rank > request.getOptions().getTopK()) {
                    break;
                }
                float similarity = 1f - rank / 10f;
                hits.addHits(Hit.newBuilder().setDocumentId(document.getDocumentId())
                        .setChunkId(document.getDocumentId() + "#0").setText(document.getContent().toStringUtf8())
                        .setMetadata(document.getMetadata()).setScore(1f / (60 + rank)).setRank(rank)
                        .setSimilarity(similarity));
                rank++;
            }
        }
        return hits.build();
    }

    /** "Drain first [1]." in two pieces, then the citation of [1] with the model asked for and the usage. */
    @Override
    public void answer(AnswerRequest request, StreamObserver<AnswerResponse> out) {
        lastAnswer.set(request);
        answers.add(request);
        if (failed(request.getQuestion(), out)) {
            return;
        }
        out.onNext(AnswerResponse.newBuilder().setText("Drain ").build());
        if (request.getQuestion().equals(FAIL_MID_ANSWER)) {
            out.onError(Status.INTERNAL.withDescription(INTERNALS).asRuntimeException());
            return;
        }
        out.onNext(AnswerResponse.newBuilder().setText("first [1].").build());
        out.onNext(AnswerResponse.newBuilder().setOutcome(AnswerOutcome.ANSWER_OUTCOME_ANSWERED)
                .addCitations(Citation.newBuilder().setMarker(1).setDocumentId("runbook").setChunkId("runbook#1")
                        .addHeadingPath("Ops").setText("Drain traffic first."))
                .setModel(request.getModel())
                .setUsage(AnswerUsage.newBuilder().setPromptTokens(PROMPT_TOKENS)
                        .setCompletionTokens(COMPLETION_TOKENS))
                .build());
        out.onCompleted();
    }

    private static boolean failed(String text, StreamObserver<?> out) {
        if (text.equals(MISMATCH)) {
            out.onError(Status.FAILED_PRECONDITION.withDescription("the collection uses 'tiny-embed', not 'other'")
                    .asRuntimeException());
            return true;
        }
        if (text.equals(NEVER_ANSWERED)) {
            return true;
        }
        if (text.equals(LEAKY_FAILURE)) {
            out.onError(Status.UNAVAILABLE.withDescription(INTERNALS).asRuntimeException());
            return true;
        }
        if (text.equals(BAD_TOP_K)) {
            out.onError(StatusProto.toStatusRuntimeException(com.google.rpc.Status.newBuilder()
                    .setCode(Code.INVALID_ARGUMENT_VALUE).setMessage("options.top_k: must be in 1..100")
                    .addDetails(Any.pack(BadRequest.newBuilder().addFieldViolations(BadRequest.FieldViolation
                            .newBuilder().setField("options.top_k").setDescription("must be in 1..100")).build()))
                    .build()));
            return true;
        }
        return false;
    }

    private boolean missing(String tenant, String collection, StreamObserver<?> out) {
        if (collections.containsKey(key(tenant, collection))) {
            return false;
        }
        out.onError(notFound("collection '" + collection + "'"));
        return true;
    }

    /** The tenant's job, or null after failing the call with NOT_FOUND. */
    private IngestJob job(String tenant, String id, StreamObserver<?> out) {
        IngestJob job = jobs.get(id);
        if (job == null || !job.getTenantId().equals(tenant)) {
            out.onError(notFound("job '" + id + "'"));
            return null;
        }
        return job;
    }

    private static <T> void reply(StreamObserver<T> out, T response) {
        out.onNext(response);
        out.onCompleted();
    }

    private static RuntimeException notFound(String what) {
        return Status.NOT_FOUND.withDescription(what + " not found").asRuntimeException();
    }

    private static String key(String tenant, String collection) {
        return tenant + "/" + collection;
    }

    List<AnswerRequest> answersOf(String tenant) {
        return answers.stream().filter(a -> a.getTenantId().equals(tenant)).toList();
    }

    public List<IngestDocumentsRequest> ingestsOf(String tenant) {
        return ingests.stream().filter(i -> i.getTenantId().equals(tenant)).toList();
    }

    List<SearchRequest> searchesOf(String tenant) {
        return searches.stream().filter(a -> a.getTenantId().equals(tenant)).toList();
    }

    public List<Collection> collectionsOf(String tenant) {
        return collections.values().stream().filter(c -> c.getTenantId().equals(tenant)).toList();
    }
}
