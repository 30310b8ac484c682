package dev.torpor.launcher.it;

import dev.torpor.SignalName;
import dev.torpor.WorkflowId;
import dev.torpor.scheduler.Wakeup;
import static dev.torpor.launcher.internal.WorkflowEvent.Type.CHECKPOINTED;
import static dev.torpor.launcher.internal.WorkflowEvent.Type.CHECKPOINT_FAILED;
import static dev.torpor.launcher.internal.WorkflowEvent.Type.EXITED;
import static dev.torpor.launcher.internal.WorkflowEvent.Type.RESUMED;
import static dev.torpor.launcher.internal.WorkflowEvent.Type.STARTED;
import static dev.torpor.launcher.internal.WorkflowEvent.Type.SUSPENDED;
import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.torpor.WakeReason;
import dev.torpor.launcher.internal.WorkflowEvent;
import dev.torpor.internal.SupervisedRuntime;
import dev.torpor.launcher.it.workflows.Approval;
import dev.torpor.launcher.it.workflows.Churn;
import dev.torpor.launcher.it.workflows.ExitAfterRestore;
import dev.torpor.launcher.it.workflows.FiveWaits;
import dev.torpor.launcher.it.workflows.HeapCounter;
import dev.torpor.launcher.it.workflows.KeepAlive;
import dev.torpor.launcher.it.workflows.Resources;
import dev.torpor.launcher.it.workflows.ThrowAfterRestore;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Real workflow JVMs, really dumped by CRIU into a real store and restored from it. */
class SnapshotIT {
  private WorkerHarness h;

  @BeforeEach
  void startWorker() throws Exception {
    h = new WorkerHarness();
  }

  @AfterEach
  void stopWorker() throws Exception {
    h.close();
  }

  @Test
  void heapThreadsAndClockSurviveAFreeze() throws Exception {
    String id = h.launch(HeapCounter.class);
    WorkflowEvent suspended = h.awaitEvent(id, SUSPENDED, 1);

    assertThat(h.anyProcessIn(id)).as("a process of the suspended workflow").isFalse();
    assertThat(h.store.seqs(id)).containsExactly(1L);
    assertThat(h.store.manifest(new dev.torpor.storage.ImageKey(id, 1)).orElseThrow().packedBytes())
        .isEqualTo(suspended.details().get("packedBytes"));
    assertThat(h.awaitExit(id)).isZero();

    List<String> log = h.log(id);
    assertThat(log).hasSize(3);
    Map<String, Long> before = fields(log.get(0), "before");
    Map<String, Long> after = fields(log.get(1), "after");
    assertThat(log.get(2)).startsWith("still counting");
    assertThat(after.get("size")).isEqualTo(100_000L);
    assertThat(after.get("checksum")).isEqualTo(before.get("checksum"));
    assertThat(after.get("count")).as("the counter continues from where it was").isGreaterThanOrEqualTo(before.get("count"))
        // at one tick per 5 ms, a counter that ran through the 2 s wait would be ~400 ahead
        .isLessThan(before.get("count") + 150);
    assertThat(after.get("nano")).as("nanoTime never goes backwards").isGreaterThan(before.get("nano"));
    assertThat(after.get("nano") - before.get("nano")).as("the frozen time is invisible to nanoTime")
        .isLessThan(1_500_000_000L);
    assertThat(after.get("wall") - before.get("wall")).isGreaterThanOrEqualTo(2_000L);
  }

  @Test
  void signalSentWhileFrozenIsReturnedAndTimeoutReturnsEmpty() throws Exception {
    String id = h.launch(Approval.class);
    WorkflowEvent suspended = h.awaitEvent(id, SUSPENDED, 1);
    assertThat(suspended.details()).containsEntry("wait", "SIGNAL").containsEntry("signal", "approve");
    assertThat(h.anyProcessIn(id)).isFalse();

    h.supervisor.signal(WorkflowId.of(id), SignalName.of("approve"), "yes, ship it".getBytes(StandardCharsets.UTF_8));

    WorkflowEvent second = h.awaitEvent(id, SUSPENDED, 2);
    assertThat(second.details()).containsEntry("signal", "x").containsKey("wakeAt");
    assertThat(h.awaitExit(id)).isZero();
    List<String> log = h.log(id);
    assertThat(log).hasSize(3);
    assertThat(log.get(0)).isEqualTo("waiting for approve");
    assertThat(log.get(1)).isEqualTo("approved: yes, ship it name=approve");
    assertThat(log.get(2)).startsWith("x: timeout wallMillis=");
    assertThat(Long.parseLong(log.get(2).replaceAll(".*wallMillis=", ""))).isGreaterThanOrEqualTo(1000L);
  }

  @Test
  void signalSentBeforeTheWaitIsDeliveredWithoutAFreeze() throws Exception {
    String id = WorkerHarness.newId(Approval.class);
    h.supervisor.signal(WorkflowId.of(id), SignalName.of("approve"), "early".getBytes(StandardCharsets.UTF_8));
    h.worker.start(new dev.torpor.launcher.internal.WorkflowSpec(id, List.of(WorkerHarness.workflowClasses()),
        Approval.class.getName(), List.of(), List.of(), dev.torpor.launcher.internal.WorkflowSpec.currentJavaHome()));

    assertThat(h.awaitExit(id)).isZero();
    assertThat(h.log(id)).contains("approved: early name=approve");
    // Only the "x" wait was frozen: the buffered signal was handed over in memory.
    assertThat(h.events(id, SUSPENDED)).hasSize(1).first()
        .satisfies(e -> assertThat(e.details()).containsEntry("signal", "x"));
  }

  @Test
  void fiveWaitsMakeFiveImagesAndCarryTheStateThrough() throws Exception {
    String id = h.launch(FiveWaits.class);
    assertThat(h.awaitExit(id)).isZero();

    assertThat(h.events(id, SUSPENDED).stream().map(WorkflowEvent::seq)).containsExactly(1L, 2L, 3L, 4L, 5L);
    assertThat(h.events(id, RESUMED).stream().map(WorkflowEvent::seq)).containsExactly(1L, 2L, 3L, 4L, 5L);
    assertThat(h.store.seqs(id)).containsExactly(1L, 2L, 3L, 4L, 5L);
    List<String> log = h.log(id);
    assertThat(log).hasSize(5);
    String identity = log.get(0).replaceAll(".*identity=(-?\\d+).*", "$1");
    for (int i = 1; i <= 5; i++) {
      StringBuilder seen = new StringBuilder("[");
      for (int j = 1; j <= i; j++) {
        seen.append(j == 1 ? "" : ", ").append(j);
      }
      assertThat(log.get(i - 1)).isEqualTo("wait " + i + " done identity=" + identity + " seen=" + seen + "]");
    }
    // A stale wake for an old image is refused: one image never runs twice.
    assertThat(h.worker.wake(id, 1, Wakeup.of(WakeReason.TIMER))).isFalse();
  }

  @Test
  void keepAliveHttpClientWorksAfterRestore() throws Exception {
    AtomicInteger requests = new AtomicInteger();
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", ex -> {
      byte[] body = ("hit " + requests.incrementAndGet()).getBytes(StandardCharsets.UTF_8);
      ex.sendResponseHeaders(200, body.length);
      ex.getResponseBody().write(body);
      ex.close();
    });
    server.start();
    try {
      String id = h.launch(KeepAlive.class, "http://127.0.0.1:" + server.getAddress().getPort() + "/");
      assertThat(h.awaitExit(id)).as(h.logText(id)).isZero();
      assertThat(h.events(id, SUSPENDED)).hasSize(1);
      int port = server.getAddress().getPort();
      // The keep-alive connection was closed by the checkpoint, and the log says so; the client reconnects.
      assertThat(h.log(id)).hasSize(3).startsWith("first 200 hit 1").endsWith("second 200 hit 2")
          .element(1).asString().matches("torpor: 1 TCP connection\\(s\\) open at the checkpoint were closed by it"
              + " \\(127\\.0\\.0\\.1:\\d+ -> 127\\.0\\.0\\.1:" + port + "\\): reopen connections after a wait.*");
      assertThat(requests).hasValue(2);
    } finally {
      server.stop(0);
    }
  }

  @Test
  void resourcesSeeHooksInCracOrderOncePerCheckpoint() throws Exception {
    String id = h.launch(Resources.class);
    assertThat(h.awaitExit(id)).isZero();

    long pid = ((Number) h.events(id, STARTED).get(0).details().get("pid")).longValue();
    assertThat(h.events(id, CHECKPOINTED)).hasSize(1).first().satisfies(e -> assertThat(e.seq()).isEqualTo(1));
    assertThat(h.events(id, SUSPENDED)).hasSize(1).first().satisfies(e -> assertThat(e.seq()).isEqualTo(2));
    assertThat(h.log(id)).containsExactly(
        "checkpoint pid=1",
        "before C", "before B", "before A", "after A", "after B", "after C",
        "wait",
        "before C", "before B", "before A", "after A", "after B", "after C",
        "done");
    assertThat(pid).isPositive();
  }

  @Test
  void exitCodesAreReportedAfterRestore() throws Exception {
    String exits = h.launch(ExitAfterRestore.class);
    String throwsId = h.launch(ThrowAfterRestore.class);
    String normal = h.launch(FiveWaits.class);

    assertThat(h.awaitExit(exits)).isEqualTo(3);
    assertThat(h.events(exits, RESUMED)).hasSize(1);
    assertThat(h.log(exits)).containsExactly("restored, exiting with 3");

    int thrown = h.awaitExit(throwsId);
    assertThat(thrown).isNotZero();
    assertThat(h.events(throwsId, RESUMED)).hasSize(1);
    String log = h.logText(throwsId);
    assertThat(log).contains("restored, throwing")
        .contains("java.lang.IllegalStateException: boom after restore")
        .contains("at " + ThrowAfterRestore.class.getName() + ".main(");
    assertThat(h.awaitExit(normal)).isZero();
    assertThat(h.events(exits, EXITED).get(0).details()).containsEntry("exitCode", 3);
    assertThat(h.events(throwsId, CHECKPOINT_FAILED)).isEmpty();
  }

  @Test
  void garbageBuiltBeforeAWaitIsCollectedNotDumpedAndAWorkflowsOwnCollectorWins() throws Exception {
    String lean = h.launch(Churn.class, "96");
    String kept = start(Churn.class, List.of("96"), List.of("-D" + SupervisedRuntime.GC_PROPERTY + "=false"));
    String g1 = start(Churn.class, List.of("96"), List.of("-XX:+UseG1GC"));

    long leanRaw = rawBytes(h.awaitEvent(lean, SUSPENDED, 1));
    long keptRaw = rawBytes(h.awaitEvent(kept, SUSPENDED, 1));
    for (String id : List.of(lean, kept, g1)) {
      assertThat(h.awaitExit(id)).as("exit of %s", id).isZero();
      List<String> log = h.log(id);
      assertThat(log).hasSize(3);
      assertThat(log.get(2)).isEqualTo(log.get(1).replace("before", "after"));
    }
    // Measured: 30 MB with a 64 MiB build; 917 MB with the JVM's own defaults (G1, a heap of 1/64 of memory).
    assertThat(leanRaw).as("image of a JVM that built 96 MiB and dropped it, with the worker's defaults")
        .isLessThan(56L << 20);
    assertThat(keptRaw).as("the same without the collection before the checkpoint").isGreaterThan(2 * leanRaw);
    System.out.printf("SnapshotIT: raw image after building 96 MiB: %.1f MB, %.1f MB without the collection%n",
        leanRaw / 1e6, keptRaw / 1e6);
    assertThat(h.log(lean).get(0)).contains(" -XX:+UseSerialGC -Xms8m -XX:-ShrinkHeapInSteps");
    assertThat(h.log(g1).get(0)).as("a workflow's collector replaces the default, which would clash with it")
        .endsWith(" -Xms8m -XX:-ShrinkHeapInSteps -XX:+UseG1GC").doesNotContain("UseSerialGC");
  }

  private String start(Class<?> main, List<String> args, List<String> javaOptions) throws Exception {
    String id = WorkerHarness.newId(main);
    h.worker.start(new dev.torpor.launcher.internal.WorkflowSpec(id, List.of(WorkerHarness.workflowClasses()),
        main.getName(), args, javaOptions, dev.torpor.launcher.internal.WorkflowSpec.currentJavaHome()));
    return id;
  }

  private static long rawBytes(WorkflowEvent suspended) {
    return ((Number) suspended.details().get("rawBytes")).longValue();
  }

  @Test
  void launcherComplaintsHaveAPlaceNoWorkflowLogCanShare() throws Exception {
    String id = WorkerHarness.newId(ExitAfterRestore.class);
    // Once <id>.launcher.log beside the logs: the log of a workflow named <id>.launcher, which a
    // cluster worker's restart then kept as if it were not a workflow's output.
    assertThat(h.worker.launcherLog(id)).isNotEqualTo(h.worker.logFile(id + ".launcher"))
        .hasParentRaw(h.data.resolve("logs/launcher"));
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(h.data.resolve("logs/launcher"))))
        .isEqualTo("rwx------");
  }

  private static Map<String, Long> fields(String line, String prefix) {
    assertThat(line).startsWith(prefix + " ");
    Map<String, Long> m = new HashMap<>();
    Matcher matcher = Pattern.compile("(\\w+)=(-?\\d+)").matcher(line);
    while (matcher.find()) {
      m.put(matcher.group(1), Long.parseLong(matcher.group(2)));
    }
    return m;
  }
}
