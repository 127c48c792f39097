package io.tianshu.gateway.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class TokenBucketTest {

    private final TokenBucket perMinute = new TokenBucket(60, Duration.ofMinutes(1));

    @Test
    void refillsCapacityPerWindowContinuouslyAndNeverPastCapacity() {
        assertThat(perMinute.refill(0, Duration.ofSeconds(10))).isEqualTo(10.0);
        assertThat(perMinute.refill(55, Duration.ofSeconds(10))).isEqualTo(60.0);
        assertThat(perMinute.refill(-20, Duration.ofSeconds(10))).isEqualTo(-10.0);
    }

    @Test
    void clockGoingBackwardsRefillsNothing() {
        assertThat(perMinute.refill(5, Duration.ofSeconds(-3))).isEqualTo(5.0);
    }

    @Test
    void waitIsTheTimeToRefillTheShortfall() {
        assertThat(perMinute.untilAvailable(10, 5)).isZero();
        assertThat(perMinute.untilAvailable(2, 5)).isEqualTo(Duration.ofSeconds(3));
        assertThat(perMinute.untilFull(30)).isEqualTo(Duration.ofSeconds(30));
    }

    @Test
    void amountAboveCapacityCanNeverBeTaken() {
        assertThat(perMinute.canEverTake(60)).isTrue();
        assertThat(perMinute.canEverTake(61)).isFalse();
    }

    @Test
    void resetTimesUseOpenAisFormat() {
        assertThat(RateLimitHeaders.format(Duration.ofMillis(120))).isEqualTo("120ms");
        assertThat(RateLimitHeaders.format(Duration.ofSeconds(6))).isEqualTo("6s");
        assertThat(RateLimitHeaders.format(Duration.ofSeconds(360))).isEqualTo("6m0s");
    }
}
