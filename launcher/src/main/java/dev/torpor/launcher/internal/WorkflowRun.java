package dev.torpor.launcher.internal;

import dev.torpor.internal.protocol.Suspend;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;

/** A worker's mutable record of one workflow it runs or holds. Guarded by its own monitor. */
final class WorkflowRun {
  /**
   * Names the roots this run builds: a root is deleted only by the run whose token its stamp
   * holds, so a worker that lost the workflow cannot delete the root its new owner uses (workers
   * of a cluster share the run base).
   */
  final String rootToken = java.util.UUID.randomUUID().toString();

  /**
   * Where a workflow is in its life on this worker. Every change goes through {@link #moveTo},
   * which allows only these moves:
   *
   * <pre>
   * RUNNING           -&gt; SUSPENDING (it asked to wait), EXITED; SUSPENDED or WAITING_IN_MEMORY
   *                      when the wake that made it RUNNING could not be delivered (a run is
   *                      RUNNING just before its wake is sent, so that a SUSPEND right after is
   *                      taken)
   * SUSPENDING        -&gt; SUSPENDED (image committed), WAKING (due on arrival, a savepoint, or a
   *                      savepoint's failed commit), WAITING_IN_MEMORY (dump or commit failed),
   *                      RUNNING (its lease is gone or it died while dumped: its exit decides),
   *                      EXITED (the dump ended it and nothing may be committed)
   * SUSPENDED         -&gt; WAKING
   * WAITING_IN_MEMORY -&gt; WAKING, EXITED
   * WAKING            -&gt; RUNNING (the wake reached the JVM), SUSPENDED (the restore failed),
   *                      WAITING_IN_MEMORY (a wake in memory failed), EXITED
   * EXITED            -&gt; nothing
   * </pre>
   */
  enum State {
    /** The JVM runs user code. */
    RUNNING,
    /** The JVM asked to be suspended and is being dumped. */
    SUSPENDING,
    /** Frozen: only the image exists. */
    SUSPENDED,
    /** Alive and waiting: its checkpoint failed or was refused. */
    WAITING_IN_MEMORY,
    /** Being restored, or a wake is being delivered. */
    WAKING,
    /** The JVM exited. */
    EXITED;

    private static final java.util.Map<State, java.util.Set<State>> NEXT = new java.util.EnumMap<>(java.util.Map.of(
        RUNNING, java.util.EnumSet.of(SUSPENDING, EXITED, SUSPENDED, WAITING_IN_MEMORY),
        SUSPENDING, java.util.EnumSet.of(SUSPENDED, WAKING, WAITING_IN_MEMORY, RUNNING, EXITED),
        SUSPENDED, java.util.EnumSet.of(WAKING),
        WAITING_IN_MEMORY, java.util.EnumSet.of(WAKING, EXITED),
        WAKING, java.util.EnumSet.of(RUNNING, SUSPENDED, WAITING_IN_MEMORY, EXITED),
        EXITED, java.util.EnumSet.noneOf(State.class)));

    /** Whether a run may move from this state to {@code next}. */
    boolean mayMoveTo(State next) {
      return NEXT.get(this).contains(next);
    }
  }

  final String id;
  final Path runDir;
  final CompletableFuture<Integer> exit = new CompletableFuture<>();

  /** Where the run is: changed only by {@link #moveTo}. */
  State state;
  long seq;
  Process process;
  long rootPid;
  OutputPump pump;
  ControlServer control;
  Suspend wait;
  String checkpointFailure;
  long wakeStartedNanos;
  Path restoreDir;
  Process exitedWhileSuspending;
  boolean killed;
  String lastError;
  java.util.Map<String, String> jdk;
  java.util.Map<String, Double> wakeTimings;
  /** What the JVM sees of the host; its mounts are named in every dump and bound again at every restore. */
  SandboxPlan plan;

  /**
   * Moves this run to {@code next}; the caller holds its monitor.
   *
   * @throws IllegalStateException if the move is not one {@link State} allows: a bug in the worker,
   *     named with the workflow, its seq and both states
   */
  void moveTo(State next) {
    if (!state.mayMoveTo(next)) {
      throw new IllegalStateException("workflow " + id + " (seq " + seq + ") cannot move from " + state + " to " + next);
    }
    state = next;
  }

  WorkflowRun(String id, Path runDir, State state, long seq) {
    this.id = id;
    this.runDir = runDir;
    this.state = state;
    this.seq = seq;
  }
}
