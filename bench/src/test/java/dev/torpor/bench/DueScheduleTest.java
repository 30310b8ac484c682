package dev.torpor.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class DueScheduleTest {
  @Test
  void aMinuteSpreadRunsFromOneSecondIntoTheMinuteToOneSecondBeforeItsEnd() {
    DueSchedule s = DueSchedule.of(100_000, 60);
    assertThat(s.spanMs()).isEqualTo(58_000);
    assertThat(s.minuteStartMs()).isEqualTo(99_000);
    assertThat(s.dueOf(0, 1000)).isEqualTo(100_000);
    assertThat(s.dueOf(999, 1000)).isEqualTo(158_000).isEqualTo(s.lastDueMs());
    assertThat(s.dueOf(500, 1001)).isEqualTo(129_000);
    assertThat(s.inMinute(99_000)).isTrue();
    assertThat(s.inMinute(158_999)).isTrue();
    assertThat(s.inMinute(159_000)).isFalse();
    assertThat(s.inMinute(98_999)).isFalse();
  }

  @Test
  void aBurstFallsDueAtOnceInTheMiddleOfItsMinute() {
    DueSchedule s = DueSchedule.of(100_000, 0);
    assertThat(s.dueOf(0, 3)).isEqualTo(100_000);
    assertThat(s.dueOf(2, 3)).isEqualTo(100_000);
    assertThat(s.minuteStartMs()).isEqualTo(70_000);
    assertThat(s.inMinute(129_999)).isTrue();
    assertThat(s.inMinute(130_000)).isFalse();
  }

  @Test
  void oneWorkflowIsDueAtTheFirstInstant() {
    assertThat(DueSchedule.of(5_000, 30).dueOf(0, 1)).isEqualTo(5_000);
  }

  @Test
  void outOfRangeIsRefused() {
    assertThatThrownBy(() -> new DueSchedule(0, 60_000)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> DueSchedule.of(0, 10).dueOf(3, 3)).isInstanceOf(IllegalArgumentException.class);
  }
}
