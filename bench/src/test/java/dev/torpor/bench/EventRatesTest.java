package dev.torpor.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.torpor.bench.EventRates.Interval;
import dev.torpor.bench.EventRates.Window;
import java.util.List;
import org.junit.jupiter.api.Test;

class EventRatesTest {
  @Test
  void perSecondCountsEverySecondFromTheFirstEventToTheLastIncludingEmptyOnes() {
    // seconds 10, 10, 10, (11 empty), 12, 12 -- given out of order
    List<Long> t = List.of(12_999L, 10_000L, 10_500L, 12_000L, 10_999L);
    assertThat(EventRates.perSecond(t)).containsExactly(3, 0, 2);
    assertThat(EventRates.peakPerSecond(t)).isEqualTo(3);
    assertThat(EventRates.medianPerSecond(t)).isEqualTo(2);
  }

  @Test
  void noEventsGiveNoSecondsAZeroPeakAndNoMedian() {
    assertThat(EventRates.perSecond(List.of())).isEmpty();
    assertThat(EventRates.peakPerSecond(List.of())).isZero();
    assertThat(EventRates.medianPerSecond(List.of())).isNaN();
    assertThat(EventRates.busiestWindow(List.of(), 30_000)).isEqualTo(new Window(0, 0));
  }

  @Test
  void busiestWindowIsHalfOpenAndStartsAtAnEvent() {
    // 0 and 1000 and 29_999 fit in [0, 30_000); 30_000 does not.
    List<Long> t = List.of(0L, 1_000L, 29_999L, 30_000L, 100_000L);
    assertThat(EventRates.busiestWindow(t, 30_000)).isEqualTo(new Window(3, 0));
    // A denser cluster later wins, and its first event is the window's start ([50_000, 80_000) leaves out 80_000).
    List<Long> u = List.of(0L, 50_000L, 50_001L, 50_002L, 79_999L, 80_000L);
    assertThat(EventRates.busiestWindow(u, 30_000)).isEqualTo(new Window(4, 50_000));
  }

  @Test
  void busiestWindowCountsEqualTimestampsOnce() {
    List<Long> t = List.of(5L, 5L, 5L, 6L);
    assertThat(EventRates.busiestWindow(t, 1)).isEqualTo(new Window(3, 5));
    assertThat(EventRates.busiestWindow(t, 2)).isEqualTo(new Window(4, 5));
  }

  @Test
  void aWindowMustBePositive() {
    assertThatThrownBy(() -> EventRates.busiestWindow(List.of(1L), 0)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void overlapCountsHalfOpenIntervals() {
    List<Interval> slots = List.of(new Interval(0, 10), new Interval(5, 15), new Interval(10, 20), new Interval(30, 25));
    assertThat(EventRates.overlapping(slots, 0)).isEqualTo(1);
    assertThat(EventRates.overlapping(slots, 7)).isEqualTo(2);
    assertThat(EventRates.overlapping(slots, 10)).isEqualTo(2); // the first has ended, the third begun
    assertThat(EventRates.overlapping(slots, 27)).isZero(); // an interval that ends before it starts is empty
    assertThat(EventRates.maxOverlap(slots)).isEqualTo(2);
    assertThat(EventRates.maxOverlap(List.of())).isZero();
  }
}
