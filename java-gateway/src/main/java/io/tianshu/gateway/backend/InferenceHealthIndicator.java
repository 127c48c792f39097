package io.tianshu.gateway.backend;

import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.boot.actuate.health.Health;
import org.springframework.boot.actuate.health.HealthIndicator;
import org.springframework.stereotype.Component;

/**
 * The "inference" health component, from the load poller's last round (no call of its own):
 * UP while at least one instance serves, with each instance's load and breaker state as
 * details. Part of the readiness group, so a gateway with no serving instance is taken out of
 * rotation; not of liveness, since restarting the gateway would not bring a backend back.
 */
@Component("inference")
class InferenceHealthIndicator implements HealthIndicator {

    private final InferenceInstances instances;

    InferenceHealthIndicator(InferenceInstances instances) {
        this.instances = instances;
    }

    @Override
    public Health health() {
        boolean anyServing = false;
        Map<String, Object> details = new LinkedHashMap<>();
        for (InferenceInstance instance : instances.all()) {
            InferenceInstance.Load load = instance.load();
            anyServing |= load.health() == InstancePicker.Health.SERVING;
            Map<String, Object> detail = new LinkedHashMap<>();
            detail.put("status", load.health().name());
            detail.put("breaker", instance.breaker().getState().name());
            detail.put("running", load.running());
            detail.put("waiting", load.waiting());
            detail.put("max_waiting", load.maxWaiting());
            detail.put("kv_cache_usage", load.kvCacheUsage());
            if (load.error() != null) {
                detail.put("error", load.error());
            }
            details.put(instance.target(), detail);
        }
        return (anyServing ? Health.up() : Health.down()).withDetail("instances", details).build();
    }
}
