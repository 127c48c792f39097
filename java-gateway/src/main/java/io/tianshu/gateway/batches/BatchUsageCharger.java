package io.tianshu.gateway.batches;

import io.grpc.Status;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.tianshu.gateway.auth.Caller;
import io.tianshu.gateway.config.TianshuProperties;
import io.tianshu.gateway.db.Blocking;
import io.tianshu.gateway.lifecycle.PeriodicRounds;
import io.tianshu.gateway.ratelimit.Limiter;
import io.tianshu.gateway.tenants.Tenant;
import io.tianshu.gateway.tenants.TenantStore;
import io.tianshu.gateway.usage.UsageStore;
import io.tianshu.jobs.v1.UsageRecord;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;
import reactor.core.publisher.Mono;

/**
 * Charges the tokens batch lines used to their tenants, whatever their batch ends as: every
 * {@code tianshu.batch.charge.interval} it reads the batch service's usage ledger (ListUsage)
 * after the cursor and, per page, in one database transaction, takes each record's tokens from
 * the tenant's tokens-per-minute bucket (even below zero, so the tenant's next interactive
 * calls wait), writes a usage row (endpoint /v1/batches) and moves the cursor past the page.
 * The cursor row is locked for that transaction, so of several gateway instances one charges
 * a page and the others skip the round: each record is charged exactly once, and a failure
 * anywhere rolls the page back to be charged again later. Off without a batch service.
 */
@Component
class BatchUsageCharger extends PeriodicRounds {

    static final String ENDPOINT = "/v1/batches";
    private static final Logger log = LoggerFactory.getLogger(BatchUsageCharger.class);

    private final JobsClient jobs;
    private final UsageCursor cursor;
    private final Limiter limiter;
    private final UsageStore usage;
    private final TenantStore tenants;
    private final TransactionTemplate transactions;
    private final TianshuProperties.Batch settings;
    private final Counter chargedTokens;
    // The failure last logged, so that one lasting outage is one warning, not one per round.
    private final AtomicReference<String> lastFailure = new AtomicReference<>();

    BatchUsageCharger(JobsClient jobs, UsageCursor cursor, Limiter limiter, UsageStore usage, TenantStore tenants,
            PlatformTransactionManager transactionManager, TianshuProperties properties, MeterRegistry meters) {
        this.jobs = jobs;
        this.cursor = cursor;
        this.limiter = limiter;
        this.usage = usage;
        this.tenants = tenants;
        this.transactions = new TransactionTemplate(transactionManager);
        this.settings = properties.batch();
        this.chargedTokens = Counter.builder("tianshu.batch.charged.tokens")
                .description("batch tokens charged to tenants' quotas").register(meters);
    }

    @Override
    protected boolean enabled() {
        return settings.configured();
    }

    @Override
    protected Duration interval() {
        return settings.charge().interval();
    }

    /** Pages until the ledger is caught up; never fails: a failed round is retried at the next tick. */
    @Override
    protected Mono<Integer> round() {
        return Blocking.call(this::chargePage)
                .expand(charged -> charged == settings.charge().pageSize()
                        ? Blocking.call(this::chargePage) : Mono.<Integer>empty())
                .filter(charged -> charged > 0).reduce(0, Integer::sum)
                .doOnSuccess(charged -> {
                    if (lastFailure.getAndSet(null) != null) {
                        log.info("charging batch usage works again");
                    }
                })
                .onErrorResume(failure -> {
                    // A batch service without a ledger yet (UNIMPLEMENTED) is waited for like an outage.
                    String what = Status.fromThrowable(failure).getCode() == Status.Code.UNIMPLEMENTED
                            ? "the batch service does not serve ListUsage yet; batch tokens are charged once it does"
                            : "charging batch usage failed: " + failure;
                    if (!what.equals(lastFailure.getAndSet(what))) {
                        log.warn("{}; retrying every {} (logged again when the failure changes)", what,
                                settings.charge().interval());
                    }
                    return Mono.just(0);
                });
    }

    /**
     * One page in one transaction. Blocking: holds the cursor's lock (and a connection) while
     * it reads the ledger, which is what keeps a second instance from charging the same page.
     *
     * @return records charged; -1 when another instance holds the cursor
     */
    int chargePage() {
        Page page = transactions.execute(status -> {
            Long after = cursor.lockOrSkip();
            if (after == null) {
                return new Page(-1, 0);
            }
            List<UsageRecord> records = jobs.usage(after, settings.charge().pageSize())
                    .block(settings.deadline().plusSeconds(1));
            if (records == null || records.isEmpty()) {
                return new Page(0, 0);
            }
            Map<String, Caller.Limits> limits = new HashMap<>();
            long tokens = 0;
            for (UsageRecord record : records) {
                Caller.Limits tenantLimits = limits.computeIfAbsent(record.getTenantId(),
                        id -> tenants.find(id).map(Tenant::limits).orElse(Caller.Limits.NONE));
                long used = record.getUsage().getPromptTokens() + record.getUsage().getCompletionTokens();
                if (used == 0) {
                    continue;  // a line refused before it reached the model: nothing to charge or show
                }
                limiter.chargeTenant(record.getTenantId(), tenantLimits, used);
                usage.record(List.of(new UsageStore.Call(record.getTenantId(), null, "batch:" + record.getBatchId(),
                        ENDPOINT, record.getModel(), Math.toIntExact(record.getUsage().getPromptTokens()),
                        Math.toIntExact(record.getUsage().getCompletionTokens()),
                        record.getBatchId() + "/" + record.getCustomId())));
                tokens += used;
            }
            cursor.advance(records.get(records.size() - 1).getSequence());
            return new Page(records.size(), tokens);
        });
        // Counted once committed: a page rolled back is charged again, later.
        chargedTokens.increment(page.tokens());
        return page.records();
    }

    private record Page(int records, long tokens) {
    }
}
