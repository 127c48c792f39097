package io.tianshu.gateway.responses;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import io.grpc.Status;
import io.tianshu.inference.v1.ChatMessage;
import io.tianshu.inference.v1.Generation;
import io.tianshu.inference.v1.ToolCall;
import io.tianshu.rag.v1.AnswerTurn;
import io.tianshu.rag.v1.Citation;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.test.StepVerifier;

class FileSearchTurnTest {

    @Test
    void theAnswerReadsTheUsersAndAssistantsWordsBeforeTheQuestionAndNothingElse() {
        Generation decide = Generation.newBuilder()
                .addMessages(message("system", "Answer as an operator."))
                .addMessages(message("user", "How do I rotate keys?"))
                .addMessages(message("assistant", "").toBuilder()
                        .addToolCalls(ToolCall.newBuilder().setId("c1").setName("file_search").setArguments("{}")))
                .addMessages(message("tool", "results").toBuilder().setToolCallId("c1"))
                .addMessages(message("assistant", "Create the new key first [1]."))
                .addMessages(message("user", "And the gateway?"))
                .build();

        assertThat(FileSearchTurn.history(decide, "And the gateway?"))
                .extracting(AnswerTurn::getRole, AnswerTurn::getContent)
                .containsExactly(tuple("user", "How do I rotate keys?"),
                        tuple("assistant", "Create the new key first [1]."));
        assertThat(FileSearchTurn.history(decide, "a query, where the turn has no words of the user"))
                .as("no question among the messages: all of them are history").hasSize(3);
    }

    private static ChatMessage message(String role, String content) {
        return ChatMessage.newBuilder().setRole(role).setContent(content).build();
    }

    @Test
    void eachMarkerOfACitedFileIsAnAnnotationAtItsPositionAndOtherDocumentsAreDropped() {
        String text = "Drain traffic first [1]. Then restart pods [2][1].";
        List<Citation> citations = List.of(
                Citation.newBuilder().setMarker(1).setDocumentId("file-a").build(),
                Citation.newBuilder().setMarker(2).setDocumentId("put-in-through-rag").build());

        var annotations = FileSearchTurn.annotations(text, citations, Map.of("file-a", "runbook.md"));

        assertThat(annotations).extracting(a -> a.get("index").asInt())
                .containsExactly(text.indexOf("[1]"), text.lastIndexOf("[1]"));
        assertThat(annotations).allSatisfy(a -> {
            assertThat(a.get("type").asText()).isEqualTo("file_citation");
            assertThat(a.get("file_id").asText()).isEqualTo("file-a");
            assertThat(a.get("filename").asText()).isEqualTo("runbook.md");
        });
    }

    @Test
    void theQueryIsTheCallsQueryOrWhatTheModelWroteWhenItIsNotJson() {
        assertThat(FileSearchTurn.query("{\"query\": \"restart the gateway\"}")).isEqualTo("restart the gateway");
        assertThat(FileSearchTurn.query("restart it")).isEqualTo("restart it");
        assertThat(FileSearchTurn.query("{\"query\": \" \"}")).isEqualTo("{\"query\": \" \"}");
    }

    @Test
    void theDeadlineBoundsTheWholeTurnNotTheGapBetweenEvents() {
        // An event every 40 s, each gap well inside a 100 s deadline: the turn still ends at 100 s.
        StepVerifier.withVirtualTime(() -> FileSearchTurn.withDeadline(
                        Flux.interval(Duration.ofSeconds(40)).take(5), Duration.ofSeconds(100)))
                .thenAwait(Duration.ofSeconds(100))
                .expectNext(0L, 1L)
                .expectErrorSatisfies(e -> assertThat(Status.fromThrowable(e).getCode())
                        .isEqualTo(Status.Code.DEADLINE_EXCEEDED))
                .verify();
        StepVerifier.withVirtualTime(() -> FileSearchTurn.withDeadline(
                        Flux.interval(Duration.ofSeconds(40)).take(2), Duration.ofSeconds(100)))
                .thenAwait(Duration.ofSeconds(80))
                .expectNext(0L, 1L)
                .verifyComplete();
    }
}
