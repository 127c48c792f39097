package io.tianshu.gateway.batches;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tianshu.gateway.chat.ChatCompletionRequest;
import io.tianshu.gateway.chat.ChatRequestMapper;
import io.tianshu.gateway.embeddings.EmbeddingsMapper;
import io.tianshu.gateway.embeddings.EmbeddingsRequest;
import io.tianshu.gateway.error.ApiException;
import io.tianshu.gateway.files.BatchLines;
import io.tianshu.inference.v1.EmbedRequest;
import io.tianshu.inference.v1.Generation;
import io.tianshu.inference.v1.Priority;
import io.tianshu.jobs.v1.Endpoint;
import io.tianshu.jobs.v1.InputLine;
import java.util.ArrayList;
import java.util.List;

/**
 * A batch line's body as the request the batch service runs, translated by the interactive
 * route's own mapper (chat or embeddings), so a line means exactly what the same body means on
 * that route and is refused for the same reasons. The batch service reads no OpenAI JSON.
 * Model checks that need the catalog are recorded in {@link BatchModels.Named} and run once
 * every line is read.
 */
final class BatchLineRequests {

    private final Endpoint endpoint;
    private final ObjectMapper json;
    private final BatchModels.Named models;
    private final List<String> problems = new ArrayList<>();

    BatchLineRequests(Endpoint endpoint, ObjectMapper json, BatchModels.Named models) {
        this.endpoint = endpoint;
        this.json = json;
        this.models = models;
    }

    /** The line as an InputLine; null, with the problem recorded, when the route would refuse its body. */
    InputLine translate(BatchLines.Line line) {
        try {
            InputLine.Builder input = InputLine.newBuilder().setCustomId(line.customId());
            return endpoint == Endpoint.ENDPOINT_EMBEDDINGS
                    ? input.setEmbedding(embedding(line)).build() : input.setGeneration(generation(line)).build();
        } catch (ApiException refused) {
            problems.add("line " + line.number() + ": " + refused.getMessage());
        } catch (JsonProcessingException unreadable) {
            problems.add("line " + line.number() + ": " + unreadable.getOriginalMessage());
        }
        return null;
    }

    /** What the lines translated so far were refused for, one entry per line. */
    List<String> problems() {
        return problems;
    }

    private Generation generation(BatchLines.Line line) throws JsonProcessingException {
        ChatCompletionRequest request = json.readValue(line.body(), ChatCompletionRequest.class);
        if (request.streaming()) {
            throw ApiException.invalidRequest("'stream' is not supported in a batch: a line's answer is one "
                    + "chat.completion in the output file.", "stream");
        }
        // The request id is the batch service's, one per attempt; it also sets the tenant.
        Generation mapped = ChatRequestMapper.toGeneration(request, "");
        String served = models.add(request.model(), line.number(), model -> ChatRequestMapper.checkModelLimits(
                request, mapped, model));
        // Whoever builds a batch line sets PRIORITY_BATCH (the batch service sets it again on
        // every call, for lines that producers put on Kafka themselves).
        return mapped.toBuilder().setModel(served).setPriority(Priority.PRIORITY_BATCH).build();
    }

    private EmbedRequest embedding(BatchLines.Line line) throws JsonProcessingException {
        EmbeddingsRequest request = json.readValue(line.body(), EmbeddingsRequest.class);
        EmbedRequest mapped = EmbeddingsMapper.toEmbedRequest(request, "");
        String served = models.add(request.model(), line.number(), model -> EmbeddingsMapper.checkModel(
                request, mapped, model));
        // See generation(): the builder of a batch line sets its priority.
        return mapped.toBuilder().setModel(served).setPriority(Priority.PRIORITY_BATCH).build();
    }
}
