package dev.torpor.bench.temporal;

import static org.assertj.core.api.Assertions.assertThat;

import io.temporal.testing.TestEnvironmentOptions;
import io.temporal.testing.TestWorkflowEnvironment;
import org.junit.jupiter.api.Test;

/** The peer itself, on Temporal's in-process test server: every resume after an eviction is a replay. */
class TemporalReplayTest {
  @Test
  void theWorkflowKeepsEveryResultAndEachResumeIsTimed() throws Exception {
    TestWorkflowEnvironment env = TestWorkflowEnvironment.newInstance(
        TestEnvironmentOptions.newBuilder().setUseTimeskipping(false).build());
    try {
      TemporalReplay.Result small = TemporalReplay.measure(env, 5, 2, 2);
      TemporalReplay.Result large = TemporalReplay.measure(env, 300, 2, 2);

      assertThat(small.resultIntact()).isTrue();
      assertThat(large.resultIntact()).isTrue();
      assertThat(small.resumeMillis()).hasSize(2).allSatisfy(ms -> assertThat(ms).isPositive());
      assertThat(small.replayMillis()).hasSize(2).allSatisfy(ms -> assertThat(ms).isPositive());
      // 6 events per activity (scheduled, started, completed, and a workflow task's three)
      assertThat(large.historyEvents()).isGreaterThan(6 * 300);
      assertThat(large.historyBytes()).isGreaterThan(small.historyBytes() * 20);
    } finally {
      env.close();
    }
  }
}
