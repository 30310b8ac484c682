package dev.torpor.scheduler.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.torpor.SignalName;
import dev.torpor.WorkflowId;
import dev.torpor.scheduler.ConflictException;
import dev.torpor.scheduler.ControlPlaneConfig;
import dev.torpor.scheduler.HistoryEvent;
import dev.torpor.scheduler.PostgresProcess;
import dev.torpor.scheduler.SignalReceipt;
import dev.torpor.scheduler.SubmitRequest;
import dev.torpor.scheduler.Wakeup;
import dev.torpor.scheduler.WorkerGateway;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarOutputStream;
import java.util.zip.ZipEntry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Signals under an idempotency key, on a real H2 file and a real PostgreSQL server: a request
 * repeated under its key (a client's retry, or Sql.tx running the transaction again after a
 * lost commit acknowledgement) stores one signal and gets the same answer.
 */
class IdempotentSignalsTest {
  private static PostgresProcess pg;
  private static int databases;
  @TempDir Path dir;
  private ControlPlaneConfig config;
  private JdbcControlPlane plane;

  private static final WorkerGateway NOTHING_RUNS = new WorkerGateway() {
    @Override
    public boolean tryReserve() {
      return true; // "started": the workflows stay RUNNING, which takes signals like any unfinished state
    }

    @Override
    public void release() {}

    @Override
    public void start(String id, String sha, Path jar, String main, List<String> args, List<String> opts,
        Map<String, String> env) {}

    @Override
    public void wake(String id, long seq, String sha, Path jar, Wakeup w) {}

    @Override
    public void kill(String id) {}
  };

  @BeforeAll
  static void startPostgres() throws Exception {
    pg = new PostgresProcess();
  }

  @AfterAll
  static void stopPostgres() throws Exception {
    pg.close();
  }

  @AfterEach
  void close() {
    if (plane != null) {
      plane.close();
    }
  }

  /** A plane on {@code database} with workflows {@code ids} submitted. */
  private void open(String database, String... ids) throws Exception {
    config = database.equals("h2") ? ControlPlaneConfig.embedded(dir, dir.resolve("logs"))
        : new ControlPlaneConfig(pg.createDatabase("s" + (++databases)), "postgres", null, dir, dir.resolve("logs"), 2,
            Duration.ofSeconds(5));
    plane = new JdbcControlPlane(config, "test-" + System.nanoTime(), false);
    plane.start(NOTHING_RUNS);
    ByteArrayOutputStream jar = new ByteArrayOutputStream();
    try (JarOutputStream out = new JarOutputStream(jar)) {
      out.putNextEntry(new ZipEntry("com/acme/Main.class"));
      out.write(new byte[] {1, 2, 3});
    }
    String app = plane.storeApp(new ByteArrayInputStream(jar.toByteArray()));
    for (String id : ids) {
      plane.submit(new SubmitRequest(WorkflowId.of(id), app, "com.acme.Main", List.of(), List.of()));
    }
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** Rows in torpor_signal for the workflow, read over a connection of the test's own. */
  private int rows(String workflowId) throws Exception {
    try (Connection c = DriverManager.getConnection(config.jdbcUrl(), config.user(), config.password());
        PreparedStatement ps = c.prepareStatement("SELECT COUNT(*) FROM torpor_signal WHERE workflow_id = ?")) {
      ps.setString(1, workflowId);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getInt(1);
      }
    }
  }

  private long received(String workflowId) {
    return plane.history(WorkflowId.of(workflowId)).stream().map(HistoryEvent::type).filter("SIGNAL_RECEIVED"::equals).count();
  }

  @ParameterizedTest
  @ValueSource(strings = {"h2", "postgres"})
  void theSameKeyTwiceStoresOneSignalAndAnswersTheSame(String database) throws Exception {
    open(database, "w1");
    SignalReceipt first = plane.signal(WorkflowId.of("w1"), SignalName.of("approve"), utf8("yes"), Optional.of("key-1"));
    // What Sql.tx does after a commit whose acknowledgement was lost, and what a client's retry does.
    SignalReceipt again = plane.signal(WorkflowId.of("w1"), SignalName.of("approve"), utf8("yes"), Optional.of("key-1"));

    assertThat(first.duplicate()).isFalse();
    assertThat(again.duplicate()).isTrue();
    assertThat(again.id()).isEqualTo(first.id());
    assertThat(again.receivedAt()).isEqualTo(first.receivedAt());
    assertThat(rows("w1")).isEqualTo(1);
    assertThat(plane.status(WorkflowId.of("w1")).pendingSignals()).isEqualTo(1);
    assertThat(received("w1")).isEqualTo(1);

    SignalReceipt other = plane.signal(WorkflowId.of("w1"), SignalName.of("approve"), utf8("yes"), Optional.of("key-2"));
    assertThat(other.duplicate()).isFalse();
    assertThat(other.id()).isGreaterThan(first.id());
    assertThat(rows("w1")).isEqualTo(2);
  }

  @ParameterizedTest
  @ValueSource(strings = {"h2", "postgres"})
  void anotherSignalUnderAUsedKeyIsAConflictAndStoresNothing(String database) throws Exception {
    open(database, "w1", "w2");
    plane.signal(WorkflowId.of("w1"), SignalName.of("approve"), utf8("yes"), Optional.of("k"));

    assertThatThrownBy(() -> plane.signal(WorkflowId.of("w1"), SignalName.of("approve"), utf8("no"), Optional.of("k")))
        .isInstanceOf(ConflictException.class)
        .hasMessageContaining("idempotency key 'k' was already used for another signal to workflow w1");
    assertThatThrownBy(() -> plane.signal(WorkflowId.of("w1"), SignalName.of("reject"), utf8("yes"), Optional.of("k")))
        .isInstanceOf(ConflictException.class).hasMessageContaining("'approve'");
    assertThat(rows("w1")).isEqualTo(1);

    // A key names a request to one workflow: the same key elsewhere is another request.
    assertThat(plane.signal(WorkflowId.of("w2"), SignalName.of("reject"), utf8("x"), Optional.of("k")).duplicate()).isFalse();
    assertThat(rows("w2")).isEqualTo(1);
  }

  @ParameterizedTest
  @ValueSource(strings = {"h2", "postgres"})
  void withoutAKeyEveryCallStoresASignal(String database) throws Exception {
    open(database, "w1");
    SignalReceipt a = plane.signal(WorkflowId.of("w1"), SignalName.of("go"), utf8("x"), Optional.empty());
    SignalReceipt b = plane.signal(WorkflowId.of("w1"), SignalName.of("go"), utf8("x"), Optional.empty());
    assertThat(a.duplicate()).isFalse();
    assertThat(b.duplicate()).isFalse();
    assertThat(b.id()).isNotEqualTo(a.id());
    assertThat(rows("w1")).isEqualTo(2);
  }

  @ParameterizedTest
  @ValueSource(strings = {"h2", "postgres"})
  void aRetryAfterTheWorkflowFinishedAnswersTheSameButANewSignalIsRefused(String database) throws Exception {
    open(database, "w1");
    SignalReceipt first = plane.signal(WorkflowId.of("w1"), SignalName.of("go"), utf8("x"), Optional.of("before-the-end"));
    plane.cancel(WorkflowId.of("w1"));

    SignalReceipt retry = plane.signal(WorkflowId.of("w1"), SignalName.of("go"), utf8("x"), Optional.of("before-the-end"));
    assertThat(retry.id()).isEqualTo(first.id());
    assertThat(retry.duplicate()).isTrue();
    assertThatThrownBy(() -> plane.signal(WorkflowId.of("w1"), SignalName.of("go"), utf8("x"), Optional.of("after-the-end")))
        .isInstanceOf(ConflictException.class).hasMessageContaining("has finished");
  }

  @ParameterizedTest
  @ValueSource(strings = {"h2", "postgres"})
  void concurrentRequestsUnderOneKeyStoreOneSignal(String database) throws Exception {
    open(database, "w1");
    int clients = 6;
    CyclicBarrier together = new CyclicBarrier(clients);
    ExecutorService pool = Executors.newFixedThreadPool(clients);
    try {
      List<Future<SignalReceipt>> sent = new ArrayList<>();
      for (int i = 0; i < clients; i++) {
        sent.add(pool.submit(() -> {
          together.await(30, TimeUnit.SECONDS);
          return plane.signal(WorkflowId.of("w1"), SignalName.of("go"), utf8("once"), Optional.of("shared"));
        }));
      }
      List<SignalReceipt> receipts = new ArrayList<>();
      for (Future<SignalReceipt> f : sent) {
        receipts.add(f.get(60, TimeUnit.SECONDS));
      }
      assertThat(receipts).extracting(SignalReceipt::id).containsOnly(receipts.get(0).id());
      assertThat(receipts).filteredOn(r -> !r.duplicate()).hasSize(1);
      assertThat(rows("w1")).isEqualTo(1);
    } finally {
      pool.shutdownNow();
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"h2"})
  void aBadKeyIsRefusedWithTheRule(String database) throws Exception {
    open(database, "w1");
    for (String bad : new String[] {"", "has space", "x".repeat(129), "caf\u00e9", "tab\there"}) {
      assertThatThrownBy(() -> plane.signal(WorkflowId.of("w1"), SignalName.of("go"), utf8("x"), Optional.of(bad)))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("1 to 128 printable ASCII characters without spaces");
    }
    assertThat(rows("w1")).isZero();
    assertThat(plane.signal(WorkflowId.of("w1"), SignalName.of("go"), utf8("x"), Optional.of("x".repeat(128))).duplicate()).isFalse();
  }
}
