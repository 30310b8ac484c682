package dev.torpor.bench;

/**
 * When each workflow's timer should fall due: evenly from {@code firstDueMs} over {@code spanMs},
 * the span centred in the "intended minute". The span is at most {@link #MAX_SPAN_MS}, so that a
 * timer a little off its intended instant (a wait is given in whole seconds, and a JVM takes a
 * varying time to reach its wait call) still falls in that minute.
 *
 * @param firstDueMs the first timer's instant, epoch ms
 * @param spanMs from the first timer to the last
 */
record DueSchedule(long firstDueMs, long spanMs) {
  static final long MINUTE_MS = 60_000;
  static final long MAX_SPAN_MS = 58_000;

  DueSchedule {
    if (spanMs < 0 || spanMs > MAX_SPAN_MS) {
      throw new IllegalArgumentException("the span must be from 0 to " + MAX_SPAN_MS + " ms: " + spanMs);
    }
  }

  /** Timers spread over {@code spreadSeconds} (0 to 60; 60 and 59 are cut to 58). */
  static DueSchedule of(long firstDueMs, int spreadSeconds) {
    return new DueSchedule(firstDueMs, Math.min(spreadSeconds * 1000L, MAX_SPAN_MS));
  }

  /** The intended due instant of workflow {@code i} of {@code n} (0-based). */
  long dueOf(int i, int n) {
    if (i < 0 || i >= n) {
      throw new IllegalArgumentException("workflow " + i + " of " + n);
    }
    return n == 1 ? firstDueMs : firstDueMs + spanMs * i / (n - 1);
  }

  long lastDueMs() {
    return firstDueMs + spanMs;
  }

  /** The start of the intended minute: the span sits in its middle. */
  long minuteStartMs() {
    return firstDueMs + spanMs / 2 - MINUTE_MS / 2;
  }

  /** Whether {@code t} is in the intended minute, {@code [minuteStart, minuteStart + 60 s)}. */
  boolean inMinute(long t) {
    return t >= minuteStartMs() && t < minuteStartMs() + MINUTE_MS;
  }
}
