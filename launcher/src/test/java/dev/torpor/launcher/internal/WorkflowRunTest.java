package dev.torpor.launcher.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.torpor.launcher.internal.WorkflowRun.State;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The worker's per-workflow state machine: the moves a workflow's life makes, and no other. */
class WorkflowRunTest {
  private static WorkflowRun at(State s) {
    return new WorkflowRun("wf", Path.of("/run/wf"), s, 3);
  }

  @Test
  void aWaitThatFreezesThenWakesGoesRoundTheCycle() {
    WorkflowRun run = at(State.RUNNING);
    for (State next : List.of(State.SUSPENDING, State.SUSPENDED, State.WAKING, State.RUNNING, State.SUSPENDING,
        State.WAITING_IN_MEMORY, State.WAKING, State.RUNNING, State.EXITED)) {
      run.moveTo(next);
      assertThat(run.state).isEqualTo(next);
    }
  }

  @Test
  void aFailedRestoreOrUndeliveredWakeGoesBackToWaiting() {
    WorkflowRun restored = at(State.WAKING);
    restored.moveTo(State.SUSPENDED);
    WorkflowRun undelivered = at(State.RUNNING); // RUNNING just before its wake was sent
    undelivered.moveTo(State.WAITING_IN_MEMORY);
    assertThat(restored.state).isEqualTo(State.SUSPENDED);
    assertThat(undelivered.state).isEqualTo(State.WAITING_IN_MEMORY);
  }

  @Test
  void movesNoLifeMakesAreRefusedAndChangeNothing() {
    WorkflowRun frozen = at(State.SUSPENDED);
    assertThatThrownBy(() -> frozen.moveTo(State.RUNNING)).isInstanceOf(IllegalStateException.class)
        .hasMessage("workflow wf (seq 3) cannot move from SUSPENDED to RUNNING");
    assertThat(frozen.state).isEqualTo(State.SUSPENDED);
    for (State next : State.values()) {
      assertThat(State.EXITED.mayMoveTo(next)).as("EXITED -> " + next).isFalse();
    }
    assertThat(State.RUNNING.mayMoveTo(State.WAKING)).as("a running JVM is not woken").isFalse();
    assertThat(State.SUSPENDED.mayMoveTo(State.EXITED)).as("a frozen workflow has no JVM to exit").isFalse();
  }
}
