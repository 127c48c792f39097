package io.tianshu.gateway.batches;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tianshu.gateway.chat.ChatCompletion;
import io.tianshu.gateway.embeddings.EmbeddingList;
import io.tianshu.inference.v1.GenerateResponse;
import io.tianshu.jobs.v1.BatchItemResult;

/**
 * One finished line as a line of OpenAI's batch output or error file:
 * {@code {"id", "custom_id", "response": {"status_code", "request_id", "body"}, "error"}}. The
 * body of a line that ran is the inference answer rendered by the interactive route's own class
 * ({@link ChatCompletion}, {@link EmbeddingList}), so a batch answer reads exactly like the
 * endpoint's; a line that failed has {"error": {code, message}} as its body, and a line that
 * never ran (expired) has no response at all, as in OpenAI's files.
 */
final class BatchResultLines {

    private BatchResultLines() {
    }

    static String line(BatchItemResult result, ObjectMapper json) {
        String requestId = result.getBatchId() + "-" + result.getCustomId();
        ObjectNode line = json.createObjectNode();
        line.put("id", "batch_req_" + requestId);
        line.put("custom_id", result.getCustomId());
        ObjectNode error = result.getErrorCode().isEmpty() ? null : json.createObjectNode()
                .put("code", result.getErrorCode()).put("message", result.getErrorMessage());
        if (result.getStatusCode() == 0 && result.getResponseCase() == BatchItemResult.ResponseCase.RESPONSE_NOT_SET) {
            line.putNull("response");
        } else {
            ObjectNode response = line.putObject("response");
            response.put("status_code", result.getStatusCode());
            response.put("request_id", requestId);
            response.set("body", switch (result.getResponseCase()) {
                case GENERATION -> json.valueToTree(chatCompletion(result.getGeneration(), requestId, result));
                case EMBEDDING -> json.valueToTree(EmbeddingList.of(result.getEmbedding(), "", false));
                default -> json.createObjectNode().set("error", error);
            });
        }
        line.set("error", error);
        return line.toString();
    }

    private static ChatCompletion chatCompletion(GenerateResponse response, String requestId, BatchItemResult result) {
        // Logprobs were asked for exactly when the engine returned them.
        boolean withLogprobs = response.getChoicesList().stream().anyMatch(c -> c.getLogprobsCount() > 0);
        return ChatCompletion.of(response, "chatcmpl-" + requestId, result.getFinishedAt().getSeconds(), "",
                withLogprobs);
    }
}
