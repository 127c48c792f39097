package io.tianshu.gateway.web;

import java.util.Optional;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.http.server.reactive.ServerHttpResponseDecorator;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;
import reactor.netty.Connection;

/** The event loop of the connection a response goes out on, as a Scheduler. */
final class ConnectionEventLoop {

    private ConnectionEventLoop() {
    }

    /** Empty when the response is not Reactor Netty's (a mock exchange in a test). */
    static Optional<Scheduler> of(ServerHttpResponse response) {
        return ServerHttpResponseDecorator.getNativeResponse(response) instanceof Connection connection
                ? Optional.of(Schedulers.fromExecutor(connection.channel().eventLoop()))
                : Optional.empty();
    }
}
