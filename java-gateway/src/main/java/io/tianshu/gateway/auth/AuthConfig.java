package io.tianshu.gateway.auth;

import io.tianshu.gateway.config.TianshuProperties;
import io.tianshu.gateway.error.ApiException;
import java.nio.charset.StandardCharsets;
import javax.crypto.spec.SecretKeySpec;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.security.config.annotation.web.reactive.EnableWebFluxSecurity;
import org.springframework.security.config.web.server.SecurityWebFiltersOrder;
import org.springframework.security.config.web.server.ServerHttpSecurity;
import org.springframework.security.oauth2.jose.jws.MacAlgorithm;
import org.springframework.security.oauth2.jwt.JwtValidators;
import org.springframework.security.oauth2.jwt.NimbusReactiveJwtDecoder;
import org.springframework.security.oauth2.jwt.ReactiveJwtDecoder;
import org.springframework.security.oauth2.server.resource.web.server.authentication.ServerBearerTokenAuthenticationConverter;
import org.springframework.security.web.server.SecurityWebFilterChain;
import org.springframework.security.web.server.ServerAuthenticationEntryPoint;
import org.springframework.security.web.server.authentication.AuthenticationWebFilter;
import org.springframework.security.web.server.authentication.ServerAuthenticationEntryPointFailureHandler;
import org.springframework.security.web.server.authorization.ServerAccessDeniedHandler;
import org.springframework.security.web.server.context.NoOpServerSecurityContextRepository;
import reactor.core.publisher.Mono;

/**
 * Bearer authentication (api keys and JWTs) and one scope per route. Spring Security's
 * browser defaults (form login, basic auth, CSRF, a session) would break API clients, so they
 * are off. Rejections are raised as {@link ApiException}s, so the one error handler writes
 * them in OpenAI's shape like every other error.
 */
@Configuration
@EnableWebFluxSecurity
class AuthConfig {

    private static final String[] PUBLIC = {
        "/actuator/health", "/actuator/health/**", "/actuator/prometheus",
        "/v3/api-docs", "/v3/api-docs/**", "/swagger-ui.html", "/swagger-ui/**", "/webjars/**",
        // The web console's page and files (console/ConsoleConfig): no data in them.
        "/", "/index.html", "/assets/**",
    };

    @Bean
    SecurityWebFilterChain securityWebFilterChain(ServerHttpSecurity http, TianshuProperties properties,
            ApiKeyCache keys, TenantDirectory tenants) {
        http.csrf(ServerHttpSecurity.CsrfSpec::disable)
                .httpBasic(ServerHttpSecurity.HttpBasicSpec::disable)
                .formLogin(ServerHttpSecurity.FormLoginSpec::disable)
                .logout(ServerHttpSecurity.LogoutSpec::disable)
                .requestCache(ServerHttpSecurity.RequestCacheSpec::disable)
                .securityContextRepository(NoOpServerSecurityContextRepository.getInstance());
        if (!properties.auth().enabled()) {
            return http.authorizeExchange(exchanges -> exchanges.anyExchange().permitAll()).build();
        }
        ServerAuthenticationEntryPoint unauthorized = AuthConfig::unauthorized;
        AuthenticationWebFilter bearer = new AuthenticationWebFilter(new BearerAuthenticationManager(keys, tenants,
                jwtDecoder(properties.auth().jwt()), properties.auth().jwt()));
        bearer.setServerAuthenticationConverter(new ServerBearerTokenAuthenticationConverter());
        bearer.setAuthenticationFailureHandler(new ServerAuthenticationEntryPointFailureHandler(unauthorized));
        return http
                .addFilterAt(bearer, SecurityWebFiltersOrder.AUTHENTICATION)
                .exceptionHandling(e -> e.authenticationEntryPoint(unauthorized).accessDeniedHandler(forbidden()))
                .authorizeExchange(exchanges -> exchanges
                        .pathMatchers(PUBLIC).permitAll()
                        .pathMatchers(HttpMethod.POST, "/v1/chat/completions", "/v1/completions")
                                .hasAuthority(Scope.CHAT.authority())
                        // Creating, reading and deleting the caller's own stored responses.
                        .pathMatchers("/v1/responses", "/v1/responses/**").hasAuthority(Scope.CHAT.authority())
                        .pathMatchers(HttpMethod.POST, "/v1/embeddings").hasAuthority(Scope.EMBEDDINGS.authority())
                        .pathMatchers(HttpMethod.POST, "/v1/rerank", "/v2/rerank")
                        .hasAuthority(Scope.EMBEDDINGS.authority())
                        .pathMatchers("/v1/admin/**").hasAuthority(Scope.ADMIN.authority())
                        // Search and answers are POSTs that only read; every other POST or
                        // DELETE under /v1/rag changes collections or documents.
                        .pathMatchers(HttpMethod.POST, "/v1/rag/collections/*/search", "/v1/rag/collections/*/answers")
                                .hasAuthority(Scope.RAG_READ.authority())
                        .pathMatchers(HttpMethod.GET, "/v1/rag/**").hasAuthority(Scope.RAG_READ.authority())
                        .pathMatchers("/v1/rag/**").hasAuthority(Scope.RAG_WRITE.authority())
                        // Vector stores hold RAG collections: reading them (a search too) is
                        // rag:read, changing them rag:write.
                        .pathMatchers(HttpMethod.POST, "/v1/vector_stores/*/search")
                                .hasAuthority(Scope.RAG_READ.authority())
                        .pathMatchers(HttpMethod.GET, "/v1/vector_stores", "/v1/vector_stores/**")
                                .hasAuthority(Scope.RAG_READ.authority())
                        .pathMatchers("/v1/vector_stores", "/v1/vector_stores/**")
                                .hasAuthority(Scope.RAG_WRITE.authority())
                        // Files are batch input (scope batch) or vector store documents (purpose
                        // assistants: rag:write to upload or delete, rag:read to read); the route
                        // checks the scope of the file's purpose once it knows it.
                        .pathMatchers("/v1/files", "/v1/files/**").hasAnyAuthority(Scope.BATCH.authority(),
                                Scope.RAG_READ.authority(), Scope.RAG_WRITE.authority())
                        .pathMatchers("/v1/batches", "/v1/batches/**").hasAuthority(Scope.BATCH.authority())
                        .anyExchange().authenticated())
                .build();
    }

    private static Mono<Void> unauthorized(org.springframework.web.server.ServerWebExchange exchange,
            org.springframework.security.core.AuthenticationException e) {
        boolean sent = exchange.getRequest().getHeaders().containsKey(HttpHeaders.AUTHORIZATION);
        // The presented key is never echoed: it may be a real key pasted into the wrong place.
        return Mono.error(ApiException.invalidApiKey(sent
                ? "Incorrect API key provided, or the key was revoked or has expired."
                : "You didn't provide an API key. Send it in the Authorization header: "
                        + "'Authorization: Bearer YOUR_KEY'."));
    }

    private static ServerAccessDeniedHandler forbidden() {
        return (exchange, denied) -> Mono.error(ApiException.insufficientScope(
                exchange.getRequest().getMethod().name(), exchange.getRequest().getPath().value()));
    }

    /** The JWT decoder the settings describe, or null when JWTs are not accepted. */
    static ReactiveJwtDecoder jwtDecoder(TianshuProperties.Jwt jwt) {
        if (TianshuProperties.Jwt.present(jwt.secret())) {
            byte[] secret = jwt.secret().getBytes(StandardCharsets.UTF_8);
            if (secret.length < 32) {
                // HS256 with a shorter key is brute-forceable; Nimbus refuses it too, but later.
                throw new IllegalStateException("TIANSHU_JWT_SECRET must be at least 32 bytes");
            }
            NimbusReactiveJwtDecoder decoder = NimbusReactiveJwtDecoder
                    .withSecretKey(new SecretKeySpec(secret, "HmacSHA256")).macAlgorithm(MacAlgorithm.HS256).build();
            if (TianshuProperties.Jwt.present(jwt.issuerUri())) {
                // No discovery with a shared secret: the issuer is only what iss must say.
                decoder.setJwtValidator(JwtValidators.createDefaultWithIssuer(jwt.issuerUri()));
            }
            return decoder;
        }
        if (TianshuProperties.Jwt.present(jwt.jwkSetUri())) {
            NimbusReactiveJwtDecoder decoder = NimbusReactiveJwtDecoder.withJwkSetUri(jwt.jwkSetUri()).build();
            if (TianshuProperties.Jwt.present(jwt.issuerUri())) {
                decoder.setJwtValidator(JwtValidators.createDefaultWithIssuer(jwt.issuerUri()));
            }
            return decoder;
        }
        if (TianshuProperties.Jwt.present(jwt.issuerUri())) {
            // Discovery happens at the first token, so the gateway starts while the issuer is down.
            return NimbusReactiveJwtDecoder.withIssuerLocation(jwt.issuerUri()).build();
        }
        return null;
    }
}
