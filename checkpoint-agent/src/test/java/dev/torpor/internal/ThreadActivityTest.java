package dev.torpor.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ThreadActivityTest {
  private static final String WAIT_SET = "dev.torpor.internal.SupervisedRuntime";
  private static final long MS = 1_000_000L;

  private final ThreadActivity activity = new ThreadActivity(WAIT_SET);
  private final Thread t = new Thread(() -> {});

  private static StackTraceElement java(String cls, String method) {
    return new StackTraceElement(cls, method, "X.java", 10);
  }

  private static StackTraceElement nativeFrame(String cls, String method) {
    return new StackTraceElement(cls, method, null, -2); // line -2: a native method
  }

  @Test
  void parkedSleepingAndWaitingThreadsAreIdle() {
    for (Thread.State s : new Thread.State[] {Thread.State.WAITING, Thread.State.TIMED_WAITING, Thread.State.TERMINATED}) {
      assertThat(activity.busy(t, s, new StackTraceElement[0], 0)).as(s.name()).isFalse();
      assertThat(ThreadActivity.needsStack(s)).isFalse();
    }
  }

  @Test
  void aThreadRunningJavaCodeIsBusy() {
    assertThat(activity.busy(t, Thread.State.RUNNABLE, new StackTraceElement[] {java("com.acme.Main", "loop")}, 0)).isTrue();
  }

  @Test
  void aThreadBlockedEnteringTheWaitSetIsBeginningAWaitAndSoBusy() {
    StackTraceElement[] entering = {java(WAIT_SET, "await"), java("dev.torpor.Durable", "waitFor")};
    assertThat(activity.busy(t, Thread.State.BLOCKED, entering, 0)).isTrue();
    StackTraceElement[] elsewhere = {java("com.acme.Cache", "get")};
    assertThat(activity.busy(t, Thread.State.BLOCKED, elsewhere, 0)).as("blocked on another monitor").isFalse();
  }

  @Test
  void aThreadInANativeCallIsBusyUntilItHasSatInTheSameFrameFor100Ms() {
    StackTraceElement[] read = {nativeFrame("sun.nio.ch.SocketDispatcher", "read0"), java("com.acme.Client", "poll")};
    assertThat(activity.busy(t, Thread.State.RUNNABLE, read, 0)).as("first seen: perhaps preempted in a clock read").isTrue();
    assertThat(activity.busy(t, Thread.State.RUNNABLE, read, 99 * MS)).isTrue();
    assertThat(activity.busy(t, Thread.State.RUNNABLE, read, 100 * MS)).as("a blocking read").isFalse();
    StackTraceElement[] clock = {nativeFrame("jdk.internal.misc.VM", "getNanoTimeAdjustment"), java("java.time.Instant", "now")};
    assertThat(activity.busy(t, Thread.State.RUNNABLE, clock, 150 * MS)).as("another native frame starts over").isTrue();
    assertThat(activity.busy(t, Thread.State.RUNNABLE, new StackTraceElement[] {java("com.acme.Main", "loop")}, 160 * MS))
        .isTrue();
    assertThat(activity.busy(t, Thread.State.RUNNABLE, clock, 170 * MS)).as("back in native: starts over").isTrue();
  }
}
