package io.tianshu.gateway.support;

import static org.assertj.core.api.Assertions.assertThat;

import io.tianshu.gateway.error.ApiError;
import io.tianshu.gateway.error.ErrorMapper;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.reactivestreams.Publisher;
import org.springframework.boot.actuate.health.Health;
import org.springframework.boot.actuate.health.Status;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

/** What a caller of a hung backend must see: the call ended at its deadline, as a 504. */
public final class CutOff {

    /**
     * How late after its deadline a call may end: timers and threads on a busy two-core
     * machine run late, but this is far below every default deadline, so a call left to a
     * default one (or to none) still fails the check.
     */
    public static final Duration SLACK = Duration.ofSeconds(3);

    private CutOff() {
    }

    /** One kind of call to a backend's client, and the deadline it is configured with. */
    public record Call<C>(String name, Function<C, Publisher<?>> start, Duration deadline) {
        @Override
        public String toString() {
            return name;
        }
    }

    /** {@link #assertCutOffAt} for one of a client's calls. */
    public static <C> void assertCutOff(Call<C> call, C client, Stall stall) throws InterruptedException {
        assertCutOffAt(call.start().apply(client), call.deadline(), stall);
    }

    /**
     * Subscribes to {@code call} to a backend that {@code stall} holds, and checks it failed with
     * DEADLINE_EXCEEDED (a 504 for the caller), no sooner than {@code deadline}, and that the
     * backend saw it given up.
     */
    public static void assertCutOffAt(Publisher<?> call, Duration deadline, Stall stall) throws InterruptedException {
        long start = System.nanoTime();
        StepVerifier.create(call)
                .expectErrorSatisfies(failure -> {
                    assertThat(io.grpc.Status.fromThrowable(failure).getCode()).as("%s", failure)
                            .isEqualTo(io.grpc.Status.Code.DEADLINE_EXCEEDED);
                    ApiError error = ErrorMapper.toApiError(failure, null, "req-1");
                    assertThat(error.status().value()).isEqualTo(504);
                    assertThat(error.body().error().type()).isEqualTo("timeout_error");
                    assertThat(error.body().error().message()).isNotBlank();
                })
                .verify(deadline.plus(SLACK));
        // The deadline counts from the call's start, which is after `start`.
        assertThat(Duration.ofNanos(System.nanoTime() - start)).as("ended no sooner than its deadline")
                .isGreaterThanOrEqualTo(deadline);
        assertAbandoned(stall);
    }

    /** Checks that a health component asking a backend {@code stall} holds gives up at {@code deadline}, UNKNOWN. */
    public static void assertHealthGivesUpAt(Mono<Health> check, Duration deadline, Stall stall)
            throws InterruptedException {
        long start = System.nanoTime();
        Health health = check.block(deadline.plus(SLACK));

        assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(deadline);
        assertThat(health.getStatus()).isEqualTo(Status.UNKNOWN);
        assertThat(health.getDetails().get("error").toString()).contains("DEADLINE_EXCEEDED");
        assertAbandoned(stall);
    }

    /** Waits until the backend has seen every call it held given up, as it does when a deadline passes. */
    public static void assertAbandoned(Stall stall) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (stall.abandoned.get() < stall.held.get() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(stall.held).as("calls that reached the backend").hasPositiveValue();
        assertThat(stall.abandoned).as("calls the backend saw given up").hasValue(stall.held.get());
    }
}
