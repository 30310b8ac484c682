package dev.torpor.launcher.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.NullSource;
import org.junit.jupiter.params.provider.ValueSource;

class BearerTokenTest {
  private final BearerToken token = new BearerToken("s3cret");

  @ParameterizedTest
  @ValueSource(strings = {"Bearer s3cret", "bearer s3cret", "BEARER s3cret", "  Bearer   s3cret  "})
  void acceptsTheTokenWithAnyCaseOfTheScheme(String header) {
    assertThat(token.accepts(header)).isTrue();
  }

  @ParameterizedTest
  @NullSource
  @ValueSource(strings = {"", "Bearer", "Bearer ", "Bearer s3cre", "Bearer s3cret2", "Bearer S3CRET", "Basic s3cret",
    "s3cret", "Bearers3cret", "Token s3cret"})
  void refusesAnythingElse(String header) {
    assertThat(token.accepts(header)).isFalse();
  }

  @Test
  void tokenOfExtractsOnlyBearerTokens() {
    assertThat(BearerToken.tokenOf("Bearer abc")).isEqualTo("abc");
    assertThat(BearerToken.tokenOf("Basic abc")).isNull();
    assertThat(BearerToken.tokenOf(null)).isNull();
  }

  @ParameterizedTest
  @NullSource
  @ValueSource(strings = {"", "   "})
  void anEmptyTokenCannotBeConfigured(String empty) {
    assertThatThrownBy(() -> new BearerToken(empty))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("must not be empty");
  }
}
