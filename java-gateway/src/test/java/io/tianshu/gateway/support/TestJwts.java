package io.tianshu.gateway.support;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Date;
import java.util.UUID;
import org.springframework.test.web.reactive.server.WebTestClient;

/**
 * JWTs as the test gateways accept them: HS256 with {@link #SECRET}, issued by {@link #ISSUER}
 * (both set for every test context by {@link EmbeddedPostgresInitializer}), the tenant in the
 * default claim, {@code tenant}.
 */
public final class TestJwts {

    public static final String SECRET = "a-test-secret-that-is-at-least-32-bytes-long";
    public static final String ISSUER = "https://login.tianshu.test";

    private TestJwts() {
    }

    /** A tenant no other test uses, as a JWT may name one the gateway has no row for. */
    public static String newTenant() {
        return "jwt-" + UUID.randomUUID().toString().substring(0, 8);
    }

    /** {@code web} calling with a valid token of {@code tenant} and these scopes. */
    public static WebTestClient as(WebTestClient web, String tenant, String scope) {
        String token = token(tenant, scope);
        return web.mutate().defaultHeaders(headers -> headers.setBearerAuth(token)).build();
    }

    /** A valid token of {@code tenant} with these space-separated scopes, for ten minutes. */
    public static String token(String tenant, String scope) {
        return sign(claims(tenant, scope).build(), SECRET);
    }

    /** The claims of {@link #token}, to change one before signing. */
    public static JWTClaimsSet.Builder claims(String tenant, String scope) {
        return new JWTClaimsSet.Builder().issuer(ISSUER).subject("alice").claim("tenant", tenant).claim("scope", scope)
                .issueTime(new Date()).expirationTime(Date.from(Instant.now().plusSeconds(600)));
    }

    public static String sign(JWTClaimsSet claims, String secret) {
        SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims);
        try {
            jwt.sign(new MACSigner(secret.getBytes(StandardCharsets.UTF_8)));
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
        return jwt.serialize();
    }
}
