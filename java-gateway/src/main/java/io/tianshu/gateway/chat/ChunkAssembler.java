package io.tianshu.gateway.chat;

import io.tianshu.gateway.generation.Chunks;
import io.tianshu.gateway.tools.ChoiceDeltaToolCall;
import io.tianshu.inference.v1.FinishReason;
import io.tianshu.inference.v1.GenerateStreamResponse;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Turns GenerateStream messages into OpenAI chunks, one stream at a time. Holds the little
 * state the translation needs: which choices have started (role goes in their first chunk)
 * and the usage, which OpenAI sends last in a chunk of its own. Pieces of tool calls pass
 * through one to one ({@link ChoiceDeltaToolCall}).
 */
final class ChunkAssembler implements Chunks<ChatCompletionChunk> {

    private final String id;
    private final long created;
    private String model;
    private final boolean withLogprobs;
    private final Set<Integer> started = new HashSet<>();
    private ChatCompletion.Usage usage;

    ChunkAssembler(String id, long created, String requestedModel, boolean withLogprobs) {
        this.id = id;
        this.created = created;
        this.model = requestedModel;
        this.withLogprobs = withLogprobs;
    }

    /** The chunk for one backend message, or none when it carries neither text nor an end. */
    @Override
    public Optional<ChatCompletionChunk> onMessage(GenerateStreamResponse message) {
        if (!message.getModel().isEmpty()) {
            model = message.getModel();
        }
        if (message.hasUsage()) {
            usage = ChatCompletion.Usage.of(message.getUsage());
        }
        boolean first = started.add(message.getIndex());
        boolean finished = message.getFinishReason() != FinishReason.FINISH_REASON_UNSPECIFIED;
        String text = message.getText();
        List<ChoiceDeltaToolCall> calls = ChoiceDeltaToolCall.of(message.getToolCallsList());
        if (!first && !finished && text.isEmpty() && calls == null && message.getLogprobsCount() == 0) {
            return Optional.empty();
        }
        // A choice's first chunk carries content ("" at least), unless it starts with a call.
        boolean withContent = !text.isEmpty() || first && calls == null;
        ChatCompletionChunk.Delta delta = new ChatCompletionChunk.Delta(
                first ? "assistant" : null, withContent ? text : null, calls);
        ChatCompletionChunk.Choice choice = new ChatCompletionChunk.Choice(message.getIndex(), delta,
                withLogprobs ? OpenAiLogprobs.of(message.getLogprobsList()) : null,
                ChatCompletion.finishReason(message.getFinishReason()));
        return Optional.of(new ChatCompletionChunk(id, "chat.completion.chunk", created, model, List.of(choice), null));
    }

    /** The closing usage chunk, when the backend reported usage. */
    @Override
    public Optional<ChatCompletionChunk> usageChunk() {
        return Optional.ofNullable(usage)
                .map(u -> new ChatCompletionChunk(id, "chat.completion.chunk", created, model, List.of(), u));
    }
}
