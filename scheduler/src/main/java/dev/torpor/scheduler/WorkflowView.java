package dev.torpor.scheduler;

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
 * @param stack the waiting thread's stack, captured at the checkpoint
 * @param imageBytes the newest image's raw size
 * @param packedBytes the newest image's packed size
 * @param pendingSignals signals received and not yet delivered
 * @param exitCode the exit code once finished
 * @param error why it failed, or was cancelled
 * @param createdAt when it was submitted
 * @param updatedAt when its state last changed
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
    Instant updatedAt) {}
