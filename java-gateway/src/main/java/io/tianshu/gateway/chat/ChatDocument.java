package io.tianshu.gateway.chat;

import io.swagger.v3.core.converter.ModelConverters;
import org.springdoc.core.customizers.OpenApiCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The schema of a chat content part in the OpenAPI document. The request names it only
 * inside the oneOf of a message's content, and springdoc does not collect schemas named there:
 * without this the reference would dangle and clients (and schemathesis) would drop the body.
 */
@Configuration(proxyBeanMethods = false)
class ChatDocument {

    @Bean
    OpenApiCustomizer chatContentPart() {
        return openApi -> ModelConverters.getInstance(true).read(ChatCompletionRequest.TextPart.class)
                .forEach(openApi.getComponents()::addSchemas);
    }
}
