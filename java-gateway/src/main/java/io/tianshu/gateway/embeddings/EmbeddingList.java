package io.tianshu.gateway.embeddings;

import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import io.swagger.v3.oas.annotations.media.Schema;
import io.tianshu.inference.v1.EmbedResponse;
import io.tianshu.inference.v1.Embedding;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/** OpenAI's embeddings answer: {@code {object: "list", data: [...], model, usage}}. */
public record EmbeddingList(String object, List<Item> data, String model, Usage usage) {

    /** embedding is a list of floats, or a base64 string of little-endian float32s (what the SDKs decode). */
    record Item(String object, int index, Object embedding) {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    @Schema(name = "EmbeddingUsage")
    record Usage(int promptTokens, int totalTokens) {
    }

    public static EmbeddingList of(EmbedResponse response, String requestedModel, boolean base64) {
        List<Item> items = new ArrayList<>(response.getEmbeddingsCount());
        for (int i = 0; i < response.getEmbeddingsCount(); i++) {
            Embedding e = response.getEmbeddings(i);
            items.add(new Item("embedding", i, base64 ? base64(e.getValuesList()) : e.getValuesList()));
        }
        String model = response.getModel().isEmpty() ? requestedModel : response.getModel();
        int prompt = response.getUsage().getPromptTokens();
        return new EmbeddingList("list", items, model, new Usage(prompt, prompt));
    }

    static String base64(List<Float> values) {
        ByteBuffer bytes = ByteBuffer.allocate(values.size() * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        values.forEach(bytes::putFloat);
        return Base64.getEncoder().encodeToString(bytes.array());
    }
}
