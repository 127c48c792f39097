package io.tianshu.gateway.batches;

import static io.swagger.v3.oas.annotations.media.Schema.RequiredMode.REQUIRED;
import static io.tianshu.gateway.error.ApiException.invalidRequest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import io.swagger.v3.oas.annotations.media.Schema;
import io.tianshu.gateway.web.OpenAiMetadata;
import io.tianshu.jobs.v1.Endpoint;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Map;
import java.util.regex.Pattern;

/** The body of {@code POST /v1/batches} and the checks on it and on its Idempotency-Key header. */
final class BatchRequests {

    static final String WINDOW_PATTERN = "^[1-9][0-9]{0,3}h$";
    private static final Pattern WINDOW = Pattern.compile(WINDOW_PATTERN);
    // Wide enough for UUIDs and the SDKs' own retry keys ("stainless-python-retry-<uuid>");
    // narrow enough to be safe in logs and metadata.
    static final String IDEMPOTENCY_KEY_PATTERN = "^[A-Za-z0-9._~:-]{1,128}$";
    private static final Pattern IDEMPOTENCY_KEY = Pattern.compile(IDEMPOTENCY_KEY_PATTERN);
    private static final int MAX_URL = 2048;

    private BatchRequests() {
    }

    /**
     * OpenAI's batch creation body. {@code webhook_url} is Tianshu's extension (the SDKs send
     * it as an extra body field): called once the batch is final. {@code output_expires_after}
     * is accepted and ignored: results stay as long as the batch service keeps the batch.
     */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record NewBatch(
            @Schema(requiredMode = REQUIRED, minLength = 1, description = "A file uploaded with purpose batch")
            String inputFileId,
            @Schema(requiredMode = REQUIRED, allowableValues = {"/v1/chat/completions", "/v1/embeddings"})
            String endpoint,
            @Schema(pattern = WINDOW_PATTERN, description = "Hours, \"<n>h\"; absent = the batch service's default "
                    + "(24h)", example = "24h")
            String completionWindow,
            @Schema(maxProperties = OpenAiMetadata.MAX_PAIRS, description = OpenAiMetadata.RULES)
            Map<String, String> metadata,
            @Schema(format = "uri", maxLength = MAX_URL, pattern = "^https?://", description = "Tianshu's extension: "
                    + "an absolute http or https URL called once the batch is final")
            String webhookUrl,
            @Schema(description = "Accepted and ignored") JsonNode outputExpiresAfter) {

        /** The endpoint every line must call; 400 naming it otherwise. */
        Endpoint checkedEndpoint() {
            if (inputFileId == null || inputFileId.isBlank()) {
                throw invalidRequest("'input_file_id' is required: the id of a file uploaded with purpose "
                        + "\"batch\".", "input_file_id");
            }
            if (endpoint == null) {
                throw invalidRequest("'endpoint' is required: \"/v1/chat/completions\" or \"/v1/embeddings\".",
                        "endpoint");
            }
            return switch (endpoint) {
                case "/v1/chat/completions" -> Endpoint.ENDPOINT_CHAT_COMPLETIONS;
                case "/v1/embeddings" -> Endpoint.ENDPOINT_EMBEDDINGS;
                default -> throw invalidRequest("endpoint '" + endpoint + "' is not supported; this gateway runs "
                        + "batches of \"/v1/chat/completions\" or \"/v1/embeddings\".", "endpoint");
            };
        }

        /** "" for the service's default (24h), else "<hours>h"; OpenAI only knows "24h". */
        String checkedWindow() {
            if (completionWindow == null) {
                return "";
            }
            if (!WINDOW.matcher(completionWindow).matches()) {
                throw invalidRequest("completion_window must be hours as \"<n>h\", e.g. \"24h\".",
                        "completion_window");
            }
            return completionWindow;
        }

        Map<String, String> checkedMetadata() {
            return OpenAiMetadata.checked(metadata, "metadata");
        }

        /** "" for none, else an absolute http(s) URL. */
        String checkedWebhookUrl() {
            if (webhookUrl == null || webhookUrl.isEmpty()) {
                return "";
            }
            String problem = "webhook_url must be an absolute http or https URL of at most " + MAX_URL + " characters.";
            if (webhookUrl.length() > MAX_URL) {
                throw invalidRequest(problem, "webhook_url");
            }
            try {
                URI uri = new URI(webhookUrl);
                if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) || uri.getHost() == null) {
                    throw invalidRequest(problem, "webhook_url");
                }
            } catch (URISyntaxException e) {
                throw invalidRequest(problem, "webhook_url");
            }
            return webhookUrl;
        }
    }

    /** "" without the header; 400 naming the header when it is malformed. */
    static String checkedIdempotencyKey(String header) {
        if (header == null) {
            return "";
        }
        if (!IDEMPOTENCY_KEY.matcher(header).matches()) {
            throw invalidRequest("The Idempotency-Key header must be 1 to 128 characters of letters, digits and "
                    + "._~:- only.", "Idempotency-Key");
        }
        return header;
    }
}
