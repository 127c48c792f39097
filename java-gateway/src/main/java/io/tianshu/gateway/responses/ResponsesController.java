package io.tianshu.gateway.responses;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.ExampleObject;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;
import io.tianshu.gateway.auth.Callers;
import io.tianshu.gateway.db.Blocking;
import io.tianshu.gateway.error.ApiException;
import io.tianshu.gateway.generation.GenerationRoute;
import io.tianshu.gateway.generation.SamplingChecks;
import io.tianshu.gateway.requestid.RequestId;
import io.tianshu.gateway.tools.AutoToolChoice;
import io.tianshu.gateway.web.ServerSentEvent;
import io.tianshu.inference.v1.Generation;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Mono;

/**
 * OpenAI's Responses API: {@code POST /v1/responses} runs one generation through the path every
 * generation route shares ({@link GenerationRoute}: admission, metering, JSON or events) on the
 * chat its stored conversation and input make; a stored response (the default) is kept per
 * tenant for GET, DELETE, input_items and previous_response_id.
 */
@RestController
@Tag(name = "Responses", description = "OpenAI's Responses API, with conversation state kept per tenant")
class ResponsesController {

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final int MAX_ITEMS_PAGE = 100;

    private final GenerationRoute route;
    private final ResponseStore store;
    private final FileSearchTurn fileSearch;

    ResponsesController(GenerationRoute route, ResponseStore store, FileSearchTurn fileSearch) {
        this.route = route;
        this.store = store;
        this.fileSearch = fileSearch;
    }

    @PostMapping("/v1/responses")
    @Operation(summary = "Create a response (scope chat)", description = "OpenAI's Responses API. stream=true: "
            + "server-sent events, one typed event per data line (response.created, response.output_text.delta, "
            + "..., response.completed).",
            requestBody = @io.swagger.v3.oas.annotations.parameters.RequestBody(required = true, content = @Content(
                    mediaType = MediaType.APPLICATION_JSON_VALUE,
                    schema = @Schema(implementation = ResponseRequest.class),
                    examples = @ExampleObject(name = "question", value = "{\"model\": \"smollm2-135m-instruct\", "
                            + "\"input\": \"What is the capital of France?\", \"max_output_tokens\": 16}"))),
            responses = @ApiResponse(responseCode = "200", description = "The Response object, or its events",
                    content = {@Content(mediaType = MediaType.APPLICATION_JSON_VALUE,
                            schema = @Schema(type = "object", description = "OpenAI's Response object")),
                        @Content(mediaType = MediaType.TEXT_EVENT_STREAM_VALUE,
                            schema = @Schema(implementation = ServerSentEvent.class))}))
    Mono<Void> create(@RequestBody ResponseRequest request, ServerWebExchange exchange) {
        String requestId = RequestId.of(exchange);
        ResponseGenerations.check(request);
        ArrayNode items = ResponseInputs.items(request.input());
        return Callers.current().flatMap(caller -> conversation(caller.tenant(), request.previousResponseId())
                .flatMap(history -> {
                    ResponseGenerations.Planned planned = ResponseGenerations.generation(request, requestId,
                            ResponseInputs.chat(request.instructions(), history, items));
                    Generation generation = planned.generation();
                    Turn turn = new Turn(ItemIds.next("resp"), Instant.now().getEpochSecond(), request, items,
                            caller.tenant());
                    if (planned.fileSearch() != null) {
                        return fileSearch.serve(exchange, caller, turn, generation, planned.fileSearch(),
                                body -> kept(turn, body));
                    }
                    return route.serve(exchange, "responses", new GenerationRoute.Asked(generation,
                                    request.streaming(), false, model -> AutoToolChoice.check(generation, model)),
                            new GenerationRoute.Shapes("response",
                                    (r, model) -> kept(turn, ResponseBodies.of(turn, r, model)),
                                    model -> new ResponseEvents(turn, model, body -> kept(turn, body))));
                }));
    }

    @GetMapping("/v1/responses/{id}")
    @Operation(summary = "Retrieve a stored response (scope chat)")
    Mono<JsonNode> get(@PathVariable String id) {
        return Callers.current().flatMap(caller -> Blocking.call(() -> store.find(caller.tenant(), id)))
                .map(found -> found.orElseThrow(() -> ApiException.responseNotFound(id, null)).body());
    }

    @DeleteMapping("/v1/responses/{id}")
    @Operation(summary = "Delete a stored response (scope chat)", description = "Later turns that continued it "
            + "keep their own items; a conversation continued from them no longer holds the deleted turn.")
    Mono<ObjectNode> delete(@PathVariable String id) {
        return Callers.current().flatMap(caller -> Blocking.call(() -> store.delete(caller.tenant(), id)))
                .map(deleted -> {
                    if (!deleted) {
                        throw ApiException.responseNotFound(id, null);
                    }
                    return NODES.objectNode().put("id", id).put("object", "response.deleted").put("deleted", true);
                });
    }

    @GetMapping("/v1/responses/{id}/input_items")
    @Operation(summary = "The input items of a stored response (scope chat)", description = "This turn's items, "
            + "newest first unless order=asc; cursor pagination with after.")
    Mono<ObjectNode> inputItems(@PathVariable String id, @RequestParam(required = false) Integer limit,
            @RequestParam(required = false) String order, @RequestParam(required = false) String after) {
        SamplingChecks.between(limit, 1, MAX_ITEMS_PAGE, "limit");
        if (order != null && !order.equals("asc") && !order.equals("desc")) {
            throw ApiException.invalidRequest("Invalid value for 'order': '" + order + "'. Supported values are: "
                    + "asc, desc.", "order");
        }
        int pageSize = limit == null ? 20 : limit;
        return Callers.current().flatMap(caller -> Blocking.call(() -> store.find(caller.tenant(), id)))
                .map(found -> {
                    List<JsonNode> items = new ArrayList<>();
                    found.orElseThrow(() -> ApiException.responseNotFound(id, null)).inputItems().forEach(items::add);
                    if (!"asc".equals(order)) {
                        Collections.reverse(items);
                    }
                    int start = 0;
                    if (after != null) {
                        start = items.stream().map(item -> item.path("id").asText()).toList().indexOf(after) + 1;
                        if (start == 0) {
                            throw ApiException.invalidRequest("No input item '" + after + "' in this response.",
                                    "after");
                        }
                    }
                    List<JsonNode> page = items.subList(start, Math.min(items.size(), start + pageSize));
                    ObjectNode list = NODES.objectNode().put("object", "list");
                    list.putArray("data").addAll(page);
                    list.put("first_id", page.isEmpty() ? null : page.get(0).path("id").asText());
                    list.put("last_id", page.isEmpty() ? null : page.get(page.size() - 1).path("id").asText());
                    list.put("has_more", start + page.size() < items.size());
                    return list;
                });
    }

    /** The stored conversation a turn continues: none without previous_response_id. */
    private Mono<List<JsonNode>> conversation(String tenant, String previousId) {
        if (previousId == null) {
            return Mono.just(List.of());
        }
        return Blocking.call(() -> store.conversation(tenant, previousId))
                .map(found -> found.orElseThrow(() -> ApiException.responseNotFound(previousId,
                        "previous_response_id")));
    }

    /** The answer's body once kept (when the request stores it; the default). */
    private Mono<ObjectNode> kept(Turn turn, ObjectNode body) {
        if (!turn.request().stored()) {
            return Mono.just(body);
        }
        return Blocking.call(() -> {
            store.insert(turn.tenant(), turn.id(), turn.request().previousResponseId(), turn.inputItems(), body);
            return body;
        });
    }
}
