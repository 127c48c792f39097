package io.tianshu.gateway.completions;

import io.tianshu.gateway.chat.ChatCompletion;
import io.tianshu.gateway.generation.Chunks;
import io.tianshu.inference.v1.FinishReason;
import io.tianshu.inference.v1.GenerateStreamResponse;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** GenerateStream messages to legacy completion chunks; keeps each choice's text offset for logprobs. */
final class CompletionChunks implements Chunks<Completion> {

    private final String id;
    private final long created;
    private String model;
    private final boolean withLogprobs;
    private final Map<Integer, Integer> offsets = new HashMap<>();
    private ChatCompletion.Usage usage;

    CompletionChunks(String id, long created, String requestedModel, boolean withLogprobs) {
        this.id = id;
        this.created = created;
        this.model = requestedModel;
        this.withLogprobs = withLogprobs;
    }

    @Override
    public Optional<Completion> onMessage(GenerateStreamResponse message) {
        if (!message.getModel().isEmpty()) {
            model = message.getModel();
        }
        if (message.hasUsage()) {
            usage = ChatCompletion.Usage.of(message.getUsage());
        }
        boolean finished = message.getFinishReason() != FinishReason.FINISH_REASON_UNSPECIFIED;
        if (!finished && message.getText().isEmpty() && message.getLogprobsCount() == 0) {
            return Optional.empty();
        }
        int offset = offsets.getOrDefault(message.getIndex(), 0);
        offsets.put(message.getIndex(), offset + message.getText().length());
        Completion.Choice choice = new Completion.Choice(message.getText(), message.getIndex(),
                withLogprobs ? LegacyLogprobs.of(message.getLogprobsList(), offset) : null,
                ChatCompletion.finishReason(message.getFinishReason()));
        return Optional.of(new Completion(id, "text_completion", created, model, List.of(choice), null));
    }

    @Override
    public Optional<Completion> usageChunk() {
        return Optional.ofNullable(usage)
                .map(u -> new Completion(id, "text_completion", created, model, List.of(), u));
    }
}
