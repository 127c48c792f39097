package io.tianshu.gateway.auth;

import io.tianshu.gateway.error.ApiException;
import org.springframework.security.core.context.ReactiveSecurityContextHolder;
import org.springframework.security.core.context.SecurityContext;
import reactor.core.publisher.Mono;

/** The caller of the current request, for handlers. */
public final class Callers {

    private Callers() {
    }

    /** The authenticated caller, or the anonymous one when auth is switched off. */
    public static Mono<Caller> current() {
        return ReactiveSecurityContextHolder.getContext()
                .map(SecurityContext::getAuthentication)
                .filter(CallerAuthentication.class::isInstance)
                .map(a -> ((CallerAuthentication) a).caller())
                .defaultIfEmpty(Caller.anonymous());
    }

    /**
     * 403 unless both the key and its tenant allow the model, by the name the caller used or
     * by the served id an alias stands for (allow-lists may name either).
     */
    public static void checkModel(Caller caller, String asked, String served) {
        if (!caller.mayUse(asked) && !caller.mayUse(served)) {
            throw ApiException.forbidden("This API key may not use the model '" + asked + "'.", "model",
                    "model_not_allowed");
        }
    }
}
