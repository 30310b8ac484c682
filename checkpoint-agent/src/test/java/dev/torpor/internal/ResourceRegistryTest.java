package dev.torpor.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.crac.Context;
import org.crac.Resource;
import org.junit.jupiter.api.Test;

class ResourceRegistryTest {
  private final List<String> log = new ArrayList<>();
  private final ResourceRegistry registry = new ResourceRegistry();

  @Test
  void beforeCheckpointRunsInReverseRegistrationOrder() {
    registerAbc();

    List<Throwable> failures = registry.beforeCheckpoint();

    assertThat(failures).isEmpty();
    assertThat(log).containsExactly("before c", "before b", "before a");
  }

  @Test
  void afterRestoreRunsInRegistrationOrder() {
    registerAbc();

    List<Throwable> failures = registry.afterRestore();

    assertThat(failures).isEmpty();
    assertThat(log).containsExactly("after a", "after b", "after c");
  }

  @Test
  void hooksRunOncePerCall() {
    registerAbc();

    registry.beforeCheckpoint();
    registry.afterRestore();
    registry.beforeCheckpoint();
    registry.afterRestore();

    assertThat(log)
        .containsExactly(
            "before c", "before b", "before a", "after a", "after b", "after c",
            "before c", "before b", "before a", "after a", "after b", "after c");
  }

  @Test
  void hooksRunOnceForEachRegistration() {
    RecordingResource a = RecordingResource.named("a", log);
    registry.register(a);
    registry.register(a);

    registry.beforeCheckpoint();

    assertThat(log).containsExactly("before a", "before a");
  }

  @Test
  void beforeCheckpointFailureDoesNotStopOthers() {
    IOException refusal = new IOException("b refuses");
    registry.register(RecordingResource.named("a", log));
    registry.register(RecordingResource.failingBefore("b", log, refusal));
    registry.register(RecordingResource.named("c", log));

    List<Throwable> failures = registry.beforeCheckpoint();

    assertThat(log).containsExactly("before c", "before b", "before a");
    assertThat(failures).containsExactly(refusal);
  }

  @Test
  void afterRestoreFailureDoesNotStopOthers() {
    IllegalStateException broken = new IllegalStateException("b cannot reconnect");
    registry.register(RecordingResource.named("a", log));
    registry.register(RecordingResource.failingAfter("b", log, broken));
    registry.register(RecordingResource.named("c", log));

    List<Throwable> failures = registry.afterRestore();

    assertThat(log).containsExactly("after a", "after b", "after c");
    assertThat(failures).containsExactly(broken);
  }

  @Test
  void failuresAreReturnedInCallOrder() {
    Exception first = new Exception("c");
    Exception second = new RuntimeException("a");
    registry.register(RecordingResource.failingBefore("a", log, second));
    registry.register(RecordingResource.named("b", log));
    registry.register(RecordingResource.failingBefore("c", log, first));

    List<Throwable> failures = registry.beforeCheckpoint();

    assertThat(failures).containsExactly(first, second);
    assertThat(log).containsExactly("before c", "before b", "before a");
  }

  @Test
  void linkageErrorInHookDoesNotStopOthers() {
    NoClassDefFoundError missing = new NoClassDefFoundError("com/example/Gone");
    registry.register(RecordingResource.named("a", log));
    registry.register(
        new Resource() {
          @Override
          public void beforeCheckpoint(Context<? extends Resource> context) {
            throw missing;
          }

          @Override
          public void afterRestore(Context<? extends Resource> context) {
            throw missing;
          }
        });

    assertThat(registry.beforeCheckpoint()).containsExactly(missing);
    assertThat(registry.afterRestore()).containsExactly(missing);
    assertThat(log).containsExactly("before a", "after a");
  }

  @Test
  void beforeCheckpointSkipsResourceRegisteredByAHookUntilNextCall() {
    RecordingResource late = RecordingResource.named("late", log);
    registry.register(
        new Resource() {
          @Override
          public void beforeCheckpoint(Context<? extends Resource> context) {
            log.add("before registrar");
            registry.register(late);
          }

          @Override
          public void afterRestore(Context<? extends Resource> context) {
            log.add("after registrar");
          }
        });

    registry.beforeCheckpoint();
    registry.afterRestore();

    assertThat(log).containsExactly("before registrar", "after registrar", "after late");
  }

  @Test
  void emptyRegistryRunsNothingAndReportsNoFailures() {
    assertThat(registry.beforeCheckpoint()).isEmpty();
    assertThat(registry.afterRestore()).isEmpty();
  }

  @Test
  void registerRejectsNull() {
    assertThatThrownBy(() -> registry.register(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("resource");
    assertThat(registry.beforeCheckpoint()).isEmpty();
  }

  private void registerAbc() {
    registry.register(RecordingResource.named("a", log));
    registry.register(RecordingResource.named("b", log));
    registry.register(RecordingResource.named("c", log));
  }
}
