package io.tianshu.gateway.generation;

import io.tianshu.inference.v1.GenerateStreamResponse;
import java.util.Optional;

/** Turns one GenerateStream's messages into a route's chunks, keeping what a stream needs across them. */
public interface Chunks<C> {

    /** The chunk this message makes, or none (a message carrying only usage or nothing new). */
    Optional<C> onMessage(GenerateStreamResponse message);

    /** The last chunk, of usage and no choices, once the stream ended; none when no usage arrived. */
    Optional<C> usageChunk();
}
