package io.tianshu.gateway.error;

import com.fasterxml.jackson.annotation.JsonInclude;

/** OpenAI's error body: {@code {"error": {"message", "type", "param", "code"}}}. */
public record OpenAiError(Detail error) {

    /** param and code are always present, as null when unknown, like OpenAI's own. */
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record Detail(String message, String type, String param, String code) {
    }

    static OpenAiError of(String message, String type, String param, String code) {
        return new OpenAiError(new Detail(message, type, param, code));
    }
}
