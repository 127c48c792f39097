package io.tianshu.gateway.db;

import java.util.concurrent.Callable;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * JDBC calls from reactive code. JDBC blocks, so each call runs on Reactor's boundedElastic
 * pool and never on a Netty event loop; the Hikari pool is sized to match.
 */
public final class Blocking {

    private Blocking() {
    }

    public static <T> Mono<T> call(Callable<T> work) {
        return Mono.fromCallable(work).subscribeOn(Schedulers.boundedElastic());
    }
}
