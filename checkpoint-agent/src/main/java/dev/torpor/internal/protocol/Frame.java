package dev.torpor.internal.protocol;

import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * One protocol message: a type and an ordered map of named byte-string fields. Typed views
 * ({@link Suspend}, {@link Wake}, {@link Resumed}) convert to and from frames.
 */
public final class Frame {
  private final MessageType type;
  private final Map<String, byte[]> fields;

  public Frame(MessageType type, Map<String, byte[]> fields) {
    this.type = Objects.requireNonNull(type, "type");
    this.fields = Collections.unmodifiableMap(new LinkedHashMap<>(fields));
  }

  public MessageType type() {
    return type;
  }

  public Map<String, byte[]> fields() {
    return fields;
  }

  public Optional<String> text(String key) {
    byte[] v = fields.get(key);
    return v == null ? Optional.empty() : Optional.of(new String(v, StandardCharsets.UTF_8));
  }

  public String requireText(String key) {
    return text(key).orElseThrow(() -> new ProtocolException(type + " frame lacks field '" + key + "'"));
  }

  public Optional<Long> number(String key) {
    Optional<String> t = text(key);
    if (t.isEmpty()) {
      return Optional.empty();
    }
    try {
      return Optional.of(Long.parseLong(t.get()));
    } catch (NumberFormatException e) {
      throw new ProtocolException(type + " frame field '" + key + "' is not a number: " + t.get());
    }
  }

  public long requireNumber(String key) {
    return number(key).orElseThrow(() -> new ProtocolException(type + " frame lacks field '" + key + "'"));
  }

  /** A builder of fields that skips null values. */
  static final class Fields {
    private final Map<String, byte[]> map = new LinkedHashMap<>();

    Fields put(String key, String value) {
      if (value != null) {
        map.put(key, value.getBytes(StandardCharsets.UTF_8));
      }
      return this;
    }

    Fields put(String key, long value) {
      return put(key, Long.toString(value));
    }

    Fields put(String key, byte[] value) {
      if (value != null) {
        map.put(key, value);
      }
      return this;
    }

    Frame frame(MessageType type) {
      return new Frame(type, map);
    }
  }
}
