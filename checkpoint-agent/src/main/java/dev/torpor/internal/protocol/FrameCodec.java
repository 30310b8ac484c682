package dev.torpor.internal.protocol;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The wire format, version 1. Every frame is
 *
 * <pre>
 *   "TRPR"  u8 version  u8 type  u32 length   payload[length]
 *   payload = u16 count, then count times: u16 keyLength, key (UTF-8), u32 valueLength, value
 * </pre>
 *
 * big-endian. The decoder trusts nothing: it checks the magic, the version, the type, every
 * length against the bytes that remain and against {@link #MAX_PAYLOAD}, rejects duplicate
 * keys, keys that are not valid UTF-8 and trailing bytes, and throws {@link ProtocolException}
 * with what it found.
 */
public final class FrameCodec {
  /** The protocol version this build speaks. */
  public static final int VERSION = 1;

  /** The largest payload accepted: room for a 1 MiB signal payload and its metadata. */
  public static final int MAX_PAYLOAD = (1 << 20) + (64 << 10);

  private static final byte[] MAGIC = {'T', 'R', 'P', 'R'};
  private static final int MAX_FIELDS = 256;
  private static final int MAX_KEY_BYTES = 0xffff;

  private FrameCodec() {}

  public static byte[] encode(Frame frame) {
    if (frame.fields().size() > MAX_FIELDS) {
      throw new ProtocolException(
          frame.type() + " frame has " + frame.fields().size() + " fields; at most " + MAX_FIELDS);
    }
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    try (DataOutputStream out = new DataOutputStream(body)) {
      out.writeShort(frame.fields().size());
      for (Map.Entry<String, byte[]> e : frame.fields().entrySet()) {
        byte[] key = e.getKey().getBytes(StandardCharsets.UTF_8);
        if (key.length > MAX_KEY_BYTES) {
          throw new ProtocolException(
              frame.type() + " frame field name of " + key.length + " bytes exceeds the limit of " + MAX_KEY_BYTES);
        }
        out.writeShort(key.length);
        out.write(key);
        out.writeInt(e.getValue().length);
        out.write(e.getValue());
      }
    } catch (IOException e) {
      throw new IllegalStateException("writing to memory failed", e);
    }
    byte[] payload = body.toByteArray();
    if (payload.length > MAX_PAYLOAD) {
      throw new ProtocolException(
          frame.type() + " frame of " + payload.length + " bytes exceeds the limit of " + MAX_PAYLOAD);
    }
    ByteArrayOutputStream all = new ByteArrayOutputStream(payload.length + 10);
    all.writeBytes(MAGIC);
    all.write(VERSION);
    all.write(frame.type().code);
    all.write(payload.length >>> 24);
    all.write(payload.length >>> 16);
    all.write(payload.length >>> 8);
    all.write(payload.length);
    all.writeBytes(payload);
    return all.toByteArray();
  }

  public static void write(OutputStream out, Frame frame) throws IOException {
    out.write(encode(frame));
    out.flush();
  }

  /**
   * Reads one frame.
   *
   * @throws EOFException if the stream ends before a complete frame
   * @throws ProtocolException if the bytes are not a valid frame
   */
  public static Frame read(InputStream in) throws IOException {
    DataInputStream data = new DataInputStream(in);
    byte[] head = new byte[10];
    data.readFully(head);
    for (int i = 0; i < MAGIC.length; i++) {
      if (head[i] != MAGIC[i]) {
        throw new ProtocolException("not a Torpor frame: bad magic bytes " + hex(head, 4));
      }
    }
    int version = head[4] & 0xff;
    if (version != VERSION) {
      throw new ProtocolException(
          "unsupported protocol version " + version + " (this side speaks " + VERSION
              + "): the agent jar and the worker come from different Torpor releases");
    }
    MessageType type = MessageType.of(head[5] & 0xff);
    if (type == null) {
      throw new ProtocolException("unknown frame type " + (head[5] & 0xff));
    }
    long length =
        ((head[6] & 0xffL) << 24) | ((head[7] & 0xffL) << 16) | ((head[8] & 0xffL) << 8) | (head[9] & 0xffL);
    if (length > MAX_PAYLOAD) {
      throw new ProtocolException("frame length " + length + " exceeds the limit of " + MAX_PAYLOAD);
    }
    byte[] payload = new byte[(int) length];
    data.readFully(payload);
    return new Frame(type, decodeFields(type, payload));
  }

  /** Decodes a complete frame held in memory; the array must hold exactly one frame. */
  public static Frame decode(byte[] bytes) {
    java.io.ByteArrayInputStream in = new java.io.ByteArrayInputStream(bytes);
    try {
      Frame f = read(in);
      if (in.available() > 0) {
        throw new ProtocolException(in.available() + " unexpected bytes after the frame");
      }
      return f;
    } catch (EOFException e) {
      throw new ProtocolException("truncated frame: " + bytes.length + " bytes");
    } catch (IOException e) {
      throw new IllegalStateException("reading memory failed", e);
    }
  }

  private static Map<String, byte[]> decodeFields(MessageType type, byte[] p) {
    Cursor c = new Cursor(type, p);
    int count = c.u16();
    if (count > MAX_FIELDS) {
      throw new ProtocolException(type + " frame declares " + count + " fields; at most " + MAX_FIELDS);
    }
    Map<String, byte[]> fields = new LinkedHashMap<>();
    CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder(); // reports malformed input
    for (int i = 0; i < count; i++) {
      String key = key(type, utf8, c.bytes(c.u16()));
      byte[] value = c.bytes(c.u32());
      if (fields.put(key, value) != null) {
        throw new ProtocolException(type + " frame repeats field '" + key + "'");
      }
    }
    if (c.pos != p.length) {
      throw new ProtocolException(type + " frame has " + (p.length - c.pos) + " trailing bytes");
    }
    return fields;
  }

  /**
   * A field name must be valid UTF-8: a lenient decode would turn each bad byte into U+FFFD,
   * which re-encodes to three bytes, so a decoded frame could fail to re-encode (or collide).
   */
  private static String key(MessageType type, CharsetDecoder utf8, byte[] b) {
    try {
      return utf8.decode(ByteBuffer.wrap(b)).toString();
    } catch (CharacterCodingException e) {
      throw new ProtocolException(
          type + " frame has a field name that is not valid UTF-8: " + hex(b, Math.min(b.length, 32)));
    }
  }

  private static String hex(byte[] b, int n) {
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < n; i++) {
      s.append(String.format("%02x", b[i]));
    }
    return s.toString();
  }

  private static final class Cursor {
    final MessageType type;
    final byte[] p;
    int pos;

    Cursor(MessageType type, byte[] p) {
      this.type = type;
      this.p = p;
    }

    void need(long n) {
      if (n > p.length - pos) {
        throw new ProtocolException(
            type + " frame is truncated: needs " + n + " bytes at offset " + pos + ", has " + (p.length - pos));
      }
    }

    int u16() {
      need(2);
      int v = ((p[pos] & 0xff) << 8) | (p[pos + 1] & 0xff);
      pos += 2;
      return v;
    }

    long u32() {
      need(4);
      long v = ((p[pos] & 0xffL) << 24) | ((p[pos + 1] & 0xffL) << 16) | ((p[pos + 2] & 0xffL) << 8) | (p[pos + 3] & 0xffL);
      pos += 4;
      return v;
    }

    byte[] bytes(long n) {
      need(n);
      byte[] b = java.util.Arrays.copyOfRange(p, pos, pos + (int) n);
      pos += (int) n;
      return b;
    }
  }
}
