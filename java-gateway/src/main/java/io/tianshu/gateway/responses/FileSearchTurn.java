package io.tianshu.gateway.responses;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.grpc.Status;
import io.tianshu.gateway.auth.Caller;
import io.tianshu.gateway.generation.GenerationRoute;
import io.tianshu.gateway.rag.RagAdmission;
import io.tianshu.gateway.rag.RagClient;
import io.tianshu.gateway.requestid.RequestId;
import io.tianshu.gateway.tools.AutoToolChoice;
import io.tianshu.gateway.vectorstores.FileSearchStores;
import io.tianshu.gateway.web.Responder;
import io.tianshu.inference.v1.ChatMessage;
import io.tianshu.inference.v1.Generation;
import io.tianshu.inference.v1.ToolCall;
import io.tianshu.inference.v1.Usage;
import io.tianshu.rag.v1.AnswerRequest;
import io.tianshu.rag.v1.AnswerResponse;
import io.tianshu.rag.v1.AnswerTurn;
import io.tianshu.rag.v1.Citation;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A Responses turn with the file_search tool, run by the platform in two steps, each admitted
 * and billed as a call of its own: the model decides (a generation with the tools, file_search
 * among them, as a function taking a query); if it searches, the RAG service answers the
 * user's question from the store, retrieving with the model's query ({@code Answer} with
 * {@code retrieval_query}), and its citations become {@code file_citation} annotations on the
 * final message, each naming a file of the store (markers of no source are dropped by the RAG
 * service, as in every RAG answer). The search reads the model's query and the user's last
 * message together. Two steps at most, within {@link #DEADLINE}. The answer is
 * one stream of events; a unary answer is that stream's final Response object.
 */
@Component
class FileSearchTurn {

    private static final Logger log = LoggerFactory.getLogger(FileSearchTurn.class);
    /** The whole turn, both steps: past it the turn fails as a backend that did not answer. */
    static final Duration DEADLINE = Duration.ofSeconds(120);
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final GenerationRoute route;
    private final RagAdmission ragAdmission;
    private final RagClient rag;
    private final FileSearchStores stores;
    private final Responder responder;

    FileSearchTurn(GenerationRoute route, RagAdmission ragAdmission, RagClient rag, FileSearchStores stores,
            Responder responder) {
        this.route = route;
        this.ragAdmission = ragAdmission;
        this.rag = rag;
        this.stores = stores;
        this.responder = responder;
    }

    /** @param keep stores the final Response object (when the request stores it) and hands it back */
    Mono<Void> serve(ServerWebExchange exchange, Caller caller, Turn turn, Generation decide,
            ResponseTools.FileSearch search, Function<ObjectNode, Mono<ObjectNode>> keep) {
        Flux<ObjectNode> events = withDeadline(
                Flux.defer(() -> new Run(exchange, caller, turn, decide, search, keep).events()), DEADLINE);
        return responder.respond(exchange.getResponse(), turn.request().streaming(), "response",
                () -> events, () -> events.last().map(last -> (ObjectNode) last.get("response")), body -> body,
                body -> log.info("response with file_search done: status={}", body.path("status").asText()));
    }

    /** One turn's state: its events' sequence, output items and usage so far. */
    private final class Run {
        private final ServerWebExchange exchange;
        private final Caller caller;
        private final Turn turn;
        private final Generation decide;
        private final ResponseTools.FileSearch search;
        private final Function<ObjectNode, Mono<ObjectNode>> keep;
        private final AtomicInteger sequence = new AtomicInteger();
        private final ArrayNode output = NODES.arrayNode();
        private String model;
        private int promptTokens;
        private int completionTokens;

        Run(ServerWebExchange exchange, Caller caller, Turn turn, Generation decide, ResponseTools.FileSearch search,
                Function<ObjectNode, Mono<ObjectNode>> keep) {
            this.exchange = exchange;
            this.caller = caller;
            this.turn = turn;
            this.decide = decide;
            this.search = search;
            this.keep = keep;
            this.model = turn.request().model();
        }

        Flux<ObjectNode> events() {
            ObjectNode started = ResponseBodies.body(turn, model, "in_progress", NODES.arrayNode(), null);
            Flux<ObjectNode> opening = Flux.just(event("response.created").set("response", started),
                    event("response.in_progress").set("response", started.deepCopy()));
            Mono<GenerationRoute.Step> decided = stores.owned(caller.tenant(), search.storeId())
                    .then(route.step(exchange, "responses", decide, served -> AutoToolChoice.check(decide, served)));
            return opening.concatWith(decided.flatMapMany(this::afterDecision));
        }

        private Flux<ObjectNode> afterDecision(GenerationRoute.Step step) {
            model = step.model();
            count(step.response().getUsage());
            ToolCall call = step.response().getChoices(0).getToolCallsList().stream()
                    .filter(c -> c.getName().equals(ResponseTools.FILE_SEARCH)).findFirst().orElse(null);
            if (call == null) {
                // The model answered (or called the caller's functions) without searching.
                List<ObjectNode> events = new ArrayList<>();
                ResponseBodies.of(turn, step.response(), model).get("output").forEach(item -> {
                    output.add(item);
                    events.add(event("response.output_item.added").put("output_index", output.size() - 1)
                            .set("item", item));
                    events.add(event("response.output_item.done").put("output_index", output.size() - 1)
                            .set("item", item));
                });
                return Flux.fromIterable(events).concatWith(completed(step.response().getChoices(0)
                        .getFinishReason() == io.tianshu.inference.v1.FinishReason.FINISH_REASON_LENGTH));
            }
            String query = query(call.getArguments());
            String question = question(query);
            // The model's query and the user's own words: a small model's query alone can miss
            // what the question plainly names.
            List<String> queries = query.equals(question) ? List.of(query) : List.of(query, question);
            ObjectNode searching = NODES.objectNode().put("id", ItemIds.next("fs")).put("type", "file_search_call")
                    .put("status", "in_progress");
            queries.forEach(searching.putArray("queries")::add);
            searching.putNull("results");
            output.add(searching);
            int at = output.size() - 1;
            Flux<ObjectNode> started = Flux.just(
                    event("response.output_item.added").put("output_index", at).set("item", searching.deepCopy()),
                    itemEvent("response.file_search_call.in_progress", searching, at),
                    itemEvent("response.file_search_call.searching", searching, at));
            AnswerRequest asked = AnswerRequest.newBuilder().setTenantId(caller.tenant())
                    .setCollectionId(search.storeId()).setQuestion(question)
                    .setRetrievalQuery(String.join("\n", queries))
                    .addAllHistory(history(decide, question))
                    .setOptions(search.options())
                    .setMaxTokens(turn.request().maxOutputTokens() == null ? 0 : turn.request().maxOutputTokens())
                    .build();
            String requestId = RequestId.of(exchange);
            Flux<AnswerResponse> answer = ragAdmission.answer(caller, turn.request().model(), asked, requestId,
                            exchange.getResponse().getHeaders())
                    .flatMapMany(admitted -> RagAdmission.meter(admitted.admission(),
                            rag.answer(admitted.request(), requestId)));
            return started.concatWith(answered(answer, searching, at));
        }

        /** The RAG answer as the final message's events, the search item completed first. */
        private Flux<ObjectNode> answered(Flux<AnswerResponse> answer, ObjectNode searching, int searchAt) {
            ObjectNode message = NODES.objectNode().put("id", ItemIds.next("msg")).put("type", "message")
                    .put("role", "assistant").put("status", "in_progress");
            message.putArray("content");
            StringBuilder text = new StringBuilder();
            AtomicInteger messageAt = new AtomicInteger(-1);
            return answer.concatMap(part -> {
                List<ObjectNode> events = new ArrayList<>();
                if (messageAt.get() < 0) {
                    searching.put("status", "completed");
                    events.add(itemEvent("response.file_search_call.completed", searching, searchAt));
                    events.add(event("response.output_item.done").put("output_index", searchAt)
                            .set("item", searching.deepCopy()));
                    output.add(message);
                    messageAt.set(output.size() - 1);
                    events.add(event("response.output_item.added").put("output_index", messageAt.get())
                            .set("item", message.deepCopy()));
                    events.add(itemEvent("response.content_part.added", message, messageAt.get())
                            .put("content_index", 0).set("part", ResponseBodies.textPart("")));
                }
                if (!part.getText().isEmpty()) {
                    text.append(part.getText());
                    events.add(itemEvent("response.output_text.delta", message, messageAt.get()).put("content_index", 0)
                            .put("delta", part.getText()).set("logprobs", NODES.arrayNode()));
                }
                if (!part.hasUsage()) {
                    return Flux.fromIterable(events);
                }
                if (!part.getModel().isEmpty()) {
                    model = part.getModel();
                }
                promptTokens += part.getUsage().getPromptTokens();
                completionTokens += part.getUsage().getCompletionTokens();
                return Flux.fromIterable(events).concatWith(closeMessage(message, messageAt.get(), text.toString(),
                        part.getCitationsList()));
            });
        }

        private Flux<ObjectNode> closeMessage(ObjectNode message, int at, String text, List<Citation> citations) {
            List<String> files = citations.stream().map(Citation::getDocumentId).distinct().toList();
            return stores.filenames(search.storeId(), files).flatMapMany(names -> {
                List<ObjectNode> events = new ArrayList<>();
                ObjectNode part = ResponseBodies.textPart(text);
                ArrayNode annotations = (ArrayNode) part.get("annotations");
                for (ObjectNode annotation : annotations(text, citations, names)) {
                    annotations.add(annotation);
                    events.add(itemEvent("response.output_text.annotation.added", message, at).put("content_index", 0)
                            .put("annotation_index", annotations.size() - 1).set("annotation", annotation));
                }
                events.add(itemEvent("response.output_text.done", message, at).put("content_index", 0)
                        .put("text", text).set("logprobs", NODES.arrayNode()));
                events.add(itemEvent("response.content_part.done", message, at).put("content_index", 0)
                        .set("part", part.deepCopy()));
                message.put("status", "completed");
                ((ArrayNode) message.get("content")).add(part);
                events.add(event("response.output_item.done").put("output_index", at).set("item", message.deepCopy()));
                return Flux.fromIterable(events).concatWith(completed(false));
            });
        }

        private Mono<ObjectNode> completed(boolean cut) {
            Usage usage = Usage.newBuilder().setPromptTokens(promptTokens).setCompletionTokens(completionTokens)
                    .setTotalTokens(promptTokens + completionTokens).build();
            ObjectNode body = ResponseBodies.body(turn, model, cut ? "incomplete" : "completed", output.deepCopy(),
                    usage);
            return keep.apply(body).map(kept -> event(cut ? "response.incomplete" : "response.completed")
                    .set("response", kept));
        }

        private void count(Usage usage) {
            promptTokens += usage.getPromptTokens();
            completionTokens += usage.getCompletionTokens();
        }

        /** What the user asked last: the question the answer must answer; the query when there is none. */
        private String question(String query) {
            for (int i = turn.inputItems().size() - 1; i >= 0; i--) {
                JsonNode item = turn.inputItems().get(i);
                if (item.path("type").asText().equals("message") && item.path("role").asText().equals("user")) {
                    StringBuilder text = new StringBuilder();
                    item.path("content").forEach(part -> text.append(part.path("text").asText()));
                    if (!text.isEmpty()) {
                        return text.toString();
                    }
                }
            }
            return query;
        }

        private ObjectNode itemEvent(String type, JsonNode item, int outputIndex) {
            return event(type).put("item_id", item.get("id").asText()).put("output_index", outputIndex);
        }

        private ObjectNode event(String type) {
            return NODES.objectNode().put("type", type).put("sequence_number", sequence.getAndIncrement());
        }
    }

    /**
     * The conversation before the question, as the answer reads it: the user's and the
     * assistant's words of the chat the model decided on (earlier turns and this turn's items
     * before the question), without instructions, calls or their outputs.
     */
    static List<AnswerTurn> history(Generation decide, String question) {
        List<ChatMessage> messages = decide.getMessagesList();
        int end = messages.size();
        for (int i = messages.size() - 1; i >= 0; i--) {
            if (messages.get(i).getRole().equals("user") && messages.get(i).getContent().equals(question)) {
                end = i;
                break;
            }
        }
        List<AnswerTurn> turns = new ArrayList<>();
        for (ChatMessage message : messages.subList(0, end)) {
            boolean words = (message.getRole().equals("user") || message.getRole().equals("assistant"))
                    && !message.getContent().isEmpty();
            if (words) {
                turns.add(AnswerTurn.newBuilder().setRole(message.getRole()).setContent(message.getContent())
                        .build());
            }
        }
        return turns;
    }

    /**
     * The events, failing as DEADLINE_EXCEEDED (504, as a backend that did not answer) once the
     * whole turn has taken longer than {@code deadline}: each event may take what is left of it,
     * where Flux.timeout(Duration) would bound only the gap between two events.
     */
    static <T> Flux<T> withDeadline(Flux<T> events, Duration deadline) {
        return Flux.defer(() -> {
            Mono<Long> turnEnds = Mono.delay(deadline).cache();
            return events.timeout(turnEnds, event -> turnEnds);
        }).onErrorMap(TimeoutException.class, late -> Status.DEADLINE_EXCEEDED
                .withDescription("the file_search turn passed its deadline of " + deadline.toSeconds() + " s")
                .asRuntimeException());
    }

    /** The query a file_search call asked for: its arguments' query, or their text when they are not JSON. */
    static String query(String arguments) {
        try {
            JsonNode parsed = JSON.readTree(arguments);
            if (parsed != null && parsed.path("query").isTextual() && !parsed.get("query").asText().isBlank()) {
                return parsed.get("query").asText();
            }
        } catch (Exception notJson) {
            // The call was not constrained (auto): search with what the model wrote.
        }
        return arguments;
    }

    /**
     * One file_citation per [n] marker of the text, at the marker's position, naming the cited
     * chunk's file; a citation of a document that is not a file of the store is dropped.
     */
    static List<ObjectNode> annotations(String text, List<Citation> citations, Map<String, String> filenames) {
        List<ObjectNode> annotations = new ArrayList<>();
        for (Citation citation : citations) {
            String filename = filenames.get(citation.getDocumentId());
            if (filename == null) {
                continue;
            }
            String marker = "[" + citation.getMarker() + "]";
            for (int at = text.indexOf(marker); at >= 0; at = text.indexOf(marker, at + 1)) {
                annotations.add(NODES.objectNode().put("type", "file_citation").put("file_id", citation.getDocumentId())
                        .put("filename", filename).put("index", at));
            }
        }
        annotations.sort((a, b) -> Integer.compare(a.get("index").asInt(), b.get("index").asInt()));
        return annotations;
    }
}
