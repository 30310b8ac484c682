package dev.torpor.scheduler.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.torpor.scheduler.ConflictException;
import dev.torpor.scheduler.ControlPlaneConfig;
import dev.torpor.scheduler.HistoryEvent;
import dev.torpor.scheduler.ImageLedger;
import dev.torpor.scheduler.NotFoundException;
import dev.torpor.scheduler.SubmitRequest;
import dev.torpor.scheduler.SubmitResult;
import dev.torpor.scheduler.Wakeup;
import dev.torpor.scheduler.WorkerGateway;
import dev.torpor.scheduler.WorkflowState;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.jar.JarOutputStream;
import java.util.zip.ZipEntry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The control plane on a real H2 database and a real Quartz scheduler. The worker side is a
 * recording gateway (the real worker lives in the launcher module and is tested there end to
 * end); here the point is the registry's rules: idempotence, validation, fencing by seq, and
 * signals delivered once.
 */
class JdbcControlPlaneTest {
  @TempDir Path dir;
  private JdbcControlPlane plane;
  private final List<String> calls = new CopyOnWriteArrayList<>();
  private final Map<String, Map<String, String>> envs = new java.util.concurrent.ConcurrentHashMap<>();
  private final AtomicInteger slots = new AtomicInteger(100);
  private String app;

  private final WorkerGateway gateway = new WorkerGateway() {
    @Override
    public boolean tryReserve() {
      return slots.getAndUpdate(s -> s > 0 ? s - 1 : s) > 0;
    }

    @Override
    public void release() {
      slots.incrementAndGet();
    }

    @Override
    public void start(String id, String sha, Path jar, String main, List<String> args, List<String> opts,
        Map<String, String> env) {
      calls.add("start " + id);
      envs.put(id, env);
    }

    @Override
    public void wake(String id, long seq, String sha, Path jar, Wakeup w) {
      calls.add("wake " + id + " " + seq + " " + w.reason() + w.signal().map(s -> " " + s.text()).orElse(""));
    }

    @Override
    public void kill(String id) {
      calls.add("kill " + id);
    }
  };

  @BeforeEach
  void open() throws Exception {
    plane = new JdbcControlPlane(ControlPlaneConfig.embedded(dir, dir.resolve("logs")), "test-" + System.nanoTime(), false);
    plane.start(gateway);
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

  private SubmitResult submit(String id, String... args) {
    return plane.submit(new SubmitRequest(id, app, "com.acme.Main", List.of(args), List.of()));
  }

  /** Brings a submitted workflow to SUSPENDED on image 1, waiting for signal {@code name}. */
  private void suspendOnSignal(String id, String name) {
    await().atMost(Duration.ofSeconds(10)).until(() -> calls.contains("start " + id));
    plane.waiting(id, 1, "SIGNAL", Optional.empty(), Optional.of(name), false, Map.of("rawBytes", 10, "packedBytes", 5));
  }

  @Test
  void submitIsIdempotentForTheSameRequestAndAConflictForAnother() {
    assertThat(submit("w1", "a").created()).isTrue();
    assertThat(submit("w1", "a").created()).isFalse();
    assertThatThrownBy(() -> submit("w1", "b")).isInstanceOf(ConflictException.class).hasMessageContaining("w1");
    await().atMost(Duration.ofSeconds(10)).until(() -> calls.contains("start w1"));
    assertThat(calls.stream().filter(c -> c.equals("start w1")).count()).isEqualTo(1);
  }

  @Test
  void theEnvironmentASubmitterSetsReachesTheWorkerAndIsPartOfTheRequest() {
    Map<String, String> env = Map.of("GREETING", "hello", "PLAN", "annual");
    assertThat(plane.submit(new SubmitRequest("e1", app, "com.acme.Main", List.of(), List.of(), env)).created()).isTrue();
    assertThat(plane.submit(new SubmitRequest("e1", app, "com.acme.Main", List.of(), List.of(), env)).created()).isFalse();
    assertThatThrownBy(() -> plane.submit(new SubmitRequest("e1", app, "com.acme.Main", List.of(), List.of(),
        Map.of("GREETING", "bye")))).isInstanceOf(ConflictException.class);
    await().atMost(Duration.ofSeconds(10)).until(() -> calls.contains("start e1"));
    assertThat(envs.get("e1")).isEqualTo(env);
    submit("e2");
    await().atMost(Duration.ofSeconds(10)).until(() -> calls.contains("start e2"));
    assertThat(envs.get("e2")).isEmpty();
  }

  @Test
  void badInputIsRejectedAndChangesNothing() {
    for (String id : new String[] {"a/b", "..", "has space", "x".repeat(129)}) {
      assertThatThrownBy(() -> submit(id)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("workflow id");
    }
    assertThatThrownBy(() -> plane.submit(new SubmitRequest("w", "0".repeat(64), "com.acme.Main", List.of(), List.of())))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("upload the jar first");
    assertThatThrownBy(() -> plane.submit(new SubmitRequest("w", app, "not a class", List.of(), List.of())))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> plane.storeApp(new ByteArrayInputStream("not a jar".getBytes(StandardCharsets.UTF_8))))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a jar");
    assertThat(plane.list(Optional.empty(), Optional.empty(), 100)).isEmpty();
  }

  @Test
  void signalsAreValidatedAndRejectedForUnknownOrFinishedWorkflows() {
    submit("w2");
    assertThatThrownBy(() -> plane.signal("w2", "s", new byte[(1 << 20) + 1]))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1 MiB");
    assertThatThrownBy(() -> plane.signal("nope", "s", new byte[0])).isInstanceOf(NotFoundException.class);
    await().atMost(Duration.ofSeconds(10)).until(() -> calls.contains("start w2"));
    plane.exited("w2", 0, "");
    assertThat(plane.status("w2").state()).isEqualTo(WorkflowState.COMPLETED);
    assertThatThrownBy(() -> plane.signal("w2", "s", new byte[0])).isInstanceOf(ConflictException.class)
        .hasMessageContaining("finished");
  }

  @Test
  void aSignalWakesTheWaitingWorkflowOnceEvenWithDuplicateWakes() throws Exception {
    submit("w3");
    suspendOnSignal("w3", "go");
    plane.signal("w3", "go", "payload".getBytes(StandardCharsets.UTF_8));
    await().atMost(Duration.ofSeconds(10)).until(() -> calls.contains("wake w3 1 SIGNAL payload"));

    // Duplicate and stale wakes: the same seq again (already RUNNING), an old seq, a timer.
    ExecutorService pool = Executors.newFixedThreadPool(4);
    for (int i = 0; i < 8; i++) {
      pool.execute(() -> plane.fireWake("w3", 1, "SIGNAL"));
      pool.execute(() -> plane.fireWake("w3", 0, "TIMER"));
    }
    pool.shutdown();
    assertThat(pool.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
    assertThat(calls.stream().filter(c -> c.startsWith("wake w3")).toList()).containsExactly("wake w3 1 SIGNAL payload");
    assertThat(plane.status("w3").state()).isEqualTo(WorkflowState.RUNNING);
    assertThat(plane.status("w3").pendingSignals()).isZero();
    assertThat(slots.get()).as("every slot taken by a refused wake was given back").isEqualTo(100 - 2);
  }

  @Test
  void signalsSentBeforeTheWaitAreClaimedInOrderByName() {
    submit("w4");
    await().atMost(Duration.ofSeconds(10)).until(() -> calls.contains("start w4"));
    plane.signal("w4", "step", "one".getBytes(StandardCharsets.UTF_8));
    plane.signal("w4", "other", "x".getBytes(StandardCharsets.UTF_8));
    plane.signal("w4", "step", "two".getBytes(StandardCharsets.UTF_8));

    Optional<Wakeup> first = plane.dueNow("w4", 0, "SIGNAL", Optional.empty(), Optional.of("step"));
    Optional<Wakeup> second = plane.dueNow("w4", 0, "SIGNAL", Optional.empty(), Optional.of("step"));
    Optional<Wakeup> none = plane.dueNow("w4", 0, "SIGNAL", Optional.empty(), Optional.of("step"));
    assertThat(first.orElseThrow().signal().orElseThrow().text()).isEqualTo("one");
    assertThat(second.orElseThrow().signal().orElseThrow().text()).isEqualTo("two");
    assertThat(none).isEmpty();
    assertThat(plane.status("w4").pendingSignals()).isEqualTo(1);
  }

  @Test
  void aTimerFiresAtItsInstantAndAnOperatorCanWakeItEarly() {
    submit("w5");
    submit("w6");
    await().atMost(Duration.ofSeconds(10)).until(() -> calls.contains("start w5") && calls.contains("start w6"));
    plane.waiting("w5", 1, "TIMER", Optional.of(Instant.now().plusMillis(300)), Optional.empty(), false, Map.of());
    plane.waiting("w6", 1, "TIMER", Optional.of(Instant.now().plus(Duration.ofHours(1))), Optional.empty(), false, Map.of());
    assertThat(plane.list(Optional.empty(), Optional.of("timer"), 10)).hasSize(2);

    plane.wake("w6");
    await().atMost(Duration.ofSeconds(10)).until(() -> calls.contains("wake w5 1 TIMER") && calls.contains("wake w6 1 OPERATOR"));
    assertThatThrownBy(() -> plane.wake("w6")).isInstanceOf(ConflictException.class);
    List<String> types = plane.history("w5").stream().map(HistoryEvent::type).toList();
    assertThat(types).containsSubsequence("SUBMITTED", "STARTED", "SUSPENDED", "WAKING");
  }

  @Test
  void cancelKillsAndNothingWakesACancelledWorkflow() {
    submit("w7");
    suspendOnSignal("w7", "go");
    plane.cancel("w7");
    assertThatThrownBy(() -> plane.signal("w7", "go", new byte[0])).isInstanceOf(ConflictException.class);
    assertThat(plane.status("w7").state()).isEqualTo(WorkflowState.CANCELLED);
    assertThat(calls).contains("kill w7").noneMatch(c -> c.startsWith("wake w7"));
    assertThatThrownBy(() -> plane.cancel("w7")).isInstanceOf(ConflictException.class);
  }

  @Test
  void aSavepointMovesTheSeqSoARestartedPlaneResumesFromItAsACheckpoint() {
    submit("w8");
    await().atMost(Duration.ofSeconds(10)).until(() -> calls.contains("start w8"));
    plane.event("w8", "CHECKPOINTED", 1, Map.of("rawBytes", 100, "packedBytes", 20));
    plane.event("w8", "CHECKPOINTED", 1, Map.of()); // a duplicate changes nothing
    assertThat(plane.status("w8").seq()).isEqualTo(1);
    assertThat(plane.status("w8").packedBytes()).isEqualTo(20L);

    plane.close(); // as if the server died while the workflow ran after its savepoint
    calls.clear();
    plane = new JdbcControlPlane(ControlPlaneConfig.embedded(dir, dir.resolve("logs")), "test-" + System.nanoTime(), false);
    plane.start(gateway);
    await().atMost(Duration.ofSeconds(10)).until(() -> calls.contains("wake w8 1 CHECKPOINT"));
  }

  @Test
  void theLedgerListsFinishedWorkflowsHoldingImagesOldestFirst() {
    submit("f1");
    submit("f2");
    submit("live");
    await().atMost(Duration.ofSeconds(10)).until(() -> calls.containsAll(List.of("start f1", "start f2", "start live")));
    plane.waiting("f1", 1, "TIMER", Optional.of(Instant.now().plus(Duration.ofHours(1))), Optional.empty(), false, Map.of());
    plane.cancel("f1");
    plane.exited("f2", 0, "");
    List<ImageLedger.Finished> finished = plane.finishedHoldingImages(10);
    assertThat(finished).extracting(ImageLedger.Finished::workflowId).containsExactly("f1", "f2");
    assertThat(finished.get(0).state()).isEqualTo(WorkflowState.CANCELLED);
    assertThat(finished.get(0).seq()).isEqualTo(1);
    assertThat(finished.get(0).kept()).isEqualTo(ImageLedger.ImagesKept.ALL);

    plane.imagesKept("f1", ImageLedger.ImagesKept.LAST);
    plane.imagesKept("f2", ImageLedger.ImagesKept.NONE);
    assertThat(plane.finishedHoldingImages(10)).extracting(ImageLedger.Finished::workflowId, ImageLedger.Finished::kept)
        .containsExactly(org.assertj.core.groups.Tuple.tuple("f1", ImageLedger.ImagesKept.LAST));
  }
}
