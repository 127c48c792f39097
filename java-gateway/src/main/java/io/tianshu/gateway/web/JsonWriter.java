package io.tianshu.gateway.web;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.springframework.http.MediaType;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Mono;

/** Serializes with the application's ObjectMapper, for the routes that write their own response. */
@Component
public class JsonWriter {

    private final ObjectMapper objectMapper;

    JsonWriter(ObjectMapper objectMapper) {
        this.objectMapper = objectMapper;
    }

    public String toJson(Object value) {
        try {
            return objectMapper.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialize " + value.getClass().getSimpleName(), e);
        }
    }

    public Mono<Void> write(ServerHttpResponse response, MediaType type, Object value) {
        return Mono.fromCallable(() -> objectMapper.writeValueAsBytes(value)).flatMap(bytes -> {
            response.getHeaders().setContentType(type);
            response.getHeaders().setContentLength(bytes.length);
            return response.writeWith(Mono.just(response.bufferFactory().wrap(bytes)));
        });
    }
}
