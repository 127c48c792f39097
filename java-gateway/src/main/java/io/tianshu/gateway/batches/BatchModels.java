package io.tianshu.gateway.batches;

import io.tianshu.gateway.admission.AdmissionStep;
import io.tianshu.gateway.auth.Caller;
import io.tianshu.gateway.config.DynamicConfig;
import io.tianshu.gateway.error.ApiException;
import io.tianshu.gateway.files.BatchLines;
import io.tianshu.inference.v1.Model;
import io.tianshu.jobs.v1.Endpoint;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The interactive routes' model policy applied to a batch's lines at creation: the batch
 * worker sends each line's model to the inference service, which knows no aliases and no
 * allow-lists, so whatever a line names is resolved and checked here, once per distinct model,
 * and then each line's limits that depend on its model (the route mapper's own checks).
 */
@Component
class BatchModels {

    // Line numbers named in one refusal; the rest are counted.
    private static final int LINES_SHOWN = 20;

    /** The models a file's lines name, each with its served id and its lines, in file order. */
    static final class Named {
        private final DynamicConfig dynamic;
        private final Map<String, Served> models = new LinkedHashMap<>();

        private Named(DynamicConfig dynamic) {
            this.dynamic = dynamic;
        }

        /**
         * Records that line names the model, with the line's checks that need the model, and
         * returns the served id it stands for, resolved once per model so that every line of one
         * batch sees the same aliases.
         */
        String add(String asked, int line, Consumer<Model> limits) {
            Served served = models.computeIfAbsent(asked, name -> new Served(dynamic.servedModel(name),
                    new ArrayList<>(), new ArrayList<>()));
            served.lines().add(line);
            served.limits().add(limits);
            return served.id();
        }
    }

    private record Served(String id, List<Integer> lines, List<Consumer<Model>> limits) {
    }

    private final DynamicConfig dynamic;
    private final AdmissionStep admission;

    BatchModels(DynamicConfig dynamic, AdmissionStep admission) {
        this.dynamic = dynamic;
        this.admission = admission;
    }

    Named collector() {
        return new Named(dynamic);
    }

    /**
     * Each model as the interactive route of the endpoint checks it: it must be served and of
     * the endpoint's kind (404 model_not_found, 400), and the caller's key and tenant must
     * allow it (403 model_not_allowed). The first model refused, in file order, refuses the
     * batch with that route's status and code, its message naming the lines. Then each line's
     * limits against its model (n, top_logprobs, input size, dimensions): 400 listing every
     * line over them.
     */
    Mono<Void> check(Caller caller, Endpoint endpoint, Named named) {
        List<String> overLimits = new ArrayList<>();
        return Flux.fromIterable(named.models.entrySet())
                .concatMap(entry -> {
                    String asked = entry.getKey();
                    Served served = entry.getValue();
                    return admission.permitted(caller, asked, served.id(), endpoint == Endpoint.ENDPOINT_EMBEDDINGS
                                    ? AdmissionStep.ModelUse.EMBEDDING : AdmissionStep.ModelUse.GENERATION)
                            .onErrorMap(ApiException.class, refused -> refused.reworded(
                                    refused.getMessage() + " " + lines(served.lines()), "input_file_id"))
                            .doOnNext(model -> overLimits.addAll(overLimits(served, model)));
                })
                .then(Mono.fromRunnable(() -> {
                    if (!overLimits.isEmpty()) {
                        throw ApiException.invalidRequest(BatchLines.Report.invalid(overLimits), "input_file_id");
                    }
                }));
    }

    private static List<String> overLimits(Served served, Model model) {
        List<String> problems = new ArrayList<>();
        for (int i = 0; i < served.lines().size(); i++) {
            try {
                served.limits().get(i).accept(model);
            } catch (ApiException refused) {
                problems.add("line " + served.lines().get(i) + ": " + refused.getMessage());
            }
        }
        return problems;
    }

    private static String lines(List<Integer> lines) {
        if (lines.size() == 1) {
            return "Named on line " + lines.get(0) + " of the input file.";
        }
        return "Named on " + lines.size() + " lines of the input file: "
                + lines.subList(0, Math.min(LINES_SHOWN, lines.size())).stream().map(String::valueOf)
                        .collect(Collectors.joining(", "))
                + (lines.size() > LINES_SHOWN ? " and " + (lines.size() - LINES_SHOWN) + " more." : ".");
    }
}
