package dev.torpor.launcher.internal;

import java.time.Instant;
import java.util.Map;

/**
 * Something that happened to a workflow on a worker: the raw material of its history.
 *
 * @param type what happened
 * @param workflowId the workflow
 * @param seq the checkpoint sequence number it concerns (0 before the first checkpoint)
 * @param at when
 * @param details type-specific facts (exit code, wait reason, phase timings, sizes, errors)
 */
public record WorkflowEvent(Type type, String workflowId, long seq, Instant at, Map<String, Object> details) {
  public enum Type {
    STARTED,
    SUSPENDED,
    CHECKPOINTED,
    CHECKPOINT_FAILED,
    WAITING_IN_MEMORY,
    WAKING,
    RESTORE_FAILED,
    RESUMED,
    EXITED
  }

  public WorkflowEvent {
    details = Map.copyOf(details);
  }

  public static WorkflowEvent of(Type type, String id, long seq, Map<String, Object> details) {
    return new WorkflowEvent(type, id, seq, Instant.now(), details);
  }

  @Override
  public String toString() {
    return type + " " + workflowId + " seq=" + seq + " " + details;
  }
}
