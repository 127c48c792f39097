package io.tianshu.gateway.responses;

import static io.tianshu.gateway.error.ApiException.invalidRequest;

import io.tianshu.inference.v1.Generation;

/** The Responses API's tools and tool_choice on a generation. */
final class ResponseTools {

    private ResponseTools() {
    }

    static void apply(ResponseRequest request, Generation.Builder generation) {
        if (request.tools() != null && !request.tools().isNull() && !request.tools().isEmpty()) {
            throw invalidRequest("Tools on the Responses API are not served yet.", "tools");
        }
    }
}
