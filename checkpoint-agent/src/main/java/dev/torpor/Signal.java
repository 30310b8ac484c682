package dev.torpor;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.Objects;

/**
 * A named message delivered to a waiting workflow by {@link Durable#awaitSignal(String)}.
 * Signals sent before the workflow waits are kept by the worker and delivered, each exactly
 * once and in order per name, when it asks.
 */
public final class Signal {
  private final String name;
  private final byte[] payload;
  private final Instant receivedAt;

  public Signal(String name, byte[] payload, Instant receivedAt) {
    this.name = Objects.requireNonNull(name, "name");
    this.payload = Objects.requireNonNull(payload, "payload").clone();
    this.receivedAt = Objects.requireNonNull(receivedAt, "receivedAt");
  }

  /** The signal's name, as passed to {@code awaitSignal}. */
  public String name() {
    return name;
  }

  /** A copy of the payload bytes (empty when the sender sent none). */
  public byte[] payload() {
    return payload.clone();
  }

  /** The payload decoded as UTF-8. */
  public String text() {
    return new String(payload, StandardCharsets.UTF_8);
  }

  /** When the worker accepted the signal (wall clock). */
  public Instant receivedAt() {
    return receivedAt;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Signal
        && ((Signal) o).name.equals(name)
        && Arrays.equals(((Signal) o).payload, payload)
        && ((Signal) o).receivedAt.equals(receivedAt);
  }

  @Override
  public int hashCode() {
    return Objects.hash(name, Arrays.hashCode(payload), receivedAt);
  }

  @Override
  public String toString() {
    return "Signal[" + name + ", " + payload.length + " bytes, received " + receivedAt + "]";
  }
}
