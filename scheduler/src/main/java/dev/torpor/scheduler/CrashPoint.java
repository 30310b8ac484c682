package dev.torpor.scheduler;

import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

/**
 * A test-only switch that kills this process at a named point between two durable effects, so
 * that tests can prove that a crash there loses nothing. Off unless the process was started with
 * the environment variable {@value #ENV} naming a point: {@code NAME} (the first time it is
 * reached) or {@code NAME:N} (the N-th time). Reaching the armed point prints one line to stderr
 * ({@code torpor: crash point NAME reached (N), halting}) and halts the JVM with status
 * {@value #EXIT_STATUS}: no shutdown hook runs, no buffer is flushed, as in a power cut.
 *
 * <p>The variable is read once; when it is not set, {@link #reach} is a test of one constant.
 */
public enum CrashPoint {
  /** The workflow row is committed (PENDING, SUBMITTED); its dispatch is not yet in Quartz. */
  SUBMIT_COMMITTED,
  /** A dispatch committed the workflow RUNNING (STARTED); the worker has not started its JVM. */
  DISPATCH_COMMITTED,
  /** A signal is committed to the mailbox (SIGNAL_RECEIVED); the wake it causes is not yet in Quartz. */
  SIGNAL_COMMITTED,
  /**
   * A wake committed the workflow RUNNING and claimed its signal, if any (WAKING); the worker has
   * not been told to restore it.
   */
  WAKE_CLAIMED,
  /**
   * At a wait, the registry claimed the signal (or found the timer due) that the workflow asked
   * for (WAKING, due on arrival); the still-running JVM has not been given it.
   */
  DUE_NOW_CLAIMED,
  /** The JVM is dumped (a wait: the process is gone) to the worker's scratch space; nothing is in the store. */
  DUMPED,
  /** The image's data is written to the store; its manifest, which makes it an image, is not. */
  IMAGE_UPLOADED,
  /** The image is committed to the store (manifest written); the registry has not recorded it. */
  IMAGE_COMMITTED,
  /** The registry recorded the workflow SUSPENDED on its new image; its wake is not yet in Quartz. */
  SUSPEND_COMMITTED,
  /** The registry recorded a suspend and armed its wake; the superseded image is not yet deleted. */
  SUSPEND_RECORDED,
  /** The registry recorded a savepoint (CHECKPOINTED); the image it supersedes is not yet deleted. */
  SAVEPOINT_RECORDED,
  /** CRIU restored the workflow's JVM from its image; the wake has not been sent to it. */
  RESTORED,
  /** The wake went to the restored JVM, which runs on; its RESUMED is not recorded. */
  WAKE_DELIVERED,
  /** The registry recorded the workflow's exit (COMPLETED or FAILED); its Quartz jobs are not yet removed. */
  EXIT_COMMITTED,
  /** Recovery at start committed a workflow RECOVERED; its wake or dispatch is not yet in Quartz. */
  RECOVERY_COMMITTED,
  /** The image collector deleted one image's manifest of a finished workflow; the rest, and the registry's note, wait. */
  IMAGE_DELETED,
  /**
   * The image collector deleted a superseded image's manifest, or every manifest it meant to of
   * a finished workflow; the data objects no image reads any more are not yet swept.
   */
  IMAGE_UNLISTED,
  /**
   * The image collector released a finished workflow's references to shared packs; its manifests
   * are not yet deleted, nor the packs no other workflow refers to.
   */
  SHARED_RELEASED;

  /** The environment variable that arms a point. */
  public static final String ENV = "TORPOR_CRASH_POINT";
  /** The exit status of a process halted at a crash point. */
  public static final int EXIT_STATUS = 86;

  /** Null when off; a malformed value is off too here, and refused by {@link #checkEnvironment} at start. */
  private static final Armed ARMED = armedOrOff(System.getenv(ENV));

  /** Halts the process here if this process was started with {@code point} armed; does nothing otherwise. */
  public static void reach(CrashPoint point) {
    Armed a = ARMED;
    if (a != null && a.point == point) {
      a.count(point);
    }
  }

  /**
   * Refuses a malformed {@value #ENV} before the process does anything, with a message saying what
   * is allowed.
   *
   * @throws IllegalArgumentException if the variable is set but names no point or a bad count
   */
  public static void checkEnvironment() {
    armed(System.getenv(ENV));
  }

  private static Armed armedOrOff(String value) {
    try {
      return armed(value);
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  private static Armed armed(String value) {
    if (value == null || value.isBlank()) {
      return null;
    }
    String[] parts = value.strip().split(":", -1);
    CrashPoint point;
    try {
      point = valueOf(parts[0].toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw bad(value, "'" + parts[0] + "' is no crash point");
    }
    int n = 1;
    if (parts.length > 2) {
      throw bad(value, "give NAME or NAME:N");
    }
    if (parts.length == 2) {
      try {
        n = Integer.parseInt(parts[1]);
      } catch (NumberFormatException e) {
        n = 0;
      }
      if (n < 1) {
        throw bad(value, "N must be a whole number from 1, got '" + parts[1] + "'");
      }
    }
    return new Armed(point, n);
  }

  private static IllegalArgumentException bad(String value, String why) {
    return new IllegalArgumentException(ENV + "=" + value + " is not valid (" + why + "); it is a switch for tests:"
        + " unset it, or name one of " + Arrays.stream(values()).map(Enum::name).collect(Collectors.joining(", "))
        + ", optionally with :N for the N-th time the point is reached");
  }

  /** The armed point and how many times it must be reached before the process halts. */
  private static final class Armed {
    final CrashPoint point;
    final int at;
    final AtomicInteger reached = new AtomicInteger();

    Armed(CrashPoint point, int at) {
      this.point = point;
      this.at = at;
    }

    void count(CrashPoint p) {
      int n = reached.incrementAndGet();
      if (n == at) {
        System.err.println("torpor: crash point " + p.name() + " reached (" + n + "), halting");
        System.err.flush();
        Runtime.getRuntime().halt(EXIT_STATUS);
      }
    }
  }
}
