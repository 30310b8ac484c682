package dev.torpor.internal.crac;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.ref.WeakReference;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class GlobalContextTest {
  private final List<String> log = new ArrayList<>();
  private final GlobalContext context = new GlobalContext();

  @Test
  void beforeCheckpointRunsLastRegisteredFirstAndAfterRestoreTheOtherWay() {
    Resource a = named("a");
    Resource b = named("b");
    Resource c = named("c");
    context.register(a);
    context.register(b);
    context.register(c);

    assertThat(context.runBeforeCheckpoint()).isEmpty();
    assertThat(context.runAfterRestore()).isEmpty();

    assertThat(log).containsExactly("before c", "before b", "before a", "after a", "after b", "after c");
  }

  @Test
  void aResourceRegisteredTwiceRunsOnceAtItsLatestPlace() {
    Resource a = named("a");
    Resource b = named("b");
    context.register(a);
    context.register(b);
    context.register(a);

    context.runBeforeCheckpoint();
    context.runAfterRestore();

    assertThat(log).containsExactly("before a", "before b", "after b", "after a");
  }

  @Test
  void afterRestoreRunsOnlyWhatBeforeCheckpointRan() {
    Resource a = named("a");
    Resource late = named("late");
    context.register(a);
    context.runBeforeCheckpoint();
    context.register(late);

    context.runAfterRestore();
    context.runAfterRestore();

    assertThat(log).containsExactly("before a", "after a");
  }

  @Test
  void failuresDoNotStopTheOtherResourcesAndComeInCallOrder() {
    IOException bRefuses = new IOException("b refuses");
    IllegalStateException cRefuses = new IllegalStateException("c refuses");
    IllegalStateException aBroken = new IllegalStateException("a cannot reconnect");
    Resource a = failing("a", null, aBroken);
    Resource b = failing("b", bRefuses, null);
    Resource c = failing("c", cRefuses, null);
    context.register(a);
    context.register(b);
    context.register(c);

    assertThat(context.runBeforeCheckpoint()).containsExactly(cRefuses, bRefuses);
    assertThat(context.runAfterRestore()).containsExactly(aBroken);
    assertThat(log).containsExactly("before c", "before b", "before a", "after a", "after b", "after c");
  }

  @Test
  void aNestedContextsCheckpointExceptionContributesItsSuppressedFailures() {
    IOException x = new IOException("x");
    IOException y = new IOException("y");
    IOException z = new IOException("z");
    Resource nested = failing("nested", aggregate(new CheckpointException(), x, y), aggregate(new RestoreException(), z));
    Resource orgCrac = failing("org.crac", aggregate(new org.crac.CheckpointException(), z), null);
    context.register(nested);
    context.register(orgCrac);

    assertThat(context.runBeforeCheckpoint()).containsExactly(z, x, y);
    assertThat(context.runAfterRestore()).containsExactly(z);
  }

  @Test
  void asAContextItThrowsCheckpointAndRestoreExceptionsWithTheFailuresSuppressed() {
    IOException refusal = new IOException("refuses");
    IllegalStateException broken = new IllegalStateException("broken");
    context.register(failing("a", refusal, broken));

    assertThatThrownBy(() -> context.beforeCheckpoint(null))
        .isInstanceOf(CheckpointException.class)
        .satisfies(e -> assertThat(e.getSuppressed()).containsExactly(refusal));
    assertThatThrownBy(() -> context.afterRestore(null))
        .isInstanceOf(RestoreException.class)
        .satisfies(e -> assertThat(e.getSuppressed()).containsExactly(broken));
  }

  @Test
  void anInterruptedHookLeavesTheThreadInterruptedAndTheOthersRun() {
    InterruptedException interrupted = new InterruptedException("hook interrupted");
    context.register(named("a"));
    context.register(failing("b", interrupted, null));

    try {
      assertThat(context.runBeforeCheckpoint()).containsExactly(interrupted);
      assertThat(Thread.currentThread().isInterrupted()).isTrue();
      assertThat(log).containsExactly("before b", "before a");
    } finally {
      Thread.interrupted();
    }
  }

  @Test
  void linkageErrorsAreFailuresToo() {
    NoClassDefFoundError missing = new NoClassDefFoundError("com/example/Gone");
    context.register(new Resource() {
      @Override
      public void beforeCheckpoint(Context<? extends Resource> c) {
        throw missing;
      }

      @Override
      public void afterRestore(Context<? extends Resource> c) {}
    });

    assertThat(context.runBeforeCheckpoint()).containsExactly(missing);
  }

  @Test
  void resourcesAreHeldWeaklyAsCracHoldsThem() {
    Resource kept = named("kept");
    context.register(kept);
    WeakReference<Resource> dropped = registerAndForget("dropped");

    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (dropped.get() != null && System.nanoTime() < deadline) {
      System.gc();
    }

    assertThat(dropped.get()).as("collected").isNull();
    context.runBeforeCheckpoint();
    assertThat(log).containsExactly("before kept");
  }

  @Test
  void aResourceRunningBetweenCheckpointAndRestoreIsHeldUntilItsRestore() {
    WeakReference<Resource> ref = registerAndForget("held");
    context.runBeforeCheckpoint();

    for (int i = 0; i < 5; i++) {
      System.gc();
    }
    assertThat(ref.get()).isNotNull();
    context.runAfterRestore();

    assertThat(log).containsExactly("before held", "after held");
  }

  @Test
  void registerRefusesNull() {
    assertThatThrownBy(() -> context.register(null)).isInstanceOf(NullPointerException.class).hasMessage("resource");
  }

  private WeakReference<Resource> registerAndForget(String name) {
    Resource r = named(name);
    context.register(r);
    return new WeakReference<>(r);
  }

  private static <E extends Exception> E aggregate(E e, Throwable... suppressed) {
    for (Throwable t : suppressed) {
      e.addSuppressed(t);
    }
    return e;
  }

  private Resource named(String name) {
    return failing(name, null, null);
  }

  private Resource failing(String name, Exception before, Exception after) {
    return new Resource() {
      @Override
      public void beforeCheckpoint(Context<? extends Resource> c) throws Exception {
        log.add("before " + name);
        if (before != null) {
          throw before;
        }
      }

      @Override
      public void afterRestore(Context<? extends Resource> c) throws Exception {
        log.add("after " + name);
        if (after != null) {
          throw after;
        }
      }
    };
  }
}
