package dev.torpor.internal;

import java.util.Map;
import java.util.WeakHashMap;

/**
 * Whether a thread that does not wait in {@code Durable} is running, by what the agent can see of
 * it: its state and, when that does not settle it, the top of its stack. Idle: parked, sleeping,
 * blocked on a monitor other than the wait set's own (a thread blocked there is beginning or
 * ending a wait), or runnable in the same native frame for {@link #NATIVE_IDLE_NANOS} (a blocking
 * read). Busy: any other runnable thread, including one the scheduler preempted inside a native
 * call (a clock read, a write), which looks blocked in native code for a moment. Used by one
 * thread, the agent's coordinator.
 */
final class ThreadActivity {
  /** How long a thread must sit in the same native frame before it counts as blocked in I/O. */
  static final long NATIVE_IDLE_NANOS = 100_000_000L;

  private record Sighting(StackTraceElement frame, int depth, long since) {}

  private final String waitSetClass;
  private final Map<Thread, Sighting> inNative = new WeakHashMap<>();

  /** {@code waitSetClass}: the class whose monitor guards the wait set. */
  ThreadActivity(String waitSetClass) {
    this.waitSetClass = waitSetClass;
  }

  /** Whether a stack is needed to judge a thread in {@code state} (walking one costs the thread a handshake). */
  static boolean needsStack(Thread.State state) {
    return state == Thread.State.RUNNABLE || state == Thread.State.BLOCKED;
  }

  /** Whether thread {@code t}, seen at {@code now} in {@code state} with {@code stack} (top first), runs. */
  boolean busy(Thread t, Thread.State state, StackTraceElement[] stack, long now) {
    if (state == Thread.State.BLOCKED) {
      return stack.length > 0 && stack[0].getClassName().equals(waitSetClass);
    }
    if (state != Thread.State.RUNNABLE || stack.length == 0) {
      inNative.remove(t);
      return false;
    }
    if (!stack[0].isNativeMethod()) {
      inNative.remove(t);
      return true;
    }
    Sighting seen = inNative.get(t);
    if (seen == null || !seen.frame().equals(stack[0]) || seen.depth() != stack.length) {
      inNative.put(t, new Sighting(stack[0], stack.length, now));
      return true;
    }
    return now - seen.since() < NATIVE_IDLE_NANOS;
  }
}
