package io.tianshu.gateway.ratelimit;

import com.github.benmanes.caffeine.cache.Ticker;
import io.tianshu.gateway.config.TianshuProperties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.JdbcTemplate;
import reactor.core.scheduler.Schedulers;

/** The bucket store {@code tianshu.limits.store} names, said in the log at start-up. */
@Configuration(proxyBeanMethods = false)
class BucketStoreConfig {

    private static final Logger log = LoggerFactory.getLogger(BucketStoreConfig.class);

    @Bean
    BucketStore bucketStore(TianshuProperties properties, JdbcTemplate jdbc) {
        return switch (properties.limits().store()) {
            case POSTGRES -> {
                TianshuProperties.RateLimits limits = properties.limits();
                if (limits.leaseFraction() <= 0) {
                    log.info("rate-limit buckets in PostgreSQL, shared by every gateway instance on the database");
                    yield new PostgresBucketStore(jdbc);
                }
                log.info("rate-limit buckets in PostgreSQL, shared by every gateway instance on the database; busy "
                        + "buckets leased {}% at a time for {}", limits.leaseFraction() * 100, limits.leaseTime());
                yield new LeasingBucketStore(new PostgresBucketStore(jdbc), limits.leaseFraction(), limits.leaseTime(),
                        Ticker.systemTicker()).sweepingOn(Schedulers.parallel());
            }
            case MEMORY -> {
                log.warn("rate-limit buckets in this process's memory (tianshu.limits.store=memory): for a single "
                        + "gateway instance only; with several, each grants every limit in full");
                yield new MemoryBucketStore();
            }
        };
    }
}
