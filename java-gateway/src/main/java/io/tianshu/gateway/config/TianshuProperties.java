package io.tianshu.gateway.config;

import jakarta.validation.Valid;
import jakarta.validation.constraints.DecimalMax;
import jakarta.validation.constraints.DecimalMin;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotEmpty;
import jakarta.validation.constraints.NotNull;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
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
        @Valid @NotNull Dynamic dynamic,
        @Valid @NotNull Http http,
        @Valid @NotNull Rag rag,
        @Valid @NotNull Batch batch,
        @Valid @NotNull Files files,
        @Valid @NotNull RateLimits limits,
        @Valid @NotNull Console console) {

    /**
     * The inference service: one or more instances serving the same models.
     *
     * @param targets gRPC targets (host:port or any grpc-java target URI) of the instances, plaintext;
     *     each gets its own channel, circuit breaker and bulkhead
     * @param deadline deadline of one non-streaming Generate or Embed call
     * @param streamDeadline deadline of one GenerateStream call; longer, since a stream
     *     lives as long as the answer takes to produce
     * @param listModelsDeadline deadline of ListModels: short, because a request waits on it
     *     before its real work starts
     * @param tokenizeDeadline deadline of Tokenize, which admission waits on; longer than
     *     ListModels because the prompt may be large and the service busy generating
     * @param modelsRefresh how long a ListModels answer is trusted before it is fetched again
     * @param loadPoll how each instance's GetLoad is polled for routing and readiness
     * @param breaker the circuit breaker of each instance
     * @param bulkhead the concurrency cap of each instance
     * @param failoverAttempts most instances one call is sent to, counting the first; a call
     *     moves on only when the previous instance was unavailable before answering anything
     * @param promptCounting where a prompt is counted before admission
     */
    public record Inference(
            @NotEmpty List<@NotBlank String> targets,
            @NotNull Duration deadline,
            @NotNull Duration streamDeadline,
            @NotNull Duration listModelsDeadline,
            @NotNull Duration tokenizeDeadline,
            @NotNull Duration modelsRefresh,
            @Valid @NotNull LoadPoll loadPoll,
            @Valid @NotNull Breaker breaker,
            @Valid @NotNull Bulkhead bulkhead,
            @Min(1) int failoverAttempts,
            @NotNull PromptCounting promptCounting) {
    }

    /** Where prompts are counted before admission; the two give the same counts. */
    public enum PromptCounting {
        /**
         * In the gateway, with the model's tokenizer and chat template from the inference
         * service, once they reproduce its counts (a model whose template the gateway cannot
         * render faithfully stays with SERVICE); saves a Tokenize round trip per request.
         */
        GATEWAY,
        /** A Tokenize call to the inference service per request. */
        SERVICE
    }

    /**
     * @param interval time between two GetLoad rounds over every instance
     * @param deadline deadline of one GetLoad; an instance that misses it is routed around
     *     until a later round succeeds
     */
    public record LoadPoll(@NotNull Duration interval, @NotNull Duration deadline) {
    }

    /**
     * Counts UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL, UNKNOWN and DATA_LOSS as failures;
     * answers such as INVALID_ARGUMENT or RESOURCE_EXHAUSTED prove the instance works.
     *
     * @param failureRate percentage of failed calls in the window that opens the breaker
     * @param slowCallRate percentage of slow calls in the window that opens the breaker
     * @param slowCall a call slower than this is slow: a unary call measured whole, a stream
     *     up to its first message
     * @param window number of recent calls the rates are computed over
     * @param minimumCalls calls needed in the window before the rates are judged
     * @param openFor how long an open breaker refuses calls before letting probes through
     * @param halfOpenCalls probe calls let through after openFor; their rates close or reopen it
     */
    public record Breaker(
            @Min(1) @Max(100) float failureRate,
            @Min(1) @Max(100) float slowCallRate,
            @NotNull Duration slowCall,
            @Min(1) int window,
            @Min(1) int minimumCalls,
            @NotNull Duration openFor,
            @Min(1) int halfOpenCalls) {
    }

    /** @param maxConcurrentCalls calls (a stream counts until it ends) one instance may have in flight */
    public record Bulkhead(@Min(1) int maxConcurrentCalls) {
    }

    /**
     * Who may call.
     *
     * @param enabled false opens every route (local experiments only): callers are then the
     *     tenant "default" with every scope
     * @param adminKeyFile where the bootstrap admin key is written, once, mode 0600
     * @param jwt JWT bearer tokens; all of its fields empty means api keys only
     * @param keyCacheTtl how long an authenticated api key is trusted without asking the
     *     database again; how late other instances see a revocation. Zero turns the cache off
     */
    public record Auth(boolean enabled, @NotNull Path adminKeyFile, @Valid @NotNull Jwt jwt,
            @NotNull Duration keyCacheTtl) {
    }

    /**
     * @param issuerUri the iss every token must carry; without a JWKS address or a secret, also
     *     the OIDC issuer its JWKS is discovered from
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
     * What operators may change while the gateway runs. At start-up it comes from application.yml
     * and the environment; with Nacos, each published version of the gateway's document
     * replaces it whole ({@link DynamicConfig}). Read it through DynamicConfig, never from here.
     *
     * @param limits rate-limit settings
     * @param modelAliases model names callers may use, each mapped to the served model id it
     *     stands for; resolved before the model is checked, admitted, metered and called
     * @param features switches for parts of the API
     */
    public record Dynamic(
            @Valid @NotNull Limits limits,
            @DefaultValue @NotNull Map<@NotBlank String, @NotBlank String> modelAliases,
            @Valid @NotNull Features features) {
    }

    /**
     * @param window the period a requests-per-minute or tokens-per-minute limit refills over;
     *     one minute, except in tests, which stretch it so no refill happens while they run
     * @param tenants per tenant id, limits that replace the ones stored with the tenant; a
     *     field left out keeps the stored value
     */
    public record Limits(@NotNull Duration window, @DefaultValue @NotNull Map<String, @Valid TenantLimits> tenants) {
    }

    /**
     * @param rpm requests per minute, or null to keep the tenant's stored value
     * @param tpm tokens per minute, or null to keep the tenant's stored value
     * @param ingestTokensPerDay embedding tokens the tenant's document uploads may use per day
     *     (its ingestion quota), or null to keep the tenant's stored value
     */
    public record TenantLimits(@Min(1) Integer rpm, @Min(1) Integer tpm, @Min(1) Long ingestTokensPerDay) {
    }

    /**
     * @param streaming false refuses {@code "stream": true} with 400 {@code feature_disabled},
     *     e.g. to shed long-lived connections during an incident
     * @param embeddings false refuses {@code /v1/embeddings} with 400 {@code feature_disabled}
     */
    public record Features(@DefaultValue("true") boolean streaming, @DefaultValue("true") boolean embeddings) {
    }

    /**
     * The RAG service (one target; it keeps no state of its own besides its database, so
     * replicas sit behind one address).
     *
     * @param target gRPC target (host:port or any grpc-java target URI), plaintext
     * @param deadline deadline of one unary call: collections, jobs, documents, Search
     * @param ingestDeadline deadline of IngestDocuments, which parses and chunks every
     *     document before it answers (embedding runs afterwards, in the job)
     * @param streamDeadline deadline of an Answer or WatchIngestJob stream
     * @param healthDeadline deadline of the health check behind the "rag" health component
     * @param answerModel model (or alias) of an answer whose request names none; the gateway
     *     must know it to check and meter the answer, so it always sends one
     * @param breaker the circuit breaker every call to the service passes ("rag")
     */
    public record Rag(
            @NotBlank String target,
            @NotNull Duration deadline,
            @NotNull Duration ingestDeadline,
            @NotNull Duration streamDeadline,
            @NotNull Duration healthDeadline,
            @NotBlank String answerModel,
            @Valid @NotNull Breaker breaker) {
    }

    /**
     * The batch service (JobsService). One target, like RAG: its state is in its database, so
     * replicas sit behind one address.
     *
     * @param target gRPC target (host:port or any grpc-java target URI), plaintext; empty means
     *     the gateway runs without batch jobs and /v1/files and /v1/batches answer 503
     * @param deadline deadline of one call other than CreateBatch
     * @param createDeadline deadline of CreateBatch, which stores every line and queues them on
     *     Kafka before it answers
     * @param healthDeadline deadline of the health check behind the "batch" health component
     * @param maxMessageBytes largest gRPC message taken from the service: a page of results
     *     holds whole chat completions
     * @param breaker the circuit breaker in front of the service
     * @param charge how batch token usage is charged to tenants' quotas
     */
    public record Batch(
            String target,
            @NotNull Duration deadline,
            @NotNull Duration createDeadline,
            @NotNull Duration healthDeadline,
            @NotNull DataSize maxMessageBytes,
            @Valid @NotNull Breaker breaker,
            @Valid @NotNull Charge charge) {

        public boolean configured() {
            return target != null && !target.isBlank();
        }
    }

    /**
     * @param interval time between two rounds of reading the batch service's usage ledger
     * @param pageSize ledger records read and charged per database transaction
     */
    public record Charge(@NotNull Duration interval, @Min(1) @Max(5000) int pageSize) {
    }

    /**
     * Uploaded files (purpose batch), kept in the gateway's database.
     *
     * @param maxBytes largest file accepted; larger uploads get 413. A batch is sent to the
     *     batch service as one gRPC message, so the gateway holds a whole file in memory while
     *     it creates the batch: this bounds that.
     */
    public record Files(@NotNull DataSize maxBytes) {
    }

    /**
     * Rate limiting that is fixed at start-up (what may change while running is in
     * {@link Dynamic#limits()}).
     *
     * @param store where the token buckets live: {@code postgres}, shared by every gateway
     *     instance on the database, or {@code memory}, in this process only, which takes no
     *     database round trip per call but multiplies every limit by the number of instances
     * @param leaseFraction with {@code postgres}: the slice of a busy bucket's capacity an
     *     instance takes with one call and admits the calls after it from, without a database
     *     round trip (0 = every call goes to the database); see LeasingBucketStore
     * @param leaseTime how long an instance keeps a slice after its last call from it before
     *     what is left goes back
     */
    public record RateLimits(@NotNull Store store, @DecimalMin("0") @DecimalMax("0.25") double leaseFraction,
            @NotNull Duration leaseTime) {

        public enum Store { POSTGRES, MEMORY }
    }

    /** @param maxBodyBytes largest request body; larger ones get 413 */
    public record Http(@NotNull DataSize maxBodyBytes) {
    }

    /**
     * The web console, a built single-page app served at {@code /}.
     *
     * @param dir folder holding the console's index.html and assets/ (scripts/bootstrap.sh
     *     builds it into build/console, the image into /opt/tianshu/console); empty: no console
     */
    public record Console(String dir) {
        public boolean enabled() {
            return dir != null && !dir.isBlank();
        }
    }
}
