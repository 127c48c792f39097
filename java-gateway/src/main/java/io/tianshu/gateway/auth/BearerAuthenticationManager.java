package io.tianshu.gateway.auth;

import io.tianshu.gateway.calltrace.CallTrace;
import io.tianshu.gateway.config.TianshuProperties;
import io.tianshu.gateway.db.Blocking;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.springframework.security.authentication.BadCredentialsException;
import org.springframework.security.authentication.ReactiveAuthenticationManager;
import org.springframework.security.core.Authentication;
import org.springframework.security.oauth2.jwt.Jwt;
import org.springframework.security.oauth2.jwt.JwtException;
import org.springframework.security.oauth2.jwt.ReactiveJwtDecoder;
import org.springframework.security.oauth2.server.resource.authentication.BearerTokenAuthenticationToken;
import reactor.core.publisher.Mono;

/**
 * Turns a bearer token into a {@link Caller}. An api key starts with {@code tsk_}; a JWT is
 * three base64url parts joined by two dots. Anything else, and any token that does not check
 * out, is a 401 with nothing said about why beyond "invalid".
 */
final class BearerAuthenticationManager implements ReactiveAuthenticationManager {

    private final ApiKeyCache keys;
    private final TenantDirectory tenants;
    private final ReactiveJwtDecoder jwtDecoder; // null when JWTs are not configured
    private final String tenantClaim;

    BearerAuthenticationManager(ApiKeyCache keys, TenantDirectory tenants, ReactiveJwtDecoder jwtDecoder,
            TianshuProperties.Jwt settings) {
        this.keys = keys;
        this.tenants = tenants;
        this.jwtDecoder = jwtDecoder;
        this.tenantClaim = settings.tenantClaim();
    }

    @Override
    public Mono<Authentication> authenticate(Authentication authentication) {
        return CallTrace.timed("auth", verify(authentication));
    }

    private Mono<Authentication> verify(Authentication authentication) {
        String token = ((BearerTokenAuthenticationToken) authentication).getToken();
        if (token.startsWith(ApiKeys.MARKER)) {
            // A key seen in the last seconds is answered here, on the event loop; only a miss
            // waits for a database thread.
            Mono<Caller> caller = keys.cached(token).map(Mono::just)
                    .orElseGet(() -> Blocking.call(() -> keys.authenticate(token).orElse(null)));
            return caller
                    .switchIfEmpty(Mono.error(() -> new BadCredentialsException("invalid api key")))
                    .map(CallerAuthentication::new);
        }
        if (jwtDecoder != null && token.chars().filter(c -> c == '.').count() == 2) {
            return jwtDecoder.decode(token)
                    .onErrorMap(JwtException.class, e -> new BadCredentialsException("invalid token", e))
                    .flatMap(this::fromJwt)
                    .map(CallerAuthentication::new);
        }
        return Mono.error(new BadCredentialsException("unknown token type"));
    }

    private Mono<Caller> fromJwt(Jwt jwt) {
        String tenant = jwt.getClaimAsString(tenantClaim);
        if (tenant == null || tenant.isBlank()) {
            return Mono.error(new BadCredentialsException("token has no '" + tenantClaim + "' claim"));
        }
        Set<String> scopes = scopes(jwt);
        String subject = "jwt:" + (jwt.getSubject() != null ? jwt.getSubject() : "unknown");
        // A tenant the platform does not know yet is unlimited until an admin creates it.
        return Blocking.call(() -> tenants.limitsOf(tenant))
                .map(limits -> new Caller(tenant, null, subject, scopes, Caller.Limits.NONE, limits));
    }

    /** OAuth2's space-separated "scope", or "scp" as a list or a string (Azure AD, Okta). */
    static Set<String> scopes(Jwt jwt) {
        Set<String> scopes = new LinkedHashSet<>();
        for (String claim : List.of("scope", "scp")) {
            Object value = jwt.getClaims().get(claim);
            if (value instanceof String s) {
                for (String part : s.trim().split("\\s+")) {
                    if (!part.isEmpty()) {
                        scopes.add(part);
                    }
                }
            } else if (value instanceof Collection<?> c) {
                c.forEach(v -> scopes.add(String.valueOf(v)));
            }
        }
        return scopes;
    }
}
