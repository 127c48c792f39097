package io.tianshu.gateway.ratelimit;

import io.tianshu.gateway.config.TianshuProperties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.JdbcTemplate;

/** The bucket store {@code tianshu.limits.store} names, said in the log at start-up. */
@Configuration(proxyBeanMethods = false)
class BucketStoreConfig {

    private static final Logger log = LoggerFactory.getLogger(BucketStoreConfig.class);

    @Bean
    BucketStore bucketStore(TianshuProperties properties, JdbcTemplate jdbc) {
        return switch (properties.limits().store()) {
            case POSTGRES -> {
                log.info("rate-limit buckets in PostgreSQL, shared by every gateway instance on the database");
                yield new PostgresBucketStore(jdbc);
            }
            case MEMORY -> {
                log.warn("rate-limit buckets in this process's memory (tianshu.limits.store=memory): for a single "
                        + "gateway instance only; with several, each grants every limit in full");
                yield new MemoryBucketStore();
            }
        };
    }
}
