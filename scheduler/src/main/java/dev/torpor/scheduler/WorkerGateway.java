package dev.torpor.scheduler;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * What the control plane asks of a worker. Capacity is reserved first, so that a wake that
 * finds the worker full stays in Quartz, not in memory.
 */
public interface WorkerGateway {
  /** Takes one JVM slot if the worker has one free. */
  boolean tryReserve();

  /** Gives back a slot taken by {@link #tryReserve} that was not used. */
  void release();

  /**
   * Waits at most {@code max} for a free slot and returns how many are free now (0 when none came
   * free in time). Quartz asks before it takes triggers, so that a full worker takes no wake only
   * to hand it back. The default has no limit to wait for.
   */
  default int awaitFreeSlots(Duration max) throws InterruptedException {
    return Integer.MAX_VALUE;
  }

  /**
   * Starts a workflow JVM in a reserved slot, from the application jar with SHA-256 {@code
   * appSha256}, which is (or is to be fetched to) {@code appJar}: the same path on every worker.
   * {@code env} is what the submitter set for the JVM's environment.
   */
  void start(String workflowId, String appSha256, Path appJar, String mainClass, List<String> args,
      List<String> javaOptions, Map<String, String> env) throws IOException;

  /**
   * Wakes the workflow waiting on image {@code seq} in a reserved slot, restoring it (from the
   * store if this worker does not hold it, with its application jar at {@code appJar}). Asynchronous: failures come back through {@link
   * WorkerCallbacks#undeliverable}.
   */
  void wake(String workflowId, long seq, String appSha256, Path appJar, Wakeup wakeup) throws IOException;

  /** Kills the workflow's JVM if it runs on this worker. */
  void kill(String workflowId);
}
