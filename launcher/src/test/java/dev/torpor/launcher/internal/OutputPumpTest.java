package dev.torpor.launcher.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class OutputPumpTest {
  private static final Duration LONG = Duration.ofSeconds(10);
  private static final Duration SHORT = Duration.ofMillis(100);
  private static final String RS = "\u001e";
  private static final String MARKER = RS + "TORPOR-SYNC-1-123456789" + RS;

  @TempDir Path tmp;

  private Path log() {
    return tmp.resolve("logs").resolve("wf.log");
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** Pumps {@code input} to the end; returns the pump, whose log and tee are complete. */
  private OutputPump pumpAll(InputStream input, ByteArrayOutputStream tee) throws Exception {
    OutputPump pump = new OutputPump("test", input, log(), tee);
    assertThat(pump.awaitEnd(LONG)).as("pump reached EOF").isTrue();
    return pump;
  }

  @Test
  void pumpStripsMarkerAndReportsIt() throws Exception {
    ByteArrayOutputStream tee = new ByteArrayOutputStream();
    OutputPump pump = pumpAll(new ByteArrayInputStream(utf8("before\n" + MARKER + "after\n")), tee);

    assertThat(Files.readString(log())).isEqualTo("before\nafter\n");
    assertThat(pump.awaitMarker(MARKER, SHORT)).isTrue();
  }

  @Test
  void pumpReportsEachMarkerOnce() throws Exception {
    OutputPump pump = pumpAll(new ByteArrayInputStream(utf8(MARKER)), null);

    assertThat(pump.awaitMarker(MARKER, SHORT)).isTrue();
    assertThat(pump.awaitMarker(MARKER, SHORT)).isFalse();
  }

  @Test
  void pumpDoesNotReportMarkerItNeverRead() throws Exception {
    OutputPump pump = pumpAll(new ByteArrayInputStream(utf8("x" + MARKER + "y")), null);

    assertThat(pump.awaitMarker(RS + "TORPOR-SYNC-2-987" + RS, SHORT)).isFalse();
    assertThat(pump.awaitMarker(MARKER, SHORT)).isTrue();
  }

  @ParameterizedTest
  @ValueSource(strings = {
    "a\u001eb\n",
    "\u001e",
    "trailing \u001e",
    "\u001e\u001e\u001e\n",
    "\u001eTORPOR\n",
    "\u001eTORPOR-SYNX-1\u001e\n",
    "\u001eTORPOR-SYNC-unterminated",
    "\u001eTORPOR-SYNC-0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\u001e\n",
    "torpor-sync \u001etorpor-sync-1\u001e\n",
  })
  void pumpKeepsOrdinaryOutputWithSeparatorVerbatim(String text) throws Exception {
    ByteArrayOutputStream tee = new ByteArrayOutputStream();
    pumpAll(new ByteArrayInputStream(utf8(text)), tee);

    assertThat(Files.readAllBytes(log())).isEqualTo(utf8(text));
    assertThat(tee.toByteArray()).isEqualTo(utf8(text));
  }

  @ParameterizedTest
  @ValueSource(strings = {"x\u001e", "\u001e\u001e", "\u001eTORPOR-SY", "\u001eTORPOR-SYNX"})
  void pumpRecognisesMarkerRightAfterBrokenMarker(String before) throws Exception {
    OutputPump pump = pumpAll(new ByteArrayInputStream(utf8(before + MARKER + "y")), null);

    assertThat(Files.readString(log())).isEqualTo(before + "y");
    assertThat(pump.awaitMarker(MARKER, SHORT)).isTrue();
  }

  @Test
  void pumpRecognisesMarkerReadOneByteAtATime() throws Exception {
    String text = "line one\n" + RS + "x" + MARKER + "line two\n";
    OutputPump pump = pumpAll(new OneByteAtATime(utf8(text)), null);

    assertThat(Files.readString(log())).isEqualTo("line one\n" + RS + "xline two\n");
    assertThat(pump.awaitMarker(MARKER, SHORT)).isTrue();
  }

  @Test
  void pumpRecognisesMarkerSplitAcrossWrites() throws Exception {
    PipedOutputStream writer = new PipedOutputStream();
    PipedInputStream reader = new PipedInputStream(writer, 64 * 1024);
    ByteArrayOutputStream tee = new ByteArrayOutputStream();
    OutputPump pump = new OutputPump("test", reader, log(), tee);
    int half = MARKER.length() / 2;

    writer.write(utf8("out\n" + MARKER.substring(0, half)));
    writer.flush();
    assertThat(pump.awaitMarker(MARKER, SHORT)).as("half a marker is no marker").isFalse();

    writer.write(utf8(MARKER.substring(half) + "more\n"));
    writer.flush();
    assertThat(pump.awaitMarker(MARKER, LONG)).isTrue();

    writer.close();
    assertThat(pump.awaitEnd(LONG)).isTrue();
    assertThat(Files.readString(log())).isEqualTo("out\nmore\n");
    assertThat(tee.toString(StandardCharsets.UTF_8)).isEqualTo("out\nmore\n");
  }

  @Test
  void pumpFindsMarkerAcrossItsBufferBoundary() throws Exception {
    StringBuilder text = new StringBuilder();
    StringBuilder expected = new StringBuilder();
    for (int i = 0; text.length() < 8192 - 10; i++) {
      String line = "line " + i + "\n";
      text.append(line);
      expected.append(line);
    }
    text.append(MARKER);
    for (int i = 0; i < 3000; i++) {
      text.append("tail ").append(i).append('\n');
      expected.append("tail ").append(i).append('\n');
    }
    ByteArrayOutputStream tee = new ByteArrayOutputStream();
    OutputPump pump = pumpAll(new ByteArrayInputStream(utf8(text.toString())), tee);

    assertThat(Files.readString(log())).isEqualTo(expected.toString());
    assertThat(tee.toString(StandardCharsets.UTF_8)).isEqualTo(expected.toString());
    assertThat(pump.awaitMarker(MARKER, SHORT)).isTrue();
  }

  @Test
  void awaitEndWaitsForEof() throws Exception {
    PipedOutputStream writer = new PipedOutputStream();
    OutputPump pump = new OutputPump("test", new PipedInputStream(writer), log(), null);

    writer.write(utf8("partial"));
    writer.flush();
    assertThat(pump.awaitEnd(SHORT)).as("ended before EOF").isFalse();

    writer.close();
    assertThat(pump.awaitEnd(LONG)).isTrue();
    assertThat(Files.readAllBytes(log())).isEqualTo(utf8("partial"));
  }

  @Test
  void teeReceivesSameBytesAsLog() throws Exception {
    byte[] bytes = new byte[50_000];
    for (int i = 0; i < bytes.length; i++) {
      bytes[i] = (byte) (i % 251 == 0x1e ? 'r' : i % 251); // every byte value but 0x1e
    }
    ByteArrayOutputStream tee = new ByteArrayOutputStream();
    pumpAll(new ByteArrayInputStream(bytes), tee);

    assertThat(Files.readAllBytes(log())).isEqualTo(bytes);
    assertThat(tee.toByteArray()).isEqualTo(bytes);
  }

  @Test
  void secondPumpAppendsToLog() throws Exception {
    pumpAll(new ByteArrayInputStream(utf8("first run\n" + MARKER)), null);
    ByteArrayOutputStream tee = new ByteArrayOutputStream();
    pumpAll(new ByteArrayInputStream(utf8("after restore\n")), tee);

    assertThat(Files.readString(log())).isEqualTo("first run\nafter restore\n");
    assertThat(tee.toString(StandardCharsets.UTF_8)).isEqualTo("after restore\n");
  }

  /** Returns at most one byte per read, as a slow pipe may. */
  private static final class OneByteAtATime extends InputStream {
    private final byte[] data;
    private int pos;

    OneByteAtATime(byte[] data) {
      this.data = data;
    }

    @Override
    public int read() {
      return pos < data.length ? data[pos++] & 0xff : -1;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (len == 0) {
        return 0;
      }
      int c = read();
      if (c < 0) {
        return -1;
      }
      b[off] = (byte) c;
      return 1;
    }
  }
}
