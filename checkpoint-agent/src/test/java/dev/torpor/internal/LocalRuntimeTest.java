package dev.torpor.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.torpor.Signal;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class LocalRuntimeTest {
  private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

  private final LocalRuntime runtime = new LocalRuntime();
  private final List<String> log = new ArrayList<>();
  private final String signalName = "local-runtime-test-" + System.nanoTime();

  @AfterEach
  void clearSignalProperty() {
    System.clearProperty("torpor.local.signal." + signalName);
  }

  @Test
  void isNotDurableAndHasLocalWorkflowId() {
    assertThat(runtime.isDurable()).isFalse();
    assertThat(runtime.workflowId())
        .isEqualTo(System.getProperty("torpor.workflow.id", "local-" + ProcessHandle.current().pid()));
  }

  @Test
  void sleepUntilWaitsAtLeastUntilTheInstant() {
    long t0 = System.nanoTime();
    Instant wakeAt = Instant.now().plusMillis(200);

    runtime.sleepUntil(wakeAt);

    long elapsed = System.nanoTime() - t0;
    assertThat(Instant.now()).isAfterOrEqualTo(wakeAt);
    assertThat(elapsed).isGreaterThanOrEqualTo(200 * MS).isLessThan(5_000 * MS);
  }

  @Test
  void sleepUntilInThePastReturnsAtOnce() {
    long t0 = System.nanoTime();

    runtime.sleepUntil(Instant.now().minusSeconds(60));

    assertThat(System.nanoTime() - t0).isLessThan(1_000 * MS);
  }

  @Test
  void awaitSignalWithDeadlineAndNoSignalReturnsEmptyAfterDeadline() {
    long t0 = System.nanoTime();
    Instant deadline = Instant.now().plusMillis(200);

    Optional<Signal> signal = runtime.awaitSignal(List.of(signalName), Optional.of(deadline));

    long elapsed = System.nanoTime() - t0;
    assertThat(signal).isEmpty();
    assertThat(Instant.now()).isAfterOrEqualTo(deadline);
    assertThat(elapsed).isGreaterThanOrEqualTo(200 * MS).isLessThan(5_000 * MS);
  }

  @Test
  void awaitSignalDeliversSystemPropertySignalOnce() {
    String key = "torpor.local.signal." + signalName;
    System.setProperty(key, "héllo wörld");
    Instant before = Instant.now();
    long t0 = System.nanoTime();

    Optional<Signal> first = runtime.awaitSignal(List.of(signalName), Optional.of(Instant.now().plusSeconds(30)));

    assertThat(System.nanoTime() - t0).as("a supplied signal is returned at once").isLessThan(1_000 * MS);
    assertThat(first).isPresent();
    Signal s = first.get();
    assertThat(s.name()).isEqualTo(signalName);
    assertThat(s.text()).isEqualTo("héllo wörld");
    assertThat(s.payload()).isEqualTo("héllo wörld".getBytes(StandardCharsets.UTF_8));
    assertThat(s.receivedAt()).isBetween(before, Instant.now());
    assertThat(System.getProperty(key)).as("the property is consumed").isNull();

    long t1 = System.nanoTime();
    Instant deadline = Instant.now().plusMillis(100);
    Optional<Signal> second = runtime.awaitSignal(List.of(signalName), Optional.of(deadline));

    assertThat(second).as("the signal is delivered once").isEmpty();
    assertThat(System.nanoTime() - t1).isGreaterThanOrEqualTo(100 * MS);
    assertThat(Instant.now()).isAfterOrEqualTo(deadline);
  }

  @Test
  void awaitSignalDeliversEmptyPayload() {
    System.setProperty("torpor.local.signal." + signalName, "");

    Optional<Signal> signal = runtime.awaitSignal(List.of(signalName), Optional.of(Instant.now().plusSeconds(30)));

    assertThat(signal).hasValueSatisfying(s -> assertThat(s.payload()).isEmpty());
  }

  @Test
  void awaitSignalIgnoresSignalsOfOtherNames() {
    System.setProperty("torpor.local.signal." + signalName, "for someone else");

    Optional<Signal> signal =
        runtime.awaitSignal(List.of(signalName + "-other"), Optional.of(Instant.now().plusMillis(50)));

    assertThat(signal).isEmpty();
    assertThat(System.getProperty("torpor.local.signal." + signalName)).isEqualTo("for someone else");
  }

  @Test
  void checkpointRunsHooksInOrder() {
    registerAbc();

    runtime.checkpoint();

    assertThat(log)
        .containsExactly("before c", "before b", "before a", "after a", "after b", "after c");
  }

  @Test
  void sleepUntilRunsHooksInOrder() {
    registerAbc();

    runtime.sleepUntil(Instant.now().plusMillis(20));

    assertThat(log)
        .containsExactly("before c", "before b", "before a", "after a", "after b", "after c");
  }

  @Test
  void awaitSignalTimeoutRunsHooksInOrder() {
    registerAbc();

    runtime.awaitSignal(List.of(signalName), Optional.of(Instant.now().plusMillis(20)));

    assertThat(log)
        .containsExactly("before c", "before b", "before a", "after a", "after b", "after c");
  }

  @Test
  void failingHookIsReportedOnStderrAndDoesNotStopTheOthers() {
    runtime.register(RecordingResource.named("a", log));
    runtime.register(RecordingResource.failingBefore("b", log, new IOException("b refuses")));
    runtime.register(RecordingResource.named("c", log));
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream original = System.err;
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    try {
      runtime.checkpoint();
    } finally {
      System.setErr(original);
    }

    assertThat(log)
        .containsExactly("before c", "before b", "before a", "after a", "after b", "after c");
    assertThat(err.toString(StandardCharsets.UTF_8))
        .contains("a resource hook failed")
        .contains("b refuses");
  }

  @Test
  void interruptDuringSleepUntilDoesNotCutTheWaitShortAndIsKept() throws InterruptedException {
    Instant wakeAt = Instant.now().plusMillis(300);
    AtomicLong t0 = new AtomicLong();
    AtomicLong elapsed = new AtomicLong();
    AtomicReference<Instant> returnedAt = new AtomicReference<>();
    AtomicBoolean interruptedAfter = new AtomicBoolean();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    Thread sleeper =
        new Thread(
            () -> {
              t0.set(System.nanoTime());
              runtime.sleepUntil(wakeAt);
              elapsed.set(System.nanoTime() - t0.get());
              returnedAt.set(Instant.now());
              interruptedAfter.set(Thread.currentThread().isInterrupted());
            },
            "sleeper");
    sleeper.setUncaughtExceptionHandler((t, e) -> failure.set(e));
    sleeper.start();

    // Spin (no sleep) until the sleeper is parked in its timed wait, then interrupt it.
    while (sleeper.getState() != Thread.State.TIMED_WAITING && sleeper.isAlive()) {
      Thread.onSpinWait();
    }
    Instant interruptedAt = Instant.now();
    sleeper.interrupt();
    sleeper.join();

    assertThat(failure.get()).isNull();
    assertThat(interruptedAt).as("the interrupt arrived during the wait").isBefore(wakeAt);
    assertThat(interruptedAfter.get()).as("interrupt status after the wait").isTrue();
    assertThat(returnedAt.get()).isAfterOrEqualTo(wakeAt);
    assertThat(elapsed.get()).isGreaterThanOrEqualTo(Duration.between(interruptedAt, wakeAt).toNanos());
  }

  @Test
  void pendingInterruptDoesNotCutSleepUntilShortAndIsKept() {
    Instant wakeAt = Instant.now().plusMillis(100);
    Thread.currentThread().interrupt();
    boolean interruptedAfter;
    try {
      runtime.sleepUntil(wakeAt);
    } finally {
      interruptedAfter = Thread.interrupted(); // also clears it for the next test
    }

    assertThat(interruptedAfter).isTrue();
    assertThat(Instant.now()).isAfterOrEqualTo(wakeAt);
  }

  private void registerAbc() {
    runtime.register(RecordingResource.named("a", log));
    runtime.register(RecordingResource.named("b", log));
    runtime.register(RecordingResource.named("c", log));
  }
}
