package io.tianshu.gateway.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import reactor.core.scheduler.Schedulers;

/**
 * Keys in steady use are read again in the background before their entry ends, so their calls
 * never wait for the database, and nothing older than the TTL is ever served. The clock stands
 * still unless a test moves it; background reads run at once.
 */
class ApiKeyCacheTest {

    private static final Duration TTL = Duration.ofSeconds(5);

    private final AtomicLong nanos = new AtomicLong();
    private final CountingKeys keys = new CountingKeys();
    private final ApiKeyCache cache = new ApiKeyCache(keys, TTL, nanos::get, Schedulers.immediate());
    private final String key = ApiKeys.generate();

    @Test
    void aKeyIsLookedUpOnceAndThenServedFromTheCache() {
        assertThat(cache.authenticate(key)).contains(keys.caller);
        nanos.addAndGet(TTL.toNanos() / 2 - 1);
        assertThat(cache.cached(key)).contains(keys.caller);
        assertThat(keys.lookups).hasValue(1);
    }

    @Test
    void aKeyUsedInTheSecondHalfOfItsEntrysLifeIsReadAgainWhileTheCallGoesOn() {
        cache.authenticate(key);
        for (int second = 0; second < 30; second++) {
            nanos.addAndGet(Duration.ofSeconds(1).toNanos());
            assertThat(cache.cached(key)).as("second %d", second).contains(keys.caller);
        }
        assertThat(keys.lookups.get()).as("read again every half TTL, in the background").isBetween(10, 16);
    }

    @Test
    void aKeyRevokedMeanwhileIsRefusedOnceItsEntryIsReadAgain() {
        cache.authenticate(key);
        keys.live.set(false);
        nanos.addAndGet(TTL.toNanos() / 2);
        assertThat(cache.cached(key)).as("the entry is within its TTL; this call reads the key again")
                .contains(keys.caller);
        assertThat(cache.cached(key)).isEmpty();
        assertThat(cache.authenticate(key)).isEmpty();
    }

    @Test
    void aKeyUnusedForATtlIsLookedUpAgainByTheNextCall() {
        cache.authenticate(key);
        nanos.addAndGet(TTL.toNanos());
        assertThat(cache.cached(key)).isEmpty();
        assertThat(cache.authenticate(key)).contains(keys.caller);
        assertThat(keys.lookups).hasValue(2);
    }

    @Test
    void aReadThatBeganBeforeTheAdminForgotEverythingIsNotKept() {
        keys.during.set(cache::forgetAll);
        assertThat(cache.authenticate(key)).contains(keys.caller);
        keys.during.set(() -> { });
        assertThat(cache.cached(key)).as("the answer read before the change is not cached").isEmpty();
    }

    /** The database's keys: one, live unless a test revokes it; counts its lookups. */
    private static final class CountingKeys extends KeyStore {
        final Caller caller = new Caller("t", UUID.randomUUID(), "key", Set.of("chat"), Caller.Limits.NONE,
                Caller.Limits.NONE);
        final AtomicInteger lookups = new AtomicInteger();
        final AtomicReference<Boolean> live = new AtomicReference<>(true);
        final AtomicReference<Runnable> during = new AtomicReference<>(() -> { });

        CountingKeys() {
            super(null);
        }

        @Override
        public Optional<Authenticated> authenticate(String presented) {
            lookups.incrementAndGet();
            during.get().run();
            return live.get() ? Optional.of(new Authenticated(caller, null)) : Optional.empty();
        }
    }
}
