package io.tianshu.gateway.vectorstores;

import io.tianshu.gateway.error.ApiException;
import org.springframework.http.HttpStatus;

/**
 * The refusals of the vector store routes, in OpenAI's words. Another tenant's store, file or
 * batch is 404 exactly like one that does not exist: its existence never shows.
 */
final class VectorStoreErrors {

    private VectorStoreErrors() {
    }

    static ApiException storeNotFound(String id) {
        return notFound("No vector store found with id '" + id + "'.", "vector_store_id");
    }

    static ApiException fileNotFound(String storeId, String fileId) {
        return notFound("No file found with id '" + fileId + "' in vector store '" + storeId + "'.", "file_id");
    }

    static ApiException batchNotFound(String storeId, String batchId) {
        return notFound("No file batch found with id '" + batchId + "' in vector store '" + storeId + "'.",
                "batch_id");
    }

    /** 400: the file's content is not stored (yet, or ever: its ingest job failed). */
    static ApiException contentNotStored(String fileId, String status) {
        return ApiException.invalidRequest("File " + fileId + " is " + status + "; its content can be read once "
                + "its status is completed.", "file_id");
    }

    /** 400: the file exists but was uploaded for another purpose than vector stores. */
    static ApiException notADocument(String fileId, String purpose, String param) {
        return ApiException.invalidRequest("File " + fileId + " has purpose '" + purpose + "'; only files uploaded "
                + "with purpose \"assistants\" can be added to a vector store.", param);
    }

    /** 409: the store holds the file already (a failed one may be added again). */
    static ApiException alreadyAttached(String storeId, String fileId, String param) {
        return new ApiException(HttpStatus.CONFLICT, "conflict_error", "Vector store '" + storeId + "' already holds "
                + "file " + fileId + "; delete it from the store first to add it again.", param,
                "file_already_attached");
    }

    private static ApiException notFound(String message, String param) {
        return new ApiException(HttpStatus.NOT_FOUND, "invalid_request_error", message, param, "not_found");
    }
}
