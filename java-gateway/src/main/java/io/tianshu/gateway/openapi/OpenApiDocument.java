package io.tianshu.gateway.openapi;

import io.swagger.v3.oas.models.Components;
import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.info.Info;
import io.swagger.v3.oas.models.media.Content;
import io.swagger.v3.oas.models.media.JsonSchema;
import io.swagger.v3.oas.models.media.MediaType;
import io.swagger.v3.oas.models.media.Schema;
import io.swagger.v3.oas.models.responses.ApiResponse;
import io.swagger.v3.oas.models.security.SecurityRequirement;
import io.swagger.v3.oas.models.security.SecurityScheme;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import org.springdoc.core.customizers.OpenApiCustomizer;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.info.BuildProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * What the OpenAPI document (/v3/api-docs, OpenAPI 3.1) says beyond the routes' own
 * annotations: the product and its version, bearer authentication, OpenAI's error body as the
 * answer of every operation that fails, and that optional properties may be null.
 */
@Configuration(proxyBeanMethods = false)
class OpenApiDocument {

    static final String ERROR_BODY = "ErrorBody";
    private static final String BEARER = "bearer";

    @Bean
    OpenAPI tianshuOpenApi(ObjectProvider<BuildProperties> build) {
        BuildProperties built = build.getIfAvailable();
        return new OpenAPI()
                .info(new Info()
                        .title("Tianshu gateway")
                        // Classes compiled outside Maven (an IDE) have no build-info.properties.
                        .version(built == null ? "development" : built.getVersion())
                        .description("OpenAI-compatible API of Tianshu, an enterprise LLM platform: chat and "
                                + "legacy completions, embeddings and models as OpenAI defines them (the official "
                                + "SDKs work unchanged), OpenAI's Files and Batch APIs, retrieval-augmented "
                                + "answers over tenant collections (/v1/rag), and the admin API. Every route needs "
                                + "a bearer token (an API key or a JWT) with the scope its summary names. Errors "
                                + "use OpenAI's body; a failure of the service itself names the request id."))
                .components(new Components().addSecuritySchemes(BEARER, new SecurityScheme()
                        .type(SecurityScheme.Type.HTTP).scheme("bearer")
                        .description("An API key (tsk_...) made with the admin API, or a JWT when configured")))
                .addSecurityItem(new SecurityRequirement().addList(BEARER));
    }

    /** OpenAI's error body, the answer of every failed call: the "default" response of every operation. */
    @Bean
    OpenApiCustomizer errorResponses() {
        return openApi -> {
            openApi.getComponents().addSchemas(ERROR_BODY, errorBody());
            ApiResponse failure = new ApiResponse().description("An error, in OpenAI's shape")
                    .content(new Content().addMediaType(org.springframework.http.MediaType.APPLICATION_JSON_VALUE,
                            new MediaType().schema(new JsonSchema().$ref("#/components/schemas/" + ERROR_BODY))));
            openApi.getPaths().values().forEach(path -> path.readOperations()
                    .forEach(operation -> operation.getResponses().addApiResponse("default", failure)));
        };
    }

    /**
     * Jackson writes an absent value as null and reads null as absent, so every property a
     * schema does not require may be null, in answers and in requests alike.
     */
    @Bean
    @SuppressWarnings("rawtypes") // swagger-models' maps hold raw Schema
    OpenApiCustomizer optionalPropertiesMayBeNull() {
        return openApi -> {
            for (Schema<?> schema : openApi.getComponents().getSchemas().values()) {
                Map<String, Schema> properties = schema.getProperties();
                if (properties == null) {
                    continue;
                }
                List<String> required = schema.getRequired() == null ? List.of() : schema.getRequired();
                properties.values().forEach(OpenApiDocument::exclusiveBoundsAsNumbers);
                properties.replaceAll((name, property) -> required.contains(name) ? property : mayBeNull(property));
            }
        };
    }

    /**
     * "@Schema(minimum = "0", exclusiveMinimum = true)" in OpenAPI 3.1 terms: there the bound
     * is the number itself, and springdoc writes neither (top_p must be above 0, not from 0).
     */
    @SuppressWarnings("rawtypes")
    private static void exclusiveBoundsAsNumbers(Schema property) {
        if (Boolean.TRUE.equals(property.getExclusiveMinimum()) && property.getMinimum() != null) {
            property.setExclusiveMinimumValue(property.getMinimum());
            property.setMinimum(null);
            property.setExclusiveMinimum(null);
        }
        if (Boolean.TRUE.equals(property.getExclusiveMaximum()) && property.getMaximum() != null) {
            property.setExclusiveMaximumValue(property.getMaximum());
            property.setMaximum(null);
            property.setExclusiveMaximum(null);
        }
    }

    @SuppressWarnings({"rawtypes", "unchecked"})
    private static Schema mayBeNull(Schema property) {
        boolean plain = property.get$ref() == null && property.getOneOf() == null && property.getAnyOf() == null
                && property.getAllOf() == null && property.getTypes() != null && !property.getTypes().isEmpty();
        if (plain) {
            property.addType("null");
            if (property.getEnum() != null && !property.getEnum().contains(null)) {
                List values = new ArrayList<>(property.getEnum());
                values.add(null);
                property.setEnum(values);
            }
            return property;
        }
        // A reference or a choice of shapes: the value is one of them, or null.
        Schema wrapper = new JsonSchema().anyOf(List.of(property, nullType())).description(property.getDescription());
        property.setDescription(null);
        return wrapper;
    }

    private static Schema<?> nullType() {
        return new JsonSchema().types(new LinkedHashSet<>(List.of("null")));
    }

    private static Schema<?> errorBody() {
        Schema<?> detail = object()
                .addProperty("message", typed("string").description("What went wrong, for people"))
                .addProperty("type", typed("string").description("invalid_request_error, permission_error, "
                        + "server_error, ..."))
                .addProperty("param", typed("string", "null").description("The request field at fault"))
                .addProperty("code", typed("string", "null").description("A stable code, e.g. model_not_found"));
        detail.setRequired(List.of("message", "type", "param", "code"));
        Schema<?> body = object().addProperty("error", detail);
        body.setRequired(List.of("error"));
        return body;
    }

    private static Schema<?> object() {
        return typed("object");
    }

    private static Schema<?> typed(String... types) {
        return new JsonSchema().types(new LinkedHashSet<>(List.of(types)));
    }
}
