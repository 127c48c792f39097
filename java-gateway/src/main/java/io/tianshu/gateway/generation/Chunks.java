package io.tianshu.gateway.generation;

import io.tianshu.inference.v1.GenerateStreamResponse;
import java.util.Optional;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Mono;

/** Turns one GenerateStream's messages into a route's chunks, keeping what a stream needs across them. */
public interface Chunks<C> {

    /** The chunk this message makes, or none (a message carrying only usage or nothing new). */
    Optional<C> onMessage(GenerateStreamResponse message);

    /**
     * Every chunk one message makes, in order: by default {@link #onMessage}'s. A route whose
     * protocol sends several events per message (the Responses API) overrides this.
     */
    default Publisher<C> forMessage(GenerateStreamResponse message) {
        return Mono.justOrEmpty(onMessage(message));
    }

    /** What the stream sends first, with the backend's first message: nothing by default. */
    default Publisher<C> opening() {
        return Mono.empty();
    }

    /** The last chunk, of usage and no choices, once the stream ended; none when no usage arrived. */
    Optional<C> usageChunk();

    /**
     * What the stream sends once the backend's stream ended: by default the usage chunk when
     * the caller asked for it. A route whose stream ends with work of its own (storing the
     * answer, then saying so) returns that here.
     */
    default Publisher<C> closing(boolean includeUsage) {
        return includeUsage ? Mono.justOrEmpty(usageChunk()) : Mono.empty();
    }
}
