package io.tianshu.gateway.config;

import com.alibaba.cloud.nacos.client.NacosPropertySource;
import jakarta.validation.ConstraintViolation;
import jakarta.validation.Validator;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.context.properties.bind.BindException;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.bind.PropertySourcesPlaceholdersResolver;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.boot.env.YamlPropertySourceLoader;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MutablePropertySources;
import org.springframework.core.env.PropertySource;
import org.springframework.core.io.ByteArrayResource;
import org.springframework.stereotype.Component;

/**
 * The one holder of {@link TianshuProperties.Dynamic}: rate limits, model aliases and feature
 * flags. Each read sees one whole version; {@link #apply} swaps in the next one atomically, so
 * a request never mixes two. Nothing that runs holds on to a version: calls already admitted
 * and streams already open carry on untouched by a change.
 */
@Component
public class DynamicConfig {

    private static final Logger log = LoggerFactory.getLogger(DynamicConfig.class);
    private static final String PREFIX = "tianshu.dynamic";

    private final ConfigurableEnvironment environment;
    private final Validator validator;
    private final AtomicReference<TianshuProperties.Dynamic> current;

    @Autowired
    DynamicConfig(TianshuProperties properties, ConfigurableEnvironment environment, Validator validator) {
        this(properties.dynamic(), environment, validator);
    }

    DynamicConfig(TianshuProperties.Dynamic initial, ConfigurableEnvironment environment, Validator validator) {
        this.environment = environment;
        this.validator = validator;
        this.current = new AtomicReference<>(check(initial));
    }

    public TianshuProperties.Dynamic current() {
        return current.get();
    }

    /**
     * Replaces the settings with those of a YAML document (the gateway's Nacos document, or any
     * text of the same shape: {@code tianshu.dynamic.*}). What the document leaves out comes from
     * application.yml and the environment, so an empty document restores the start-up settings.
     * An invalid document changes nothing.
     *
     * @throws IllegalArgumentException saying what is wrong, when the document is refused
     */
    public TianshuProperties.Dynamic apply(String yaml) {
        TianshuProperties.Dynamic next;
        try {
            next = check(bind(yaml));
        } catch (IllegalArgumentException | BindException | UncheckedIOException e) {
            log.warn("dynamic config refused, keeping the previous version: {}", reason(e));
            throw e instanceof IllegalArgumentException iae ? iae : new IllegalArgumentException(reason(e), e);
        }
        current.set(next);
        log.info("dynamic config applied: {} model aliases, limit overrides for {} tenants, window {}, features {}",
                next.modelAliases().size(), next.limits().tenants().size(), next.limits().window(), next.features());
        return next;
    }

    /** The served model id a caller's model name stands for: its alias target, or the name itself. */
    public String servedModel(String requested) {
        return current().modelAliases().getOrDefault(requested, requested);
    }

    private TianshuProperties.Dynamic bind(String yaml) {
        MutablePropertySources layered = new MutablePropertySources();
        try {
            for (PropertySource<?> document : new YamlPropertySourceLoader().load("dynamic config",
                    new ByteArrayResource(yaml.getBytes(StandardCharsets.UTF_8)))) {
                layered.addLast(document);
            }
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("not valid YAML: " + e.getMessage(), e);
        }
        for (PropertySource<?> source : environment.getPropertySources()) {
            // The document imported from Nacos at start-up is the previous version of this one.
            if (!(source instanceof NacosPropertySource)) {
                layered.addLast(source);
            }
        }
        Binder binder = new Binder(ConfigurationPropertySources.from(layered),
                new PropertySourcesPlaceholdersResolver(layered));
        return binder.bind(PREFIX, Bindable.of(TianshuProperties.Dynamic.class))
                .orElseThrow(() -> new IllegalArgumentException("no " + PREFIX + " settings"));
    }

    private TianshuProperties.Dynamic check(TianshuProperties.Dynamic settings) {
        Set<ConstraintViolation<TianshuProperties.Dynamic>> violations = validator.validate(settings);
        if (!violations.isEmpty()) {
            throw new IllegalArgumentException(violations.stream()
                    .map(v -> PREFIX + "." + v.getPropertyPath() + " " + v.getMessage())
                    .sorted().collect(Collectors.joining("; ")));
        }
        if (settings.limits().window().isNegative() || settings.limits().window().isZero()) {
            throw new IllegalArgumentException(PREFIX + ".limits.window must be positive");
        }
        for (Map.Entry<String, String> alias : settings.modelAliases().entrySet()) {
            // One step only: a chain or a loop of aliases is a typo more often than a design.
            if (settings.modelAliases().containsKey(alias.getValue())) {
                throw new IllegalArgumentException(PREFIX + ".model-aliases." + alias.getKey() + " points at '"
                        + alias.getValue() + "', which is an alias itself");
            }
        }
        return settings;
    }

    private static String reason(Exception e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root == e ? e.getMessage() : e.getMessage() + ": " + root.getMessage();
    }
}
