package dev.torpor.launcher.internal;

import dev.torpor.SignalName;
import dev.torpor.WorkflowId;
import dev.torpor.scheduler.Wakeup;
import static org.assertj.core.api.Assertions.assertThat;

import dev.torpor.Signal;
import dev.torpor.internal.protocol.Suspend;
import dev.torpor.WaitKind;
import dev.torpor.WakeReason;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The supervisor's decisions, through {@link InMemorySupervisor#dueNow}: no worker is attached. */
class InMemorySupervisorTest {
  private static final String WF = "wf-1";

  private final InMemorySupervisor supervisor = new InMemorySupervisor();

  @AfterEach
  void close() {
    supervisor.close();
  }

  private static Suspend signalWait(String name, Optional<Instant> deadline) {
    return new Suspend(WF, WaitKind.SIGNAL, deadline, Optional.of(name), "marker", "", Optional.empty());
  }

  private static Suspend timerWait(Instant at) {
    return new Suspend(WF, WaitKind.TIMER, Optional.of(at), Optional.empty(), "marker", "", Optional.empty());
  }

  private Optional<Wakeup> dueNow(String workflowId, Suspend wait) {
    return supervisor.dueNow(workflowId, 1, wait.kind(), wait.wakeAt(), wait.signal());
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String signalText(Optional<Wakeup> d) {
    assertThat(d).isPresent();
    assertThat(d.get().reason()).isEqualTo(WakeReason.SIGNAL);
    return d.get().signal().map(Signal::text).orElseThrow();
  }

  @Test
  void dueNowDeliversSignalAlreadyInMailbox() {
    supervisor.signal(WorkflowId.of(WF), SignalName.of("approve"), utf8("yes"));

    Optional<Wakeup> due = dueNow(WF, signalWait("approve", Optional.empty()));

    assertThat(signalText(due)).isEqualTo("yes");
    assertThat(due.get().signal().get().name()).isEqualTo("approve");
  }

  @Test
  void dueNowConsumesEachSignalOnceInOrder() {
    supervisor.signal(WorkflowId.of(WF), SignalName.of("approve"), utf8("a"));
    supervisor.signal(WorkflowId.of(WF), SignalName.of("approve"), utf8("b"));
    Suspend wait = signalWait("approve", Optional.empty());

    assertThat(signalText(dueNow(WF, wait))).isEqualTo("a");
    assertThat(signalText(dueNow(WF, wait))).isEqualTo("b");
    assertThat(dueNow(WF, wait)).isEmpty();
  }

  @Test
  void dueNowKeepsSignalsOfOtherNamesAndWorkflows() {
    supervisor.signal(WorkflowId.of(WF), SignalName.of("other"), utf8("o"));
    supervisor.signal(WorkflowId.of("wf-2"), SignalName.of("approve"), utf8("x"));
    Suspend wait = signalWait("approve", Optional.empty());

    assertThat(dueNow(WF, wait)).isEmpty();
    assertThat(signalText(dueNow(WF, signalWait("other", Optional.empty())))).isEqualTo("o");
    assertThat(signalText(dueNow("wf-2", wait))).isEqualTo("x");
  }

  @Test
  void dueNowWakesTimerInThePast() {
    Optional<Wakeup> due = dueNow(WF, timerWait(Instant.now().minusSeconds(1)));

    assertThat(due).contains(Wakeup.of(WakeReason.TIMER));
  }

  @Test
  void dueNowIgnoresTimerInTheFuture() {
    assertThat(dueNow(WF, timerWait(Instant.now().plus(Duration.ofHours(1))))).isEmpty();
  }

  @Test
  void dueNowTimesOutSignalWaitPastItsDeadline() {
    Optional<Wakeup> due = dueNow(WF, signalWait("approve", Optional.of(Instant.now().minusSeconds(1))));

    assertThat(due).contains(Wakeup.of(WakeReason.TIMEOUT));
  }

  @Test
  void dueNowPrefersWaitingSignalToPassedDeadline() {
    supervisor.signal(WorkflowId.of(WF), SignalName.of("approve"), utf8("late but here"));

    Optional<Wakeup> due = dueNow(WF, signalWait("approve", Optional.of(Instant.now().minusSeconds(1))));

    assertThat(signalText(due)).isEqualTo("late but here");
  }

  @Test
  void dueNowIsEmptyWhenNothingIsDue() {
    assertThat(dueNow(WF, signalWait("approve", Optional.empty()))).isEmpty();
    assertThat(dueNow(WF, signalWait("approve", Optional.of(Instant.now().plusSeconds(3600))))).isEmpty();
  }
}
