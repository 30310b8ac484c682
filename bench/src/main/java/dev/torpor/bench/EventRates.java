package dev.torpor.bench;

import java.util.Arrays;
import java.util.Collection;

/**
 * Rates of events given as epoch-millisecond timestamps: counts per whole second, the busiest
 * window of a given length, and how many intervals overlap a given instant. Pure functions, for
 * {@link ControlPlaneBenchmark}.
 */
final class EventRates {
  private EventRates() {}

  /**
   * How many events fall in each whole second (of the epoch) from the first event's second to
   * the last one's, seconds without an event included as zeros; empty for no events.
   */
  static long[] perSecond(Collection<Long> epochMillis) {
    long[] t = sorted(epochMillis);
    if (t.length == 0) {
      return new long[0];
    }
    long first = Math.floorDiv(t[0], 1000);
    long last = Math.floorDiv(t[t.length - 1], 1000);
    long[] counts = new long[Math.toIntExact(last - first + 1)];
    for (long x : t) {
      counts[(int) (Math.floorDiv(x, 1000) - first)]++;
    }
    return counts;
  }

  /** The largest count of {@link #perSecond}, 0 for no events. */
  static long peakPerSecond(Collection<Long> epochMillis) {
    return Arrays.stream(perSecond(epochMillis)).max().orElse(0);
  }

  /** The median count per second of {@link #perSecond} (zeros included), NaN for no events. */
  static double medianPerSecond(Collection<Long> epochMillis) {
    return Stats.medianOf(Arrays.stream(perSecond(epochMillis)).asDoubleStream().toArray());
  }

  /**
   * The busiest window: the most events in any half-open interval {@code [s, s + windowMillis)},
   * with its start {@code s} (which is always an event's timestamp).
   *
   * @param count events in the window
   * @param startMillis where the window starts (0 when there are no events)
   */
  record Window(int count, long startMillis) {}

  static Window busiestWindow(Collection<Long> epochMillis, long windowMillis) {
    if (windowMillis <= 0) {
      throw new IllegalArgumentException("the window must be positive: " + windowMillis);
    }
    long[] t = sorted(epochMillis);
    int best = 0;
    long bestStart = t.length == 0 ? 0 : t[0];
    int j = 0;
    for (int i = 0; i < t.length; i++) {
      if (i > 0 && t[i] == t[i - 1]) {
        continue; // the same start as the window before, with fewer events in it
      }
      j = Math.max(j, i);
      while (j < t.length && t[j] < t[i] + windowMillis) {
        j++;
      }
      if (j - i > best) {
        best = j - i;
        bestStart = t[i];
      }
    }
    return new Window(best, bestStart);
  }

  /**
   * An interval of time, {@code [startMillis, endMillis)}; an end before the start counts as
   * empty.
   */
  record Interval(long startMillis, long endMillis) {
    boolean contains(long t) {
      return startMillis <= t && t < endMillis;
    }
  }

  /** How many of {@code intervals} contain the instant {@code t}. */
  static int overlapping(Collection<Interval> intervals, long t) {
    int n = 0;
    for (Interval i : intervals) {
      if (i.contains(t)) {
        n++;
      }
    }
    return n;
  }

  /** The largest number of {@code intervals} that contain one instant (0 for none). */
  static int maxOverlap(Collection<Interval> intervals) {
    int best = 0;
    for (Interval i : intervals) {
      if (i.endMillis() > i.startMillis()) {
        best = Math.max(best, overlapping(intervals, i.startMillis())); // the maximum is reached at some start
      }
    }
    return best;
  }

  private static long[] sorted(Collection<Long> values) {
    long[] t = values.stream().mapToLong(Long::longValue).toArray();
    Arrays.sort(t);
    return t;
  }
}
