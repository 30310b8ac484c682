package dev.torpor.internal.protocol;

import dev.torpor.WakeReason;
import dev.torpor.WaitKind;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Fuzzes the decoder and the typed parsers. The property, for any input: {@link
 * FrameCodec#decode} and {@link Suspend#from}, {@link Wake#from}, {@link Resumed#from} on what
 * it returns either return a value or throw {@link ProtocolException}, never anything else; a
 * decoded frame re-encodes to bytes that decode to an equal frame; and {@link FrameCodec#read}
 * agrees with {@code decode} (same frame, or ProtocolException / EOFException).
 *
 * <p>Deterministic: iteration {@code i} of a generator uses {@code new Random(seed)} with a seed
 * derived from {@link #BASE_SEED}, the generator and {@code i}. A failure names that seed and
 * prints the input in hex. {@code -Dtorpor.fuzz.seed=N} and {@code
 * -Dtorpor.fuzz.scale=K} (iterations times K) explore further.
 */
class FrameCodecFuzzTest {
  private static final long BASE_SEED = Long.getLong("torpor.fuzz.seed", 0x5452_5052_0001L);
  private static final int SCALE = Integer.getInteger("torpor.fuzz.scale", 1);

  static final int RANDOM_BYTES_ITERATIONS = 30_000 * SCALE;
  static final int HEADER_ITERATIONS = 30_000 * SCALE;
  static final int STRUCTURED_ITERATIONS = 60_000 * SCALE;
  static final int MUTATION_ITERATIONS = 120_000 * SCALE;

  private static final String[] KEYS = {
    "workflow", "kind", "wakeAt", "signal", "marker", "stack", "dumpRefused", "reason", "seq",
    "restored", "checkpointFailure", "worker", "payload", "receivedAt", "afterRestoreNanos"
  };

  private static final String[] VALUES = {
    "", "0", "1", "-1", "+5", "-0", "1e3", " 1", "0x10", "1.5", "١٢٣",
    Long.toString(Long.MAX_VALUE), Long.toString(Long.MIN_VALUE),
    "9223372036854775808", "-9223372036854775809", "99999999999999999999999999",
    "TIMER", "SIGNAL", "CHECKPOINT", "TIMEOUT", "OPERATOR", "timer", "SIGNAL ", "NAP",
    "wf-1", "approve", "/run/torpor/wf-1/ctl.sock", "\u001eTORPOR-SYNC-1-1\u001e", "日本"
  };

  private static final long[] INTERESTING_LENGTHS = {
    0, 1, 2, 3, 4, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x1_0000,
    FrameCodec.MAX_PAYLOAD - 1L, FrameCodec.MAX_PAYLOAD, FrameCodec.MAX_PAYLOAD + 1L,
    0x7fff_ffffL, 0x8000_0000L, 0xffff_fffeL, 0xffff_ffffL
  };

  // ---------------------------------------------------------------- properties

  @Test
  void decodeOfRandomBytesOnlyThrowsProtocolException() {
    Outcomes o = fuzz(1, RANDOM_BYTES_ITERATIONS, FrameCodecFuzzTest::randomBytes);

    assertThat(o.inputs).isEqualTo(RANDOM_BYTES_ITERATIONS);
    // Only 1 in 2^32 random arrays starts with the magic, so these exercise the first checks only.
    assertThat(o.rejections).containsKeys("bad magic", "truncated");
  }

  @Test
  void decodeOfRandomBytesBehindValidHeaderOnlyThrowsProtocolException() {
    Outcomes o = fuzz(2, HEADER_ITERATIONS, FrameCodecFuzzTest::randomPayloadBehindHeader);

    assertThat(o.rejections).containsKeys("truncated", "too many fields", "trailing bytes");
    assertThat(o.accepted).isPositive();
  }

  @Test
  void decodeOfRandomFieldStructuresOnlyThrowsProtocolException() {
    Outcomes o = fuzz(3, STRUCTURED_ITERATIONS, FrameCodecFuzzTest::randomFieldStructure);

    assertThat(o.rejections)
        .containsKeys("truncated", "duplicate field", "trailing bytes", "unsupported version", "unknown type",
            "field name not UTF-8", "too many fields");
    assertThat(o.typedRejections)
        .containsKeys("missing field", "not a number", "unknown enum value", "wrong type", "signal without name",
            "timer without wakeAt");
    assertThat(o.parsed).containsKeys(MessageType.SUSPEND, MessageType.WAKE, MessageType.RESUMED);
  }

  @Test
  void decodeOfMutatedValidFramesOnlyThrowsProtocolException() {
    Outcomes o = fuzz(4, MUTATION_ITERATIONS, FrameCodecFuzzTest::mutatedValidFrame);

    assertThat(o.rejections)
        .containsKeys("bad magic", "unsupported version", "unknown type", "over the limit", "truncated",
            "trailing bytes", "unexpected bytes after the frame");
    assertThat(o.typedRejections).containsKeys("not a number", "unknown enum value", "missing field");
    assertThat(o.parsed).containsKeys(MessageType.SUSPEND, MessageType.WAKE, MessageType.RESUMED);
  }

  // ---------------------------------------------------------------- the check

  /** Runs {@code iterations} inputs of one generator through {@link #check}. */
  private static Outcomes fuzz(int generator, int iterations, Function<Random, byte[]> inputs) {
    Outcomes o = new Outcomes();
    for (int i = 0; i < iterations; i++) {
      long seed = BASE_SEED + generator * 0x1_0000_0000L + i;
      byte[] input = inputs.apply(new Random(seed));
      try {
        check(input, o);
      } catch (Throwable t) {
        throw new AssertionError(
            "fuzz property violated at iteration " + i + ", input made by new Random(" + seed + ") (base seed "
                + BASE_SEED + "): " + t + "\ninput: " + WireBytes.hex(input, 8192),
            t);
      }
    }
    return o;
  }

  private static void check(byte[] input, Outcomes o) throws IOException {
    o.inputs++;
    Frame frame;
    try {
      frame = FrameCodec.decode(input);
    } catch (ProtocolException e) {
      o.rejected(o.rejections, e);
      checkReadAfterRejectedDecode(input, e);
      return;
    }
    o.accepted++;

    Frame viaStream = FrameCodec.read(new ByteArrayInputStream(input));
    if (!Frames.same(viaStream, frame)) {
      throw new AssertionError("read gave " + Frames.describe(viaStream) + ", decode " + Frames.describe(frame));
    }

    Frame again = FrameCodec.decode(FrameCodec.encode(frame));
    if (!Frames.same(again, frame)) {
      throw new AssertionError(
          "re-encoded frame decodes differently: " + Frames.describe(again) + " vs " + Frames.describe(frame));
    }

    checkTyped(frame, Suspend::from, Suspend::toFrame, Object::equals, o);
    checkTyped(frame, Wake::from, Wake::toFrame, FrameCodecFuzzTest::sameWake, o);
    checkTyped(frame, Resumed::from, Resumed::toFrame, Object::equals, o);
  }

  /**
   * When decode rejects, read rejects too (ProtocolException, or EOFException for a short
   * stream), unless decode's only complaint was bytes after a complete frame.
   */
  private static void checkReadAfterRejectedDecode(byte[] input, ProtocolException decodeError) throws IOException {
    try {
      FrameCodec.read(new ByteArrayInputStream(input));
    } catch (ProtocolException | EOFException e) {
      return; // both reject
    }
    assertThat(decodeError.getMessage())
        .as("read accepted what decode rejected")
        .contains("unexpected bytes after the frame");
  }

  private interface Same<T> {
    boolean test(T a, T b);
  }

  /**
   * A typed parser returns a value or throws ProtocolException, and a parsed value survives
   * toFrame, encode, decode and parse unchanged.
   */
  private static <T> void checkTyped(
      Frame frame, Function<Frame, T> parse, Function<T, Frame> toFrame, Same<T> same, Outcomes o) {
    T value;
    try {
      value = parse.apply(frame);
    } catch (ProtocolException e) {
      o.rejected(o.typedRejections, e);
      return;
    }
    o.parsed.merge(frame.type(), 1, Integer::sum);
    T back = parse.apply(FrameCodec.decode(FrameCodec.encode(toFrame.apply(value))));
    if (!same.test(back, value)) {
      throw new AssertionError("typed round trip changed " + value + " into " + back);
    }
  }

  private static boolean sameWake(Wake a, Wake b) {
    return a.reason() == b.reason()
        && a.seq() == b.seq()
        && a.restored() == b.restored()
        && a.checkpointFailure().equals(b.checkpointFailure())
        && a.workerAddress().equals(b.workerAddress())
        && a.asOf().equals(b.asOf())
        && a.signals().size() == b.signals().size()
        && java.util.stream.IntStream.range(0, a.signals().size()).allMatch(i ->
            a.signals().get(i).name().equals(b.signals().get(i).name())
                && ByteBuffer.wrap(a.signals().get(i).payload()).equals(ByteBuffer.wrap(b.signals().get(i).payload()))
                && a.signals().get(i).receivedAt().equals(b.signals().get(i).receivedAt()));
  }

  /** Counts outcomes, so that each test can assert that the fuzzing reached the paths it targets. */
  private static final class Outcomes {
    int inputs;
    int accepted;
    final Map<String, Integer> rejections = new TreeMap<>();
    final Map<String, Integer> typedRejections = new TreeMap<>();
    final Map<MessageType, Integer> parsed = new TreeMap<>();

    void rejected(Map<String, Integer> into, ProtocolException e) {
      String m = String.valueOf(e.getMessage());
      assertThat(m).as("a ProtocolException says what was wrong").isNotBlank();
      into.merge(category(m), 1, Integer::sum);
    }

    private static String category(String m) {
      String[][] table = {
        {"bad magic", "bad magic"},
        {"unsupported protocol version", "unsupported version"},
        {"unknown frame type", "unknown type"},
        {"exceeds the limit", "over the limit"},
        {"truncated", "truncated"},
        {"fields; at most", "too many fields"},
        {"repeats field", "duplicate field"},
        {"not valid UTF-8", "field name not UTF-8"},
        {"trailing bytes", "trailing bytes"},
        {"unexpected bytes after the frame", "unexpected bytes after the frame"},
        {"lacks field", "missing field"},
        {"is not a number", "not a number"},
        {"has unknown value", "unknown enum value"},
        {"expected a", "wrong type"},
        {"names no signal", "signal without name"},
        {"carries no signal name", "signal without name"},
        {"timer has no wakeAt", "timer without wakeAt"},
      };
      for (String[] row : table) {
        if (m.contains(row[0])) {
          return row[1];
        }
      }
      return "other: " + m;
    }
  }

  // ---------------------------------------------------------------- generators

  /** (a) Purely random bytes, 0 to 4096 of them. */
  private static byte[] randomBytes(Random r) {
    byte[] b = new byte[r.nextInt(4097)];
    r.nextBytes(b);
    return b;
  }

  /** Random payload bytes behind a valid header (honest length, mostly a small field count). */
  private static byte[] randomPayloadBehindHeader(Random r) {
    byte[] payload = new byte[r.nextInt(512)];
    r.nextBytes(payload);
    if (payload.length >= 2 && r.nextInt(4) != 0) {
      payload[0] = 0;
      payload[1] = (byte) r.nextInt(4);
    }
    if (payload.length == 2 && r.nextInt(2) == 0) {
      payload[1] = 0; // the empty frame, accepted by the decoder
    }
    return WireBytes.concat(WireBytes.header(FrameCodec.VERSION, 1 + r.nextInt(3), payload.length), payload);
  }

  /**
   * Fields from the protocol's own vocabulary: half the time a valid message's fields with a few
   * edits (dropped, replaced, added or renamed fields), otherwise random keys; then sometimes a
   * lying count, key or value length, header length, version or type.
   */
  private static byte[] randomFieldStructure(Random r) {
    int typeIndex = r.nextInt(3);
    List<byte[][]> fields = new ArrayList<>();
    if (r.nextBoolean()) {
      validFrame(r, typeIndex).fields().forEach((k, v) -> fields.add(new byte[][] {utf8(k), v}));
      int edits = r.nextInt(3);
      for (int e = 0; e < edits; e++) {
        editField(r, fields);
      }
    } else {
      int n = r.nextInt(9);
      for (int i = 0; i < n; i++) {
        fields.add(new byte[][] {randomKey(r), randomValue(r)});
      }
    }
    if (r.nextInt(400) == 0) {
      byte[] key = new byte[r.nextInt(0x1_0000)]; // up to the longest key a u16 length allows
      r.nextBytes(key);
      fields.add(r.nextInt(fields.size() + 1), new byte[][] {key, randomValue(r)});
    }

    int count = fields.size();
    WireBytes w = WireBytes.payload().u16(r.nextInt(10) == 0 ? (count + r.nextInt(3) - 1) & 0xffff : count);
    for (byte[][] f : fields) {
      w.u16(r.nextInt(40) == 0 ? r.nextInt(0x1_0000) : f[0].length).raw(f[0]);
      w.u32(r.nextInt(40) == 0 ? pick(r, INTERESTING_LENGTHS) : f[1].length).raw(f[1]);
    }
    if (r.nextInt(20) == 0) {
      w.raw(randomText(r));
    }
    byte[] payload = w.bytes();
    int version = r.nextInt(30) == 0 ? r.nextInt(256) : FrameCodec.VERSION;
    int type = r.nextInt(30) == 0 ? r.nextInt(256) : 1 + (r.nextInt(10) == 0 ? r.nextInt(3) : typeIndex);
    long length = r.nextInt(30) == 0 ? pick(r, INTERESTING_LENGTHS) : payload.length;
    return WireBytes.concat(WireBytes.header(version, type, length), payload);
  }

  private static void editField(Random r, List<byte[][]> fields) {
    int i = fields.isEmpty() ? 0 : r.nextInt(fields.size());
    switch (fields.isEmpty() ? 2 : r.nextInt(4)) {
      case 0: // drop
        fields.remove(i);
        break;
      case 1: // replace the value
        fields.get(i)[1] = randomValue(r);
        break;
      case 2: // add (perhaps a repeat of an existing key)
        fields.add(r.nextInt(fields.size() + 1), new byte[][] {randomKey(r), randomValue(r)});
        break;
      default: // rename
        fields.get(i)[0] = randomKey(r);
        break;
    }
  }

  private static byte[] randomKey(Random r) {
    return r.nextInt(12) == 0 ? randomText(r) : utf8(KEYS[r.nextInt(KEYS.length)]);
  }

  private static byte[] randomValue(Random r) {
    return r.nextInt(6) == 0 ? randomText(r) : utf8(VALUES[r.nextInt(VALUES.length)]);
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** (b) A valid encoded frame with one to four mutations. */
  private static byte[] mutatedValidFrame(Random r) {
    byte[] b = FrameCodec.encode(validFrame(r));
    int mutations = 1 + r.nextInt(4);
    for (int m = 0; m < mutations; m++) {
      b = mutate(r, b);
    }
    // Half the time, make the header's length tell the truth so that the payload parser is reached.
    if (r.nextBoolean() && b.length >= 10) {
      long length = b.length - 10;
      b[6] = (byte) (length >>> 24);
      b[7] = (byte) (length >>> 16);
      b[8] = (byte) (length >>> 8);
      b[9] = (byte) length;
    }
    return b;
  }

  private static byte[] mutate(Random r, byte[] b) {
    switch (r.nextInt(9)) {
      case 0: { // flip one bit
        if (b.length == 0) {
          return b;
        }
        byte[] c = b.clone();
        int i = r.nextInt(c.length);
        c[i] ^= (byte) (1 << r.nextInt(8));
        return c;
      }
      case 1: { // overwrite one byte
        if (b.length == 0) {
          return b;
        }
        byte[] c = b.clone();
        c[r.nextInt(c.length)] = (byte) r.nextInt(256);
        return c;
      }
      case 2: { // insert 1..8 random bytes
        int at = r.nextInt(b.length + 1);
        byte[] ins = new byte[1 + r.nextInt(8)];
        r.nextBytes(ins);
        return splice(b, at, 0, ins);
      }
      case 3: { // delete 1..8 bytes
        if (b.length == 0) {
          return b;
        }
        int at = r.nextInt(b.length);
        return splice(b, at, Math.min(b.length - at, 1 + r.nextInt(8)), new byte[0]);
      }
      case 4: // truncate
        return Arrays.copyOf(b, r.nextInt(b.length + 1));
      case 5: { // corrupt the frame's length field
        if (b.length < 10) {
          return b;
        }
        byte[] c = b.clone();
        long length = r.nextBoolean() ? pick(r, INTERESTING_LENGTHS) : (b.length - 10) + r.nextInt(17) - 8;
        c[6] = (byte) (length >>> 24);
        c[7] = (byte) (length >>> 16);
        c[8] = (byte) (length >>> 8);
        c[9] = (byte) length;
        return c;
      }
      case 6: { // overwrite 2 or 4 bytes (a key or value length, or the field count) with a boundary value
        if (b.length < 14) {
          return b;
        }
        byte[] c = b.clone();
        int at = 10 + r.nextInt(c.length - 13);
        long v = pick(r, INTERESTING_LENGTHS);
        if (r.nextBoolean()) {
          c[at] = (byte) (v >>> 8);
          c[at + 1] = (byte) v;
        } else {
          c[at] = (byte) (v >>> 24);
          c[at + 1] = (byte) (v >>> 16);
          c[at + 2] = (byte) (v >>> 8);
          c[at + 3] = (byte) v;
        }
        return c;
      }
      case 7: { // duplicate a slice (repeats fields, grows values)
        if (b.length == 0) {
          return b;
        }
        int from = r.nextInt(b.length);
        int len = Math.min(b.length - from, 1 + r.nextInt(32));
        return splice(b, r.nextInt(b.length + 1), 0, Arrays.copyOfRange(b, from, from + len));
      }
      default: { // change the type byte to another valid type
        if (b.length < 6) {
          return b;
        }
        byte[] c = b.clone();
        c[5] = (byte) (1 + r.nextInt(3));
        return c;
      }
    }
  }

  /** A valid frame of a random type. */
  private static Frame validFrame(Random r) {
    return validFrame(r, r.nextInt(3));
  }

  /** A valid frame of type SUSPEND, WAKE or RESUMED (0, 1, 2) with random but valid contents. */
  private static Frame validFrame(Random r, int typeIndex) {
    switch (typeIndex) {
      case 0: {
        WaitKind kind = WaitKind.values()[r.nextInt(WaitKind.values().length)];
        Optional<Instant> wakeAt =
            kind == WaitKind.TIMER || r.nextBoolean() ? Optional.of(Instant.ofEpochMilli(r.nextLong() >> 20)) : Optional.empty();
        Optional<String> signal = kind == WaitKind.SIGNAL || r.nextInt(4) == 0 ? Optional.of(word(r)) : Optional.empty();
        return new Suspend(
                word(r),
                kind,
                wakeAt,
                signal,
                "\u001eTORPOR-SYNC-" + r.nextInt(100) + "-" + r.nextLong() + "\u001e",
                r.nextBoolean() ? "" : "\"main\"\n\tat Main.main(Main.java:" + r.nextInt(999) + ")\n",
                r.nextInt(4) == 0 ? Optional.of("a resource refused: " + word(r)) : Optional.empty())
            .toFrame();
      }
      case 1: {
        WakeReason reason = WakeReason.values()[r.nextInt(WakeReason.values().length)];
        boolean signal = reason == WakeReason.SIGNAL || r.nextInt(4) == 0;
        byte[] payload = new byte[r.nextInt(64)];
        r.nextBytes(payload);
        return new Wake(
                reason,
                r.nextLong(),
                r.nextBoolean(),
                r.nextInt(4) == 0 ? Optional.of("criu failed: " + word(r)) : Optional.empty(),
                "/run/torpor/" + word(r) + "/ctl.sock",
                signal ? java.util.List.of(new dev.torpor.Signal(word(r), payload, Instant.ofEpochMilli(r.nextLong() >> 20)))
                    : java.util.List.of(),
                Instant.ofEpochMilli(r.nextLong() >> 20))
            .toFrame();
      }
      default:
        return new Resumed(word(r), r.nextLong(), r.nextLong()).toFrame();
    }
  }

  private static String word(Random r) {
    StringBuilder s = new StringBuilder();
    int n = 1 + r.nextInt(12);
    for (int i = 0; i < n; i++) {
      s.append((char) ('a' + r.nextInt(26)));
    }
    return s.toString();
  }

  /** Bytes that are usually not valid UTF-8 nor a number. */
  private static byte[] randomText(Random r) {
    byte[] b = new byte[r.nextInt(16)];
    r.nextBytes(b);
    return b;
  }

  private static long pick(Random r, long[] values) {
    return values[r.nextInt(values.length)];
  }

  private static byte[] splice(byte[] b, int at, int remove, byte[] insert) {
    List<byte[]> parts = new ArrayList<>();
    parts.add(Arrays.copyOfRange(b, 0, at));
    parts.add(insert);
    parts.add(Arrays.copyOfRange(b, at + remove, b.length));
    byte[] out = new byte[b.length - remove + insert.length];
    int pos = 0;
    for (byte[] p : parts) {
      System.arraycopy(p, 0, out, pos, p.length);
      pos += p.length;
    }
    return out;
  }
}
