package dev.torpor.launcher.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CriuStatsTest {
  @TempDir Path tmp;

  /** A stats image as CRIU writes one: service magic, stats magic, size, then the stats_entry. */
  private static byte[] image(byte[] entry) {
    ByteBuffer b = ByteBuffer.allocate(12 + entry.length).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(0x54564319).putInt(0x57093306).putInt(entry.length).put(entry);
    return b.array();
  }

  private static void varint(ByteArrayOutputStream out, long v) {
    while ((v & ~0x7fL) != 0) {
      out.write((int) ((v & 0x7f) | 0x80));
      v >>>= 7;
    }
    out.write((int) v);
  }

  /** A restore_stats_entry (compared 7, skipped 0, forking 1,500 µs, restore 23,456 µs, restored 6,000 pages) in a stats_entry. */
  private static byte[] restoreEntry() {
    ByteArrayOutputStream inner = new ByteArrayOutputStream();
    long[][] fields = {{1, 7}, {2, 0}, {3, 1_500}, {4, 23_456}, {5, 6_000}};
    for (long[] f : fields) {
      varint(inner, f[0] << 3);
      varint(inner, f[1]);
    }
    ByteArrayOutputStream outer = new ByteArrayOutputStream();
    varint(outer, (2 << 3) | 2);
    varint(outer, inner.size());
    outer.writeBytes(inner.toByteArray());
    return outer.toByteArray();
  }

  @Test
  void aRestoresStatsGiveItsForkingAndRestoreTimes() throws IOException {
    long[] f = CriuStats.fields(image(restoreEntry()), CriuStats.RESTORE);
    assertThat(f[3]).isEqualTo(1_500);
    assertThat(f[4]).isEqualTo(23_456);
    assertThat(f[5]).isEqualTo(6_000);

    Files.write(tmp.resolve(CriuStats.RESTORE_FILE), image(restoreEntry()));
    assertThat(CriuStats.restoreTimings(tmp)).containsEntry("criuForking", 1.5).containsEntry("criuRestore", 23.456);
  }

  @Test
  void noStatsYetIsNoTimingsAndAnythingElseIsRefusedByName() throws IOException {
    assertThat(CriuStats.restoreTimings(tmp)).isEmpty();
    assertThatThrownBy(() -> CriuStats.fields(image(restoreEntry()), CriuStats.DUMP)).hasMessageContaining("no dump entry");
    assertThatThrownBy(() -> CriuStats.fields(new byte[] {1, 2, 3}, CriuStats.RESTORE)).hasMessageContaining("not a CRIU stats image");
    byte[] cut = image(restoreEntry());
    assertThatThrownBy(() -> CriuStats.fields(java.util.Arrays.copyOf(cut, cut.length - 3), CriuStats.RESTORE))
        .hasMessageContaining("truncated");
    Files.write(tmp.resolve(CriuStats.RESTORE_FILE), new byte[] {9, 9});
    assertThat(CriuStats.restoreTimings(tmp)).as("a damaged file costs the timings, not the wake").isEmpty();
  }

  @Test
  void aRestoreDirectoryIsLeftToCriuUntilItsStatsAreWrittenOrTheWaitEnds() throws Exception {
    Files.createFile(tmp.resolve(CriuStats.RESTORE_FILE)); // CRIU created it and has not filled it yet
    assertThat(CriuStats.restoreTimings(tmp)).as("an empty file is one being written, not a damaged one").isEmpty();
    Thread waiter = Thread.currentThread();
    java.util.concurrent.atomic.AtomicBoolean sawItWait = new java.util.concurrent.atomic.AtomicBoolean();
    Thread criu = new Thread(() -> {
      try {
        // CRIU writes its stats only once the worker already waits for them (it polls, sleeping in between).
        long until = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
        while (waiter.getState() != Thread.State.TIMED_WAITING && System.nanoTime() < until) {
          Thread.onSpinWait();
        }
        sawItWait.set(waiter.getState() == Thread.State.TIMED_WAITING);
        Files.write(tmp.resolve(CriuStats.RESTORE_FILE), image(restoreEntry()));
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    criu.start();
    assertThat(CriuStats.awaitRestoreStats(tmp, java.time.Duration.ofSeconds(10))).isTrue();
    criu.join();
    assertThat(sawItWait).as("the stats came while it waited for them").isTrue();
    assertThat(CriuStats.restoreTimings(tmp)).containsEntry("criuRestore", 23.456);

    Path none = Files.createDirectory(tmp.resolve("no-stats"));
    long t0 = System.nanoTime();
    assertThat(CriuStats.awaitRestoreStats(none, java.time.Duration.ofMillis(200))).as("a CRIU that writes none").isFalse();
    assertThat(System.nanoTime() - t0).isBetween(200_000_000L, 5_000_000_000L);
    assertThat(CriuStats.awaitRestoreStats(tmp.resolve("gone"), java.time.Duration.ofSeconds(10))).isFalse();
  }
}
