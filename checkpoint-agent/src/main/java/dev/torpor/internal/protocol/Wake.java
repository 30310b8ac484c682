package dev.torpor.internal.protocol;

import dev.torpor.Signal;
import dev.torpor.WakeReason;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Worker to agent, on the workflow's wake socket: something the workflow waits for happened.
 * The agent ends every wait of its set that the wake satisfies: each signal goes to the first
 * wait (by id) that accepts its name, in the order given, and every timer or deadline at or
 * before {@code asOf} is over; the other waits go on.
 *
 * @param reason why the wake came (the first reason when there are several)
 * @param seq the sequence number of the image the JVM was restored from (or of the last one,
 *     when it was never frozen)
 * @param restored whether the JVM was restored from an image (false: it waited in memory)
 * @param checkpointFailure when the checkpoint failed, why; the waits were honoured in memory
 * @param workerAddress where to send the next frame (the worker's control socket path)
 * @param signals the signals delivered, oldest first; each was claimed for exactly this wake. Their
 *     payloads together stay within one frame: a control plane claims more than one signal for a
 *     wake only while their payloads total at most 1 MiB, and the rest come with the next wake
 * @param asOf the wall-clock instant the wake was decided at: timers due by then are over
 */
public record Wake(
    WakeReason reason,
    long seq,
    boolean restored,
    Optional<String> checkpointFailure,
    String workerAddress,
    List<Signal> signals,
    Instant asOf) {
  /** The most signals one wake may carry. */
  public static final int MAX_SIGNALS = Suspend.MAX_WAITS;

  public Wake {
    signals = List.copyOf(signals);
  }

  public Frame toFrame() {
    Frame.Fields f = new Frame.Fields()
        .put("reason", reason.name())
        .put("seq", seq)
        .put("restored", restored ? "1" : "0")
        .put("checkpointFailure", checkpointFailure.orElse(null))
        .put("worker", workerAddress)
        .put("asOf", asOf.toEpochMilli())
        .put("signals", signals.size());
    for (int i = 0; i < signals.size(); i++) {
      Signal s = signals.get(i);
      String p = "signal." + i + ".";
      f.put(p + "name", s.name()).put(p + "payload", s.payload()).put(p + "receivedAt", s.receivedAt().toEpochMilli());
    }
    return f.frame(MessageType.WAKE);
  }

  public static Wake from(Frame f) {
    Suspend.expect(f, MessageType.WAKE);
    WakeReason reason = Enums.parse(WakeReason.class, f.requireText("reason"), "reason");
    long count = f.number("signals").orElse(0L);
    if (count < 0 || count > MAX_SIGNALS) {
      throw new ProtocolException("WAKE carries " + count + " signals; 0 to " + MAX_SIGNALS + " are accepted");
    }
    List<Signal> signals = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      String p = "signal." + i + ".";
      byte[] payload = f.fields().get(p + "payload");
      signals.add(new Signal(f.requireText(p + "name"), payload == null ? new byte[0] : payload,
          Instant.ofEpochMilli(f.requireNumber(p + "receivedAt"))));
    }
    if (reason == WakeReason.SIGNAL && signals.isEmpty()) {
      throw new ProtocolException("WAKE for a signal carries no signal");
    }
    return new Wake(
        reason,
        f.requireNumber("seq"),
        "1".equals(f.requireText("restored")),
        f.text("checkpointFailure"),
        f.requireText("worker"),
        signals,
        Instant.ofEpochMilli(f.requireNumber("asOf")));
  }
}
