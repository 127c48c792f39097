package io.tianshu.gateway.vectorstores;

import static io.tianshu.gateway.error.ApiException.invalidRequest;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.ByteString;
import com.google.rpc.BadRequest;
import io.grpc.Status;
import io.tianshu.gateway.auth.Caller;
import io.tianshu.gateway.db.Blocking;
import io.tianshu.gateway.error.ApiException;
import io.tianshu.gateway.error.FieldViolations;
import io.tianshu.gateway.files.FileStore;
import io.tianshu.gateway.rag.RagAdmission;
import io.tianshu.gateway.rag.RagClient;
import io.tianshu.rag.v1.Document;
import io.tianshu.rag.v1.IngestDocumentsRequest;
import io.tianshu.rag.v1.IngestJob;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.springframework.http.HttpHeaders;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Mono;

/**
 * Adds uploaded documents to a store: every file of one call goes to the RAG service as one
 * IngestDocuments call (one ingest job), admitted as an upload (RagAdmission.ingest: the
 * tenant's ingestion quota, one request of its rate limits, its embedding tokens charged).
 *
 * <p>A document the RAG service refuses (unreadable, empty, too large: INVALID_ARGUMENT naming
 * {@code documents[i]}) does not refuse the others: it is recorded as a failed file with the
 * service's reason as last_error (invalid_file), and the call is sent again without it, as
 * OpenAI reports a file it cannot read as failed rather than refusing the request.
 */
@Component
class FileAttacher {

    // What one ingest call may carry: the RAG service reads messages up to its
    // max_message_bytes, 64 MiB by default; the rest is left for the message's other fields.
    static final long MAX_CALL_BYTES = 48L * 1024 * 1024;
    private static final Pattern DOCUMENT_FIELD = Pattern.compile("^documents\\[(\\d+)]");

    /** A file asked for, named by the request field that asked for it (file_id, file_ids[2], ...). */
    record Requested(String fileId, String param, ObjectNode attributes, ChunkingStrategies.Strategy chunking) {
    }

    /** A requested file that exists, is the caller's and is a document. */
    record Resolved(Requested requested, FileStore.StoredFile file) {
    }

    private final FileStore files;
    private final VectorStoreRepository repository;
    private final RagClient rag;
    private final RagAdmission admission;

    FileAttacher(FileStore files, VectorStoreRepository repository, RagClient rag, RagAdmission admission) {
        this.files = files;
        this.repository = repository;
        this.rag = rag;
        this.admission = admission;
    }

    /**
     * The files, or the first refusal naming its field: listed twice (400), not the tenant's
     * (404, as a missing one), not of purpose assistants (400), a chunking strategy that
     * differs from the others' (400), more bytes than one call carries (400), already in the
     * store (409). Blocking.
     *
     * @param storeId the store they go to; null for a store not created yet
     */
    List<Resolved> resolve(String tenant, String storeId, List<Requested> requested) {
        Set<String> seen = new HashSet<>();
        List<Resolved> resolved = new ArrayList<>(requested.size());
        long bytes = 0;
        for (Requested r : requested) {
            if (!seen.add(r.fileId())) {
                throw invalidRequest("File " + r.fileId() + " is listed twice.", r.param());
            }
            if (!r.chunking().equals(requested.get(0).chunking())) {
                throw invalidRequest("Every file of one call must have the same chunking_strategy here.",
                        r.param() + ".chunking_strategy");
            }
            FileStore.StoredFile file = files.find(tenant, r.fileId())
                    .orElseThrow(() -> ApiException.fileNotFound(r.fileId(), r.param()));
            if (!FileStore.ASSISTANTS.equals(file.purpose())) {
                throw VectorStoreErrors.notADocument(r.fileId(), file.purpose(), r.param());
            }
            bytes += file.bytes();
            if (bytes > MAX_CALL_BYTES) {
                throw invalidRequest("The files of one call may hold at most " + MAX_CALL_BYTES / (1024 * 1024)
                        + " MiB together; " + r.fileId() + " goes past it. Add the files in several calls.",
                        r.param());
            }
            resolved.add(new Resolved(r, file));
        }
        if (storeId != null && !seen.isEmpty()) {
            List<String> held = repository.heldFiles(storeId, seen);
            requested.stream().filter(r -> held.contains(r.fileId())).findFirst().ifPresent(r -> {
                throw VectorStoreErrors.alreadyAttached(storeId, r.fileId(), r.param());
            });
        }
        return resolved;
    }

    /**
     * Sends the files and records them in the store: in_progress with the job, or failed with
     * the RAG service's reason.
     *
     * @param batchId the batch they belong to, or null
     * @return the store's records of the files, in the order given
     */
    Mono<List<VectorStoreRepository.FileRow>> attach(Caller caller, String storeId, List<Resolved> resolved,
            String batchId, String requestId, HttpHeaders responseHeaders) {
        if (resolved.isEmpty()) {
            return Mono.just(List.of());
        }
        Map<String, String> refused = new HashMap<>();
        return Blocking.call(() -> documents(resolved))
                .flatMap(documents -> {
                    IngestDocumentsRequest.Builder request = IngestDocumentsRequest.newBuilder()
                            .setTenantId(caller.tenant()).setCollectionId(storeId);
                    ChunkingStrategies.Strategy strategy = resolved.get(0).requested().chunking();
                    if (strategy.chunking() != null) {
                        request.setChunking(strategy.chunking());
                    }
                    return admission.ingest(caller, requestId, responseHeaders,
                            maxTokens -> send(request.setMaxEmbeddingTokens(maxTokens), new ArrayList<>(documents),
                                    refused, requestId));
                })
                .onErrorMap(FileAttacher::chunkingRefusal)
                .map(Optional::of)
                .defaultIfEmpty(Optional.empty())
                .flatMap(job -> Blocking.call(() -> record(caller.tenant(), storeId, resolved, batchId,
                        job.orElse(null), refused)));
    }

    private List<Document> documents(List<Resolved> resolved) {
        List<Document> documents = new ArrayList<>(resolved.size());
        for (Resolved r : resolved) {
            try (InputStream in = files.open(r.file())) {
                documents.add(Document.newBuilder()
                        .setDocumentId(r.file().id())
                        .setContent(ByteString.readFrom(in))
                        .setContentType(r.file().contentType())
                        .setMetadata(Attributes.metadata(r.requested().attributes()))
                        .build());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return documents;
    }

    /** One IngestDocuments call; again without each document the service refuses, until none is left. */
    private Mono<IngestJob> send(IngestDocumentsRequest.Builder request, List<Document> pending,
            Map<String, String> refused, String requestId) {
        if (pending.isEmpty()) {
            return Mono.empty();
        }
        return rag.ingest(request.clearDocuments().addAllDocuments(pending).build(), requestId)
                .onErrorResume(failure -> {
                    Refusal refusal = Refusal.of(failure);
                    if (refusal == null || refusal.index() >= pending.size()) {
                        return Mono.error(failure);
                    }
                    refused.put(pending.remove(refusal.index()).getDocumentId(), refusal.reason());
                    return send(request, pending, refused, requestId);
                });
    }

    private List<VectorStoreRepository.FileRow> record(String tenant, String storeId, List<Resolved> resolved,
            String batchId, IngestJob job, Map<String, String> refused) {
        List<VectorStoreRepository.FileRow> rows = new ArrayList<>(resolved.size());
        for (Resolved r : resolved) {
            String reason = refused.get(r.file().id());
            VectorStoreRepository.FileRow row = new VectorStoreRepository.FileRow(storeId, r.file().id(),
                    r.file().filename(), r.file().bytes(), batchId, reason == null ? job.getJobId() : null,
                    reason == null ? "in_progress" : "failed", 0, reason == null ? null : "invalid_file", reason,
                    r.requested().attributes(), r.requested().chunking().reported(), 0);
            // A call that raced this one for the same file recorded it first; its record stands.
            repository.putFile(tenant, row);
            repository.findFile(tenant, storeId, r.file().id()).ifPresent(rows::add);
        }
        repository.touch(storeId);
        return rows;
    }

    /** The RAG service's refusal of one document of the call: its index and the reason. */
    private record Refusal(int index, String reason) {
        static Refusal of(Throwable failure) {
            if (Status.fromThrowable(failure).getCode() != Status.Code.INVALID_ARGUMENT) {
                return null;
            }
            for (BadRequest.FieldViolation violation : FieldViolations.of(failure)) {
                Matcher document = DOCUMENT_FIELD.matcher(violation.getField());
                if (document.find()) {
                    return new Refusal(Integer.parseInt(document.group(1)), violation.getDescription());
                }
            }
            return null;
        }
    }

    /** The RAG service's refusal of the chunk sizes, named as the caller wrote them. */
    private static Throwable chunkingRefusal(Throwable failure) {
        if (Status.fromThrowable(failure).getCode() != Status.Code.INVALID_ARGUMENT) {
            return failure;
        }
        String description = Status.fromThrowable(failure).getDescription();
        if (description == null || !description.startsWith("chunking.")) {
            return failure;
        }
        return invalidRequest("The RAG service refused the chunking_strategy: " + description, "chunking_strategy");
    }
}
