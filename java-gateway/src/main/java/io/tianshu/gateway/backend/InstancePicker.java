package io.tianshu.gateway.backend;

import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

/**
 * The routing policy, apart from any I/O: which instances a call may go to, best first.
 * Instances whose breaker is open or whose bulkhead is full are left out. Serving instances
 * come first, least loaded (running + waiting) first, then the least KV cache in use, then
 * a rotation that spreads ties. Instances the last GetLoad could not reach, or that said they
 * are not serving, come last: they are tried only when no serving instance can take the call,
 * because a missed poll is weaker evidence than a call that fails fast with UNAVAILABLE.
 */
final class InstancePicker {

    enum Health {
        /** Not polled yet; treated as serving and idle until the first answer. */
        UNKNOWN,
        SERVING,
        /** GetLoad failed or answered serving=false. */
        DOWN
    }

    /**
     * @param callable the breaker lets calls through and the bulkhead has room
     * @param queued running + waiting generations at the last poll
     */
    record Candidate(boolean callable, Health health, int queued, float kvCacheUsage) {
    }

    private InstancePicker() {
    }

    /** Indices into candidates, best first; rotation is any counter advanced per call. */
    static List<Integer> order(List<Candidate> candidates, int rotation) {
        int n = candidates.size();
        Comparator<Integer> best = Comparator.<Integer>comparingInt(i -> candidates.get(i).health() == Health.DOWN ? 1 : 0)
                .thenComparingInt(i -> candidates.get(i).health() == Health.DOWN ? 0 : candidates.get(i).queued())
                .thenComparingDouble(i -> candidates.get(i).health() == Health.DOWN ? 0 : candidates.get(i).kvCacheUsage())
                .thenComparingInt(i -> Math.floorMod(i - rotation, n));
        return IntStream.range(0, n).filter(i -> candidates.get(i).callable()).boxed().sorted(best).toList();
    }
}
