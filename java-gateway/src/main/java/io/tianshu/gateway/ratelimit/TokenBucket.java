package io.tianshu.gateway.ratelimit;

import java.time.Duration;

/**
 * Token-bucket arithmetic: a bucket holds at most {@code capacity} and refills continuously,
 * {@code capacity} per {@code window}. The database functions rate_admit_many and rate_settle
 * (V1__gateway_state.sql and after) apply exactly this to stored buckets; this class is what the
 * gateway uses to phrase answers (Retry-After, reset times) and what the unit tests pin down.
 */
record TokenBucket(double capacity, Duration window) {

    double ratePerSecond() {
        return capacity / seconds(window);
    }

    /** The level after {@code elapsed} of refill from {@code tokens} (which may be negative). */
    double refill(double tokens, Duration elapsed) {
        double seconds = Math.max(0, seconds(elapsed));
        return Math.min(capacity, tokens + seconds * ratePerSecond());
    }

    boolean canEverTake(double amount) {
        return amount <= capacity;
    }

    /** How long until {@code amount} can be taken from a bucket at {@code level}; zero when it can now. */
    Duration untilAvailable(double level, double amount) {
        if (level >= amount) {
            return Duration.ZERO;
        }
        return duration((amount - level) / ratePerSecond());
    }

    /** How long until the bucket is full again, OpenAI's "reset" time. */
    Duration untilFull(double level) {
        return untilAvailable(level, capacity);
    }

    private static double seconds(Duration d) {
        return d.toNanos() / 1e9;
    }

    private static Duration duration(double seconds) {
        return Duration.ofNanos((long) Math.ceil(seconds * 1e9));
    }
}
