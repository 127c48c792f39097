package io.tianshu.gateway.ratelimit;

import com.github.benmanes.caffeine.cache.Ticker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;

/**
 * Admission without a round trip to the shared store for most calls on busy buckets. A call
 * that goes to the shared store takes, besides its own amount, a lease for this instance: a
 * slice of each bucket's capacity ({@code fraction} of it). The calls after it are admitted
 * from the slices, in this process, until a slice is used up (the next shared admission tops it
 * up) or the lease ends ({@code lifetime} after its last use), when what is left goes back.
 *
 * <p>Only calls whose every bucket they take from is busy enough are leased: a slice must hold
 * at least {@value #MIN_SLICE} and ten times the call's amount, so small limits (under 5,000 a
 * window at the default fraction) stay exact to the call. A bucket such a call only checks
 * (takes nothing of: a search's or an upload's tokens) is answered from what this instance
 * last learnt of it, a lease of it or the level a shared admission gave, for at most
 * {@code lifetime} after that admission; a call that takes nothing at all (an upload's quota
 * check) reads the shared level as it is. What leasing changes for the others, per instance: a
 * bucket looks lower to them by the slice this instance holds (at most {@code fraction} of its
 * capacity), and a slice taken before its calls lets the bucket refill earlier: over any time,
 * the calls admitted exceed what the bucket allows by at most one slice per instance. Usage
 * charged below zero meanwhile (batch lines) stops this instance admitting from a slice when
 * the lease ends, and calls that check the bucket within a lease time.
 */
final class LeasingBucketStore implements BucketStore, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(LeasingBucketStore.class);

    static final double MIN_SLICE = 100;
    private static final int CALLS_PER_SLICE = 10;

    /** A slice this instance holds, the shared level as its last top-up left it. */
    private record Lease(double capacity, Duration window, double left, double sharedLevel, long endsAt) {
    }

    /** The level a shared admission gave for a bucket the call only checked, believed until {@code until}. */
    private record Checked(double capacity, Duration window, double level, long until) {
    }

    private final BucketStore shared;
    private final double fraction;
    private final long lifetimeNanos;
    private final Ticker ticker;
    private final Map<String, Lease> leases = new HashMap<>();
    private final Map<String, Checked> checked = new HashMap<>();
    // Buckets that could not give a slice beside a call's amount, until when no slice is asked
    // of them: near its limit a bucket would otherwise take two statements per call.
    private final Map<String, Long> noSlicesUntil = new HashMap<>();
    private Disposable sweeping;

    LeasingBucketStore(BucketStore shared, double fraction, Duration lifetime, Ticker ticker) {
        this.shared = shared;
        this.fraction = fraction;
        this.lifetimeNanos = lifetime.toNanos();
        this.ticker = ticker;
    }

    /** Gives back the slices of ended leases every lifetime, on {@code sweeper}. */
    LeasingBucketStore sweepingOn(Scheduler sweeper) {
        sweeping = sweeper.schedulePeriodically(this::returnEnded, lifetimeNanos, lifetimeNanos, TimeUnit.NANOSECONDS);
        return this;
    }

    @Override
    public Mono<List<State>> admit(List<Take> takes, Duration window) {
        // In bucket order, as the stores answer.
        List<Take> ordered = takes.stream().sorted(Comparator.comparing(Take::bucket)).toList();
        if (ordered.isEmpty() || !leasable(ordered)) {
            return shared.admit(takes, window);
        }
        List<State> local = fromLeases(ordered, window);
        if (local != null) {
            return Mono.just(local);
        }
        List<Take> withSlices = withTopUps(ordered, window);
        return shared.admit(withSlices, window).flatMap(states -> {
            if (states.stream().allMatch(State::granted)) {
                return Mono.just(leased(ordered, withSlices, states, window));
            }
            noSlices(states);
            // The bucket may still hold the call's own amount: the exact answer, without slices.
            return shared.admit(ordered, window);
        });
    }

    /** The store the slices are taken from. */
    BucketStore shared() {
        return shared;
    }

    @Override
    public Mono<Void> settle(List<Take> deltas, Duration window) {
        return shared.settle(deltas, window);
    }

    @Override
    public void charge(List<Take> takes, Duration window) {
        shared.charge(takes, window);
    }

    /** Gives back what every lease holds (the gateway is stopping). */
    @Override
    public void close() {
        if (sweeping != null) {
            sweeping.dispose();
        }
        try {
            Mono.when(ended(lease -> true).entrySet().stream()
                    .map(e -> shared.settle(e.getValue(), e.getKey())).toList()).block(Duration.ofSeconds(5));
        } catch (RuntimeException e) {
            log.warn("rate-limit leases not given back on stopping ({}); their buckets refill by time", e.toString());
        }
    }

    private double slice(Take take) {
        return take.capacity() * fraction;
    }

    private synchronized boolean leasable(List<Take> takes) {
        long now = ticker.read();
        boolean takesSomething = false;
        for (Take take : takes) {
            Long until = noSlicesUntil.get(take.bucket());
            if (until != null && until > now) {
                return false;
            }
            // A take of nothing is a check of the bucket's level (a search's tokens), which
            // takes no slice: one held here would make the bucket look lower to everyone else.
            if (take.amount() > 0) {
                takesSomething = true;
                if (slice(take) < Math.max(MIN_SLICE, CALLS_PER_SLICE * take.amount())) {
                    return false;
                }
            }
        }
        return takesSomething;
    }

    private synchronized void noSlices(List<State> refused) {
        long until = ticker.read() + lifetimeNanos;
        refused.stream().filter(state -> !state.granted()).forEach(state -> {
            noSlicesUntil.put(state.bucket(), until);
            checked.remove(state.bucket());
        });
    }

    /** The call admitted from this instance's slices, or null when one of them cannot cover it. */
    private synchronized List<State> fromLeases(List<Take> takes, Duration window) {
        long now = ticker.read();
        for (Take take : takes) {
            if (take.amount() <= 0) {
                Double level = knownLevel(take, window, now);
                if (level == null || level < 0) {
                    return null;
                }
                continue;
            }
            Lease lease = leases.get(take.bucket());
            if (lease == null || lease.endsAt() <= now || lease.capacity() != take.capacity()
                    || !lease.window().equals(window) || lease.left() < take.amount()) {
                return null;
            }
        }
        List<State> states = new ArrayList<>(takes.size());
        for (Take take : takes) {
            if (take.amount() <= 0) {
                // A check: no lease extended by it, so what it reads is never older than a lease time.
                states.add(new State(take.bucket(), take.capacity(), knownLevel(take, window, now), true));
                continue;
            }
            Lease lease = leases.get(take.bucket());
            Lease after = new Lease(lease.capacity(), window, lease.left() - take.amount(), lease.sharedLevel(),
                    now + lifetimeNanos);
            leases.put(take.bucket(), after);
            states.add(new State(take.bucket(), take.capacity(), after.sharedLevel() + after.left(), true));
        }
        return states;
    }

    /**
     * The level of a bucket a call only checks, as this instance knows it: its lease, or the
     * last shared admission's answer within a lease time; null when it knows nothing as fresh.
     */
    private Double knownLevel(Take take, Duration window, long now) {
        Lease lease = leases.get(take.bucket());
        if (usable(lease, take, window, now)) {
            return lease.sharedLevel() + lease.left();
        }
        Checked last = checked.get(take.bucket());
        return last != null && last.until() > now && last.capacity() == take.capacity()
                && last.window().equals(window) ? last.level() : null;
    }

    /** Each take with what tops its bucket's slice up to a whole one; checks (takes of nothing) as they are. */
    private synchronized List<Take> withTopUps(List<Take> takes, Duration window) {
        long now = ticker.read();
        return takes.stream().map(take -> {
            if (take.amount() <= 0) {
                return take;
            }
            Lease lease = leases.get(take.bucket());
            double left = usable(lease, take, window, now) ? lease.left() : 0;
            return new Take(take.bucket(), take.capacity(), take.amount() + Math.max(0, slice(take) - left));
        }).toList();
    }

    /** Records the top-ups taken with a granted call; states as the caller sees them (its slice counted). */
    private List<State> leased(List<Take> takes, List<Take> withSlices, List<State> states, Duration window) {
        List<Take> stale = new ArrayList<>();
        List<State> seen = new ArrayList<>(states.size());
        synchronized (this) {
            long now = ticker.read();
            for (int i = 0; i < takes.size(); i++) {
                Take take = takes.get(i);
                if (take.amount() <= 0) {
                    checked.put(take.bucket(), new Checked(take.capacity(), window, states.get(i).level(),
                            now + lifetimeNanos));
                    seen.add(states.get(i));
                    continue;
                }
                double topUp = withSlices.get(i).amount() - take.amount();
                Lease lease = leases.get(take.bucket());
                double left = topUp;
                if (usable(lease, take, window, now)) {
                    left += lease.left();
                } else if (lease != null && lease.left() > 0) {
                    stale.add(new Take(take.bucket(), lease.capacity(), lease.left()));
                }
                // Calls that missed the slices at the same moment each topped them up: one slice
                // is kept, the rest goes back at once.
                if (left > slice(take)) {
                    stale.add(new Take(take.bucket(), take.capacity(), left - slice(take)));
                    left = slice(take);
                }
                leases.put(take.bucket(), new Lease(take.capacity(), window, left, states.get(i).level(),
                        now + lifetimeNanos));
                seen.add(new State(take.bucket(), take.capacity(), states.get(i).level() + left, true));
            }
        }
        giveBack(stale, window);
        return seen;
    }

    private static boolean usable(Lease lease, Take take, Duration window, long now) {
        return lease != null && lease.endsAt() > now && lease.capacity() == take.capacity()
                && lease.window().equals(window);
    }

    /** Gives back the slices of leases that ended. */
    void returnEnded() {
        long now = ticker.read();
        synchronized (this) {
            noSlicesUntil.values().removeIf(until -> until <= now);
            checked.values().removeIf(last -> last.until() <= now);
        }
        ended(lease -> lease.endsAt() <= now).forEach((window, takes) -> giveBack(takes, window));
    }

    /** Removes the leases that match, and what they hold by window. */
    private synchronized Map<Duration, List<Take>> ended(java.util.function.Predicate<Lease> which) {
        Map<Duration, List<Take>> ended = new HashMap<>();
        leases.entrySet().removeIf(entry -> {
            Lease lease = entry.getValue();
            if (!which.test(lease)) {
                return false;
            }
            if (lease.left() > 0) {
                ended.computeIfAbsent(lease.window(), w -> new ArrayList<>())
                        .add(new Take(entry.getKey(), lease.capacity(), lease.left()));
            }
            return true;
        });
        return ended;
    }

    private void giveBack(List<Take> takes, Duration window) {
        if (!takes.isEmpty()) {
            shared.settle(takes, window).subscribe(done -> { }, error -> log.warn(
                    "rate-limit leases not given back ({}); their buckets refill by time", error.toString()));
        }
    }
}
