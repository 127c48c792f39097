package io.tianshu.gateway.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.springframework.context.ApplicationContextInitializer;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.MutablePropertySources;

/**
 * Points every test application context at {@link EmbeddedPostgresServer}, and keeps the test
 * suite's own settings in one place: a bootstrap key file in a temporary folder, a rate
 * limit window so long that no bucket refills while a test runs, which makes admission counts
 * exact instead of timing-dependent, JWTs accepted besides api keys ({@link TestJwts}), and a
 * console build to serve ({@link TestConsole}).
 */
public class EmbeddedPostgresInitializer implements ApplicationContextInitializer<ConfigurableApplicationContext> {

    private static final String TEST_PROPERTIES = "Inlined Test Properties";
    private static final String COMMAND_LINE = "commandLineArgs";
    private static final Path ADMIN_KEY_FILE;

    static {
        try {
            ADMIN_KEY_FILE = Files.createTempDirectory("tianshu-test").resolve("admin-key");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static Path adminKeyFile() {
        return ADMIN_KEY_FILE;
    }

    @Override
    public void initialize(ConfigurableApplicationContext context) {
        Map<String, Object> properties = new HashMap<>();
        properties.put("spring.datasource.url", EmbeddedPostgresServer.jdbcUrl());
        properties.put("spring.datasource.username", "postgres");
        properties.put("spring.datasource.password", "");
        properties.put("tianshu.auth.admin-key-file", ADMIN_KEY_FILE.toString());
        properties.put("tianshu.dynamic.limits.window", "3650d");
        properties.put("tianshu.auth.jwt.secret", TestJwts.SECRET);
        properties.put("tianshu.auth.jwt.issuer-uri", TestJwts.ISSUER);
        properties.put("tianshu.console.dir", TestConsole.dir().toString());
        // Before application.yml and the environment, after @SpringBootTest(properties) and
        // command-line arguments, so a test can still override any of these.
        MutablePropertySources sources = context.getEnvironment().getPropertySources();
        MapPropertySource source = new MapPropertySource("embedded-postgres", properties);
        if (sources.contains(TEST_PROPERTIES)) {
            sources.addAfter(TEST_PROPERTIES, source);
        } else if (sources.contains(COMMAND_LINE)) {
            // A context a test starts itself (SpringApplicationBuilder.run(args)) overrides by arguments.
            sources.addAfter(COMMAND_LINE, source);
        } else {
            sources.addFirst(source);
        }
    }
}
