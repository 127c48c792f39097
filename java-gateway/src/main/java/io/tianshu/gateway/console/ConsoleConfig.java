package io.tianshu.gateway.console;

import static org.springframework.web.reactive.function.server.RequestPredicates.GET;

import io.tianshu.gateway.config.TianshuProperties;
import io.tianshu.gateway.error.ApiException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.io.FileSystemResource;
import org.springframework.http.CacheControl;
import org.springframework.http.MediaType;
import org.springframework.web.reactive.config.ResourceHandlerRegistry;
import org.springframework.web.reactive.config.WebFluxConfigurer;
import org.springframework.web.reactive.function.BodyInserters;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerResponse;
import org.springframework.web.reactive.resource.EncodedResourceResolver;
import org.springframework.web.reactive.resource.PathResourceResolver;
import reactor.core.publisher.Mono;

/**
 * Serves the web console (console/ in the repository, built into {@code tianshu.console.dir}):
 * its page at {@code /} and its content-hashed files under {@code /assets/}. The console routes
 * with the URL's fragment, so no other path needs to fall back to the page. No authentication
 * here (AuthConfig): the files hold no data; everything the console shows comes from the API
 * with the caller's own key.
 */
@Configuration
class ConsoleConfig implements WebFluxConfigurer {

    /**
     * Scripts and connections only from this origin and no inline script. Inline styles stay
     * allowed: the component library puts its generated CSS in style elements at run time.
     */
    static final String CONTENT_SECURITY_POLICY = "default-src 'self'; script-src 'self'; "
            + "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; "
            + "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

    private final TianshuProperties.Console console;

    ConsoleConfig(TianshuProperties properties) {
        this.console = properties.console();
    }

    @Override
    public void addResourceHandlers(ResourceHandlerRegistry registry) {
        if (!console.enabled()) {
            return;
        }
        // Every file name under assets/ carries a hash of its content: cached for good. The
        // build writes .br and .gz beside each file, served to browsers that accept them.
        registry.addResourceHandler("/assets/**")
                .addResourceLocations(Path.of(console.dir(), "assets").toUri().toString().replaceFirst("/?$", "/"))
                .setCacheControl(CacheControl.maxAge(Duration.ofDays(365)).cachePublic().immutable())
                .resourceChain(true)
                .addResolver(new EncodedResourceResolver())
                .addResolver(new PathResourceResolver());
    }

    @Bean
    RouterFunction<ServerResponse> consolePage() {
        return RouterFunctions.route(GET("/").or(GET("/index.html")), request -> {
            Path page = console.enabled() ? Path.of(console.dir(), "index.html") : null;
            if (page == null || !Files.isRegularFile(page)) {
                return Mono.error(ApiException.notFound("This gateway serves no console (TIANSHU_CONSOLE_DIR "
                        + (page == null ? "is empty" : "has no index.html") + ")."));
            }
            // Revalidated on every load, so a new build's asset names are picked up at once.
            return ServerResponse.ok().contentType(MediaType.TEXT_HTML)
                    .cacheControl(CacheControl.noCache())
                    .header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                    .header("Referrer-Policy", "no-referrer")
                    .body(BodyInserters.fromResource(new FileSystemResource(page)));
        });
    }
}
