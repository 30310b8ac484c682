package dev.torpor.internal.protocol;

import dev.torpor.WakeReason;
import dev.torpor.Signal;
import dev.torpor.WaitKind;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class FrameCodecTest {
  private static final Instant WAKE_AT = Instant.ofEpochMilli(1_700_000_000_123L);

  // ---------------------------------------------------------------- round trips

  @Test
  void suspendRoundTripsWithEveryField() {
    Suspend s =
        new Suspend(
            "wf-ünïcødé-日本",
            WaitKind.SIGNAL,
            Optional.of(WAKE_AT),
            Optional.of("approve"),
            "\u001eTORPOR-SYNC-1-42\u001e",
            "\"main\"\n\tat dev.torpor.Durable.awaitSignal(Durable.java:1)\n",
            Optional.of("a resource refused: java.io.IOException: busy"));

    assertThat(Suspend.from(FrameCodec.decode(FrameCodec.encode(s.toFrame())))).isEqualTo(s);
  }

  @Test
  void suspendRoundTripsTimerWithOnlyRequiredFields() {
    Suspend s =
        new Suspend("wf-1", WaitKind.TIMER, Optional.of(WAKE_AT), Optional.empty(), "m", "", Optional.empty());

    Frame decoded = FrameCodec.decode(FrameCodec.encode(s.toFrame()));

    assertThat(Suspend.from(decoded)).isEqualTo(s);
    assertThat(decoded.fields()).doesNotContainKeys("signal", "dumpRefused");
  }

  @Test
  void suspendRoundTripsCheckpointWithoutWakeAt() {
    Suspend s =
        new Suspend("wf-1", WaitKind.CHECKPOINT, Optional.empty(), Optional.empty(), "m", "stack", Optional.empty());

    assertThat(Suspend.from(FrameCodec.decode(FrameCodec.encode(s.toFrame())))).isEqualTo(s);
  }

  @Test
  void suspendRoundTripsInstantsBeforeTheEpoch() {
    Suspend s =
        new Suspend(
            "wf-1",
            WaitKind.TIMER,
            Optional.of(Instant.ofEpochMilli(-86_400_001L)),
            Optional.empty(),
            "m",
            "",
            Optional.empty());

    assertThat(Suspend.from(FrameCodec.decode(FrameCodec.encode(s.toFrame())))).isEqualTo(s);
  }

  @Test
  void wakeRoundTripsWithSignalPayload() {
    byte[] payload = {0, 1, (byte) 0x7f, (byte) 0x80, (byte) 0xff, 'h', 'i'};
    Wake w =
        new Wake(
            WakeReason.SIGNAL,
            7,
            true,
            Optional.empty(),
            "/run/torpor/wf-1/ctl.sock",
            List.of(new Signal("approve", payload, WAKE_AT)),
            WAKE_AT);

    assertWakeEquals(Wake.from(FrameCodec.decode(FrameCodec.encode(w.toFrame()))), w);
  }

  @Test
  void wakeRoundTripsWithoutSignalPayload() {
    Wake w =
        new Wake(
            WakeReason.TIMER,
            Long.MAX_VALUE,
            false,
            Optional.of("criu dump failed: exit 1"),
            "/run/torpor/wf-1/ctl.sock",
            List.of(),
            WAKE_AT);

    Frame decoded = FrameCodec.decode(FrameCodec.encode(w.toFrame()));

    assertWakeEquals(Wake.from(decoded), w);
    assertThat(decoded.fields()).doesNotContainKeys("signal", "payload", "receivedAt");
  }

  @Test
  void wakeRoundTripsEmptyPayloadAsPresent() {
    Wake w =
        new Wake(
            WakeReason.SIGNAL,
            1,
            true,
            Optional.empty(),
            "w",
            List.of(new Signal("ping", new byte[0], WAKE_AT)),
            WAKE_AT);

    Wake back = Wake.from(FrameCodec.decode(FrameCodec.encode(w.toFrame())));

    assertThat(back.signals()).singleElement().satisfies(sg -> assertThat(sg.payload()).isEmpty());
  }

  @Test
  void wakeRoundTripsOneMebibytePayload() {
    byte[] payload = new byte[1 << 20];
    new Random(20240601L).nextBytes(payload);
    Wake w =
        new Wake(
            WakeReason.SIGNAL,
            42,
            true,
            Optional.empty(),
            "/run/torpor/wf-1/ctl.sock",
            List.of(new Signal("upload", payload, WAKE_AT)),
            WAKE_AT);

    byte[] wire = FrameCodec.encode(w.toFrame());

    assertThat(wire.length).isGreaterThan(1 << 20).isLessThanOrEqualTo(10 + FrameCodec.MAX_PAYLOAD);
    assertWakeEquals(Wake.from(FrameCodec.decode(wire)), w);
  }

  @Test
  void resumedRoundTrips() {
    Resumed r = new Resumed("wf-1", 12, 3_456_789);

    assertThat(Resumed.from(FrameCodec.decode(FrameCodec.encode(r.toFrame())))).isEqualTo(r);
  }

  @Test
  void resumedRoundTripsExtremeNumbers() {
    Resumed r = new Resumed("", Long.MIN_VALUE, Long.MAX_VALUE);

    assertThat(Resumed.from(FrameCodec.decode(FrameCodec.encode(r.toFrame())))).isEqualTo(r);
  }

  @Test
  void readReturnsFramesWrittenBackToBackThenEof() throws IOException {
    Suspend s =
        new Suspend("wf-1", WaitKind.TIMER, Optional.of(WAKE_AT), Optional.empty(), "m", "", Optional.empty());
    Resumed r = new Resumed("wf-1", 3, 99);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    FrameCodec.write(out, s.toFrame());
    FrameCodec.write(out, r.toFrame());
    ByteArrayInputStream in = new ByteArrayInputStream(out.toByteArray());

    assertThat(Suspend.from(FrameCodec.read(in))).isEqualTo(s);
    assertThat(Resumed.from(FrameCodec.read(in))).isEqualTo(r);
    assertThatThrownBy(() -> FrameCodec.read(in)).isInstanceOf(EOFException.class);
  }

  @Test
  void encodeWritesTheDocumentedHeader() {
    byte[] wire = FrameCodec.encode(new Resumed("w", 1, 2).toFrame());

    assertThat(Arrays.copyOf(wire, 6)).containsExactly('T', 'R', 'P', 'R', 1, 3);
    long length =
        ((wire[6] & 0xffL) << 24) | ((wire[7] & 0xffL) << 16) | ((wire[8] & 0xffL) << 8) | (wire[9] & 0xffL);
    assertThat(length).isEqualTo(wire.length - 10);
  }

  @Test
  void decodeAcceptsPayloadOfExactlyMaxPayload() {
    // u16 count + u16 keyLength + "k" + u32 valueLength + value = MAX_PAYLOAD
    byte[] value = new byte[FrameCodec.MAX_PAYLOAD - 2 - 2 - 1 - 4];
    Frame f = new Frame(MessageType.WAKE, Map.of("k", value));

    byte[] wire = FrameCodec.encode(f);

    assertThat(wire).hasSize(10 + FrameCodec.MAX_PAYLOAD);
    assertThat(Frames.same(FrameCodec.decode(wire), f)).isTrue();
  }

  @Test
  void encodeRejectsPayloadOverMaxPayload() {
    byte[] value = new byte[FrameCodec.MAX_PAYLOAD - 2 - 2 - 1 - 4 + 1];
    Frame f = new Frame(MessageType.WAKE, Map.of("k", value));

    assertThatThrownBy(() -> FrameCodec.encode(f))
        .isInstanceOf(ProtocolException.class)
        .hasMessageContaining("exceeds the limit of " + FrameCodec.MAX_PAYLOAD);
  }

  @Test
  void decodeAcceptsExactlyMaxFields() {
    WireBytes w = WireBytes.payload().u16(256);
    for (int i = 0; i < 256; i++) {
      w.field("f" + i, "v");
    }

    assertThat(FrameCodec.decode(w.frame(MessageType.WAKE)).fields()).hasSize(256);
  }

  // ---------------------------------------------------------------- header rejections

  @Test
  void decodeRejectsBadMagic() {
    byte[] wire = FrameCodec.encode(new Resumed("w", 1, 2).toFrame());
    wire[0] = 'X';

    assertThatThrownBy(() -> FrameCodec.decode(wire))
        .isInstanceOf(ProtocolException.class)
        .hasMessageContaining("bad magic")
        .hasMessageContaining("58525052");
  }

  @Test
  void readRejectsBadMagicOfHttpRequest() {
    byte[] http = "GET / HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

    assertThatThrownBy(() -> FrameCodec.read(new ByteArrayInputStream(http)))
        .isInstanceOf(ProtocolException.class)
        .hasMessageContaining("bad magic");
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 2, 255})
  void decodeRejectsUnsupportedVersion(int version) {
    byte[] wire = FrameCodec.encode(new Resumed("w", 1, 2).toFrame());
    wire[4] = (byte) version;

    assertThatThrownBy(() -> FrameCodec.decode(wire))
        .isInstanceOf(ProtocolException.class)
        .hasMessageContaining("unsupported protocol version " + version);
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 4, 255})
  void decodeRejectsUnknownType(int type) {
    byte[] wire = FrameCodec.encode(new Resumed("w", 1, 2).toFrame());
    wire[5] = (byte) type;

    assertThatThrownBy(() -> FrameCodec.decode(wire))
        .isInstanceOf(ProtocolException.class)
        .hasMessageContaining("unknown frame type " + type);
  }

  @ParameterizedTest
  @ValueSource(longs = {FrameCodec.MAX_PAYLOAD + 1L, 0x7fff_ffffL, 0x8000_0000L, 0xffff_ffffL})
  void decodeRejectsLengthOverMaxPayload(long length) {
    // Header only: a decoder that allocated or read before checking would fail differently.
    byte[] header = WireBytes.header(FrameCodec.VERSION, MessageType.WAKE.code, length);

    assertThatThrownBy(() -> FrameCodec.decode(header))
        .isInstanceOf(ProtocolException.class)
        .hasMessageContaining("frame length " + length)
        .hasMessageContaining("exceeds the limit of " + FrameCodec.MAX_PAYLOAD);
  }

  @Test
  void readRejectsLengthOverMaxPayloadBeforeReadingPayload() {
    byte[] header = WireBytes.header(FrameCodec.VERSION, MessageType.WAKE.code, 0xffff_ffffL);
    ByteArrayInputStream in = new ByteArrayInputStream(WireBytes.concat(header, new byte[64]));

    assertThatThrownBy(() -> FrameCodec.read(in))
        .isInstanceOf(ProtocolException.class)
        .hasMessageContaining("exceeds the limit");
    assertThat(in.available()).as("bytes left unread after the header").isEqualTo(64);
  }

  // ---------------------------------------------------------------- truncation

  @Test
  void decodeRejectsTruncatedHeader() {
    byte[] wire = FrameCodec.encode(new Resumed("w", 1, 2).toFrame());
    for (int n = 0; n < 10; n++) {
      byte[] prefix = Arrays.copyOf(wire, n);
      assertThatThrownBy(() -> FrameCodec.decode(prefix))
          .as("prefix of %d bytes", n)
          .isInstanceOf(ProtocolException.class)
          .hasMessageContaining("truncated");
    }
  }

  @Test
  void decodeRejectsTruncatedPayload() {
    byte[] wire = FrameCodec.encode(new Resumed("wf-1", 1, 2).toFrame());
    for (int n = 10; n < wire.length; n++) {
      byte[] prefix = Arrays.copyOf(wire, n);
      assertThatThrownBy(() -> FrameCodec.decode(prefix))
          .as("prefix of %d of %d bytes", n, wire.length)
          .isInstanceOf(ProtocolException.class)
          .hasMessageContaining("truncated");
    }
  }

  @Test
  void readThrowsEofOnTruncatedHeader() {
    byte[] wire = FrameCodec.encode(new Resumed("w", 1, 2).toFrame());
    for (int n = 0; n < 10; n++) {
      ByteArrayInputStream in = new ByteArrayInputStream(Arrays.copyOf(wire, n));
      assertThatThrownBy(() -> FrameCodec.read(in)).as("prefix of %d bytes", n).isInstanceOf(EOFException.class);
    }
  }

  @Test
  void readThrowsEofOnTruncatedPayload() {
    byte[] wire = FrameCodec.encode(new Resumed("wf-1", 1, 2).toFrame());
    for (int n = 10; n < wire.length; n++) {
      ByteArrayInputStream in = new ByteArrayInputStream(Arrays.copyOf(wire, n));
      assertThatThrownBy(() -> FrameCodec.read(in))
          .as("prefix of %d of %d bytes", n, wire.length)
          .isInstanceOf(EOFException.class);
    }
  }

  @Test
  void decodeRejectsEmptyPayload() {
    byte[] wire = WireBytes.payload().frame(MessageType.RESUMED);

    assertThatThrownBy(() -> FrameCodec.decode(wire))
        .isInstanceOf(ProtocolException.class)
        .hasMessageContaining("truncated");
  }

  @Test
  void decodeRejectsValueLengthPastPayloadEnd() {
    byte[] wire = WireBytes.payload().u16(1).u16(1).raw(new byte[] {'k'}).u32(100).raw(new byte[3]).frame(MessageType.WAKE);

    assertThatThrownBy(() -> FrameCodec.decode(wire))
        .isInstanceOf(ProtocolException.class)
        .hasMessageContaining("truncated")
        .hasMessageContaining("needs 100 bytes");
  }

  @Test
  void decodeRejectsHugeValueLengthWithoutAllocating() {
    byte[] wire = WireBytes.payload().u16(1).u16(1).raw(new byte[] {'k'}).u32(0xffff_ffffL).frame(MessageType.WAKE);

    assertThatThrownBy(() -> FrameCodec.decode(wire))
        .isInstanceOf(ProtocolException.class)
        .hasMessageContaining("truncated")
        .hasMessageContaining("needs 4294967295 bytes");
  }

  @Test
  void decodeRejectsKeyLengthPastPayloadEnd() {
    byte[] wire = WireBytes.payload().u16(1).u16(0xffff).raw(new byte[] {'k'}).frame(MessageType.WAKE);

    assertThatThrownBy(() -> FrameCodec.decode(wire))
        .isInstanceOf(ProtocolException.class)
        .hasMessageContaining("truncated")
        .hasMessageContaining("needs 65535 bytes");
  }

  @Test
  void decodeRejectsFewerFieldsThanDeclared() {
    byte[] wire = WireBytes.payload().u16(3).field("a", "1").field("b", "2").frame(MessageType.WAKE);

    assertThatThrownBy(() -> FrameCodec.decode(wire))
        .isInstanceOf(ProtocolException.class)
        .hasMessageContaining("truncated");
  }

  // ---------------------------------------------------------------- payload structure

  @Test
  void decodeRejectsDuplicateKeys() {
    byte[] wire =
        WireBytes.payload().u16(3).field("workflow", "a").field("seq", "1").field("seq", "2").frame(MessageType.RESUMED);

    assertThatThrownBy(() -> FrameCodec.decode(wire))
        .isInstanceOf(ProtocolException.class)
        .hasMessageContaining("repeats field 'seq'");
  }

  @Test
  void decodeRejectsTrailingBytesAfterFrame() {
    byte[] wire = WireBytes.concat(FrameCodec.encode(new Resumed("w", 1, 2).toFrame()), new byte[] {0, 0, 0});

    assertThatThrownBy(() -> FrameCodec.decode(wire))
        .isInstanceOf(ProtocolException.class)
        .hasMessageContaining("3 unexpected bytes after the frame");
  }

  @Test
  void decodeRejectsTrailingBytesInsidePayload() {
    byte[] wire = WireBytes.payload().u16(1).field("a", "1").raw(new byte[] {9, 9}).frame(MessageType.WAKE);

    assertThatThrownBy(() -> FrameCodec.decode(wire))
        .isInstanceOf(ProtocolException.class)
        .hasMessageContaining("2 trailing bytes");
  }

  @ParameterizedTest
  @ValueSource(ints = {257, 0xffff})
  void decodeRejectsTooManyFields(int count) {
    WireBytes w = WireBytes.payload().u16(count);
    for (int i = 0; i < 257; i++) {
      w.field("f" + i, "v");
    }
    byte[] wire = w.frame(MessageType.WAKE);

    assertThatThrownBy(() -> FrameCodec.decode(wire))
        .isInstanceOf(ProtocolException.class)
        .hasMessageContaining("declares " + count + " fields")
        .hasMessageContaining("at most 256");
  }

  @Test
  void decodeRejectsFieldNameThatIsNotUtf8() {
    byte[] wire = WireBytes.payload().u16(1).u16(2).raw(new byte[] {'k', (byte) 0xff}).u32(0).frame(MessageType.WAKE);

    assertThatThrownBy(() -> FrameCodec.decode(wire))
        .isInstanceOf(ProtocolException.class)
        .hasMessageContaining("field name that is not valid UTF-8")
        .hasMessageContaining("6bff");
  }

  @Test
  void decodeRejectsFieldNameWithEncodedSurrogate() {
    // U+D800 in the three-byte form: CESU-8, not UTF-8
    byte[] wire =
        WireBytes.payload().u16(1).u16(3).raw(new byte[] {(byte) 0xed, (byte) 0xa0, (byte) 0x80}).u32(0)
            .frame(MessageType.WAKE);

    assertThatThrownBy(() -> FrameCodec.decode(wire))
        .isInstanceOf(ProtocolException.class)
        .hasMessageContaining("not valid UTF-8");
  }

  @Test
  void decodeThenEncodeRoundTripsLongestFieldName() {
    // 21845 three-byte characters: 65535 bytes, the most a u16 key length can describe
    String key = "日".repeat(0xffff / 3);
    byte[] wire = WireBytes.payload().u16(1).field(key, "v").frame(MessageType.WAKE);

    Frame decoded = FrameCodec.decode(wire);

    assertThat(decoded.fields()).containsOnlyKeys(key);
    assertThat(FrameCodec.encode(decoded)).isEqualTo(wire);
  }

  @Test
  void encodeRejectsFieldNameLongerThanU16() {
    Frame f = new Frame(MessageType.WAKE, Map.of("é".repeat(0x8000), new byte[0]));

    assertThatThrownBy(() -> FrameCodec.encode(f))
        .isInstanceOf(ProtocolException.class)
        .hasMessageContaining("field name of 65536 bytes exceeds the limit of 65535");
  }

  @Test
  void encodeRejectsMoreThanMaxFields() {
    Map<String, byte[]> fields = new LinkedHashMap<>();
    for (int i = 0; i < 257; i++) {
      fields.put("f" + i, new byte[0]);
    }
    Frame f = new Frame(MessageType.WAKE, fields);

    assertThatThrownBy(() -> FrameCodec.encode(f))
        .isInstanceOf(ProtocolException.class)
        .hasMessageContaining("257 fields; at most 256");
  }

  // ---------------------------------------------------------------- typed parsers

  static Stream<Arguments> requiredFields() {
    return Stream.of(
        Arguments.of(MessageType.SUSPEND, "workflow"),
        Arguments.of(MessageType.SUSPEND, "kind"),
        Arguments.of(MessageType.SUSPEND, "marker"),
        Arguments.of(MessageType.WAKE, "reason"),
        Arguments.of(MessageType.WAKE, "seq"),
        Arguments.of(MessageType.WAKE, "restored"),
        Arguments.of(MessageType.WAKE, "worker"),
        Arguments.of(MessageType.RESUMED, "workflow"),
        Arguments.of(MessageType.RESUMED, "seq"),
        Arguments.of(MessageType.RESUMED, "afterRestoreNanos"));
  }

  @ParameterizedTest
  @MethodSource("requiredFields")
  void fromRejectsMissingRequiredField(MessageType type, String field) {
    Map<String, String> fields = validFields(type);
    assertThat(fields).containsKey(field);
    fields.remove(field);
    Frame frame = FrameCodec.decode(WireBytes.frame(type, fields));

    assertThatThrownBy(() -> parser(type).apply(frame))
        .isInstanceOf(ProtocolException.class)
        .hasMessageContaining(type + " frame lacks field '" + field + "'");
  }

  @ParameterizedTest
  @MethodSource("allTypes")
  void fromAcceptsTheValidFieldsUsedByOtherTests(MessageType type) {
    Frame frame = FrameCodec.decode(WireBytes.frame(type, validFields(type)));

    assertThat(parser(type).apply(frame)).isNotNull();
  }

  static Stream<Arguments> nonNumericNumbers() {
    return Stream.of(
        Arguments.of(MessageType.SUSPEND, "wakeAt", "soon"),
        Arguments.of(MessageType.SUSPEND, "wakeAt", "1.5"),
        Arguments.of(MessageType.WAKE, "seq", "7x"),
        Arguments.of(MessageType.WAKE, "seq", ""),
        Arguments.of(MessageType.WAKE, "asOf", "0x10"),
        Arguments.of(MessageType.RESUMED, "seq", " 1"),
        Arguments.of(MessageType.RESUMED, "afterRestoreNanos", "99999999999999999999"));
  }

  @ParameterizedTest
  @MethodSource("nonNumericNumbers")
  void fromRejectsNonNumericNumber(MessageType type, String field, String value) {
    Map<String, String> fields = validFields(type);
    fields.put(field, value);
    Frame frame = FrameCodec.decode(WireBytes.frame(type, fields));

    assertThatThrownBy(() -> parser(type).apply(frame))
        .isInstanceOf(ProtocolException.class)
        .hasMessageContaining("field '" + field + "' is not a number");
  }

  static Stream<Arguments> unknownEnumValues() {
    return Stream.of(
        Arguments.of(MessageType.SUSPEND, "kind", "NAP"),
        Arguments.of(MessageType.SUSPEND, "kind", "timer"),
        Arguments.of(MessageType.SUSPEND, "kind", ""),
        Arguments.of(MessageType.WAKE, "reason", "ALARM"),
        Arguments.of(MessageType.WAKE, "reason", " SIGNAL"));
  }

  @ParameterizedTest
  @MethodSource("unknownEnumValues")
  void fromRejectsUnknownEnumValue(MessageType type, String field, String value) {
    Map<String, String> fields = validFields(type);
    fields.put(field, value);
    Frame frame = FrameCodec.decode(WireBytes.frame(type, fields));

    assertThatThrownBy(() -> parser(type).apply(frame))
        .isInstanceOf(ProtocolException.class)
        .hasMessageContaining("field '" + field + "' has unknown value '" + value + "'");
  }

  @Test
  void suspendFromRejectsSignalWaitWithoutSignalName() {
    Map<String, String> fields = validFields(MessageType.SUSPEND);
    fields.put("kind", "SIGNAL");
    fields.remove("signal");
    Frame frame = FrameCodec.decode(WireBytes.frame(MessageType.SUSPEND, fields));

    assertThatThrownBy(() -> Suspend.from(frame))
        .isInstanceOf(ProtocolException.class)
        .hasMessageContaining("for a signal names no signal");
  }

  @Test
  void suspendFromRejectsTimerWithoutWakeAt() {
    Map<String, String> fields = validFields(MessageType.SUSPEND);
    fields.remove("wakeAt");
    Frame frame = FrameCodec.decode(WireBytes.frame(MessageType.SUSPEND, fields));

    assertThatThrownBy(() -> Suspend.from(frame))
        .isInstanceOf(ProtocolException.class)
        .hasMessageContaining("for a timer has no wakeAt");
  }

  @Test
  void wakeFromRejectsSignalWakeWithoutSignalName() {
    Map<String, String> fields = validFields(MessageType.WAKE);
    fields.put("reason", "SIGNAL");
    Frame frame = FrameCodec.decode(WireBytes.frame(MessageType.WAKE, fields));

    assertThatThrownBy(() -> Wake.from(frame))
        .isInstanceOf(ProtocolException.class)
        .hasMessageContaining("WAKE for a signal carries no signal");
  }

  @Test
  void fromRejectsFrameOfAnotherType() {
    Frame resumed = new Resumed("w", 1, 2).toFrame();

    assertThatThrownBy(() -> Suspend.from(resumed))
        .isInstanceOf(ProtocolException.class)
        .hasMessageContaining("expected a SUSPEND frame, got RESUMED");
    assertThatThrownBy(() -> Wake.from(resumed))
        .isInstanceOf(ProtocolException.class)
        .hasMessageContaining("expected a WAKE frame, got RESUMED");
    assertThatThrownBy(() -> Resumed.from(new Frame(MessageType.WAKE, Map.of())))
        .isInstanceOf(ProtocolException.class)
        .hasMessageContaining("expected a RESUMED frame, got WAKE");
  }

  // ---------------------------------------------------------------- helpers

  static Stream<MessageType> allTypes() {
    return Stream.of(MessageType.values());
  }

  /** A mutable, complete and valid set of fields for each type. */
  private static Map<String, String> validFields(MessageType type) {
    Map<String, String> f = new LinkedHashMap<>();
    switch (type) {
      case SUSPEND:
        f.put("workflow", "wf-1");
        f.put("kind", "TIMER");
        f.put("wakeAt", "1700000000123");
        f.put("marker", "m");
        break;
      case WAKE:
        f.put("reason", "TIMER");
        f.put("seq", "3");
        f.put("restored", "1");
        f.put("worker", "/run/ctl.sock");
        f.put("asOf", "1700000000123");
        break;
      case RESUMED:
        f.put("workflow", "wf-1");
        f.put("seq", "3");
        f.put("afterRestoreNanos", "1200");
        break;
    }
    return f;
  }

  private static Function<Frame, Object> parser(MessageType type) {
    switch (type) {
      case SUSPEND:
        return Suspend::from;
      case WAKE:
        return Wake::from;
      case RESUMED:
        return Resumed::from;
      default:
        throw new AssertionError(type);
    }
  }

  /** Wake is a record holding Optional&lt;byte[]&gt;, whose equals compares array identity. */
  private static void assertWakeEquals(Wake actual, Wake expected) {
    assertThat(actual.reason()).isEqualTo(expected.reason());
    assertThat(actual.seq()).isEqualTo(expected.seq());
    assertThat(actual.restored()).isEqualTo(expected.restored());
    assertThat(actual.checkpointFailure()).isEqualTo(expected.checkpointFailure());
    assertThat(actual.workerAddress()).isEqualTo(expected.workerAddress());
    assertThat(actual.asOf()).isEqualTo(expected.asOf());
    assertThat(actual.signals()).hasSameSizeAs(expected.signals());
    for (int i = 0; i < expected.signals().size(); i++) {
      assertThat(actual.signals().get(i).name()).isEqualTo(expected.signals().get(i).name());
      assertThat(actual.signals().get(i).receivedAt()).isEqualTo(expected.signals().get(i).receivedAt());
      // ByteBuffer.equals compares content, and its toString stays short for a 1 MiB payload.
      assertThat(ByteBuffer.wrap(actual.signals().get(i).payload())).as("signal payload")
          .isEqualTo(ByteBuffer.wrap(expected.signals().get(i).payload()));
    }
  }
}
