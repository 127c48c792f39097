package io.tianshu.gateway.ratelimit;

import java.time.Duration;

/** OpenAI's reset-time format: "1s", "6m0s", "1h2m3s", "120ms". */
final class RateLimitHeaders {

    private RateLimitHeaders() {
    }

    static String format(Duration d) {
        long millis = d.toMillis();
        if (millis < 1000) {
            return millis + "ms";
        }
        long seconds = (long) Math.ceil(millis / 1000.0);
        long h = seconds / 3600;
        long m = (seconds % 3600) / 60;
        long s = seconds % 60;
        if (h > 0) {
            return h + "h" + m + "m" + s + "s";
        }
        return m > 0 ? m + "m" + s + "s" : s + "s";
    }
}
