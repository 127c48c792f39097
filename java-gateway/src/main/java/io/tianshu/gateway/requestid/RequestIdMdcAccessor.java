package io.tianshu.gateway.requestid;

import io.micrometer.context.ThreadLocalAccessor;
import org.slf4j.MDC;

/**
 * Bridges the Reactor context entry {@link RequestId#MDC_KEY} to the SLF4J MDC. Registered
 * through META-INF/services so it is known before the first request, whatever the bean order.
 * Public only because ServiceLoader requires it.
 */
public final class RequestIdMdcAccessor implements ThreadLocalAccessor<String> {

    @Override
    public Object key() {
        return RequestId.MDC_KEY;
    }

    @Override
    public String getValue() {
        return MDC.get(RequestId.MDC_KEY);
    }

    @Override
    public void setValue(String value) {
        MDC.put(RequestId.MDC_KEY, value);
    }

    @Override
    public void setValue() {
        MDC.remove(RequestId.MDC_KEY);
    }
}
