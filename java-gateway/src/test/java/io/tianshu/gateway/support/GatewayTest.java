package io.tianshu.gateway.support;

import org.junit.jupiter.api.BeforeEach;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.autoconfigure.actuate.observability.AutoConfigureObservability;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.context.annotation.Import;
import org.springframework.test.web.reactive.server.WebTestClient;

/** The whole gateway on a random port, its inference backend in-process. One shared context. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@Import(InProcessInference.class)
// Tests switch metrics export off by default; the prometheus endpoint is part of what is tested.
@AutoConfigureObservability(tracing = false)
public abstract class GatewayTest {

    @Autowired
    protected WebTestClient web;

    @Autowired
    protected FakeInferenceService fake;

    @BeforeEach
    void resetFake() {
        fake.reset();
    }

    protected static String chat(String content) {
        return chat(content, "");
    }

    /** A minimal valid request for the fake's chat model, with extra top-level JSON fields. */
    protected static String chat(String content, String extraFields) {
        return """
                {"model": "%s", "messages": [{"role": "user", "content": "%s"}]%s}"""
                .formatted(FakeInferenceService.CHAT_MODEL, content, extraFields.isEmpty() ? "" : ", " + extraFields);
    }
}
