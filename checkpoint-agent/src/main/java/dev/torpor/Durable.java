package dev.torpor;

import dev.torpor.internal.DurableRuntime;
import dev.torpor.internal.LocalRuntime;
import dev.torpor.internal.SupervisedRuntime;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.crac.Resource;

/**
 * Durable waits for plain Java programs.
 *
 * <p>When a workflow started by a Torpor worker calls one of the waits below, the whole JVM is
 * checkpointed: its memory, threads, locals and open files are written to an image in the
 * image store and the process exits, so nothing runs while it waits. When the timer is due or
 * the signal arrives, a worker restores the image and the call returns as if the process had
 * never stopped.
 *
 * <h2>What a checkpoint keeps, closes and re-runs</h2>
 *
 * <ul>
 *   <li><b>Kept:</b> the heap, every thread and its stack, static state, open regular files
 *       (which must still exist, unchanged, at restore), listening unix sockets, and {@code
 *       System.nanoTime()}, which continues from where it was (the downtime is invisible to
 *       it). {@code System.currentTimeMillis()} jumps forward by the time spent frozen.
 *   <li><b>Closed:</b> established TCP connections are closed at the checkpoint (the peer sees
 *       a reset; HTTP clients with keep-alive reconnect on their next request). Close what you
 *       can in a {@link Resource}'s {@code beforeCheckpoint} and reopen it in {@code
 *       afterRestore}: register it with {@link #register(Resource)}, or with {@code
 *       org.crac.Core.getGlobalContext()}, which in a workflow JVM is Torpor's (so libraries
 *       that integrate with {@code org.crac} need nothing more). Hooks run before every
 *       checkpoint in reverse registration order and after every restore in registration order,
 *       as CRaC orders them. After a restore, one line on stderr names the TCP connections the
 *       checkpoint closed, if any.
 *   <li><b>Re-run:</b> if a worker or the JVM dies, the workflow resumes from its last image,
 *       so the code since the last wait or {@link #checkpoint()} runs again: segments are
 *       at-least-once. Call {@link #checkpoint()} right after a side effect that must not be
 *       repeated.
 * </ul>
 *
 * <h2>What a workflow sees of its machine</h2>
 *
 * A worker runs workflow code as an unprivileged user (not root, no capabilities) in namespaces
 * of its own: it sees a read-only {@code /usr} and {@code /etc}, its JDK and class path, a few
 * device nodes, its own processes in {@code /proc}, and its run directory, which is its working
 * directory, {@code HOME}, {@code TMPDIR} and {@code java.io.tmpdir} and the only place it may
 * write ({@code /tmp} is read-only). Files it writes there belong to the workflow user and stay
 * on the worker that ran it. Its environment holds {@code PATH}, {@code LANG}, {@code TZ}, those
 * two directories, Torpor's own {@code TORPOR_*} variables and what {@code torpor submit --env}
 * set; never the worker's. It shares the host's network.
 *
 * <h2>Without a worker</h2>
 *
 * A program run with plain {@code java} still works: waits happen in memory, nothing is
 * persisted, and one line on stderr says so. A signal can be supplied there with {@code
 * -Dtorpor.local.signal.NAME=payload}.
 *
 * <h2>Threads: many waits at once</h2>
 *
 * Any number of threads may wait at the same time, each on its own timer, signal names or
 * savepoint. The JVM's waits are a set: one checkpoint holds them all, and the workflow is woken
 * by whichever is satisfied first. After the restore every wait that the wake satisfies returns
 * (several signals can arrive in one wake); the others stay blocked, and once the threads that
 * returned are idle again (parked, sleeping, blocked in I/O, or finished) the JVM is checkpointed
 * again with the waits that remain. Each signal is delivered exactly once, in order per name, to
 * the wait that began first among those that accept its name.
 *
 * <p>Waits that begin together make one checkpoint: the JVM is checkpointed as soon as every
 * other thread of the program is idle, or at the latest 20 ms (the settle window, {@code
 * -Dtorpor.wait.settleMillis}) after the last wait began. A thread that is still computing then
 * is frozen with the process and carries on after the restore, from where it was.
 *
 * <p>A wait is not cut short by {@link Thread#interrupt()}: an interrupt that arrives during the
 * wait is kept and the thread's interrupt status is set when the wait returns. A cancelled
 * workflow never returns from its waits: its process (or image) is discarded.
 */
public final class Durable {
  private static volatile DurableRuntime runtime;

  private Durable() {}

  /**
   * Suspends the workflow for at least {@code duration}, measured on the wall clock by the
   * worker's scheduler. A zero or negative duration returns at once without a checkpoint.
   */
  public static void waitFor(Duration duration) {
    Objects.requireNonNull(duration, "duration");
    if (duration.isNegative() || duration.isZero()) {
      return;
    }
    sleepUntil(deadline(duration));
  }

  /**
   * Suspends the workflow until the wall-clock instant {@code wakeAt}. An instant in the past
   * returns at once without a checkpoint.
   */
  public static void sleepUntil(Instant wakeAt) {
    Objects.requireNonNull(wakeAt, "wakeAt");
    Instant now = now();
    if (!wakeAt.isAfter(now)) {
      return;
    }
    if (wakeAt.isAfter(now.plus(MAX_WAIT))) {
      throw new IllegalArgumentException("wakeAt " + wakeAt + " is further away than the longest wait Torpor accepts (" + MAX_WAIT + ")");
    }
    runtime().sleepUntil(wakeAt);
  }

  /**
   * Suspends the workflow until a signal named {@code name} is delivered and returns it. A
   * signal sent before this call was kept by the worker and is returned at once, oldest first.
   */
  public static Signal awaitSignal(String name) {
    checkSignalName(name);
    return runtime()
        .awaitSignal(List.of(name), Optional.empty())
        .orElseThrow(() -> new TorporException("signal wait for '" + name + "' ended without a signal"));
  }

  /**
   * Suspends the workflow until a signal named {@code name} is delivered or {@code timeout} has
   * passed on the wall clock; empty on timeout.
   */
  public static Optional<Signal> awaitSignal(String name, Duration timeout) {
    checkSignalName(name);
    Objects.requireNonNull(timeout, "timeout");
    if (timeout.isNegative()) {
      throw new IllegalArgumentException("timeout must not be negative: " + timeout);
    }
    return runtime().awaitSignal(List.of(name), Optional.of(deadline(timeout)));
  }

  /**
   * Suspends the workflow until a signal named any of {@code names} is delivered, and returns
   * that one signal ({@link Signal#name()} says which); the others stay in the mailbox for later
   * waits. A signal of one of these names sent before this call is returned at once: the oldest
   * of them when there are several.
   *
   * @throws IllegalArgumentException if {@code names} is empty or holds an invalid name
   */
  public static Signal awaitAny(Collection<String> names) {
    List<String> checked = checkSignalNames(names);
    return runtime()
        .awaitSignal(checked, Optional.empty())
        .orElseThrow(() -> new TorporException("signal wait for " + checked + " ended without a signal"));
  }

  /**
   * Suspends the workflow until a signal named any of {@code names} is delivered or {@code
   * timeout} has passed on the wall clock. Returns the one signal that ended the wait, or empty
   * when the deadline came first; a signal that arrives together with the deadline wins.
   *
   * @throws IllegalArgumentException if {@code names} is empty or holds an invalid name, or the
   *     timeout is negative
   */
  public static Optional<Signal> awaitAny(Collection<String> names, Duration timeout) {
    List<String> checked = checkSignalNames(names);
    Objects.requireNonNull(timeout, "timeout");
    if (timeout.isNegative()) {
      throw new IllegalArgumentException("timeout must not be negative: " + timeout);
    }
    return runtime().awaitSignal(checked, Optional.of(deadline(timeout)));
  }

  /** The longest wait Torpor accepts: deadlines travel as epoch milliseconds. */
  private static final Duration MAX_WAIT = Duration.ofDays(365L * 1000);

  private static Instant deadline(Duration d) {
    if (d.compareTo(MAX_WAIT) > 0) {
      throw new IllegalArgumentException("a wait of " + d + " is longer than the longest Torpor accepts (" + MAX_WAIT + ")");
    }
    return now().plus(d);
  }

  /**
   * The workflow's current time, the clock its waits are measured on: the wall clock ({@link
   * Instant#now()}), except in a test of {@code torpor-testing} with virtual time, where it is the
   * test's clock, which jumps forward as the test skips time. A workflow that reads the time to
   * decide something (a deadline, a date in a mail) and should behave the same in such tests
   * reads it here.
   */
  public static Instant now() {
    return runtime().now();
  }

  /**
   * Persists the JVM now and carries on: a savepoint after an irreversible side effect. If the
   * workflow later crashes, it resumes from here rather than from the previous wait. Returns
   * once the image is committed.
   *
   * @throws CheckpointException if no image could be made; the program carries on unharmed
   */
  public static void checkpoint() {
    runtime().checkpoint();
  }

  /** The id of this workflow (in local mode, {@code local-<pid>} or {@code -Dtorpor.workflow.id}). */
  public static String workflowId() {
    return runtime().workflowId();
  }

  /** Whether a worker supervises this JVM, so that waits are checkpoints. */
  public static boolean isDurable() {
    return runtime().isDurable();
  }

  /**
   * Registers a resource whose hooks run around every checkpoint: {@code beforeCheckpoint} in
   * reverse registration order, {@code afterRestore} in registration order. Torpor keeps a
   * strong reference. A resource that throws in {@code beforeCheckpoint} prevents the
   * checkpoint: a wait is then kept in memory, and {@link #checkpoint()} throws.
   */
  public static void register(Resource resource) {
    runtime().register(Objects.requireNonNull(resource, "resource"));
  }

  private static void checkSignalName(String name) {
    SignalName.of(Objects.requireNonNull(name, "name"));
  }

  private static List<String> checkSignalNames(Collection<String> names) {
    Objects.requireNonNull(names, "names");
    if (names.isEmpty()) {
      throw new IllegalArgumentException("awaitAny needs at least one signal name");
    }
    List<String> distinct = List.copyOf(new LinkedHashSet<>(names));
    distinct.forEach(Durable::checkSignalName);
    return distinct;
  }

  private static DurableRuntime runtime() {
    DurableRuntime r = runtime;
    if (r == null) {
      synchronized (Durable.class) {
        r = runtime;
        if (r == null) {
          String id = System.getenv(SupervisedRuntime.ENV_WORKFLOW_ID);
          String dir = System.getenv(SupervisedRuntime.ENV_RUN_DIR);
          r = id != null && dir != null ? new SupervisedRuntime(id, Path.of(dir)) : new LocalRuntime();
          runtime = r;
        }
      }
    }
    return r;
  }
}
