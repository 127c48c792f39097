package io.tianshu.gateway.rag;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;
import io.tianshu.gateway.auth.Callers;
import io.tianshu.gateway.requestid.RequestId;
import io.tianshu.gateway.web.ServerSentEvent;
import io.tianshu.gateway.web.Responder;
import io.tianshu.rag.v1.AnswerOutcome;
import io.tianshu.rag.v1.AnswerResponse;
import io.tianshu.rag.v1.Citation;
import io.tianshu.rag.v1.SearchRequest;
import java.util.ArrayList;
import java.util.List;
import org.springframework.http.MediaType;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Search and grounded answers over one of the caller's collections, each admitted against the
 * caller's rate limits first (RagAdmission); answers are settled to the usage they report.
 */
@RestController
@Tag(name = "RAG")
class RetrievalController {

    private final RagClient rag;
    private final RagAdmission admission;
    private final Responder responder;

    RetrievalController(RagClient rag, RagAdmission admission, Responder responder) {
        this.rag = rag;
        this.admission = admission;
        this.responder = responder;
    }

    @PostMapping("/v1/rag/collections/{name}/search")
    @Operation(summary = "Retrieve the chunks most relevant to a query (scope rag:read)")
    Mono<RagViews.SearchView> search(
            @Parameter(schema = @Schema(pattern = RagRequests.COLLECTION_NAME)) @PathVariable String name,
            @RequestBody RagRequests.Search body, ServerWebExchange exchange) {
        String requestId = RequestId.of(exchange);
        return Callers.current()
                .flatMap(caller -> {
                    SearchRequest request = RagMapper.search(body, caller.tenant(), name);
                    return admission.search(caller, requestId, exchange.getResponse().getHeaders())
                            .then(rag.search(request, requestId));
                })
                .map(RagViews.SearchView::of);
    }

    /**
     * JSON or server-sent events depending on {@code stream}, as the chat route answers. A
     * stream relays each piece of text as it arrives, then one citations event, then {@code [DONE]}.
     */
    @PostMapping("/v1/rag/collections/{name}/answers")
    @Operation(summary = "Answer a question from the collection, with citations (scope rag:read)",
            description = "stream=true: server-sent events, each data line a JSON object: {type: answer.delta, "
                    + "text} as the answer is generated, then {type: answer.citations, outcome, citations, model, "
                    + "usage}, then [DONE]. Admitted against the caller's limits with the model's context length "
                    + "reserved, settled to the reported usage.",
            responses = @ApiResponse(responseCode = "200", description = "The answer, or its stream", content = {
                @Content(mediaType = MediaType.APPLICATION_JSON_VALUE,
                        schema = @Schema(implementation = RagViews.AnswerView.class)),
                @Content(mediaType = MediaType.TEXT_EVENT_STREAM_VALUE,
                        schema = @Schema(implementation = ServerSentEvent.class))}))
    Mono<Void> answer(
            @Parameter(schema = @Schema(pattern = RagRequests.COLLECTION_NAME)) @PathVariable String name,
            @RequestBody RagRequests.Answer body,
            ServerWebExchange exchange) {
        String requestId = RequestId.of(exchange);
        ServerHttpResponse response = exchange.getResponse();
        return Callers.current()
                .flatMap(caller -> admission.answer(caller, body.model(), RagMapper.answer(body, caller.tenant(), name),
                        requestId, response.getHeaders()))
                .flatMap(admitted -> {
                    Flux<AnswerResponse> answer = RagAdmission.meter(admitted.admission(),
                            rag.answer(admitted.request(), requestId));
                    return responder.respond(response, body.streaming(), "answer",
                            () -> answer.concatMap(RetrievalController::events), answer::collectList,
                            RetrievalController::whole, messages -> { });
                });
    }

    private static Flux<Object> events(AnswerResponse message) {
        List<Object> events = new ArrayList<>(2);
        if (!message.getText().isEmpty()) {
            events.add(new RagViews.AnswerDelta(message.getText()));
        }
        if (message.getOutcome() != AnswerOutcome.ANSWER_OUTCOME_UNSPECIFIED) {
            events.add(new RagViews.AnswerCitations(RagViews.outcome(message.getOutcome()),
                    RagViews.CitationView.all(message.getCitationsList()), message.getModel(),
                    RagViews.UsageView.of(message)));
        }
        return Flux.fromIterable(events);
    }

    private static RagViews.AnswerView whole(List<AnswerResponse> messages) {
        StringBuilder text = new StringBuilder();
        List<Citation> citations = new ArrayList<>();
        AnswerResponse last = AnswerResponse.getDefaultInstance();
        for (AnswerResponse message : messages) {
            text.append(message.getText());
            citations.addAll(message.getCitationsList());
            if (message.getOutcome() != AnswerOutcome.ANSWER_OUTCOME_UNSPECIFIED) {
                last = message;
            }
        }
        return new RagViews.AnswerView("rag.answer", last.getModel(), text.toString(),
                RagViews.outcome(last.getOutcome()), RagViews.CitationView.all(citations), RagViews.UsageView.of(last));
    }
}
