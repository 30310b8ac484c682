package dev.torpor.scheduler;

import dev.torpor.SignalName;
import dev.torpor.WorkflowId;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What users and operators ask of Torpor: the operations behind the HTTP API and the CLI.
 * Implementations are thread-safe and durable: whatever a call returned survives a crash of
 * the server.
 *
 * <p>Workflow ids and signal names arrive as {@link WorkflowId} and {@link SignalName}: checked
 * once where they enter (the HTTP API, the CLI), never again here.
 *
 * <p>Errors: {@link IllegalArgumentException} for bad input (a payload over
 * {@link #MAX_SIGNAL_PAYLOAD}, an unknown application, ...), {@link NotFoundException},
 * {@link ConflictException}; the message says what was wrong and what to do. A rejected call
 * changes nothing.
 */
public interface ControlPlane {
  /** The largest signal payload accepted: 1 MiB. */
  int MAX_SIGNAL_PAYLOAD = 1 << 20;

  /**
   * How long a call waits for a registry database that went away (a PostgreSQL restart or
   * fail-over) before it fails: a call may take this long to answer, and one that gave up is not
   * known not to have committed. A client's own timeout must be longer (then a retry under the
   * same idempotency key is safe).
   */
  java.time.Duration DATABASE_OUTAGE_WINDOW = java.time.Duration.ofSeconds(90);

  /** Stores an application jar under its SHA-256 and returns it (idempotent). */
  String storeApp(InputStream jar) throws IOException;

  /** Submits a workflow: idempotent for the same request and id, a conflict for another. */
  SubmitResult submit(SubmitRequest request);

  /**
   * Sends a signal. It is kept until the workflow waits for a signal of that name, and
   * delivered exactly once, in order per name.
   *
   * <p>With an idempotency key (see {@link IdempotencyKey} for its rule), a request repeated
   * under the same key, name and payload stores nothing and answers the first one's receipt
   * (marked duplicate), even once the workflow has finished: a client that lost the answer
   * retries safely. Without one, every call stores a signal.
   *
   * @throws IllegalArgumentException for a bad payload or key
   * @throws NotFoundException if no workflow has this id
   * @throws ConflictException if the workflow has finished, or the key was already used for
   *     another signal (another name or payload) to this workflow
   */
  SignalReceipt signal(WorkflowId workflowId, SignalName name, byte[] payload, Optional<String> idempotencyKey);

  /** {@link #signal(WorkflowId, SignalName, byte[], Optional)} without an idempotency key: a retry may store it twice. */
  default SignalReceipt signal(WorkflowId workflowId, SignalName name, byte[] payload) {
    return signal(workflowId, name, payload, Optional.empty());
  }

  /** How many workflows are in each state (states with none may be left out). */
  default Map<WorkflowState, Long> countByState() {
    Map<WorkflowState, Long> out = new java.util.EnumMap<>(WorkflowState.class);
    for (WorkflowView v : list(Optional.empty(), Optional.empty(), Integer.MAX_VALUE)) {
      out.merge(v.state(), 1L, Long::sum);
    }
    return out;
  }

  /** Workflows, newest first, optionally only in one state and/or waiting on TIMER or SIGNAL. */
  List<WorkflowView> list(Optional<WorkflowState> state, Optional<String> waitingOn, int limit);

  /** @throws NotFoundException if no workflow has this id */
  WorkflowView status(WorkflowId workflowId);

  /** @throws NotFoundException if no workflow has this id */
  List<HistoryEvent> history(WorkflowId workflowId);

  /**
   * Cancels a workflow: a pending one never starts, a running one's JVM is killed, a suspended
   * one is never woken.
   *
   * @throws ConflictException if it has already finished
   */
  void cancel(WorkflowId workflowId);

  /**
   * Wakes a workflow waiting on a timer now.
   *
   * @throws ConflictException if it is not suspended on a timer
   */
  void wake(WorkflowId workflowId);

  /**
   * Up to {@code max} bytes of the workflow's log from {@code offset}.
   *
   * @throws NotFoundException if no workflow has this id
   */
  LogChunk logs(WorkflowId workflowId, long offset, int max) throws IOException;

  /**
   * A piece of a log.
   *
   * @param offset where {@code data} starts
   * @param data the bytes
   * @param finished whether the workflow has finished (so the log will not grow)
   */
  record LogChunk(long offset, byte[] data, boolean finished) {}
}
