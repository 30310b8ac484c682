package dev.torpor.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

class StatsTest {
  @Test
  void medianOfAnOddSampleIsItsMiddleValue() {
    assertThat(Stats.medianOf(5, 1, 3)).isEqualTo(3);
    assertThat(Stats.medianOf(7)).isEqualTo(7);
  }

  @Test
  void medianOfAnEvenSampleIsTheMeanOfTheTwoMiddleValues() {
    assertThat(Stats.medianOf(4, 1, 3, 2)).isEqualTo(2.5);
  }

  @Test
  void p95IsByNearestRank() {
    double[] oneToTwenty = new double[20];
    for (int i = 0; i < 20; i++) {
      oneToTwenty[i] = 20 - i; // unsorted on purpose
    }
    assertThat(Stats.percentileOf(95, oneToTwenty)).isEqualTo(19); // rank ceil(0.95 * 20) = 19
    double[] oneToTwentyTwo = new double[22];
    for (int i = 0; i < 22; i++) {
      oneToTwentyTwo[i] = i + 1;
    }
    assertThat(Stats.percentileOf(95, oneToTwentyTwo)).isEqualTo(21); // rank ceil(20.9) = 21
    assertThat(Stats.percentileOf(95, 42)).isEqualTo(42);
    assertThat(Stats.percentileOf(100, 1, 9, 5)).isEqualTo(9);
  }

  @Test
  void inputIsNotReordered() {
    double[] xs = {3, 1, 2};
    Stats.medianOf(xs);
    Stats.percentileOf(95, xs);
    assertThat(xs).containsExactly(3, 1, 2);
  }

  @Test
  void summaryLeavesOutNaNs() {
    List<Double> values = new ArrayList<>();
    for (int i = 1; i <= 22; i++) {
      values.add((double) i);
    }
    values.add(Double.NaN);
    Collections.shuffle(values);
    Stats s = Stats.of(values);
    assertThat(s.count()).isEqualTo(22);
    assertThat(s.median()).isEqualTo(11.5);
    assertThat(s.p95()).isEqualTo(21);
    assertThat(s.min()).isEqualTo(1);
    assertThat(s.max()).isEqualTo(22);
  }

  @Test
  void emptySampleIsAllNaN() {
    Stats s = Stats.of(List.<Double>of());
    assertThat(s.count()).isZero();
    assertThat(s.median()).isNaN();
    assertThat(s.p95()).isNaN();
    assertThat(Stats.medianOf()).isNaN();
  }

  @Test
  void percentileOutOfRangeIsRefused() {
    assertThatThrownBy(() -> Stats.percentileOf(0, 1, 2)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Stats.percentileOf(101, 1, 2)).isInstanceOf(IllegalArgumentException.class);
  }
}
