package dev.torpor.scheduler.internal;

import dev.torpor.WaitKind;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.torpor.WorkflowId;
import dev.torpor.scheduler.ClusterOptions;
import dev.torpor.scheduler.ControlPlaneConfig;
import dev.torpor.scheduler.HistoryEvent;
import dev.torpor.scheduler.SubmitRequest;
import dev.torpor.scheduler.Wakeup;
import dev.torpor.scheduler.WorkerGateway;
import dev.torpor.scheduler.WorkflowState;
import dev.torpor.WakeReason;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.jar.JarOutputStream;
import java.util.zip.ZipEntry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One worker node of a cluster on a real H2 database and a real, clustered Quartz, with the
 * other workers played by rows in {@code torpor_worker} (a second clustered Quartz cannot share
 * this JVM). The real multi-process cluster is tested end to end by the launcher's ClusterIT;
 * here the point is the lease rules: expiry, recovery, fencing, declines.
 */
class ClusterLeasesTest {
  private static final ClusterOptions FAST = new ClusterOptions(Duration.ofMillis(100), Duration.ofMillis(800));

  @TempDir Path dir;
  private ControlPlaneConfig config;
  private JdbcControlPlane plane;
  private final List<String> calls = new CopyOnWriteArrayList<>();
  private final List<String> fenced = new CopyOnWriteArrayList<>();
  /** What the worker does when fenced: here, what a killed JVM's exit would do. */
  private volatile Runnable onFence = () -> { };
  private String app;

  private final WorkerGateway gateway = new WorkerGateway() {
    @Override
    public boolean tryReserve() {
      return true;
    }

    @Override
    public void release() {}

    @Override
    public void start(String id, String sha, Path jar, String main, List<String> args, List<String> opts,
        Map<String, String> env) {
      calls.add("start " + id);
    }

    @Override
    public void wake(String id, long seq, String sha, Path jar, Wakeup w) {
      calls.add("wake " + id + " " + seq + " " + w.reason());
    }

    @Override
    public void kill(String id) {
      calls.add("kill " + id);
    }
  };

  @BeforeEach
  void open() throws Exception {
    config = ControlPlaneConfig.embedded(dir, dir.resolve("logs"));
    plane = new JdbcControlPlane(config, "w1-test", true);
    plane.startClustered(Optional.of(gateway), Optional.of(new Leases.Member("w1", 4, Map.of(), why -> {
      onFence.run();
      fenced.add(why);
    }, id -> { })),
        FAST);
    ByteArrayOutputStream jar = new ByteArrayOutputStream();
    try (JarOutputStream out = new JarOutputStream(jar)) {
      out.putNextEntry(new ZipEntry("com/acme/Main.class"));
      out.write(new byte[] {1, 2, 3});
    }
    app = plane.storeApp(new ByteArrayInputStream(jar.toByteArray()));
  }

  @AfterEach
  void close() {
    plane.close();
  }

  private Connection db() throws SQLException {
    return DriverManager.getConnection(config.jdbcUrl(), config.user(), config.password());
  }

  private void sql(String statement, Object... params) throws SQLException {
    try (Connection c = db(); PreparedStatement ps = c.prepareStatement(statement)) {
      for (int i = 0; i < params.length; i++) {
        ps.setObject(i + 1, params[i]);
      }
      ps.executeUpdate();
    }
  }

  private String one(String query, Object... params) throws SQLException {
    try (Connection c = db(); PreparedStatement ps = c.prepareStatement(query)) {
      for (int i = 0; i < params.length; i++) {
        ps.setObject(i + 1, params[i]);
      }
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getString(1) : null;
      }
    }
  }

  private List<String> types(String id) {
    return plane.history(WorkflowId.of(id)).stream().map(HistoryEvent::type).toList();
  }

  @Test
  void aLogSegmentShippedTwiceIsStoredOnceAndSegmentsKeepTheirOrder() throws Exception {
    plane.submit(new SubmitRequest(WorkflowId.of("log1"), app, "com.acme.Main", List.of(), List.of()));
    await().atMost(Duration.ofSeconds(30)).until(() -> calls.contains("start log1")); // this worker owns its segment now
    byte[] first = "first segment\n".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    byte[] second = "second\n".getBytes(java.nio.charset.StandardCharsets.UTF_8);

    plane.output("log1", "from-0-a", first);
    plane.output("log1", "from-0-a", first); // shipped again: a worker's retry, or the transaction run again
    plane.output("log1", "from-1-b", second);
    plane.output("log1", "from-0-a", first); // a late second ship of an earlier segment

    assertThat(new String(plane.logs(WorkflowId.of("log1"), 0, 1 << 20).data(), java.nio.charset.StandardCharsets.UTF_8))
        .isEqualTo("first segment\nsecond\n");
    var tail = plane.logs(WorkflowId.of("log1"), first.length, 1 << 20); // total offsets across segments
    assertThat(tail.offset()).isEqualTo(first.length);
    assertThat(new String(tail.data(), java.nio.charset.StandardCharsets.UTF_8)).isEqualTo("second\n");
    assertThat(one("SELECT COUNT(*) FROM torpor_log WHERE workflow_id = 'log1'")).isEqualTo("2");
    assertThat(one("SELECT segment FROM torpor_log_segment WHERE workflow_id = 'log1' AND seg_no = 1")).isEqualTo("from-1-b");
    assertThat(one("SELECT log_bytes FROM torpor_workflow WHERE id = 'log1'")).isEqualTo(Long.toString(first.length + second.length));

    // The last segment shipped again with more (an earlier ship that failed after its commit): only the rest is added.
    plane.output("log1", "from-1-b", "second\nthird\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
    assertThat(new String(plane.logs(WorkflowId.of("log1"), 0, 1 << 20).data(), java.nio.charset.StandardCharsets.UTF_8))
        .isEqualTo("first segment\nsecond\nthird\n");
  }

  /** A workflow frozen on image 1 that another worker, {@code owner}, is running again (its RUNNING row). */
  private void runningOn(String id, String owner) throws SQLException {
    plane.submit(new SubmitRequest(WorkflowId.of(id), app, "com.acme.Main", List.of(), List.of()));
    await().atMost(Duration.ofSeconds(30)).until(() -> calls.contains("start " + id));
    plane.waiting(id, 1, WaitKind.TIMER, Optional.of(java.time.Instant.now().plusSeconds(3600)), Optional.empty(), false, Map.of());
    sql("UPDATE torpor_workflow SET state = 'RUNNING', owner = ? WHERE id = ?", owner, id);
  }

  @Test
  void aWorkerThatStopsRenewingIsDeclaredGoneAndItsSegmentsResumeFromTheirImage() throws Exception {
    long now = System.currentTimeMillis();
    sql("INSERT INTO torpor_worker (id, name, state, beats, max_running, facts, started_at, heartbeat_at)"
        + " VALUES ('w2@dead', 'w2', 'LIVE', 7, 4, '{}', ?, ?)", now, now);
    runningOn("orphan", "w2@dead");

    await().atMost(Duration.ofSeconds(30)).until(() -> "GONE".equals(one("SELECT state FROM torpor_worker WHERE id = 'w2@dead'")));
    await().atMost(Duration.ofSeconds(30)).until(() -> calls.contains("wake orphan 1 TIMER"));
    List<HistoryEvent> history = plane.history(WorkflowId.of("orphan"));
    HistoryEvent recovered = history.stream().filter(e -> e.type().equals("RECOVERED")).findFirst().orElseThrow();
    assertThat(recovered.details()).containsEntry("lostWorker", "w2@dead").containsEntry("from", "image 1");
    assertThat(types("orphan").stream().filter("RECOVERED"::equals).count()).isEqualTo(1);
    assertThat(one("SELECT owner FROM torpor_workflow WHERE id = 'orphan'")).startsWith("w1@");
    assertThat(fenced).isEmpty();
  }

  @Test
  void aWorkerWhoseRenewalsGoOnIsNotDeclaredGone() throws Exception {
    long now = System.currentTimeMillis();
    sql("INSERT INTO torpor_worker (id, name, state, beats, max_running, facts, started_at, heartbeat_at)"
        + " VALUES ('w3@alive', 'w3', 'LIVE', 0, 4, '{}', ?, ?)", now, now);
    var beater = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
    try {
      beater.scheduleAtFixedRate(() -> {
        try {
          sql("UPDATE torpor_worker SET beats = beats + 1 WHERE id = 'w3@alive'");
        } catch (SQLException e) {
          throw new IllegalStateException(e);
        }
      }, 0, 100, java.util.concurrent.TimeUnit.MILLISECONDS);
      runningOn("busy", "w3@alive");
      // Three TTLs of renewals: the worker stays, and so does its segment.
      await().during(Duration.ofMillis(2400)).atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(100))
          .until(() -> "LIVE".equals(one("SELECT state FROM torpor_worker WHERE id = 'w3@alive'")));
    } finally {
      beater.shutdownNow();
    }
    assertThat(plane.status(WorkflowId.of("busy")).state()).isEqualTo(WorkflowState.RUNNING);
    assertThat(types("busy")).doesNotContain("RECOVERED");
  }

  @Test
  void aWorkerDeclaredGoneKillsItsJvmsCommitsNothingAndRejoinsUnderANewLease() throws Exception {
    plane.submit(new SubmitRequest(WorkflowId.of("mine"), app, "com.acme.Main", List.of(), List.of()));
    await().atMost(Duration.ofSeconds(30)).until(() -> calls.contains("start mine"));
    String before = plane.nodeId();
    // The JVM the fenced worker kills exits while it is fenced: that exit is not the workflow's outcome.
    onFence = () -> plane.exited("mine", 137, "killed");
    // The cluster decides this worker is gone (it stalled, say) while its segment still runs.
    sql("UPDATE torpor_worker SET state = 'GONE' WHERE id = ?", before);
    await().atMost(Duration.ofSeconds(30)).until(() -> !fenced.isEmpty() && !plane.nodeId().equals(before));
    assertThat(fenced.get(0)).contains("declared it gone");
    assertThat(one("SELECT state FROM torpor_worker WHERE id = ?", plane.nodeId())).isEqualTo("LIVE");
    // The segment it ran was recovered (from the start: it had no image) and runs again, under the new lease.
    await().atMost(Duration.ofSeconds(30))
        .until(() -> calls.stream().filter("start mine"::equals).count() == 2);
    assertThat(types("mine")).contains("RECOVERED").doesNotContain("FAILED");
    assertThat(plane.status(WorkflowId.of("mine")).state()).isEqualTo(WorkflowState.RUNNING);
    assertThat(one("SELECT owner FROM torpor_workflow WHERE id = 'mine'")).isEqualTo(plane.nodeId());
  }

  @Test
  void anImageEveryLiveWorkerDeclinedIsReportedOnceAndOfferedAgainWhenAWorkerJoins() throws Exception {
    plane.submit(new SubmitRequest(WorkflowId.of("old-jdk"), app, "com.acme.Main", List.of(), List.of()));
    await().atMost(Duration.ofSeconds(30)).until(() -> calls.contains("start old-jdk"));
    plane.waiting("old-jdk", 1, WaitKind.TIMER, Optional.of(java.time.Instant.now()), Optional.empty(), false, Map.of());
    await().atMost(Duration.ofSeconds(30)).until(() -> calls.contains("wake old-jdk 1 TIMER"));
    plane.declined("old-jdk", 1, Wakeup.of(WakeReason.TIMER), "dumped by JDK 21; this worker runs JDK 17");

    assertThat(types("old-jdk")).contains("DECLINED", "UNRESTORABLE");
    assertThat(plane.status(WorkflowId.of("old-jdk")).state()).isEqualTo(WorkflowState.SUSPENDED);
    String error = plane.history(WorkflowId.of("old-jdk")).stream().filter(e -> e.type().equals("UNRESTORABLE")).findFirst()
        .orElseThrow().details().get("error").toString();
    assertThat(error).contains("w1: dumped by JDK 21");
    assertThat(calls.stream().filter("wake old-jdk 1 TIMER"::equals).count()).as("not retried").isEqualTo(1);

    // A worker joins (here this one again, under a new lease): the image is offered again. This
    // worker declined it before, so it does not try it again; with no other taker it is reported again.
    sql("UPDATE torpor_worker SET state = 'GONE' WHERE id = ?", plane.nodeId());
    await().atMost(Duration.ofSeconds(30))
        .until(() -> types("old-jdk").stream().filter("UNRESTORABLE"::equals).count() == 2);
    assertThat(calls.stream().filter("wake old-jdk 1 TIMER"::equals).count()).isEqualTo(1);
    assertThat(one("SELECT COUNT(*) FROM torpor_decline WHERE workflow_id = 'old-jdk'")).isEqualTo("1");
  }
}
