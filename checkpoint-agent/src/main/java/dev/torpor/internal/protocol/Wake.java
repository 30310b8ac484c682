package dev.torpor.internal.protocol;

import dev.torpor.WakeReason;
import java.time.Instant;
import java.util.Optional;

/**
 * Worker to agent, on the workflow's wake socket: the wait is over.
 *
 * @param reason why it is over
 * @param seq the sequence number of the image the JVM was restored from (or of the last one,
 *     when it was never frozen)
 * @param restored whether the JVM was restored from an image (false: it waited in memory)
 * @param checkpointFailure when the checkpoint failed, why; the wait was honoured in memory
 * @param workerAddress where to send the next frame (the worker's control socket path)
 * @param signalName the delivered signal's name ({@link WakeReason#SIGNAL})
 * @param signalPayload its payload
 * @param signalReceivedAt when the worker accepted it
 */
public record Wake(
    WakeReason reason,
    long seq,
    boolean restored,
    Optional<String> checkpointFailure,
    String workerAddress,
    Optional<String> signalName,
    Optional<byte[]> signalPayload,
    Optional<Instant> signalReceivedAt) {

  public Frame toFrame() {
    return new Frame.Fields()
        .put("reason", reason.name())
        .put("seq", seq)
        .put("restored", restored ? "1" : "0")
        .put("checkpointFailure", checkpointFailure.orElse(null))
        .put("worker", workerAddress)
        .put("signal", signalName.orElse(null))
        .put("payload", signalPayload.orElse(null))
        .put("receivedAt", signalReceivedAt.map(i -> Long.toString(i.toEpochMilli())).orElse(null))
        .frame(MessageType.WAKE);
  }

  public static Wake from(Frame f) {
    Suspend.expect(f, MessageType.WAKE);
    WakeReason reason = Enums.parse(WakeReason.class, f.requireText("reason"), "reason");
    Optional<String> name = f.text("signal");
    if (reason == WakeReason.SIGNAL && name.isEmpty()) {
      throw new ProtocolException("WAKE for a signal carries no signal name");
    }
    return new Wake(
        reason,
        f.requireNumber("seq"),
        "1".equals(f.requireText("restored")),
        f.text("checkpointFailure"),
        f.requireText("worker"),
        name,
        Optional.ofNullable(f.fields().get("payload")),
        f.number("receivedAt").map(Instant::ofEpochMilli));
  }
}
