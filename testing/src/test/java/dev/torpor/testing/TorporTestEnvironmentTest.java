package dev.torpor.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.torpor.PendingWait;
import dev.torpor.WaitKind;
import dev.torpor.WakeReason;
import dev.torpor.testing.flows.Approve;
import dev.torpor.testing.flows.Fails;
import dev.torpor.testing.flows.Hooks;
import dev.torpor.testing.flows.Spin;
import dev.torpor.testing.flows.Trial;
import dev.torpor.testing.flows.TwoTimers;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Real workflow JVMs with the real agent, the environment playing the worker on a virtual clock. */
@ExtendWith(TorporExtension.class)
class TorporTestEnvironmentTest {

  @Test
  void aThirtyDayWaitEndsWhenTheClockHasMovedThirtyDaysAndNotBefore(TorporTestEnvironment env) {
    Instant start = env.now();
    TestWorkflow trial = env.start(Trial.class);

    List<PendingWait> waits = trial.awaitWaiting();
    assertThat(waits).singleElement().satisfies(w -> {
      assertThat(w.kind()).isEqualTo(WaitKind.TIMER);
      assertThat(Duration.between(start, w.wakeAt().orElseThrow())).isBetween(Duration.ofDays(30), Duration.ofDays(30).plusMinutes(1));
      assertThat(w.stack()).contains("Trial.main");
    });
    assertThat(trial.output()).isEqualTo("trial started by wf-1\n");

    env.advance(Duration.ofDays(29));
    assertThat(trial.awaitWaiting()).as("a day before its timer").hasSize(1);
    assertThat(trial.exitCode()).isEmpty();

    env.advance(Duration.ofDays(1));
    assertThat(trial.awaitExit()).isEqualTo(3);
    assertThat(trial.output()).isEqualTo("trial started by wf-1\ntrial over after 30 days\n");
    assertThat(Duration.between(start, env.now())).isGreaterThanOrEqualTo(Duration.ofDays(30));
    assertThat(trial.history()).singleElement().satisfies(r -> {
      assertThat(r.endedBy()).contains(WakeReason.TIMER);
      assertThat(Duration.between(r.began(), r.ended().orElseThrow())).isGreaterThanOrEqualTo(Duration.ofDays(30).minusSeconds(1));
    });
  }

  @Test
  void awaitExitSkipsTimeOverEveryTimerAndAStartedWorkflowSeesTheClockAlreadyMoved(TorporTestEnvironment env) {
    env.advance(Duration.ofDays(400));
    TestWorkflow trial = env.start(Trial.class);
    assertThat(trial.awaitExit()).isEqualTo(3);
    assertThat(trial.output()).contains("trial over after 30 days");
    assertThat(trial.history()).singleElement().satisfies(r ->
        assertThat(r.pendingWait().wakeAt().orElseThrow()).isAfter(Instant.now().plus(Duration.ofDays(429))));
  }

  @Test
  void signalsGoToTheWaitsThatAcceptThemAndASignalSentEarlyIsKept(TorporTestEnvironment env) {
    TestWorkflow w = env.start(Approve.class);
    assertThat(w.awaitWaiting()).singleElement().satisfies(p -> assertThat(p.signals()).containsExactly("approve"));
    w.signal("deploy", "prod"); // nobody waits for it yet: kept
    w.signal("approve", "carol");
    assertThat(w.awaitExit()).isZero();
    assertThat(w.output()).isEqualTo("approved by carol\ndeploy: prod\n");
    assertThat(w.history()).extracting(WaitRecord::endedBy)
        .containsExactly(java.util.Optional.of(WakeReason.SIGNAL), java.util.Optional.of(WakeReason.SIGNAL));
    assertThat(w.history().get(1).signal().orElseThrow().text()).isEqualTo("prod");
  }

  @Test
  void aSignalWaitsDeadlinePassesWhenTheClockPassesIt(TorporTestEnvironment env) {
    TestWorkflow w = env.start(Approve.class);
    w.signal("approve", "dan");
    assertThat(w.awaitWaiting()).singleElement().satisfies(p -> assertThat(p.signals()).containsExactly("deploy", "cancel"));
    env.advance(Duration.ofHours(23));
    assertThat(w.exitCode()).isEmpty();
    assertThat(w.awaitExit()).isZero();
    assertThat(w.output()).endsWith("nothing within a day\n");
    assertThat(w.history().get(1).endedBy()).contains(WakeReason.TIMEOUT);
  }

  @Test
  void awaitExitOnAWaitWithoutDeadlineSaysWhatToSend(TorporTestEnvironment env) {
    TestWorkflow w = env.start(Approve.class);
    assertThat(w.awaitWaiting()).as(w.output()).hasSize(1);
    assertThatThrownBy(w::awaitExit).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("waits with no deadline").hasMessageContaining("[approve]");
    assertThatThrownBy(() -> w.signal("bell\u0007", "x")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("invalid signal name");
    assertThat(w.pendingWaits()).as("still waiting, nothing lost").hasSize(1);
  }

  @Test
  void concurrentWaitsEndInTheOrderTheyFallDueAndASavepointCarriesOn(TorporTestEnvironment env) {
    TestWorkflow w = env.start(TwoTimers.class);
    assertThat(w.awaitWaiting()).hasSize(2);
    env.advance(Duration.ofMinutes(90));
    assertThat(w.output()).isEqualTo("fast done\n");
    assertThat(w.awaitWaiting()).singleElement().satisfies(p -> assertThat(p.stack()).contains("\"slow\""));
    assertThat(w.awaitExit()).isZero();
    assertThat(w.output()).isEqualTo("fast done\nslow done\nsaved\n");
    assertThat(w.history()).extracting(r -> r.kind() + " " + r.endedBy().orElseThrow())
        .containsExactlyInAnyOrder("TIMER TIMER", "TIMER TIMER", "CHECKPOINT CHECKPOINT");
  }

  @Test
  void orgCracHooksRunAroundEveryWaitAsUnderAWorker(TorporTestEnvironment env) {
    TestWorkflow w = env.start(Hooks.class);
    assertThat(w.awaitExit()).isZero();
    assertThat(w.output()).as("one wait, one round of hooks").matches("before checkpoint\nafter restore\ndone -?\\d+\n");
  }

  @Test
  void aFailingMainExitsWithOneAndItsStackTraceIsInTheOutput(TorporTestEnvironment env) {
    TestWorkflow w = env.start("order-7", Fails.class.getName(), "7");
    assertThat(w.awaitExit()).isEqualTo(1);
    assertThat(w.output()).contains("IllegalStateException: no such order: 7");
    assertThatThrownBy(() -> w.signal("approve", "x")).hasMessageContaining("has ended");
    assertThatThrownBy(() -> env.start("order-7", Fails.class.getName())).hasMessageContaining("already started");
    assertThatThrownBy(() -> env.start("bad id", Fails.class.getName())).hasMessageContaining("1 to 64 letters");
  }

  @Test
  void aWorkflowThatNeitherWaitsNorEndsIsReportedWithItsOutputAndKilledAtClose() {
    TestWorkflow w;
    try (TorporTestEnvironment env = TorporTestEnvironment.builder().idleTimeout(Duration.ofSeconds(2)).build()) {
      w = env.start(Spin.class);
      assertThatThrownBy(w::awaitWaiting).isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("neither waited nor ended within PT2S").hasMessageContaining("spinning");
    }
    assertThat(w.exitCode()).as("killed by close").isPresent();
  }
}
