package dev.torpor.launcher.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.torpor.WaitKind;
import dev.torpor.WakeReason;
import dev.torpor.examples.Approval;
import dev.torpor.examples.ProTrial;
import dev.torpor.testing.RealCheckpoints;
import dev.torpor.testing.TestWorkflow;
import dev.torpor.testing.TorporExtension;
import dev.torpor.testing.TorporTestEnvironment;
import dev.torpor.testing.WaitRecord;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.assertj.core.groups.Tuple;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * torpor-testing's real-checkpoint mode (issue #16): the same test code as with virtual waits,
 * but each workflow runs under a real worker ({@code torpor run --test-control}) that checkpoints
 * its JVM with CRIU at every wait and restores the image when the test's clock says so.
 */
@ExtendWith(TorporExtension.class)
class RealCheckpointsKitIT {
  private static TorporTestEnvironment realWithExamplesOnly() {
    return TorporTestEnvironment.builder()
        .classPath(List.of(Path.of(System.getProperty("torpor.examples.jar"))))
        .realCheckpoints(Path.of(System.getProperty(RealCheckpoints.JAR_PROPERTY)))
        .build();
  }

  @Test
  void aThirtyDayTrialIsCheckpointedAndRestoredOnTheTestsClock() {
    try (TorporTestEnvironment env = realWithExamplesOnly()) {
      assertThat(env.realCheckpoints()).isTrue();
      Instant start = env.now();
      TestWorkflow trial = env.start(ProTrial.class, "alice");
      assertThat(trial.awaitWaiting()).singleElement().satisfies(w -> {
        assertThat(w.kind()).isEqualTo(WaitKind.TIMER);
        assertThat(Duration.between(start, w.wakeAt().orElseThrow())).isBetween(Duration.ofDays(30), Duration.ofDays(30).plusMinutes(1));
      });
      assertThat(trial.output()).isEqualTo("billing: granted pro to alice\nmail to alice: Your 30-day trial has started\n");
      assertThat(trial.torporMessages()).as("the worker checkpointed it: its JVM is gone")
          .contains("suspended").doesNotContain("resumed");

      env.advance(Duration.ofDays(29));
      assertThat(trial.output()).doesNotContain("trial is over");
      env.advance(Duration.ofDays(1));
      assertThat(trial.output()).contains("mail to alice: Your trial is over: upgrade within PT72H to keep pro\n");
      assertThat(trial.torporMessages()).as("restored from its image").contains("resumed");

      assertThat(trial.awaitExit()).isZero();
      assertThat(trial.output()).endsWith("billing: revoked pro from alice\ntrial of alice done\n");
      assertThat(trial.history()).extracting(WaitRecord::kind, WaitRecord::endedBy).containsExactly(
          Tuple.tuple(WaitKind.TIMER, Optional.of(WakeReason.TIMER)),
          Tuple.tuple(WaitKind.SIGNAL, Optional.of(WakeReason.TIMEOUT)));
    }
  }

  @Test
  void signalsReachARestoredWorkflowAndOneSentEarlyIsKept() {
    try (TorporTestEnvironment env = realWithExamplesOnly()) {
      TestWorkflow change = env.start(Approval.class, "change-9");
      change.awaitWaiting();
      change.signal("approve", "erin");
      change.awaitWaiting();
      env.advance(Duration.ofMinutes(30));
      change.signal("deploy", "staging");
      assertThat(change.awaitExit()).isZero();
      assertThat(change.output()).isEqualTo("change-9: waiting for approval\nchange-9: approved by erin\n"
          + "change-9: deployed to staging\n");
    }
  }

  /** The annotation, with the test's whole class path copied for the workflow user. */
  @Test
  @RealCheckpoints
  void theAnnotationGivesATestRealCheckpoints(TorporTestEnvironment env) {
    assertThat(env.realCheckpoints()).isTrue();
    TestWorkflow trial = env.start(ProTrial.class, "carol", "60", "60");
    assertThat(trial.awaitExit()).isZero();
    assertThat(trial.output()).contains("trial of carol done");
    assertThat(trial.torporMessages()).contains("suspended", "resumed");
  }
}
