package dev.torpor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SignalNameTest {
  private static final String RULE = "use 1 to 128 characters, none of them a control character";

  @Test
  void validNamesAreKeptAsGiven() {
    for (String name : new String[] {"a", "approve", "new order/é", "with space", "..", "n".repeat(128)}) {
      assertThat(SignalName.of(name).value()).isEqualTo(name);
      assertThat(SignalName.of(name)).hasToString(name);
    }
  }

  @Test
  void invalidNamesAreRejectedNamingTheNameAndTheRule() {
    for (String name : new String[] {"", "n".repeat(129), "bell\u0007", "line\nbreak", "tab\t", "del\u007f", "c1\u0085"}) {
      assertThatThrownBy(() -> SignalName.of(name)).as("name '%s'", name)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("invalid signal name '" + name + "': " + RULE);
    }
  }

  @Test
  void nullIsRejected() {
    assertThatThrownBy(() -> SignalName.of(null)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("invalid signal name 'null': " + RULE);
    assertThatThrownBy(() -> new SignalName(null)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void equalNamesAreEqual() {
    assertThat(SignalName.of("go")).isEqualTo(new SignalName("go")).hasSameHashCodeAs(SignalName.of("go"));
    assertThat(SignalName.of("go")).isNotEqualTo(SignalName.of("Go")).isNotEqualTo(SignalName.of("stop"));
  }
}
