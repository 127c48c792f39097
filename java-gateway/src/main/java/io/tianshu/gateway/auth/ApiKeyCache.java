package io.tianshu.gateway.auth;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.Ticker;
import io.tianshu.gateway.config.TianshuProperties;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.stereotype.Component;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * Recently authenticated api keys, so that a caller's every request does not wait for a
 * database round trip (on the critical path of every call, before the model is reached).
 * Entries are keyed by the key's SHA-256, never its text, and live at most
 * {@code tianshu.auth.key-cache-ttl}, and never past the key's own expiry. The admin API
 * forgets everything on each change it makes, so on this instance a revocation or a new
 * limit applies at once; other gateway instances see it within the TTL. Unknown keys are not
 * cached: a flood of made-up keys must not push out real callers.
 *
 * <p>A key used in the second half of its entry's life is read again in the background while
 * the call goes on with the entry, which is still within the TTL: a key in steady use never
 * waits for the database (a caller making a call every few seconds otherwise paid the lookup,
 * about 1 ms, once per TTL), and what it is served is never older than the TTL.
 */
@Component
public class ApiKeyCache {

    private static final Logger log = LoggerFactory.getLogger(ApiKeyCache.class);

    /** An authentication and when the database gave it. */
    private record Entry(KeyStore.Authenticated authenticated, long readAt) {
    }

    private final KeyStore keys;
    private final Cache<ByteBuffer, Entry> cache; // null when the TTL is zero
    private final long refreshAfterNanos;
    private final Ticker ticker;
    private final Scheduler refresher;
    private final Set<ByteBuffer> refreshing = ConcurrentHashMap.newKeySet();
    // Moved on by forgetAll: a read that began before it must not put back what it forgot.
    private final AtomicLong generation = new AtomicLong();

    @Autowired
    ApiKeyCache(KeyStore keys, TianshuProperties properties) {
        this(keys, properties.auth().keyCacheTtl(), Ticker.systemTicker(), Schedulers.boundedElastic());
    }

    ApiKeyCache(KeyStore keys, Duration ttl, Ticker ticker, Scheduler refresher) {
        this.keys = keys;
        this.refreshAfterNanos = ttl.toNanos() / 2;
        this.ticker = ticker;
        this.refresher = refresher;
        this.cache = ttl.isZero() ? null : Caffeine.newBuilder()
                .maximumSize(100_000)
                .expireAfter(untilExpiryOr(ttl))
                .ticker(ticker)
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
        ByteBuffer id = ByteBuffer.wrap(ApiKeys.hash(presented));
        Entry hit = cache.getIfPresent(id);
        if (hit == null || (hit.authenticated().expiresAt() != null
                && !hit.authenticated().expiresAt().isAfter(Instant.now()))) {
            return Optional.empty();
        }
        if (ticker.read() - hit.readAt() >= refreshAfterNanos && refreshing.add(id)) {
            refresher.schedule(() -> {
                try {
                    read(presented, id);
                } catch (RuntimeException e) {
                    // The entry stays until its TTL; the next call after it asks the database itself.
                    log.debug("api key refresh failed: {}", e.toString());
                } finally {
                    refreshing.remove(id);
                }
            });
        }
        return Optional.of(hit.authenticated().caller());
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
        if (!ApiKeys.wellFormed(presented)) {
            return keys.authenticate(presented).map(KeyStore.Authenticated::caller);
        }
        return read(presented, ByteBuffer.wrap(ApiKeys.hash(presented))).map(KeyStore.Authenticated::caller);
    }

    /** The key as the database has it now, cached (or forgotten, when no live key matches). */
    private Optional<KeyStore.Authenticated> read(String presented, ByteBuffer id) {
        long before = generation.get();
        long readAt = ticker.read();
        Optional<KeyStore.Authenticated> found = keys.authenticate(presented);
        synchronized (generation) {
            if (generation.get() == before) {
                found.ifPresentOrElse(a -> cache.put(id, new Entry(a, readAt)), () -> cache.invalidate(id));
            }
        }
        return found;
    }

    /** Forgets every cached key: called after any change to keys or tenants. */
    public void forgetAll() {
        if (cache != null) {
            synchronized (generation) {
                generation.incrementAndGet();
                cache.invalidateAll();
            }
        }
    }

    private static Expiry<ByteBuffer, Entry> untilExpiryOr(Duration ttl) {
        return new Expiry<>() {
            @Override
            public long expireAfterCreate(ByteBuffer key, Entry value, long currentTime) {
                // From the database's answer, not from when it was cached.
                long nanos = Math.max(0, ttl.toNanos() - (currentTime - value.readAt()));
                Instant expiresAt = value.authenticated().expiresAt();
                if (expiresAt != null) {
                    nanos = Math.min(nanos, Math.max(0, Duration.between(Instant.now(), expiresAt).toNanos()));
                }
                return nanos;
            }

            @Override
            public long expireAfterUpdate(ByteBuffer key, Entry value, long currentTime, long currentDuration) {
                return expireAfterCreate(key, value, currentTime);
            }

            @Override
            public long expireAfterRead(ByteBuffer key, Entry value, long currentTime, long currentDuration) {
                return currentDuration;
            }
        };
    }
}
