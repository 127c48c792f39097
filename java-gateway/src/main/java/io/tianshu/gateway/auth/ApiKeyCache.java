package io.tianshu.gateway.auth;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import io.tianshu.gateway.config.TianshuProperties;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.springframework.stereotype.Component;

/**
 * Recently authenticated api keys, so that a caller's every request does not wait for a
 * database round trip (on the critical path of every call, before the model is reached).
 * Entries are keyed by the key's SHA-256, never its text, and live at most
 * {@code tianshu.auth.key-cache-ttl}, and never past the key's own expiry. The admin API
 * forgets everything on each change it makes, so on this instance a revocation or a new
 * limit applies at once; other gateway instances see it within the TTL. Unknown keys are not
 * cached: a flood of made-up keys must not push out real callers.
 */
@Component
public class ApiKeyCache {

    private final KeyStore keys;
    private final Cache<ByteBuffer, KeyStore.Authenticated> cache; // null when the TTL is zero

    ApiKeyCache(KeyStore keys, TianshuProperties properties) {
        this.keys = keys;
        Duration ttl = properties.auth().keyCacheTtl();
        this.cache = ttl.isZero() ? null : Caffeine.newBuilder()
                .maximumSize(100_000)
                .expireAfter(untilExpiryOr(ttl))
                .build();
    }

    /**
     * The caller of a key authenticated recently, without blocking: empty when the key is not
     * cached (then {@link #authenticate} asks the database). Cheap enough for an event loop.
     */
    public Optional<Caller> cached(String presented) {
        if (cache == null || !ApiKeys.wellFormed(presented)) {
            return Optional.empty();
        }
        KeyStore.Authenticated hit = cache.getIfPresent(ByteBuffer.wrap(ApiKeys.hash(presented)));
        if (hit == null || (hit.expiresAt() != null && !hit.expiresAt().isAfter(Instant.now()))) {
            return Optional.empty();
        }
        return Optional.of(hit.caller());
    }

    /** The caller the key stands for, or empty when no live key matches. Blocking. */
    public Optional<Caller> authenticate(String presented) {
        if (cache == null) {
            return keys.authenticate(presented).map(KeyStore.Authenticated::caller);
        }
        Optional<Caller> hit = cached(presented);
        if (hit.isPresent()) {
            return hit;
        }
        Optional<KeyStore.Authenticated> found = keys.authenticate(presented);
        if (ApiKeys.wellFormed(presented)) {
            ByteBuffer id = ByteBuffer.wrap(ApiKeys.hash(presented));
            found.ifPresentOrElse(a -> cache.put(id, a), () -> cache.invalidate(id));
        }
        return found.map(KeyStore.Authenticated::caller);
    }

    /** Forgets every cached key: called after any change to keys or tenants. */
    public void forgetAll() {
        if (cache != null) {
            cache.invalidateAll();
        }
    }

    private static Expiry<ByteBuffer, KeyStore.Authenticated> untilExpiryOr(Duration ttl) {
        return new Expiry<>() {
            @Override
            public long expireAfterCreate(ByteBuffer key, KeyStore.Authenticated value, long currentTime) {
                long nanos = ttl.toNanos();
                if (value.expiresAt() != null) {
                    nanos = Math.min(nanos, Math.max(0, Duration.between(Instant.now(), value.expiresAt()).toNanos()));
                }
                return nanos;
            }

            @Override
            public long expireAfterUpdate(ByteBuffer key, KeyStore.Authenticated value, long currentTime,
                    long currentDuration) {
                return expireAfterCreate(key, value, currentTime);
            }

            @Override
            public long expireAfterRead(ByteBuffer key, KeyStore.Authenticated value, long currentTime,
                    long currentDuration) {
                return currentDuration;
            }
        };
    }
}
