package io.tianshu.gateway.responses;

import static io.tianshu.gateway.error.ApiException.invalidRequest;

import com.fasterxml.jackson.databind.JsonNode;
import io.tianshu.gateway.generation.SamplingChecks;
import io.tianshu.gateway.tools.ToolDefinitions;
import io.tianshu.inference.v1.ChatMessage;
import io.tianshu.inference.v1.Generation;
import io.tianshu.inference.v1.Priority;
import io.tianshu.inference.v1.SamplingParams;
import io.tianshu.inference.v1.StructuredOutput;
import java.util.List;

/** A Responses request's generation: its sampling, output format and tools, given the chat to continue. */
final class ResponseGenerations {

    // OpenAI's bounds on metadata.
    private static final int MAX_METADATA_KEYS = 16;
    private static final int MAX_METADATA_KEY = 64;
    private static final int MAX_METADATA_VALUE = 512;

    private ResponseGenerations() {
    }

    /** Checks what does not depend on the stored conversation, before anything is read. */
    static void check(ResponseRequest request) {
        if (request.model() == null || request.model().isBlank()) {
            throw invalidRequest("Missing required parameter: 'model'.", "model");
        }
        sampling(request);
        structuredOutput(request.text());
        metadata(request.metadata());
        if (request.previousResponseId() != null && request.previousResponseId().isBlank()) {
            throw invalidRequest("'previous_response_id' must not be empty.", "previous_response_id");
        }
    }

    /** The generation to run, and the file_search tool it may call (null when none). */
    record Planned(Generation generation, ResponseTools.FileSearch fileSearch) {
    }

    static Planned generation(ResponseRequest request, String requestId, List<ChatMessage> chat) {
        Generation.Builder generation = Generation.newBuilder()
                .setModel(request.model())
                .setRequestId(requestId)
                .setPriority(Priority.PRIORITY_INTERACTIVE)
                .setSampling(sampling(request))
                .addAllMessages(chat);
        StructuredOutput structured = structuredOutput(request.text());
        ResponseTools.Applied tools = ResponseTools.apply(request, generation);
        if (structured != null) {
            ToolDefinitions.refuseWithStructuredOutput(tools.functions(), "text.format", request.text().path("format")
                    .path("type").asText());
            generation.setStructuredOutput(structured);
        }
        return new Planned(generation.build(), tools.fileSearch());
    }

    private static SamplingParams sampling(ResponseRequest r) {
        return SamplingChecks.sampling(new SamplingChecks.Common(r.temperature(), r.topP(), null, null, null, null,
                null), sampling -> {
                    SamplingChecks.positive(r.maxOutputTokens(), "max_output_tokens");
                    if (r.maxOutputTokens() != null) {
                        sampling.setMaxTokens(r.maxOutputTokens());
                    }
                }, sampling -> { });
    }

    /** text.format: text, json_object or json_schema ({type, name, schema, strict}, flat as OpenAI has it). */
    private static StructuredOutput structuredOutput(JsonNode text) {
        if (text == null || text.isNull()) {
            return null;
        }
        JsonNode format = text.path("format");
        if (!text.isObject() || (!format.isMissingNode() && !format.isObject())) {
            throw invalidRequest("'text' must be an object like {\"format\": {\"type\": \"text\"}}.", "text.format");
        }
        String type = format.path("type").asText("text");
        return switch (type) {
            case "text" -> null;
            case "json_object" -> StructuredOutput.newBuilder().setJsonObject(true).build();
            case "json_schema" -> {
                JsonNode schema = format.get("schema");
                if (schema == null || !schema.isObject()) {
                    throw invalidRequest("'text.format.schema' must be a JSON Schema object.", "text.format.schema");
                }
                if (!format.path("name").isTextual() || format.path("name").asText().isEmpty()) {
                    throw invalidRequest("Missing required parameter: 'text.format.name'.", "text.format.name");
                }
                yield StructuredOutput.newBuilder().setJsonSchema(schema.toString()).build();
            }
            default -> throw invalidRequest("Invalid value for 'text.format.type': '" + type
                    + "'. Supported values are: text, json_object, json_schema.", "text.format.type");
        };
    }

    private static void metadata(JsonNode metadata) {
        if (metadata == null || metadata.isNull()) {
            return;
        }
        if (!metadata.isObject() || metadata.size() > MAX_METADATA_KEYS) {
            throw invalidRequest("'metadata' must be an object of at most " + MAX_METADATA_KEYS + " string pairs.",
                    "metadata");
        }
        metadata.properties().forEach(entry -> {
            if (entry.getKey().length() > MAX_METADATA_KEY || !entry.getValue().isTextual()
                    || entry.getValue().asText().length() > MAX_METADATA_VALUE) {
                throw invalidRequest("'metadata." + entry.getKey() + "': keys are at most " + MAX_METADATA_KEY
                        + " characters and values strings of at most " + MAX_METADATA_VALUE + ".", "metadata");
            }
        });
    }
}
