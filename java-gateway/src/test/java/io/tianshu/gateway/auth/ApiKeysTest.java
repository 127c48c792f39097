package io.tianshu.gateway.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class ApiKeysTest {

    @Test
    void generatedKeyIsMarkerPlus43UrlSafeCharactersAndUnique() {
        String key = ApiKeys.generate();
        assertThat(key).startsWith("tsk_").hasSize(47).matches("tsk_[A-Za-z0-9_-]{43}");
        assertThat(ApiKeys.generate()).isNotEqualTo(key);
        assertThat(ApiKeys.wellFormed(key)).isTrue();
    }

    @Test
    void malformedTokensAreNotKeys() {
        assertThat(ApiKeys.wellFormed("tsk_short")).isFalse();
        assertThat(ApiKeys.wellFormed("sk-" + "a".repeat(40))).isFalse();
        assertThat(ApiKeys.wellFormed("tsk_" + "a".repeat(31) + "!")).isFalse();
    }

    @Test
    void hashIsSha256AndMatchingComparesHashes() {
        String key = ApiKeys.generate();
        assertThat(ApiKeys.hash(key)).hasSize(32);
        assertThat(ApiKeys.matches(ApiKeys.hash(key), key)).isTrue();
        assertThat(ApiKeys.matches(ApiKeys.hash(key), ApiKeys.generate())).isFalse();
        assertThat(ApiKeys.prefix(key)).hasSize(12).startsWith("tsk_");
    }

    @Test
    void scopesAreCheckedAgainstTheKnownSet() {
        assertThat(Scope.validate(List.of("chat", "rag:read", "chat"))).containsExactly("chat", "rag:read");
        assertThatThrownBy(() -> Scope.validate(List.of("root"))).hasMessageContaining("root");
        assertThat(Caller.anonymous().hasScope(Scope.ADMIN)).isTrue();
    }
}
