package io.tianshu.gateway.config;

import com.alibaba.cloud.nacos.NacosConfigManager;
import com.alibaba.nacos.api.config.ConfigService;
import com.alibaba.nacos.api.config.listener.AbstractListener;
import com.alibaba.nacos.api.exception.NacosException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.stereotype.Component;

/**
 * Feeds the gateway's Nacos document to {@link DynamicConfig}: once at start-up, then on every
 * publish. The document is the one spring.config.import reads ({@code tianshu-gateway.yaml} in
 * the configured group); only its {@code tianshu.dynamic} section takes effect while running.
 * A document DynamicConfig refuses is logged there and changes nothing. Nacos stays optional:
 * when it cannot be reached the gateway runs on application.yml until a publish gets through.
 */
@Component
@ConditionalOnProperty(name = "spring.cloud.nacos.config.enabled", havingValue = "true")
class NacosDynamicConfigListener implements SmartInitializingSingleton {

    private static final Logger log = LoggerFactory.getLogger(NacosDynamicConfigListener.class);
    private static final long READ_TIMEOUT_MS = 3000;

    private final ConfigService nacos;
    private final String dataId;
    private final String group;
    private final DynamicConfig dynamic;

    NacosDynamicConfigListener(NacosConfigManager nacos, DynamicConfig dynamic,
            @Value("${spring.application.name}") String application) {
        this.nacos = nacos.getConfigService();
        this.group = nacos.getNacosConfigProperties().getGroup();
        this.dataId = application + ".yaml";
        this.dynamic = dynamic;
    }

    @Override
    public void afterSingletonsInstantiated() {
        try {
            String initial = nacos.getConfigAndSignListener(dataId, group, READ_TIMEOUT_MS, new AbstractListener() {
                @Override
                public void receiveConfigInfo(String document) {
                    apply(document);
                }
            });
            apply(initial);
        } catch (NacosException e) {
            log.warn("cannot read {} (group {}) from Nacos; dynamic config stays as application.yml sets it: {}",
                    dataId, group, e.getErrMsg());
        }
    }

    /** A deleted document (null) restores application.yml's settings. */
    private void apply(String document) {
        try {
            dynamic.apply(document == null ? "" : document);
        } catch (IllegalArgumentException refused) {
            // DynamicConfig logged why; the previous version stays in force.
        }
    }
}
