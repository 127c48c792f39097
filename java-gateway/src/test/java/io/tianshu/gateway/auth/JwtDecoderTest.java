package io.tianshu.gateway.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpServer;
import io.tianshu.gateway.config.TianshuProperties;
import io.tianshu.gateway.support.TestJwts;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.security.oauth2.jwt.Jwt;
import org.springframework.security.oauth2.jwt.JwtException;
import org.springframework.security.oauth2.jwt.ReactiveJwtDecoder;

/**
 * The asymmetric setup (an identity provider's JWKS and issuer): only tokens signed by a key
 * the JWKS lists and issued by the configured issuer decode. A token that does not decode is
 * the 401 AuthTest shows over HTTP.
 */
class JwtDecoderTest {

    private static final Duration WAIT = Duration.ofSeconds(10);

    private HttpServer identityProvider;
    private RSAKey published;
    private ReactiveJwtDecoder decoder;

    @BeforeEach
    void identityProviderPublishingOneKey() throws IOException, JOSEException {
        published = new RSAKeyGenerator(2048).keyID("published").generate();
        byte[] jwks = new JWKSet(published.toPublicJWK()).toString().getBytes(StandardCharsets.UTF_8);
        identityProvider = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        identityProvider.createContext("/jwks", exchange -> {
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, jwks.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(jwks);
            }
        });
        identityProvider.start();
        String jwksUri = "http://127.0.0.1:" + identityProvider.getAddress().getPort() + "/jwks";
        decoder = AuthConfig.jwtDecoder(new TianshuProperties.Jwt(TestJwts.ISSUER, jwksUri, null, "tenant"));
    }

    @AfterEach
    void stop() {
        identityProvider.stop(0);
    }

    private static String signed(RSAKey key, JWTClaimsSet claims) throws JOSEException {
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(key.getKeyID()).build(), claims);
        jwt.sign(new RSASSASigner(key));
        return jwt.serialize();
    }

    @Test
    void aTokenSignedWithThePublishedKeyByTheIssuerDecodes() throws JOSEException {
        Jwt jwt = decoder.decode(signed(published, TestJwts.claims("acme", "chat").build())).block(WAIT);
        assertThat(jwt.getClaimAsString("tenant")).isEqualTo("acme");
    }

    @Test
    void aTokenSignedWithAKeyTheJwksDoesNotListIsRefused() throws JOSEException {
        RSAKey unknown = new RSAKeyGenerator(2048).keyID("unknown").generate();
        // Same key id as the published key, another key: the signature is what counts.
        RSAKey impostor = new RSAKeyGenerator(2048).keyID("published").generate();
        for (RSAKey key : new RSAKey[] {unknown, impostor}) {
            String token = signed(key, TestJwts.claims("acme", "chat").build());
            assertThatThrownBy(() -> decoder.decode(token).block(WAIT)).isInstanceOf(JwtException.class);
        }
    }

    @Test
    void aTokenFromAnotherIssuerIsRefused() throws JOSEException {
        String token = signed(published, TestJwts.claims("acme", "chat").issuer("https://login.elsewhere.test")
                .build());
        assertThatThrownBy(() -> decoder.decode(token).block(WAIT)).isInstanceOf(JwtException.class)
                .hasMessageContaining("iss");
    }
}
