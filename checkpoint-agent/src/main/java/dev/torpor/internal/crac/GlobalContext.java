package dev.torpor.internal.crac;

import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * The global context of a workflow JVM, ordered as CRaC orders its own ({@code
 * jdk.crac}'s {@code OrderedContext}): {@code beforeCheckpoint} runs the resources last
 * registered first; {@code afterRestore} runs the resources that {@code beforeCheckpoint} ran,
 * in the opposite order (so registration order). A resource registered twice runs once, at its
 * latest position. Resources are held weakly, as CRaC holds them, except from a {@code
 * beforeCheckpoint} to the next {@code afterRestore}. A failing resource does not stop the
 * others; a failure that is itself a {@code CheckpointException} or {@code RestoreException}
 * (ours or {@code org.crac}'s: a nested context) contributes its suppressed exceptions.
 */
public final class GlobalContext extends Context<Resource> {
  private static final GlobalContext GLOBAL = new GlobalContext();

  /** Failures seen by this thread while {@link Core#checkpointRestore()} runs. */
  private static final ThreadLocal<Failures> CAPTURE = new ThreadLocal<>();

  /** Before- and after-hook failures of one savepoint. */
  record Failures(List<Throwable> before, List<Throwable> after) {}

  private final List<WeakReference<Resource>> resources = new ArrayList<>();
  private List<Resource> restoreQueue = List.of();

  /** A context of its own (tests); the JVM's is {@link #global()}. */
  public GlobalContext() {}

  /** The context behind {@code org.crac.Core.getGlobalContext()}. */
  public static GlobalContext global() {
    return GLOBAL;
  }

  @Override
  public synchronized void register(Resource resource) {
    Objects.requireNonNull(resource, "resource");
    resources.removeIf(r -> r.get() == null || r.get() == resource);
    resources.add(new WeakReference<>(resource));
  }

  /** Runs every live resource's {@code beforeCheckpoint}, last registered first; returns what they threw. */
  public List<Throwable> runBeforeCheckpoint() {
    List<Resource> snapshot = new ArrayList<>();
    synchronized (this) {
      for (int i = resources.size() - 1; i >= 0; i--) {
        Resource r = resources.get(i).get();
        if (r != null) {
          snapshot.add(r);
        }
      }
      List<Resource> queue = new ArrayList<>(snapshot);
      Collections.reverse(queue);
      restoreQueue = queue;
    }
    List<Throwable> failures = new ArrayList<>();
    for (Resource r : snapshot) {
      try {
        r.beforeCheckpoint(this);
      } catch (Exception | LinkageError e) {
        collect(e, failures);
      }
    }
    Failures capture = CAPTURE.get();
    if (capture != null) {
      capture.before().addAll(failures);
    }
    return failures;
  }

  /**
   * Runs {@code afterRestore} of the resources the last {@link #runBeforeCheckpoint()} ran, in
   * registration order; returns what they threw.
   */
  public List<Throwable> runAfterRestore() {
    List<Resource> queue;
    synchronized (this) {
      queue = restoreQueue;
      restoreQueue = List.of();
    }
    List<Throwable> failures = new ArrayList<>();
    for (Resource r : queue) {
      try {
        r.afterRestore(this);
      } catch (Exception | LinkageError e) {
        collect(e, failures);
      }
    }
    Failures capture = CAPTURE.get();
    if (capture != null) {
      capture.after().addAll(failures);
    }
    return failures;
  }

  @Override
  public void beforeCheckpoint(Context<? extends Resource> context) throws CheckpointException {
    throwIfAny(runBeforeCheckpoint(), CheckpointException::new);
  }

  @Override
  public void afterRestore(Context<? extends Resource> context) throws RestoreException {
    throwIfAny(runAfterRestore(), RestoreException::new);
  }

  /**
   * CRaC's way to report the failures of a round of hooks: one exception of the round's kind
   * ({@code CheckpointException} or {@code RestoreException}, of this package or of org.crac's),
   * each failure suppressed in it; nothing when there were none.
   */
  public static <E extends Exception> void throwIfAny(List<Throwable> failures, java.util.function.Supplier<E> kind) throws E {
    if (!failures.isEmpty()) {
      E e = kind.get();
      failures.forEach(e::addSuppressed);
      throw e;
    }
  }

  @Override
  public String toString() {
    return "torpor's org.crac global context";
  }

  /** Starts collecting this thread's hook failures; {@link #endCapture()} stops. */
  static Failures capture() {
    Failures f = new Failures(new ArrayList<>(), new ArrayList<>());
    CAPTURE.set(f);
    return f;
  }

  static void endCapture() {
    CAPTURE.remove();
  }

  /**
   * Hands the calling thread's capture the failures of hooks that ran on another thread: under a
   * worker, the agent's coordinator runs them around the checkpoint a savepoint waits for.
   */
  public static void report(List<Throwable> before, List<Throwable> after) {
    Failures capture = CAPTURE.get();
    if (capture != null) {
      capture.before().addAll(before);
      capture.after().addAll(after);
    }
  }

  private static void collect(Throwable e, List<Throwable> failures) {
    if (e instanceof InterruptedException) {
      Thread.currentThread().interrupt(); // as CRaC does: keep the interrupt for the caller
    }
    boolean aggregate = e instanceof CheckpointException || e instanceof RestoreException
        || e instanceof org.crac.CheckpointException || e instanceof org.crac.RestoreException;
    if (aggregate && e.getSuppressed().length > 0) {
      Collections.addAll(failures, e.getSuppressed());
    } else {
      failures.add(e);
    }
  }
}
