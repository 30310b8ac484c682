package dev.torpor.examples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.torpor.WaitKind;
import dev.torpor.WakeReason;
import dev.torpor.testing.TestWorkflow;
import dev.torpor.testing.TorporExtension;
import dev.torpor.testing.TorporTestEnvironment;
import dev.torpor.testing.WaitRecord;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The 30-day trial, tested with torpor-testing's virtual time: no test waits a day. */
@ExtendWith(TorporExtension.class)
class ProTrialTest {

  @Test
  void aTrialNobodyUpgradesIsRevokedAfterThirtyDaysAndThreeDaysOfGrace(TorporTestEnvironment env) {
    TestWorkflow trial = env.start(ProTrial.class, "alice");
    trial.awaitWaiting();
    assertThat(trial.output()).isEqualTo("billing: granted pro to alice\nmail to alice: Your 30-day trial has started\n");

    env.advance(Duration.ofDays(29));
    assertThat(trial.output()).as("a day early").doesNotContain("trial is over");

    env.advance(Duration.ofDays(1));
    assertThat(trial.output()).contains("mail to alice: Your trial is over: upgrade within PT72H to keep pro\n");
    assertThat(trial.pendingWaits()).singleElement().satisfies(w -> assertThat(w.signals()).containsExactly("upgrade"));

    assertThat(trial.awaitExit()).isZero();
    assertThat(trial.output()).endsWith("billing: revoked pro from alice\ntrial of alice done\n");
    assertThat(trial.history()).extracting(WaitRecord::kind, WaitRecord::endedBy).containsExactly(
        org.assertj.core.groups.Tuple.tuple(WaitKind.TIMER, Optional.of(WakeReason.TIMER)),
        org.assertj.core.groups.Tuple.tuple(WaitKind.SIGNAL, Optional.of(WakeReason.TIMEOUT)));
  }

  @Test
  void anUpgradeDuringTheGracePeriodKeepsThePlan(TorporTestEnvironment env) {
    TestWorkflow trial = env.start(ProTrial.class, "bob");
    env.advance(Duration.ofDays(31));
    trial.signal("upgrade", "card ending 4242");
    assertThat(trial.awaitExit()).isZero();
    assertThat(trial.output()).contains("upgrade received: card ending 4242\n",
        "billing: granted pro (paid: card ending 4242) to bob\n").doesNotContain("revoked");
  }
}
