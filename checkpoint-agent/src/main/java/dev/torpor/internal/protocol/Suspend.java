package dev.torpor.internal.protocol;

import dev.torpor.PendingWait;
import dev.torpor.WaitKind;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Agent to worker: the workflow's threads are about to block on what they wait for; checkpoint
 * it. One SUSPEND carries the whole wait set: every thread blocked in a {@code Durable} wait.
 *
 * @param workflowId the workflow, as the agent knows it
 * @param waits the wait set, by id (at least one)
 * @param marker a token the agent wrote to its stdout just before this frame: once the worker
 *     has read it from the output pipe, every earlier byte of output is in the log
 * @param dumpRefused when non-empty, a resource refused the checkpoint: do not dump, honour the
 *     waits in memory, and record this reason
 * @param gatherMicros how long the agent gathered the set: from the first of its waits that no
 *     earlier SUSPEND carried until this one was sent (0 when unknown)
 * @param trigger why the agent checkpointed the set then, for the history (empty when unknown)
 */
public record Suspend(String workflowId, List<PendingWait> waits, String marker, Optional<String> dumpRefused,
    long gatherMicros, String trigger) {
  /** The most waits one SUSPEND may carry. */
  public static final int MAX_WAITS = 10_000;

  public Suspend {
    waits = List.copyOf(waits);
    if (waits.isEmpty()) {
      throw new ProtocolException("SUSPEND carries no wait");
    }
  }

  public Suspend(String workflowId, List<PendingWait> waits, String marker, Optional<String> dumpRefused) {
    this(workflowId, waits, marker, dumpRefused, 0, "");
  }

  /** A suspend with a single wait (id 1). */
  public Suspend(String workflowId, WaitKind kind, Optional<Instant> wakeAt, Optional<String> signal, String marker,
      String stack, Optional<String> dumpRefused) {
    this(workflowId, PendingWait.single(kind, wakeAt, signal, stack), marker, dumpRefused);
  }

  /** Whether a thread asked for a savepoint: the JVM is checkpointed and carries on. */
  public boolean savepoint() {
    return waits.stream().anyMatch(w -> w.kind() == WaitKind.CHECKPOINT);
  }

  /** The kind the set is listed under (see {@link PendingWait#summary}). */
  public WaitKind kind() {
    return PendingWait.summary(waits);
  }

  /** The earliest timer or deadline of the set. */
  public Optional<Instant> wakeAt() {
    return PendingWait.earliest(waits);
  }

  /** The first signal name any wait accepts. */
  public Optional<String> signal() {
    return waits.stream().flatMap(w -> w.signals().stream()).findFirst();
  }

  /** Every waiting thread's stack, one after the other. */
  public String stack() {
    return String.join("\n", waits.stream().map(PendingWait::stack).toList());
  }

  public Frame toFrame() {
    Frame.Fields f = new Frame.Fields().put("workflow", workflowId).put("marker", marker)
        .put("dumpRefused", dumpRefused.orElse(null)).put("waits", waits.size()).put("gatherMicros", gatherMicros)
        .put("trigger", trigger.isEmpty() ? null : trigger);
    for (int i = 0; i < waits.size(); i++) {
      PendingWait w = waits.get(i);
      String p = "wait." + i + ".";
      f.put(p + "id", w.id()).put(p + "kind", w.kind().name())
          .put(p + "wakeAt", w.wakeAt().map(t -> Long.toString(t.toEpochMilli())).orElse(null))
          .put(p + "signals", w.signals().isEmpty() ? null : String.join("\n", w.signals()))
          .put(p + "stack", w.stack());
    }
    return f.frame(MessageType.SUSPEND);
  }

  public static Suspend from(Frame f) {
    expect(f, MessageType.SUSPEND);
    String workflow = f.requireText("workflow");
    String marker = f.requireText("marker");
    Optional<String> refused = f.text("dumpRefused");
    Optional<Long> count = f.number("waits");
    if (count.isEmpty()) { // an agent from before wait sets: one wait
      WaitKind kind = Enums.parse(WaitKind.class, f.requireText("kind"), "kind");
      try {
        return new Suspend(workflow, kind, f.number("wakeAt").map(Instant::ofEpochMilli), f.text("signal"), marker,
            f.text("stack").orElse(""), refused);
      } catch (IllegalArgumentException e) {
        throw new ProtocolException("SUSPEND: " + e.getMessage());
      }
    }
    if (count.get() < 1 || count.get() > MAX_WAITS) {
      throw new ProtocolException("SUSPEND carries " + count.get() + " waits; 1 to " + MAX_WAITS + " are accepted");
    }
    List<PendingWait> waits = new ArrayList<>();
    for (int i = 0; i < count.get(); i++) {
      String p = "wait." + i + ".";
      WaitKind kind = Enums.parse(WaitKind.class, f.requireText(p + "kind"), p + "kind");
      List<String> names = f.text(p + "signals").map(s -> Arrays.asList(s.split("\n", -1))).orElse(List.of());
      try {
        waits.add(new PendingWait(f.requireNumber(p + "id"), kind, names, f.number(p + "wakeAt").map(Instant::ofEpochMilli),
            f.text(p + "stack").orElse("")));
      } catch (IllegalArgumentException e) {
        throw new ProtocolException("SUSPEND " + p + ": " + e.getMessage());
      }
    }
    return new Suspend(workflow, waits, marker, refused, Math.max(0, f.number("gatherMicros").orElse(0L)),
        f.text("trigger").orElse(""));
  }

  static void expect(Frame f, MessageType type) {
    if (f.type() != type) {
      throw new ProtocolException("expected a " + type + " frame, got " + f.type());
    }
  }
}
