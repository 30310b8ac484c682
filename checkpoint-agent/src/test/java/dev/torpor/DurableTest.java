package dev.torpor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.crac.Context;
import org.crac.Resource;
import org.junit.jupiter.api.Test;

/**
 * Argument checks of the static facade. No worker environment is set in tests, so Durable runs
 * on a LocalRuntime (asserted below).
 */
class DurableTest {
  private static final String NAME_128 = "s".repeat(128);
  private static final String NAME_129 = "s".repeat(129);

  @Test
  void durableRunsLocallyWithoutWorkerEnvironment() {
    assertThat(System.getenv("TORPOR_WORKFLOW_ID") == null || System.getenv("TORPOR_RUN_DIR") == null).isTrue();
    assertThat(Durable.isDurable()).isFalse();
    assertThat(Durable.workflowId())
        .isEqualTo(System.getProperty("torpor.workflow.id", "local-" + ProcessHandle.current().pid()));
  }

  @Test
  void waitForRejectsNull() {
    assertThatThrownBy(() -> Durable.waitFor(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("duration");
  }

  @Test
  void sleepUntilRejectsNull() {
    assertThatThrownBy(() -> Durable.sleepUntil(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("wakeAt");
  }

  @Test
  void awaitSignalRejectsNullName() {
    assertThatThrownBy(() -> Durable.awaitSignal(null)).isInstanceOf(NullPointerException.class).hasMessage("name");
    assertThatThrownBy(() -> Durable.awaitSignal(null, Duration.ofSeconds(1)))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("name");
  }

  @Test
  void awaitSignalRejectsEmptyName() {
    assertThatThrownBy(() -> Durable.awaitSignal(""))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("1 to 128 characters");
    assertThatThrownBy(() -> Durable.awaitSignal("", Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("1 to 128 characters");
  }

  @Test
  void awaitSignalRejects129CharName() {
    assertThatThrownBy(() -> Durable.awaitSignal(NAME_129))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("1 to 128 characters");
    assertThatThrownBy(() -> Durable.awaitSignal(NAME_129, Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("1 to 128 characters");
  }

  @Test
  void awaitSignalAccepts128CharName() {
    assertThat(Durable.awaitSignal(NAME_128, Duration.ZERO)).isEmpty();
  }

  @Test
  void awaitSignalRejectsNegativeTimeout() {
    assertThatThrownBy(() -> Durable.awaitSignal("approve", Duration.ofMillis(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("must not be negative");
  }

  @Test
  void awaitSignalRejectsNullTimeout() {
    assertThatThrownBy(() -> Durable.awaitSignal("approve", null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("timeout");
  }

  @Test
  void registerRejectsNull() {
    assertThatThrownBy(() -> Durable.register(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("resource");
  }

  @Test
  void waitForZeroOrNegativeReturnsAtOnceWithoutHooks() {
    List<String> hooks = new CopyOnWriteArrayList<>();
    Durable.register(
        new Resource() {
          @Override
          public void beforeCheckpoint(Context<? extends Resource> context) {
            hooks.add("before");
          }

          @Override
          public void afterRestore(Context<? extends Resource> context) {
            hooks.add("after");
          }
        });
    long t0 = System.nanoTime();

    Durable.waitFor(Duration.ZERO);
    Durable.waitFor(Duration.ofSeconds(-5));
    Durable.sleepUntil(Instant.now().minusSeconds(1));

    assertThat(System.nanoTime() - t0).isLessThan(TimeUnit.SECONDS.toNanos(1));
    assertThat(hooks).as("no checkpoint, so no hooks").isEmpty();
  }

  @Test
  void waitsLongerThanAThousandYearsAreRejectedWithTheLimit() {
    assertThatThrownBy(() -> Durable.waitFor(Duration.ofSeconds(Long.MAX_VALUE)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("longest");
    assertThatThrownBy(() -> Durable.awaitSignal("s", Duration.ofSeconds(Long.MAX_VALUE)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("longest");
    assertThatThrownBy(() -> Durable.sleepUntil(Instant.MAX))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("longest");
  }
}
