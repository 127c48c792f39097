package io.tianshu.gateway.files;

import reactor.core.publisher.Mono;

/**
 * What holds on to uploaded documents elsewhere (vector stores). Deleting a file removes it
 * from all of them first, as OpenAI's DELETE /v1/files does.
 */
public interface FileAttachments {

    /** Removes the tenant's file from everything it was added to; nothing when it was added nowhere. */
    Mono<Void> detach(String tenant, String fileId, String requestId);
}
