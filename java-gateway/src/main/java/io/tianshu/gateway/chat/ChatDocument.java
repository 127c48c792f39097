package io.tianshu.gateway.chat;

import io.swagger.v3.core.converter.ModelConverters;
import java.util.stream.Stream;
import org.springdoc.core.customizers.OpenApiCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The schemas the chat request names only inside a oneOf in the OpenAPI document: a message's
 * content parts and the object form of tool_choice (its words are an enum, written inline).
 * springdoc does not collect schemas named there; without this the references would dangle and
 * clients (and schemathesis) would drop the body.
 */
@Configuration(proxyBeanMethods = false)
class ChatDocument {

    @Bean
    OpenApiCustomizer chatOneOfShapes() {
        return openApi -> Stream.of(ChatCompletionRequest.TextPart.class, ChatCompletionRequest.NamedToolChoice.class)
                .forEach(type -> ModelConverters.getInstance(true).readAll(type)
                        .forEach(openApi.getComponents()::addSchemas));
    }
}
