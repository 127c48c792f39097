package io.tianshu.gateway.batches;

import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import com.google.protobuf.Timestamp;
import io.swagger.v3.oas.annotations.media.Schema;
import io.tianshu.jobs.v1.Batch;
import io.tianshu.jobs.v1.BatchStatus;
import io.tianshu.jobs.v1.Endpoint;
import io.tianshu.jobs.v1.WebhookDelivery;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * OpenAI's Batch object and list, from JobsService's Batch. Statuses lose their proto prefix
 * ("BATCH_STATUS_CANCELLING" becomes "cancelling"); times are epoch seconds, null until they
 * happen. {@code webhook} is Tianshu's extension: the completion callback and its delivery.
 */
final class BatchViews {

    private BatchViews() {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record BatchObject(String id, String object, String endpoint, Errors errors, String inputFileId,
            String completionWindow, String status, String outputFileId, String errorFileId, long createdAt,
            Long inProgressAt, Long expiresAt, Long finalizingAt, Long completedAt, Long failedAt, Long expiredAt,
            Long cancellingAt, Long cancelledAt, RequestCounts requestCounts, Map<String, String> metadata,
            Usage usage, Webhook webhook) {

        /** @param inputFileId the file the batch was made from; "" for batches submitted another way */
        static BatchObject of(Batch b, String inputFileId) {
            // Qualified: the record's own accessors endpoint() and errors() would hide these.
            return new BatchObject(b.getBatchId(), "batch", BatchViews.endpoint(b.getEndpoint()),
                    BatchViews.errors(b), inputFileId,
                    b.getCompletionWindow(), name(b.getStatus()),
                    BatchResultFiles.hasOutput(b) ? BatchResultFiles.outputId(b.getBatchId()) : null,
                    BatchResultFiles.hasErrors(b) ? BatchResultFiles.errorsId(b.getBatchId()) : null,
                    b.getCreatedAt().getSeconds(),
                    b.hasInProgressAt() ? seconds(b.getInProgressAt()) : null,
                    b.hasExpiresAt() ? seconds(b.getExpiresAt()) : null,
                    b.hasFinalizingAt() ? seconds(b.getFinalizingAt()) : null,
                    b.hasCompletedAt() ? seconds(b.getCompletedAt()) : null,
                    b.hasFailedAt() ? seconds(b.getFailedAt()) : null,
                    b.hasExpiredAt() ? seconds(b.getExpiredAt()) : null,
                    b.hasCancellingAt() ? seconds(b.getCancellingAt()) : null,
                    b.hasCancelledAt() ? seconds(b.getCancelledAt()) : null,
                    new RequestCounts(b.getRequestCounts().getTotal(), b.getRequestCounts().getCompleted(),
                            b.getRequestCounts().getFailed()),
                    b.getMetadataMap(), Usage.of(b), b.hasWebhook() ? Webhook.of(b.getWebhook()) : null);
        }
    }

    record RequestCounts(int total, int completed, int failed) {
    }

    /** OpenAI's usage shape; the engine reports neither cached nor reasoning tokens, hence 0. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    @Schema(name = "BatchUsage")
    record Usage(long inputTokens, InputDetails inputTokensDetails, long outputTokens,
            OutputDetails outputTokensDetails, long totalTokens) {
        static Usage of(Batch b) {
            return new Usage(b.getUsage().getPromptTokens(), new InputDetails(0),
                    b.getUsage().getCompletionTokens(), new OutputDetails(0), b.getUsage().getTotalTokens());
        }
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record InputDetails(long cachedTokens) {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record OutputDetails(long reasoningTokens) {
    }

    /** Why a batch failed, in OpenAI's {object: "list", data: [{code, message, param, line}]}. */
    record Errors(String object, List<Error> data) {
    }

    record Error(String code, String message, String param, Integer line) {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Webhook(String url, String status, int attempts, int lastStatusCode, String lastError, Long deliveredAt,
            Long nextAttemptAt) {
        static Webhook of(WebhookDelivery w) {
            return new Webhook(w.getUrl(), w.getStatus().name().replaceFirst("^WEBHOOK_STATUS_", "")
                    .toLowerCase(Locale.ROOT), w.getAttempts(), w.getLastStatusCode(),
                    w.getLastError().isEmpty() ? null : w.getLastError(),
                    w.hasDeliveredAt() ? seconds(w.getDeliveredAt()) : null,
                    w.hasNextAttemptAt() ? seconds(w.getNextAttemptAt()) : null);
        }
    }

    /** A page of batches, paginated as OpenAI's lists are: pass last_id as after for the next. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record BatchList(String object, List<BatchObject> data, String firstId, String lastId, boolean hasMore) {
        static BatchList of(List<BatchObject> data, boolean hasMore) {
            return new BatchList("list", data, data.isEmpty() ? null : data.get(0).id(),
                    data.isEmpty() ? null : data.get(data.size() - 1).id(), hasMore);
        }
    }

    static String endpoint(Endpoint endpoint) {
        return switch (endpoint) {
            case ENDPOINT_CHAT_COMPLETIONS -> "/v1/chat/completions";
            case ENDPOINT_EMBEDDINGS -> "/v1/embeddings";
            default -> "";
        };
    }

    static String name(BatchStatus status) {
        return status.name().replaceFirst("^BATCH_STATUS_", "").toLowerCase(Locale.ROOT);
    }

    private static Errors errors(Batch b) {
        if (b.getStatus() != BatchStatus.BATCH_STATUS_FAILED || b.getError().isEmpty()) {
            return null;
        }
        return new Errors("list", List.of(new Error("batch_failed", b.getError(), null, null)));
    }

    private static long seconds(Timestamp t) {
        return t.getSeconds();
    }
}
