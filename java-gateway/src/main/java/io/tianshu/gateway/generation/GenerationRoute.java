package io.tianshu.gateway.generation;

import io.tianshu.gateway.admission.AdmissionStep;
import io.tianshu.gateway.auth.Callers;
import io.tianshu.gateway.backend.InferenceClient;
import io.tianshu.gateway.config.DynamicConfig;
import io.tianshu.gateway.error.ApiException;
import io.tianshu.gateway.ratelimit.PromptCounter;
import io.tianshu.gateway.requestid.RequestId;
import io.tianshu.gateway.tokens.LocalTokenizers;
import io.tianshu.gateway.web.Responder;
import io.tianshu.inference.v1.GenerateResponse;
import io.tianshu.inference.v1.GenerateStreamResponse;
import io.tianshu.inference.v1.Generation;
import io.tianshu.inference.v1.Model;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.IntConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.stereotype.Component;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * What chat and legacy completions do once their request is validated: the admission step
 * (with the prompt counted), one Generate or one GenerateStream call metered by the admission,
 * and the answer as JSON or server-sent events. The routes differ only in their request
 * mapping and their answer's shapes.
 */
@Component
public class GenerationRoute {

    private static final Logger log = LoggerFactory.getLogger(GenerationRoute.class);

    /**
     * One request, validated.
     *
     * @param generation with the model name the caller wrote
     * @param modelLimits refuses what the served model cannot do (n, logprobs, ...)
     */
    public record Asked(Generation generation, boolean streaming, boolean includeUsage, Consumer<Model> modelLimits) {
    }

    /**
     * A route's answers.
     *
     * @param what names the answer in log lines ("chat completion")
     * @param whole the JSON body of a Generate answer, given the served model; a Mono, so a
     *     route can finish work of its own (storing the answer) before the body goes out
     * @param chunks a fresh assembler of a stream's chunks, given the served model
     */
    public record Shapes(String what, BiFunction<GenerateResponse, String, Mono<?>> whole,
            Function<String, Chunks<?>> chunks) {
    }

    private record Answered(GenerateResponse response, Object body) {
    }

    private final AdmissionStep admission;
    private final PromptCounter counter;
    private final LocalTokenizers localTokenizers;
    private final InferenceClient inference;
    private final DynamicConfig dynamic;
    private final Responder responder;

    GenerationRoute(AdmissionStep admission, PromptCounter counter, LocalTokenizers localTokenizers,
            InferenceClient inference, DynamicConfig dynamic, Responder responder) {
        this.admission = admission;
        this.counter = counter;
        this.localTokenizers = localTokenizers;
        this.inference = inference;
        this.dynamic = dynamic;
        this.responder = responder;
    }

    /** A step's whole answer and the model that served it. */
    public record Step(GenerateResponse response, String model) {
    }

    /**
     * One generation a route runs as a step of its own work (a tool step of a Responses turn):
     * admitted and metered like any call, its whole answer handed back instead of written.
     *
     * @param endpoint the route as usage rows and limits name it ("responses")
     */
    public Mono<Step> step(ServerWebExchange exchange, String endpoint, Generation requested,
            Consumer<Model> modelLimits) {
        return admitted(exchange, endpoint, requested, modelLimits).flatMap(admitted -> {
            IntConsumer reportedPromptTokens = reportedPromptTokens(admitted.request(), admitted.model());
            return admitted.admission().meter(inference.generate(admitted.request().generation())
                            .doOnNext(r -> reportedPromptTokens.accept(r.getUsage().getPromptTokens())),
                    GenerateResponse::getUsage).map(r -> new Step(r, admitted.model()));
        });
    }

    /** @param endpoint the route as usage rows and limits name it ("chat.completions") */
    public Mono<Void> serve(ServerWebExchange exchange, String endpoint, Asked asked, Shapes shapes) {
        if (asked.streaming() && !dynamic.current().features().streaming()) {
            return Mono.error(ApiException.featureDisabled("Streaming", "stream"));
        }
        ServerHttpResponse response = exchange.getResponse();
        return admitted(exchange, endpoint, asked.generation(), asked.modelLimits())
                .flatMap(admitted -> {
                    Generation generation = admitted.request().generation();
                    IntConsumer reportedPromptTokens = reportedPromptTokens(admitted.request(), admitted.model());
                    return responder.respond(response, asked.streaming(), shapes.what(),
                            () -> chunks(admitted, reportedPromptTokens, shapes.chunks().apply(admitted.model()),
                                    asked.includeUsage()),
                            () -> admitted.admission().meter(inference.generate(generation)
                                            .doOnNext(r -> reportedPromptTokens.accept(r.getUsage().getPromptTokens())),
                                    GenerateResponse::getUsage)
                                    .flatMap(r -> shapes.whole().apply(r, admitted.model())
                                            .map(body -> new Answered(r, body))),
                            Answered::body,
                            a -> log.info("{} done: model={} usage={}", shapes.what(), a.response().getModel(),
                                    a.response().getUsage().getTotalTokens()));
                });
    }

    /** The admission step, with the prompt counted. */
    private Mono<AdmissionStep.Admitted<PromptCounter.CountedGeneration>> admitted(ServerWebExchange exchange,
            String endpoint, Generation requested, Consumer<Model> modelLimits) {
        return Callers.current()
                .flatMap(caller -> admission.admit(
                        new AdmissionStep.Call(caller, endpoint, RequestId.of(exchange),
                                exchange.getResponse().getHeaders()),
                        requested.getModel(), AdmissionStep.ModelUse.GENERATION, modelLimits,
                        // The backends log and meter per tenant; only the gateway knows who is calling.
                        (served, model) -> counter.generation(requested.toBuilder().setModel(served)
                                        .setTenantId(caller.tenant()).build(), model)
                                .map(counted -> new AdmissionStep.Priced<>(counted, counted.estimate()))));
    }

    private <C> Flux<C> chunks(AdmissionStep.Admitted<PromptCounter.CountedGeneration> admitted,
            IntConsumer reportedPromptTokens, Chunks<C> assembler, boolean includeUsage) {
        Flux<GenerateStreamResponse> stream = inference.generateStream(admitted.request().generation());
        return admitted.admission().meter(stream.doOnNext(message -> {
                    if (message.hasUsage()) {
                        reportedPromptTokens.accept(message.getUsage().getPromptTokens());
                    }
                }))
                .index()
                // The opening goes out with the backend's first message, not before it: the
                // response's headers then carry the call's Server-Timing (they are written with
                // the first event), and a call refused before it answers is an HTTP error rather
                // than an error event after a 200.
                .concatMap(indexed -> indexed.getT1() == 0
                        ? Flux.concat(assembler.opening(), assembler.forMessage(indexed.getT2()))
                        : assembler.forMessage(indexed.getT2()))
                .concatWith(Flux.defer(() -> assembler.closing(includeUsage)));
    }

    /** When the gateway counted the prompt, the count is checked against the usage the call reports. */
    private IntConsumer reportedPromptTokens(PromptCounter.CountedGeneration counted, String served) {
        return counted.countedHere()
                ? reported -> localTokenizers.check(served, LocalTokenizers.isToolChat(counted.generation()),
                        counted.estimate().promptTokens(), reported)
                : reported -> { };
    }
}
