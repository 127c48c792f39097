package io.tianshu.gateway.files;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class BatchLinesTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String LINE = "{\"custom_id\": \"%s\", \"method\": \"POST\", \"url\": \"/v1/embeddings\", "
            + "\"body\": {\"model\": \"m\", \"input\": \"x\"}}";

    @Test
    void crlfBlankLinesAndAMissingFinalNewlineAreFine() {
        String file = LINE.formatted("a") + "\r\n\r\n   \n" + LINE.formatted("b");
        BatchLines.Report report = check(file);
        assertThat(report.valid()).isTrue();
        assertThat(report.lines()).isEqualTo(2);

        List<BatchLines.Line> lines = new ArrayList<>();
        BatchLines.read(stream(file), JSON, lines::add);
        assertThat(lines).extracting(BatchLines.Line::number).containsExactly(1, 4);
        assertThat(lines.get(1).customId()).isEqualTo("b");
        assertThat(lines.get(1).body()).isEqualTo("{\"model\":\"m\",\"input\":\"x\"}");
    }

    @Test
    void problemsCarryTheEditorsLineNumbers() {
        BatchLines.Report report = check("\n" + LINE.formatted("") + "\n");
        assertThat(report.valid()).isFalse();
        assertThat(report.problems()).containsExactly("line 2: custom_id must be a non-empty string");
        assertThat(report.describe()).isEqualTo("The file has 1 invalid line: line 2: custom_id must be a non-empty "
                + "string.");
    }

    private static BatchLines.Report check(String text) {
        return BatchLines.check(stream(text), JSON);
    }

    private static ByteArrayInputStream stream(String text) {
        return new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8));
    }
}
