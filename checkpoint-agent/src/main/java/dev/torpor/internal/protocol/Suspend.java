package dev.torpor.internal.protocol;

import dev.torpor.WaitKind;
import java.time.Instant;
import java.util.Optional;

/**
 * Agent to worker: the workflow is about to block on its wake socket.
 *
 * @param workflowId the workflow, as the agent knows it
 * @param kind what it waits for
 * @param wakeAt the timer instant, or the deadline of a signal wait; empty for none
 * @param signal the awaited signal's name (for {@link WaitKind#SIGNAL})
 * @param marker a token the agent wrote to its stdout just before this frame: once the worker
 *     has read it from the output pipe, every earlier byte of output is in the log
 * @param stack the waiting thread's stack, for {@code torpor status}
 * @param dumpRefused when non-empty, a resource refused the checkpoint: do not dump, honour the
 *     wait in memory, and record this reason
 */
public record Suspend(
    String workflowId,
    WaitKind kind,
    Optional<Instant> wakeAt,
    Optional<String> signal,
    String marker,
    String stack,
    Optional<String> dumpRefused) {

  public Frame toFrame() {
    return new Frame.Fields()
        .put("workflow", workflowId)
        .put("kind", kind.name())
        .put("wakeAt", wakeAt.map(i -> Long.toString(i.toEpochMilli())).orElse(null))
        .put("signal", signal.orElse(null))
        .put("marker", marker)
        .put("stack", stack)
        .put("dumpRefused", dumpRefused.orElse(null))
        .frame(MessageType.SUSPEND);
  }

  public static Suspend from(Frame f) {
    expect(f, MessageType.SUSPEND);
    WaitKind kind = Enums.parse(WaitKind.class, f.requireText("kind"), "kind");
    Optional<String> signal = f.text("signal");
    if (kind == WaitKind.SIGNAL && signal.isEmpty()) {
      throw new ProtocolException("SUSPEND for a signal names no signal");
    }
    Optional<Instant> wakeAt = f.number("wakeAt").map(Instant::ofEpochMilli);
    if (kind == WaitKind.TIMER && wakeAt.isEmpty()) {
      throw new ProtocolException("SUSPEND for a timer has no wakeAt");
    }
    return new Suspend(
        f.requireText("workflow"),
        kind,
        wakeAt,
        signal,
        f.requireText("marker"),
        f.text("stack").orElse(""),
        f.text("dumpRefused"));
  }

  static void expect(Frame f, MessageType type) {
    if (f.type() != type) {
      throw new ProtocolException("expected a " + type + " frame, got " + f.type());
    }
  }
}
