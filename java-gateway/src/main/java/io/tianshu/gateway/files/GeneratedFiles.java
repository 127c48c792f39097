package io.tianshu.gateway.files;

import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Files the gateway does not store but derives from elsewhere on request (a batch's output
 * and error files, read from the batch service). The files routes serve them next to uploads.
 */
public interface GeneratedFiles {

    /** Whether the id names one of these files (whether or not it exists). */
    boolean owns(String fileId);

    /** The file object; NOT_FOUND (404) when the tenant has no such file. */
    Mono<FileViews.FileObject> describe(String tenant, String fileId, String requestId);

    /**
     * The content, in pieces, fetched as the caller reads; fails before its first piece when
     * the tenant has no such file.
     */
    Flux<byte[]> content(String tenant, String fileId, String requestId);
}
