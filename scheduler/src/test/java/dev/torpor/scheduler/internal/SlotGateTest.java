package dev.torpor.scheduler.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.torpor.WaitKind;
import dev.torpor.WorkflowId;
import dev.torpor.scheduler.ControlPlaneConfig;
import dev.torpor.scheduler.SubmitRequest;
import dev.torpor.scheduler.Wakeup;
import dev.torpor.scheduler.WorkerGateway;
import dev.torpor.scheduler.WorkflowState;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.jar.JarOutputStream;
import java.util.zip.ZipEntry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Quartz takes wakes only as a worker has slots for them ({@link SlotAwareThreadPool}), on a real
 * H2 registry and a real Quartz scheduler: a full worker does not take due wakes only to hand them
 * back every 250 ms, and a slot given back goes to a waiting wake at once.
 */
class SlotGateTest {
  @TempDir Path dir;
  private JdbcControlPlane plane;
  private final SlotGateway gateway = new SlotGateway();

  /** Slots a test sets, with the wait Quartz's thread does on them, counting the wakes that found none. */
  static final class SlotGateway implements WorkerGateway {
    final List<String> calls = new CopyOnWriteArrayList<>();
    final AtomicInteger refused = new AtomicInteger();
    private int free;

    synchronized void setFree(int n) {
      free = n;
      notifyAll();
    }

    synchronized int free() {
      return free;
    }

    @Override
    public synchronized boolean tryReserve() {
      if (free == 0) {
        refused.incrementAndGet();
        return false;
      }
      free--;
      return true;
    }

    @Override
    public synchronized void release() {
      free++;
      notifyAll();
    }

    @Override
    public synchronized int awaitFreeSlots(Duration max) throws InterruptedException {
      long deadline = System.nanoTime() + max.toNanos();
      long left;
      while (free == 0 && (left = deadline - System.nanoTime()) > 0) {
        TimeUnit.NANOSECONDS.timedWait(this, left);
      }
      return free;
    }

    @Override
    public void start(String id, String sha, Path jar, String main, List<String> args, List<String> opts,
        Map<String, String> env) {
      calls.add("start " + id);
    }

    @Override
    public void wake(String id, long seq, String sha, Path jar, Wakeup w) {
      calls.add("wake " + id);
    }

    @Override
    public void kill(String id) {
      calls.add("kill " + id);
    }
  }

  @AfterEach
  void close() {
    if (plane != null) {
      plane.close();
    }
  }

  @Test
  void aFullWorkerLeavesDueWakesInQuartzAndFreedSlotsGoToTheEarliestDue() throws Exception {
    int n = 12;
    gateway.setFree(n);
    plane = new JdbcControlPlane(ControlPlaneConfig.embedded(dir, dir.resolve("logs")), "gate-" + System.nanoTime(), false);
    plane.start(gateway);
    String app = plane.storeApp(new ByteArrayInputStream(jar()));
    for (int i = 0; i < n; i++) {
      plane.submit(new SubmitRequest(WorkflowId.of("w" + i), app, "com.acme.Main", List.of(), List.of()));
    }
    await().atMost(Duration.ofSeconds(20)).until(() -> gateway.calls.size() == n);
    // Each suspends, its timer due in order, 50 ms apart, all within two seconds; the worker then has no slot.
    gateway.setFree(0);
    Instant first = Instant.now().plusMillis(1500);
    for (int i = 0; i < n; i++) {
      assertThat(plane.waiting("w" + i, 0, WaitKind.TIMER, Optional.of(first.plusMillis(50L * i)), Optional.empty(),
          false, Map.of())).isTrue();
    }
    gateway.calls.clear();

    // Three seconds with every wake due and no slot: no wake, all along.
    await().atMost(Duration.ofSeconds(5)).until(() -> Instant.now().isAfter(first.plusMillis(50L * n)));
    gateway.refused.set(0);
    await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(4)).until(gateway.calls::isEmpty);
    // Taking every due wake and handing it back for 250 ms later, as before, refused 142 in these three
    // seconds (39 with the misfire threshold of one second there was then); waiting for a slot refuses
    // at most one per 250 ms.
    System.out.println("SlotGateTest: " + gateway.refused.get() + " wakes found no slot in three seconds");
    assertThat(gateway.refused.get()).as("wakes taken from Quartz only to find no slot").isBetween(1, 20);
    for (int i = 0; i < n; i++) {
      assertThat(plane.status(WorkflowId.of("w" + i)).state()).isEqualTo(WorkflowState.SUSPENDED);
    }

    // One slot at a time: each freed slot goes to a waiting wake at once, not at Quartz's next look.
    for (int k = 0; k < n; k++) {
      int before = gateway.calls.size();
      long t0 = System.nanoTime();
      gateway.release();
      await().atMost(Duration.ofSeconds(5)).until(() -> gateway.calls.size() == before + 1);
      assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).as("a freed slot's wake began within")
          .isLessThan(1500);
      // one wake per freed slot
      await().during(Duration.ofMillis(100)).atMost(Duration.ofSeconds(1)).until(() -> gateway.calls.size() == before + 1);
    }
    List<Integer> woken = gateway.calls.stream().map(c -> Integer.parseInt(c.substring("wake w".length()))).toList();
    assertThat(woken).containsExactlyInAnyOrder(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);
    for (int i = 0; i < n; i++) {
      assertThat(plane.status(WorkflowId.of("w" + i)).state()).isEqualTo(WorkflowState.RUNNING);
    }
  }

  @Test
  void aWakeOfAJvmWaitingInMemoryStillComesWhenItHoldsTheLastSlot() throws Exception {
    gateway.setFree(1);
    plane = new JdbcControlPlane(ControlPlaneConfig.embedded(dir, dir.resolve("logs")), "gate-" + System.nanoTime(), false);
    plane.start(gateway);
    String app = plane.storeApp(new ByteArrayInputStream(jar()));
    plane.submit(new SubmitRequest(WorkflowId.of("mem"), app, "com.acme.Main", List.of(), List.of()));
    await().atMost(Duration.ofSeconds(20)).until(() -> gateway.calls.contains("start mem"));
    assertThat(gateway.free()).isZero();
    // Its JVM waits in memory, keeping the worker's only slot: Quartz's wait for a free slot runs out
    // and it takes the wake anyway, which needs none.
    long t0 = System.nanoTime();
    assertThat(plane.waiting("mem", 0, WaitKind.TIMER, Optional.of(Instant.now().plusMillis(300)), Optional.empty(),
        true, Map.of())).isTrue();
    await().atMost(Duration.ofSeconds(10)).until(() -> gateway.calls.contains("wake mem"));
    assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).as("ms from the wait to its wake").isLessThan(3000);
    assertThat(gateway.free()).as("the wake took no slot").isZero();
  }

  private static byte[] jar() throws Exception {
    ByteArrayOutputStream jar = new ByteArrayOutputStream();
    try (JarOutputStream out = new JarOutputStream(jar)) {
      out.putNextEntry(new ZipEntry("com/acme/Main.class"));
      out.write(new byte[] {1, 2, 3});
    }
    return jar.toByteArray();
  }
}
