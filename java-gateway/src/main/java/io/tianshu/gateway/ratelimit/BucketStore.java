package io.tianshu.gateway.ratelimit;

import java.time.Duration;
import java.util.List;
import reactor.core.publisher.Mono;

/**
 * Where the token buckets live ({@code tianshu.limits.store}). Every implementation applies
 * {@link TokenBucket}'s arithmetic the same way: a bucket not used yet is full (so a full
 * bucket and an absent one are the same), refills continuously at capacity per window, and
 * an admission takes from all of a request's buckets or from none. Each store decides where
 * its calls run: a blocking one moves them off the event loop itself.
 */
interface BucketStore {

    record Take(String bucket, double capacity, double amount) {
    }

    record State(String bucket, double capacity, double level, boolean granted) {
    }

    /**
     * Takes every amount, or nothing when any bucket holds less than its amount.
     *
     * @return one state per take: its level after the admission (or as it stands, when
     *     refused) and whether that bucket alone could have given its amount
     */
    Mono<List<State>> admit(List<Take> takes, Duration window);

    /** Gives back (positive amounts) or takes more (negative) once real usage is known. */
    Mono<Void> settle(List<Take> deltas, Duration window);

    /**
     * Takes the amounts whatever the buckets' levels, even below zero: for usage that already
     * happened elsewhere. Blocking. Within a database transaction it takes effect only if that
     * transaction commits, so that a page of usage charged again after a rollback is charged once.
     */
    void charge(List<Take> takes, Duration window);
}
