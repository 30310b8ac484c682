package dev.torpor.scheduler.internal;

import java.util.ArrayList;
import dev.torpor.scheduler.SegmentEvent;
import dev.torpor.SignalName;
import dev.torpor.WaitKind;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.awaitility.Awaitility.await;

import dev.torpor.WakeReason;
import dev.torpor.WorkflowId;
import dev.torpor.scheduler.ControlPlaneConfig;
import dev.torpor.scheduler.HistoryEvent;
import dev.torpor.scheduler.SubmitRequest;
import dev.torpor.scheduler.Wakeup;
import dev.torpor.scheduler.RecordingGateway;
import dev.torpor.scheduler.WorkflowState;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.jar.JarOutputStream;
import java.util.zip.ZipEntry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One regression test per registry defect of issue #12, each on a real H2 registry and a real
 * Quartz scheduler, each failing on the code before its fix: the defect's number is in the name.
 */
class RegistryDefectsTest {
  @TempDir Path dir;
  private JdbcControlPlane plane;
  private String app;
  private final RecordingGateway gateway = new RecordingGateway(0);
  private final List<String> calls = gateway.calls;
  private final AtomicInteger slots = gateway.slots;

  private ControlPlaneConfig config() {
    return ControlPlaneConfig.embedded(dir, dir.resolve("logs"));
  }

  /** A single server's plane with {@code slotCount} JVM slots. */
  private void open(int slotCount, Duration sweepGrace) throws Exception {
    slots.set(slotCount);
    plane = new JdbcControlPlane(config(), "test-" + System.nanoTime(), false);
    plane.sweepGrace(sweepGrace);
    plane.start(gateway);
    storeApp();
  }

  private void storeApp() throws Exception {
    ByteArrayOutputStream jar = new ByteArrayOutputStream();
    try (JarOutputStream out = new JarOutputStream(jar)) {
      out.putNextEntry(new ZipEntry("com/acme/Main.class"));
      out.write(new byte[] {1, 2, 3});
    }
    app = plane.storeApp(new ByteArrayInputStream(jar.toByteArray()));
  }

  @AfterEach
  void close() {
    if (plane != null) {
      plane.close();
    }
  }

  private void running(String id) {
    plane.submit(new SubmitRequest(WorkflowId.of(id), app, "com.acme.Main", List.of(), List.of()));
    await().atMost(Duration.ofSeconds(10)).until(() -> calls.contains("start " + id));
  }

  private static byte[] text(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private List<String> historyTypes(String id) {
    return plane.history(WorkflowId.of(id)).stream().map(HistoryEvent::type).toList();
  }

  @Test
  void defect1_aWaitInMemoryIsWokenWithoutASecondSlotEvenWhenTheWorkerIsFull() throws Exception {
    open(1, Duration.ofSeconds(20));
    running("in-memory"); // takes the only slot, which its JVM keeps while it waits in memory
    assertThat(slots.get()).isZero();
    assertThat(plane.waiting("in-memory", 0, WaitKind.TIMER, Optional.of(Instant.now().minusSeconds(1)), Optional.empty(),
        true, Map.of("error", "image commit failed"))).isTrue();
    await().atMost(Duration.ofSeconds(10)).until(() -> calls.contains("wake in-memory 0 TIMER"));
    assertThat(slots.get()).as("the wake took no slot of its own and gave none back").isZero();
    assertThat(plane.status(WorkflowId.of("in-memory")).state()).isEqualTo(WorkflowState.RUNNING);

    // The operator's wake reaches a wait in memory the same way.
    assertThat(plane.waiting("in-memory", 0, WaitKind.TIMER, Optional.of(Instant.now().plusSeconds(3600)), Optional.empty(),
        true, Map.of())).isTrue();
    plane.wake(WorkflowId.of("in-memory"));
    await().atMost(Duration.ofSeconds(10)).until(() -> calls.contains("wake in-memory 0 OPERATOR"));
    assertThat(slots.get()).isZero();
  }

  @Test
  void defect1_aFailedDeliveryToAWaitInMemoryKeepsItWithItsWorkerAndIsRetried() throws Exception {
    open(1, Duration.ofSeconds(20));
    running("mem");
    plane.waiting("mem", 0, WaitKind.TIMER, Optional.of(Instant.now().plusSeconds(3600)), Optional.empty(), true, Map.of());
    plane.fireWake("mem", 0, "OPERATOR");
    assertThat(calls).contains("wake mem 0 OPERATOR");
    plane.undeliverable("mem", 0, Wakeup.of(WakeReason.OPERATOR), "the wake socket was not there");
    assertThat(plane.status(WorkflowId.of("mem")).state()).isEqualTo(WorkflowState.SUSPENDED);
    calls.clear();
    plane.fireWake("mem", 0, "OPERATOR"); // the retry: before the fix it was handed back for ever (owner lost)
    assertThat(calls).containsExactly("wake mem 0 OPERATOR");
  }

  @Test
  void defect3_aCommitTheRegistryRefusesIsReportedSoNoImageIsRetired() throws Exception {
    open(4, Duration.ofSeconds(20));
    running("w");
    assertThat(plane.waiting("w", 1, WaitKind.TIMER, Optional.of(Instant.now().plusSeconds(3600)), Optional.empty(), false,
        Map.of())).isTrue();
    // A stale worker's commit of image 2 (the workflow is frozen on image 1 and runs nowhere).
    assertThat(plane.waiting("w", 2, WaitKind.TIMER, Optional.of(Instant.now().plusSeconds(3600)), Optional.empty(), false,
        Map.of())).isFalse();
    assertThat(plane.event("w", SegmentEvent.CHECKPOINTED, 2, Map.of())).as("nor a stale savepoint").isFalse();
    assertThat(plane.status(WorkflowId.of("w")).seq()).isEqualTo(1);
  }

  @Test
  void defect5_aSavepointCannotSlipPastARecoveryThatTookTheWorkflow() throws Exception {
    slots.set(4);
    String node = "worker-a@1";
    plane = new JdbcControlPlane(config(), node, true); // a cluster node; its own lease is not started
    storeApp();
    plane.submit(new SubmitRequest(WorkflowId.of("raced"), app, "com.acme.Main", List.of(), List.of()));
    String url = config().jdbcUrl();
    try (Connection c = DriverManager.getConnection(url, "sa", "")) {
      try (PreparedStatement ps = c.prepareStatement("UPDATE torpor_workflow SET state = 'RUNNING', owner = ? WHERE id = 'raced'")) {
        ps.setString(1, node);
        ps.executeUpdate();
      }
      // Another node's recovery holds the row: it is taking the workflow from this node.
      c.setAutoCommit(false);
      try (PreparedStatement lock = c.prepareStatement("SELECT owner FROM torpor_workflow WHERE id = 'raced' FOR UPDATE")) {
        lock.executeQuery().close();
      }
      CompletableFuture<Boolean> savepoint = CompletableFuture.supplyAsync(
          () -> plane.event("raced", SegmentEvent.CHECKPOINTED, 1, Map.of("rawBytes", 1)));
      // The savepoint reads and then waits for the row: H2 names the session it waits for.
      try (Connection watch = DriverManager.getConnection(url, "sa", "")) {
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20)).until(() -> {
          try (var rs = watch.createStatement().executeQuery(
              "SELECT COUNT(*) FROM INFORMATION_SCHEMA.SESSIONS WHERE BLOCKER_ID IS NOT NULL")) {
            rs.next();
            return rs.getInt(1) > 0;
          }
        });
      }
      try (PreparedStatement ps = c.prepareStatement("UPDATE torpor_workflow SET owner = NULL WHERE id = 'raced'")) {
        ps.executeUpdate();
      }
      c.commit();
      assertThat(savepoint.get(30, TimeUnit.SECONDS)).as("the savepoint is refused").isFalse();
    }
    assertThat(plane.status(WorkflowId.of("raced")).seq()).as("the recovery's seq stands, so its wake is not stale").isZero();
    assertThat(historyTypes("raced")).doesNotContain("CHECKPOINTED");
  }

  @Test
  void defect6_aSavepointEndsTheOldWaitSoARetriedWakeTakesNoSignalInItsName() throws Exception {
    open(4, Duration.ofSeconds(20));
    running("sp");
    plane.waiting("sp", 1, WaitKind.SIGNAL, Optional.empty(), Optional.of("go"), false, Map.of());
    plane.signal(WorkflowId.of("sp"), SignalName.of("go"), text("first"));
    await().atMost(Duration.ofSeconds(10)).until(() -> calls.contains("wake sp 1 SIGNAL first"));
    assertThat(plane.event("sp", SegmentEvent.CHECKPOINTED, 2, Map.of())).isTrue();
    plane.signal(WorkflowId.of("sp"), SignalName.of("go"), text("second")); // for a later wait
    assertThat(plane.status(WorkflowId.of("sp")).waitKind()).isNull();

    // The savepoint's image could not be restored (a crash recovery's wake failed): tried again.
    plane.undeliverable("sp", 2, Wakeup.of(WakeReason.CHECKPOINT), "restore failed");
    assertThat(plane.status(WorkflowId.of("sp")).waitKind()).as("status shows no stale wait").isNull();
    await().atMost(Duration.ofSeconds(20)).until(() -> calls.stream().anyMatch(c -> c.startsWith("wake sp 2")));
    assertThat(calls.stream().filter(c -> c.startsWith("wake sp 2")).toList()).containsExactly("wake sp 2 CHECKPOINT");
    assertThat(plane.status(WorkflowId.of("sp")).pendingSignals()).as("the signal waits for its own wait").isEqualTo(1);
  }

  @Test
  void defect7_aSingleServerSweepsUpAWakeWhoseJobWasLost() throws Exception {
    open(4, Duration.ofSeconds(1));
    running("lost");
    plane.waiting("lost", 1, WaitKind.SIGNAL, Optional.empty(), Optional.of("go"), false, Map.of());
    plane.timers().pause();
    plane.signal(WorkflowId.of("lost"), SignalName.of("go"), text("hello"));
    plane.timers().cancelAll("lost"); // as if scheduling its wake had failed
    assertThat(plane.timers().jobCount("lost")).isZero();
    plane.timers().resume();
    await().atMost(Duration.ofSeconds(15)).until(() -> calls.contains("wake lost 1 SIGNAL hello"));
  }

  @Test
  void defect7_aRecoveryWhoseWakeWasLostIsSweptUp() throws Exception {
    open(4, Duration.ofSeconds(1));
    running("recovered");
    plane.waiting("recovered", 1, WaitKind.TIMER, Optional.of(Instant.now().plusSeconds(3600)), Optional.empty(), false, Map.of());
    plane.timers().pause();
    // As a recovery leaves it (RUNNING from image 1, no owner) when its process dies before the
    // RECOVER wake reaches Quartz (CrashPointsIT found it: a crash at RECOVERY_COMMITTED).
    try (Connection c = DriverManager.getConnection(config().jdbcUrl(), "sa", "");
        PreparedStatement ps = c.prepareStatement(
            "UPDATE torpor_workflow SET state = 'RUNNING', owner = NULL, updated_at = 0 WHERE id = 'recovered'")) {
      ps.executeUpdate();
    }
    plane.timers().cancelAll("recovered");
    plane.timers().resume();
    await().atMost(Duration.ofSeconds(15)).until(() -> calls.contains("wake recovered 1 TIMER"));
  }

  @Test
  void defect7_aStoredSignalIsNotReportedAsFailedWhenItsWakeCannotBeScheduled() throws Exception {
    open(4, Duration.ofSeconds(20));
    running("stored");
    plane.waiting("stored", 1, WaitKind.SIGNAL, Optional.empty(), Optional.of("go"), false, Map.of());
    plane.timers().close(); // Quartz refuses every call from now on
    assertThatCode(() -> plane.signal(WorkflowId.of("stored"), SignalName.of("go"), text("kept"))).doesNotThrowAnyException();
    assertThat(plane.status(WorkflowId.of("stored")).pendingSignals()).isEqualTo(1);
  }

  @Test
  void defect7_restartsDoNotPileUpTimerJobs() throws Exception {
    open(4, Duration.ofSeconds(20));
    running("t");
    plane.waiting("t", 1, WaitKind.TIMER, Optional.of(Instant.now().plusSeconds(3600)), Optional.empty(), false, Map.of());
    assertThat(quartzJobs("t")).isEqualTo(1);
    for (int i = 0; i < 3; i++) {
      plane.close();
      plane = new JdbcControlPlane(config(), "test-" + System.nanoTime(), false);
      plane.start(gateway);
    }
    assertThat(quartzJobs("t")).as("every job in Quartz's tables, under any scheduler's name").isEqualTo(1);
    assertThat(plane.timers().jobCount("t")).as("and it is this server's").isEqualTo(1);
  }

  private int quartzJobs(String id) throws Exception {
    try (Connection c = DriverManager.getConnection(config().jdbcUrl(), "sa", "");
        PreparedStatement ps = c.prepareStatement("SELECT COUNT(*) FROM QRTZ_JOB_DETAILS WHERE JOB_GROUP = ?")) {
      ps.setString(1, "w:" + id);
      try (var rs = ps.executeQuery()) {
        rs.next();
        return rs.getInt(1);
      }
    }
  }

  /**
   * Found while merging issue #12's work: a thread interrupted inside H2's file I/O (Quartz
   * interrupts its own scheduler thread at shutdown) made plain H2 close the whole database, after
   * which Quartz retried for ever and the plane's close never returned. The embedded registry now
   * reopens its file instead.
   */
  @Test
  void anInterruptedThreadDoesNotCloseTheEmbeddedRegistry() throws Exception {
    open(4, Duration.ofSeconds(20));
    // Several threads at once, so that H2's commits contend for its locks (where an interrupt hurts most).
    List<Thread> busy = new ArrayList<>();
    for (int t = 0; t < 4; t++) {
      int first = t * 100;
      busy.add(new Thread(() -> {
        for (int i = first; i < first + 100; i++) {
          try {
            plane.submit(new SubmitRequest(WorkflowId.of("busy-" + i), app, "com.acme.Main", List.of(), List.of()));
            plane.signal(WorkflowId.of("busy-" + i), SignalName.of("go"), new byte[0]);
          } catch (RuntimeException e) {
            // an interrupted call may fail; the registry must not
          }
        }
      }));
    }
    busy.forEach(Thread::start);
    while (busy.stream().anyMatch(Thread::isAlive)) {
      busy.forEach(Thread::interrupt);
      busy.get(0).join(1); // each interrupted again every millisecond until all are done
    }
    assertThat(plane.list(Optional.empty(), Optional.empty(), 1000)).as("the registry still answers").isNotEmpty();
    CompletableFuture<Void> closed = CompletableFuture.runAsync(plane::close);
    closed.get(60, TimeUnit.SECONDS);
    plane = null;
  }
}
