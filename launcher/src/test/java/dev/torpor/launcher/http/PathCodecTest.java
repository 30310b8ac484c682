package dev.torpor.launcher.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class PathCodecTest {
  @ParameterizedTest
  @CsvSource({
    "wf-1, wf-1",
    "wf%2D1, wf-1",
    "a%2Fb, a/b",
    "a+b, a+b",
    "a%20b, a b",
    "%C3%A9t%C3%A9, été",
    "%2e%2E, .."
  })
  void decodesPercentEscapesAsUtf8(String raw, String decoded) {
    assertThat(PathCodec.decode(raw)).isEqualTo(decoded);
  }

  @ParameterizedTest
  @ValueSource(strings = {"%", "%4", "%zz", "a%g1"})
  void refusesBrokenEscapes(String raw) {
    assertThatThrownBy(() -> PathCodec.decode(raw))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'" + raw + "'")
        .hasMessageContaining("two hex digits");
  }

  @Test
  void refusesBytesThatAreNotUtf8() {
    assertThatThrownBy(() -> PathCodec.decode("%FF%FE"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not percent-encoded UTF-8");
  }

  @Test
  void splitsPathsIntoDecodedSegmentsKeepingEmptyOnes() {
    assertThat(PathCodec.segments("/v1/workflows/a%2Fb/history")).containsExactly("v1", "workflows", "a/b", "history");
    assertThat(PathCodec.segments("/v1//x")).containsExactly("v1", "", "x");
    assertThat(PathCodec.segments("/")).isEmpty();
    assertThat(PathCodec.segments("/v1/")).containsExactly("v1", "");
  }
}
