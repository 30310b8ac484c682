package dev.torpor.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.torpor.testing.TestWorkflow;
import dev.torpor.testing.TorporExtension;
import dev.torpor.testing.TorporTestEnvironment;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(TorporExtension.class)
class ApprovalTest {

  @Test
  void anApprovedChangeIsDeployedWhenTheGoAheadComesInTime(TorporTestEnvironment env) {
    TestWorkflow change = env.start(Approval.class, "change-42");
    assertThatThrownBy(change::awaitExit).as("nothing but a reviewer ends the first wait")
        .hasMessageContaining("[approve]");
    change.signal("approve", "carol");
    change.awaitWaiting();
    env.advance(Duration.ofMinutes(59));
    change.signal("deploy", "production");
    assertThat(change.awaitExit()).isZero();
    assertThat(change.output()).isEqualTo("change-42: waiting for approval\nchange-42: approved by carol\n"
        + "change-42: deployed to production\n");
  }

  @Test
  void withoutAGoAheadWithinTheWindowTheChangeIsParked(TorporTestEnvironment env) {
    TestWorkflow change = env.start(Approval.class, "change-43", "600");
    change.signal("approve", "dave"); // kept until the workflow waits for it
    assertThat(change.awaitExit()).isZero();
    assertThat(change.output()).endsWith("change-43: no deploy within PT10M; parked\n");
  }
}
