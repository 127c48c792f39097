package io.tianshu.gateway.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.ArgumentMatchers.anyLong;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

import com.alibaba.cloud.nacos.NacosConfigManager;
import com.alibaba.cloud.nacos.NacosConfigProperties;
import com.alibaba.nacos.api.config.ConfigService;
import com.alibaba.nacos.api.config.listener.Listener;
import com.alibaba.nacos.api.exception.NacosException;
import jakarta.validation.Validation;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.StandardEnvironment;

/** The listener's wiring, against a stand-in for the Nacos client: no Nacos server can run here. */
class NacosDynamicConfigListenerTest {

    private final StandardEnvironment environment = new StandardEnvironment();
    private final ConfigService nacos = mock(ConfigService.class);
    private final AtomicReference<Listener> listener = new AtomicReference<>();

    @Test
    void documentAtStartAndEachPublishReplaceTheSettings() throws Exception {
        DynamicConfig dynamic = dynamicConfig();
        when(nacos.getConfigAndSignListener(eq("tianshu-gateway.yaml"), eq("TIANSHU"), anyLong(), org.mockito.ArgumentMatchers.any()))
                .thenAnswer(call -> {
                    listener.set(call.getArgument(3));
                    return "tianshu.dynamic.model-aliases: {fast: tiny-chat}";
                });

        listenerFor(dynamic).afterSingletonsInstantiated();
        assertThat(dynamic.servedModel("fast")).isEqualTo("tiny-chat");

        listener.get().receiveConfigInfo("tianshu.dynamic.model-aliases: {fast: other}");
        assertThat(dynamic.servedModel("fast")).isEqualTo("other");

        listener.get().receiveConfigInfo("tianshu.dynamic.limits.window: never");
        assertThat(dynamic.servedModel("fast")).isEqualTo("other");

        listener.get().receiveConfigInfo(null);
        assertThat(dynamic.servedModel("fast")).isEqualTo("fast");
        assertThat(dynamic.current().limits().window()).hasMinutes(1);
    }

    @Test
    void unreachableNacosLeavesTheStartUpSettings() throws Exception {
        DynamicConfig dynamic = dynamicConfig();
        when(nacos.getConfigAndSignListener(org.mockito.ArgumentMatchers.any(), org.mockito.ArgumentMatchers.any(),
                anyLong(), org.mockito.ArgumentMatchers.any()))
                .thenThrow(new NacosException(NacosException.SERVER_ERROR, "no server"));

        listenerFor(dynamic).afterSingletonsInstantiated();

        assertThat(dynamic.current().features().streaming()).isTrue();
    }

    private DynamicConfig dynamicConfig() {
        environment.getPropertySources().addFirst(new MapPropertySource("application.yml", Map.of(
                "tianshu.dynamic.limits.window", "1m",
                "tianshu.dynamic.features.streaming", "true",
                "tianshu.dynamic.features.embeddings", "true")));
        TianshuProperties.Dynamic initial = new TianshuProperties.Dynamic(
                new TianshuProperties.Limits(java.time.Duration.ofMinutes(1), Map.of()), Map.of(),
                new TianshuProperties.Features(true, true));
        return new DynamicConfig(initial, environment, Validation.buildDefaultValidatorFactory().getValidator());
    }

    private NacosDynamicConfigListener listenerFor(DynamicConfig dynamic) {
        NacosConfigProperties properties = new NacosConfigProperties();
        properties.setGroup("TIANSHU");
        NacosConfigManager manager = mock(NacosConfigManager.class);
        when(manager.getConfigService()).thenReturn(nacos);
        when(manager.getNacosConfigProperties()).thenReturn(properties);
        return new NacosDynamicConfigListener(manager, dynamic, "tianshu-gateway");
    }
}
