package dev.torpor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class WorkflowIdTest {
  private static final String RULE = "use 1 to 128 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit,"
      + " without '..'";

  @Test
  void validIdsAreKeptAsGiven() {
    for (String id : new String[] {"a", "0", "order-42", "wf-lx3k.b_9", "A.b.c", "x".repeat(128)}) {
      assertThat(WorkflowId.of(id).value()).isEqualTo(id);
      assertThat(WorkflowId.of(id)).hasToString(id);
      assertThat(WorkflowId.isValid(id)).isTrue();
    }
  }

  @Test
  void invalidIdsAreRejectedNamingTheIdAndTheRule() {
    for (String id : new String[] {"", "a/b", "..", "a..b", ".hidden", "-x", "_x", "has space", "x".repeat(129), "é", "a\nb"}) {
      assertThatThrownBy(() -> WorkflowId.of(id)).as("id '%s'", id)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("invalid workflow id '" + id + "': " + RULE);
      assertThat(WorkflowId.isValid(id)).as("id '%s'", id).isFalse();
    }
  }

  @Test
  void nullIsRejected() {
    assertThatThrownBy(() -> WorkflowId.of(null)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("invalid workflow id 'null': " + RULE);
    assertThatThrownBy(() -> new WorkflowId(null)).isInstanceOf(IllegalArgumentException.class);
    assertThat(WorkflowId.isValid(null)).isFalse();
  }

  @Test
  void equalIdsAreEqual() {
    assertThat(WorkflowId.of("w1")).isEqualTo(new WorkflowId("w1")).hasSameHashCodeAs(WorkflowId.of("w1"));
    assertThat(WorkflowId.of("w1")).isNotEqualTo(WorkflowId.of("W1")).isNotEqualTo(WorkflowId.of("w2"));
  }
}
