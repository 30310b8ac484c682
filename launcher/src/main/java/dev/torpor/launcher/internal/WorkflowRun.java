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
    EXITED
  }

  final String id;
  final Path runDir;
  final CompletableFuture<Integer> exit = new CompletableFuture<>();

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

  WorkflowRun(String id, Path runDir, State state, long seq) {
    this.id = id;
    this.runDir = runDir;
    this.state = state;
    this.seq = seq;
  }
}
