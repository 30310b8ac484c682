package dev.torpor.internal.protocol;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;

/**
 * Builds raw wire bytes field by field, with none of the encoder's checks, so that tests can
 * write frames the encoder never would: repeated keys, lying counts and lengths, bad headers.
 */
final class WireBytes {
  private final ByteArrayOutputStream payload = new ByteArrayOutputStream();

  static WireBytes payload() {
    return new WireBytes();
  }

  WireBytes u16(int v) {
    payload.write(v >>> 8);
    payload.write(v);
    return this;
  }

  WireBytes u32(long v) {
    payload.write((int) (v >>> 24));
    payload.write((int) (v >>> 16));
    payload.write((int) (v >>> 8));
    payload.write((int) v);
    return this;
  }

  WireBytes raw(byte[] b) {
    payload.writeBytes(b);
    return this;
  }

  /** One field with honest lengths. */
  WireBytes field(String key, String value) {
    return field(key, value.getBytes(StandardCharsets.UTF_8));
  }

  WireBytes field(String key, byte[] value) {
    byte[] k = key.getBytes(StandardCharsets.UTF_8);
    return u16(k.length).raw(k).u32(value.length).raw(value);
  }

  byte[] bytes() {
    return payload.toByteArray();
  }

  /** A whole frame: the payload behind a header whose length field tells the truth. */
  byte[] frame(MessageType type) {
    byte[] p = bytes();
    return concat(header(FrameCodec.VERSION, type.code, p.length), p);
  }

  /** A frame of {@code type} holding exactly {@code fields}, in map order. */
  static byte[] frame(MessageType type, Map<String, String> fields) {
    WireBytes w = payload().u16(fields.size());
    fields.forEach(w::field);
    return w.frame(type);
  }

  static byte[] header(int version, int type, long length) {
    return new byte[] {
      'T', 'R', 'P', 'R',
      (byte) version,
      (byte) type,
      (byte) (length >>> 24),
      (byte) (length >>> 16),
      (byte) (length >>> 8),
      (byte) length
    };
  }

  static byte[] concat(byte[] a, byte[] b) {
    byte[] r = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, r, a.length, b.length);
    return r;
  }

  /** Hex of at most the first {@code max} bytes, for failure messages. */
  static String hex(byte[] b, int max) {
    String h = HexFormat.of().formatHex(b, 0, Math.min(b.length, max));
    return b.length > max ? h + "... (" + b.length + " bytes)" : h + " (" + b.length + " bytes)";
  }

  private WireBytes() {}
}
