package dev.torpor.internal.protocol;

/**
 * Agent to worker: the wait returned to user code.
 *
 * @param workflowId the workflow
 * @param seq the sequence number from the wake
 * @param afterRestoreNanos how long the afterRestore hooks took
 */
public record Resumed(String workflowId, long seq, long afterRestoreNanos) {
  public Frame toFrame() {
    return new Frame.Fields()
        .put("workflow", workflowId)
        .put("seq", seq)
        .put("afterRestoreNanos", afterRestoreNanos)
        .frame(MessageType.RESUMED);
  }

  public static Resumed from(Frame f) {
    Suspend.expect(f, MessageType.RESUMED);
    return new Resumed(f.requireText("workflow"), f.requireNumber("seq"), f.requireNumber("afterRestoreNanos"));
  }
}
