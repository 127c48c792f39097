package io.tianshu.gateway.requestid;

import java.util.UUID;
import java.util.regex.Pattern;
import org.springframework.web.server.ServerWebExchange;

/** The id that ties one HTTP request to its backend calls and log lines. */
public final class RequestId {

    /** HTTP header, in and out. */
    public static final String HEADER = "X-Request-Id";
    /** gRPC metadata key the backends read (lower case, as gRPC requires). */
    public static final String METADATA_KEY = "x-request-id";
    /** Key in the logging MDC and in the Reactor context. */
    public static final String MDC_KEY = "request_id";

    static final String ATTRIBUTE = RequestId.class.getName();

    // A caller's id ends up in logs and gRPC metadata: anything beyond this alphabet and
    // length could forge log fields or bloat headers, so such ids are replaced.
    private static final Pattern WELL_FORMED = Pattern.compile("[A-Za-z0-9._-]{1,128}");

    private RequestId() {
    }

    /** The id of this exchange; set by {@link RequestIdFilter} before any handler runs. */
    public static String of(ServerWebExchange exchange) {
        String id = exchange.getAttribute(ATTRIBUTE);
        return id != null ? id : generate();
    }

    static String accept(String candidate) {
        return candidate != null && WELL_FORMED.matcher(candidate).matches() ? candidate : generate();
    }

    static String generate() {
        return UUID.randomUUID().toString();
    }
}
