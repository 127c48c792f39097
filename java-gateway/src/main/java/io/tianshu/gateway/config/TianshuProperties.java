package io.tianshu.gateway.config;

import jakarta.validation.Valid;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import java.nio.file.Path;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

/**
 * Every setting of the gateway. application.yml maps each one to an environment variable
 * with its default; nothing else in the code reads the environment. Validated at start-up
 * so a bad value stops the process instead of failing the first request. (The database
 * connection is Spring's own spring.datasource.*, also mapped in application.yml.)
 */
@Validated
@ConfigurationProperties(prefix = "tianshu")
public record TianshuProperties(
        @Valid @NotNull Inference inference,
        @Valid @NotNull Auth auth,
        @Valid @NotNull Limits limits,
        @Valid @NotNull Http http) {

    /**
     * The inference service.
     *
     * @param target gRPC target (host:port or any grpc-java target URI), plaintext
     * @param deadline deadline of one non-streaming Generate or Embed call
     * @param streamDeadline deadline of one GenerateStream call; longer, since a stream
     *     lives as long as the answer takes to produce
     * @param listModelsDeadline deadline of ListModels and health checks: short, because a
     *     request waits on them before its real work starts
     * @param tokenizeDeadline deadline of Tokenize, which admission waits on; longer than
     *     ListModels because the prompt may be large and the service busy generating
     * @param modelsRefresh how long a ListModels answer is trusted before it is fetched again
     */
    public record Inference(
            @NotBlank String target,
            @NotNull Duration deadline,
            @NotNull Duration streamDeadline,
            @NotNull Duration listModelsDeadline,
            @NotNull Duration tokenizeDeadline,
            @NotNull Duration modelsRefresh) {
    }

    /**
     * Who may call.
     *
     * @param enabled false opens every route (local experiments only): callers are then the
     *     tenant "default" with every scope
     * @param adminKeyFile where the bootstrap admin key is written, once, mode 0600
     * @param jwt JWT bearer tokens; all of its fields empty means api keys only
     */
    public record Auth(boolean enabled, @NotNull Path adminKeyFile, @Valid @NotNull Jwt jwt) {
    }

    /**
     * @param issuerUri OIDC issuer; its JWKS is discovered and the iss claim checked
     * @param jwkSetUri JWKS address, when there is no discovery document
     * @param secret HS256 shared secret, at least 32 bytes
     * @param tenantClaim claim that names the caller's tenant
     */
    public record Jwt(String issuerUri, String jwkSetUri, String secret, @NotBlank String tenantClaim) {
        public boolean configured() {
            return present(issuerUri) || present(jwkSetUri) || present(secret);
        }

        public static boolean present(String value) {
            return value != null && !value.isBlank();
        }
    }

    /**
     * @param window the period a requests-per-minute or tokens-per-minute limit refills over;
     *     one minute, except in tests, which stretch it so no refill happens while they run
     */
    public record Limits(@NotNull Duration window) {
    }

    /** @param maxBodyBytes largest request body; larger ones get 413 */
    public record Http(@NotNull DataSize maxBodyBytes) {
    }
}
