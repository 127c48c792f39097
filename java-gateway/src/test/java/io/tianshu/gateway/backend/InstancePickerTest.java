package io.tianshu.gateway.backend;

import static io.tianshu.gateway.backend.InstancePicker.Health.DOWN;
import static io.tianshu.gateway.backend.InstancePicker.Health.SERVING;
import static io.tianshu.gateway.backend.InstancePicker.Health.UNKNOWN;
import static org.assertj.core.api.Assertions.assertThat;

import io.tianshu.gateway.backend.InstancePicker.Candidate;
import java.util.List;
import org.junit.jupiter.api.Test;

class InstancePickerTest {

    private static Candidate serving(int queued, float kv) {
        return new Candidate(true, SERVING, queued, kv);
    }

    @Test
    void leastQueuedInstanceComesFirst() {
        List<Candidate> candidates = List.of(serving(7, 0.1f), serving(2, 0.9f), serving(4, 0.0f));

        assertThat(InstancePicker.order(candidates, 0)).containsExactly(1, 2, 0);
    }

    @Test
    void equalQueuesAreSplitByKvCacheUsage() {
        List<Candidate> candidates = List.of(serving(3, 0.8f), serving(3, 0.2f));

        assertThat(InstancePicker.order(candidates, 0)).containsExactly(1, 0);
    }

    @Test
    void fullTiesRotateSoIdleInstancesShareTheCalls() {
        List<Candidate> candidates = List.of(serving(0, 0), serving(0, 0), serving(0, 0));

        assertThat(InstancePicker.order(candidates, 0)).containsExactly(0, 1, 2);
        assertThat(InstancePicker.order(candidates, 1)).containsExactly(1, 2, 0);
        assertThat(InstancePicker.order(candidates, 5)).containsExactly(2, 0, 1);
    }

    @Test
    void instancesThatRefuseCallsAreLeftOut() {
        List<Candidate> candidates = List.of(new Candidate(false, SERVING, 0, 0), serving(9, 0.9f));

        assertThat(InstancePicker.order(candidates, 0)).containsExactly(1);
    }

    @Test
    void unreachableInstancesComeLastWhateverTheirLastLoad() {
        List<Candidate> candidates = List.of(new Candidate(true, DOWN, 0, 0), serving(50, 0.99f));

        assertThat(InstancePicker.order(candidates, 0)).containsExactly(1, 0);
    }

    @Test
    void unpolledInstancesCountAsIdleAndServing() {
        List<Candidate> candidates = List.of(serving(1, 0), new Candidate(true, UNKNOWN, 0, 0));

        assertThat(InstancePicker.order(candidates, 0)).containsExactly(1, 0);
    }

    @Test
    void nothingCallableMeansAnEmptyOrder() {
        List<Candidate> candidates = List.of(new Candidate(false, SERVING, 0, 0), new Candidate(false, DOWN, 0, 0));

        assertThat(InstancePicker.order(candidates, 3)).isEmpty();
    }
}
