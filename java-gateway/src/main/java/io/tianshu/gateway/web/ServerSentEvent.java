package io.tianshu.gateway.web;

import io.swagger.v3.oas.annotations.media.Schema;

/**
 * One event of a streaming answer as {@link SseStream} writes it, for the OpenAPI document:
 * the routes write the events themselves.
 */
@Schema(description = "A server-sent event: one data line")
public record ServerSentEvent(
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "A JSON object (a chunk, a progress "
                + "event, or {\"error\": ...} when the stream fails), or [DONE] after the last one")
        String data) {
}
