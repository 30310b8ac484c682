package dev.torpor.scheduler;

import dev.torpor.PendingWait;
import java.time.Instant;
import java.util.List;

/**
 * What {@code torpor status} shows of a workflow. Nullable fields are null when they do not
 * apply (no wait, no image yet, not finished).
 *
 * @param id the workflow id
 * @param state its state
 * @param seq the sequence number of its newest image (0 before the first checkpoint)
 * @param mainClass its main class
 * @param args its arguments
 * @param appSha256 its application jar's content address
 * @param waitKind {@code TIMER} or {@code SIGNAL} while suspended
 * @param waitSignal the awaited signal's name
 * @param wakeAt the next wake time (timer, or a signal wait's deadline)
 * @param inMemory true when suspended without an image (its checkpoint failed)
 * @param stack the waiting threads' stacks, captured at the checkpoint, one after the other
 * @param imageBytes the newest image's raw size
 * @param packedBytes the newest image's packed size
 * @param pendingSignals signals received and not yet delivered
 * @param exitCode the exit code once finished
 * @param error why it failed, or was cancelled
 * @param createdAt when it was submitted
 * @param updatedAt when its state last changed
 * @param waits every pending wait while suspended (one per waiting thread, with its stack); empty
 *     otherwise
 */
public record WorkflowView(
    String id,
    WorkflowState state,
    long seq,
    String mainClass,
    List<String> args,
    String appSha256,
    String waitKind,
    String waitSignal,
    Instant wakeAt,
    boolean inMemory,
    String stack,
    Long imageBytes,
    Long packedBytes,
    int pendingSignals,
    Integer exitCode,
    String error,
    Instant createdAt,
    Instant updatedAt,
    List<WorkflowView.Wait> waits) {
  public WorkflowView {
    waits = waits == null ? List.of() : List.copyOf(waits);
  }

  /**
   * One pending wait, as {@code torpor status} and the HTTP API show it.
   *
   * @param id its number in the workflow's JVM (waits are served in this order)
   * @param kind {@code TIMER}, {@code SIGNAL} or {@code CHECKPOINT}
   * @param signals the signal names it accepts (empty for a timer)
   * @param wakeAt its timer or deadline; null for none
   * @param stack the stack of the thread waiting on it
   */
  public record Wait(long id, String kind, List<String> signals, Instant wakeAt, String stack) {
    public Wait {
      signals = signals == null ? List.of() : List.copyOf(signals);
    }

    /** The view of a pending wait. */
    public static Wait of(PendingWait w) {
      return new Wait(w.id(), w.kind().name(), w.signals(), w.wakeAt().orElse(null), w.stack());
    }
  }
}
