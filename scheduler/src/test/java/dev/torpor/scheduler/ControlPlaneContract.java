package dev.torpor.scheduler;

import dev.torpor.PendingWait;
import dev.torpor.SignalName;
import dev.torpor.WaitKind;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.torpor.WakeReason;
import dev.torpor.WorkflowId;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarOutputStream;
import java.util.zip.ZipEntry;
import org.assertj.core.groups.Tuple;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What every implementation of {@link ControlPlane} and {@link WorkerCallbacks} (and the
 * {@link ImageLedger} beside them) must do, written against those interfaces only: idempotent
 * submits, validated signals delivered exactly once and in order per name, fencing by seq, and
 * what survives a restart. Subclasses supply a {@link Fixture} on a fresh database per test; the
 * worker side is a {@link RecordingGateway}.
 */
public abstract class ControlPlaneContract<P extends ControlPlane & WorkerCallbacks & ImageLedger> {
  /** Long enough for any dispatch or wake that is due to have reached the gateway. */
  private static final Duration SETTLE = Duration.ofMillis(1_500);

  /**
   * One implementation on one database, for one test.
   *
   * @param <P> the plane
   */
  public interface Fixture<P extends ControlPlane & WorkerCallbacks & ImageLedger> {
    /**
     * Opens a plane on this fixture's database and starts it with {@code gateway}: an empty
     * database the first time; after the previous plane was closed, what it left (a restart).
     * A failed wake is retried after {@link #RETRY_DELAY}.
     */
    P open(WorkerGateway gateway) throws Exception;

    /** Fires a wake job as the plane's timer store would: a duplicate or stale one, for the fencing tests. */
    void fireWake(P plane, String workflowId, long seq, String reason);

    /** What the worker does with a workflow's output: it appears in {@link ControlPlane#logs}. */
    void printed(P plane, String workflowId, byte[] bytes) throws IOException;

    /** Stops {@code plane}, leaving its database as it is: a restart opens the next one on it. */
    void close(P plane) throws Exception;

    /** Stops {@code plane} at the end of a test: nothing opens its database again. */
    default void discard(P plane) throws Exception {
      close(plane);
    }
  }

  /** How long after a failed wake the fixtures' planes try again. */
  public static final Duration RETRY_DELAY = Duration.ofMillis(300);

  @TempDir protected Path dir;
  protected P plane;
  protected final RecordingGateway gateway = new RecordingGateway(100);
  protected String app;
  private Fixture<P> fixture;

  /** A fixture on a fresh, empty database; {@code dir} is this test's own directory. */
  protected abstract Fixture<P> fixture(Path dir) throws Exception;

  @BeforeEach
  void open() throws Exception {
    fixture = fixture(dir);
    plane = fixture.open(gateway);
    app = plane.storeApp(new ByteArrayInputStream(jar()));
  }

  @AfterEach
  void close() throws Exception {
    fixture.discard(plane);
  }

  /** The server dies and comes back on the same database. */
  protected void restart() throws Exception {
    fixture.close(plane);
    gateway.calls.clear();
    plane = fixture.open(gateway);
  }

  static byte[] jar() throws IOException {
    ByteArrayOutputStream jar = new ByteArrayOutputStream();
    try (JarOutputStream out = new JarOutputStream(jar)) {
      out.putNextEntry(new ZipEntry("com/acme/Main.class"));
      out.write(new byte[] {1, 2, 3});
    }
    return jar.toByteArray();
  }

  protected SubmitResult submit(String id, String... args) {
    return plane.submit(new SubmitRequest(WorkflowId.of(id), app, "com.acme.Main", List.of(args), List.of()));
  }

  /** Submits a workflow and waits until the gateway started it. */
  protected void started(String id) {
    submit(id);
    gateway.awaitCall("start " + id);
  }

  /** Brings a started workflow to SUSPENDED on image 1, waiting for signal {@code name}. */
  protected void suspendOnSignal(String id, String name) {
    gateway.awaitCall("start " + id);
    plane.waiting(id, 1, WaitKind.SIGNAL, Optional.empty(), Optional.of(name), false, Map.of("rawBytes", 10, "packedBytes", 5));
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private List<String> types(String id) {
    return plane.history(WorkflowId.of(id)).stream().map(HistoryEvent::type).toList();
  }

  /** Lets due work reach the gateway, for the checks that something did NOT happen. */
  private static void settle() throws InterruptedException {
    Thread.sleep(SETTLE.toMillis());
  }

  // ----- storeApp, submit -----

  @Test
  void storeAppIsContentAddressedAndIdempotent() throws Exception {
    String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(jar()));

    assertThat(app).isEqualTo(sha);
    assertThat(plane.storeApp(new ByteArrayInputStream(jar()))).isEqualTo(sha);
  }

  @Test
  void submitIsIdempotentForTheSameRequestAndAConflictForAnother() {
    assertThat(submit("w1", "a").created()).isTrue();
    assertThat(submit("w1", "a").created()).isFalse();
    assertThatThrownBy(() -> submit("w1", "b")).isInstanceOf(ConflictException.class).hasMessageContaining("w1");
    gateway.awaitCall("start w1");
    assertThat(gateway.count("start w1")).isEqualTo(1);
  }

  @Test
  void concurrentSubmitsOfTheSameRequestCreateItOnce() throws Exception {
    int threads = 8;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      for (int round = 0; round < 5; round++) {
        String id = "same-" + round;
        java.util.concurrent.CyclicBarrier together = new java.util.concurrent.CyclicBarrier(threads);
        List<Future<SubmitResult>> results = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
          results.add(pool.submit(() -> {
            together.await(10, TimeUnit.SECONDS);
            return submit(id, "a");
          }));
        }
        List<Boolean> created = new ArrayList<>();
        for (Future<SubmitResult> r : results) {
          created.add(r.get(30, TimeUnit.SECONDS).created());
        }
        assertThat(created).as("idempotent under concurrency: one created, the others told it exists")
            .containsOnlyOnce(true).hasSize(threads);
      }
    } finally {
      pool.shutdownNow();
    }
    gateway.awaitCall("start same-4");
    settle();
    for (int round = 0; round < 5; round++) {
      assertThat(gateway.count("start same-" + round)).isEqualTo(1);
    }
  }

  @Test
  void submitWithoutAnIdGetsANewValidOne() {
    SubmitResult a = plane.submit(new SubmitRequest(null, app, "com.acme.Main", List.of(), List.of()));
    SubmitResult b = plane.submit(new SubmitRequest(null, app, "com.acme.Main", List.of(), List.of()));

    assertThat(a.created()).isTrue();
    assertThat(b.created()).isTrue();
    assertThat(a.id()).isNotEqualTo(b.id()).matches("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
    assertThat(plane.status(WorkflowId.of(a.id())).state()).isIn(WorkflowState.PENDING, WorkflowState.RUNNING);
  }

  @Test
  void theEnvironmentASubmitterSetsReachesTheWorkerAndIsPartOfTheRequest() {
    Map<String, String> env = Map.of("GREETING", "hello", "PLAN", "annual");
    assertThat(plane.submit(new SubmitRequest(WorkflowId.of("e1"), app, "com.acme.Main", List.of(), List.of(), env)).created()).isTrue();
    assertThat(plane.submit(new SubmitRequest(WorkflowId.of("e1"), app, "com.acme.Main", List.of(), List.of(), env)).created()).isFalse();
    assertThatThrownBy(() -> plane.submit(new SubmitRequest(WorkflowId.of("e1"), app, "com.acme.Main", List.of(), List.of(),
        Map.of("GREETING", "bye")))).isInstanceOf(ConflictException.class);
    gateway.awaitCall("start e1");
    assertThat(gateway.envs.get("e1")).isEqualTo(env);
    submit("e2");
    gateway.awaitCall("start e2");
    assertThat(gateway.envs.get("e2")).isEmpty();
  }

  @Test
  void badInputIsRejectedAndChangesNothing() {
    // A bad workflow id or signal name cannot reach the plane: WorkflowIdTest and SignalNameTest.
    assertThatThrownBy(() -> plane.submit(new SubmitRequest(WorkflowId.of("w"), "0".repeat(64), "com.acme.Main", List.of(), List.of())))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("upload the jar first");
    assertThatThrownBy(() -> plane.submit(new SubmitRequest(WorkflowId.of("w"), app, "not a class", List.of(), List.of())))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> plane.storeApp(new ByteArrayInputStream(utf8("not a jar"))))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a jar");
    assertThat(plane.list(Optional.empty(), Optional.empty(), 100)).isEmpty();
  }

  @Test
  void aWorkflowThatCannotStartFails() {
    gateway.failStarts();
    submit("nostart");

    await().atMost(Duration.ofSeconds(10)).until(() -> plane.status(WorkflowId.of("nostart")).state() == WorkflowState.FAILED);
    assertThat(plane.status(WorkflowId.of("nostart")).error()).contains("could not start").contains("no JVM for you");
    assertThat(types("nostart")).containsSubsequence("SUBMITTED", "STARTED", "FAILED");
    assertThat(gateway.slots.get()).as("the slot of the failed start was given back").isEqualTo(100);
  }

  // ----- signal -----

  @Test
  void signalsAreValidatedAndRejectedForUnknownOrFinishedWorkflows() {
    submit("w2");
    assertThatThrownBy(() -> plane.signal(WorkflowId.of("w2"), SignalName.of("s"), new byte[(1 << 20) + 1]))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1 MiB");
    assertThatThrownBy(() -> plane.signal(WorkflowId.of("nope"), SignalName.of("s"), new byte[0])).isInstanceOf(NotFoundException.class);
    gateway.awaitCall("start w2");
    plane.exited("w2", 0, "");
    assertThat(plane.status(WorkflowId.of("w2")).state()).isEqualTo(WorkflowState.COMPLETED);
    assertThatThrownBy(() -> plane.signal(WorkflowId.of("w2"), SignalName.of("s"), new byte[0])).isInstanceOf(ConflictException.class)
        .hasMessageContaining("finished");
  }

  @Test
  void aRejectedSignalChangesNothingAndOneOfExactlyTheLimitIsKept() {
    started("v");
    List<String> before = types("v");
    assertThatThrownBy(() -> plane.signal(WorkflowId.of("v"), SignalName.of("big"), new byte[ControlPlane.MAX_SIGNAL_PAYLOAD + 1]))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(types("v")).isEqualTo(before);
    assertThat(plane.status(WorkflowId.of("v")).pendingSignals()).isZero();

    plane.signal(WorkflowId.of("v"), SignalName.of("big"), new byte[ControlPlane.MAX_SIGNAL_PAYLOAD]);
    plane.signal(WorkflowId.of("v"), SignalName.of("new order/é"), utf8("x"));
    assertThat(plane.status(WorkflowId.of("v")).pendingSignals()).isEqualTo(2);
    Optional<Wakeup> big = plane.dueNow("v", 0, WaitKind.SIGNAL, Optional.empty(), Optional.of("big"));
    assertThat(big.orElseThrow().signal().orElseThrow().payload()).hasSize(ControlPlane.MAX_SIGNAL_PAYLOAD);
    assertThat(plane.dueNow("v", 0, WaitKind.SIGNAL, Optional.empty(), Optional.of("new order/é")).orElseThrow()
        .signal().orElseThrow().text()).isEqualTo("x");
  }

  @Test
  void aSignalWakesTheWaitingWorkflowOnceEvenWithDuplicateWakes() throws Exception {
    submit("w3");
    suspendOnSignal("w3", "go");
    plane.signal(WorkflowId.of("w3"), SignalName.of("go"), utf8("payload"));
    gateway.awaitCall("wake w3 1 SIGNAL payload");

    // Duplicate and stale wakes: the same seq again (already RUNNING), an old seq, a timer.
    ExecutorService pool = Executors.newFixedThreadPool(4);
    for (int i = 0; i < 8; i++) {
      pool.execute(() -> fixture.fireWake(plane, "w3", 1, "SIGNAL"));
      pool.execute(() -> fixture.fireWake(plane, "w3", 0, "TIMER"));
    }
    pool.shutdown();
    assertThat(pool.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
    assertThat(gateway.calls("wake", "w3")).containsExactly("wake w3 1 SIGNAL payload");
    assertThat(plane.status(WorkflowId.of("w3")).state()).isEqualTo(WorkflowState.RUNNING);
    assertThat(plane.status(WorkflowId.of("w3")).pendingSignals()).isZero();
    assertThat(gateway.slots.get()).as("every slot taken by a refused wake was given back").isEqualTo(100 - 2);
  }

  @Test
  void signalsSentBeforeTheWaitAreClaimedInOrderByName() {
    started("w4");
    plane.signal(WorkflowId.of("w4"), SignalName.of("step"), utf8("one"));
    plane.signal(WorkflowId.of("w4"), SignalName.of("other"), utf8("x"));
    plane.signal(WorkflowId.of("w4"), SignalName.of("step"), utf8("two"));

    Optional<Wakeup> first = plane.dueNow("w4", 0, WaitKind.SIGNAL, Optional.empty(), Optional.of("step"));
    Optional<Wakeup> second = plane.dueNow("w4", 0, WaitKind.SIGNAL, Optional.empty(), Optional.of("step"));
    Optional<Wakeup> none = plane.dueNow("w4", 0, WaitKind.SIGNAL, Optional.empty(), Optional.of("step"));
    assertThat(first.orElseThrow().signal().orElseThrow().text()).isEqualTo("one");
    assertThat(second.orElseThrow().signal().orElseThrow().text()).isEqualTo("two");
    assertThat(none).isEmpty();
    assertThat(plane.status(WorkflowId.of("w4")).pendingSignals()).isEqualTo(1);
  }

  @Test
  void signalsQueuedWhileSuspendedAreDeliveredOneWakeEachInOrder() {
    submit("q");
    suspendOnSignal("q", "step");
    plane.signal(WorkflowId.of("q"), SignalName.of("step"), utf8("one"));
    plane.signal(WorkflowId.of("q"), SignalName.of("step"), utf8("two"));
    plane.signal(WorkflowId.of("q"), SignalName.of("step"), utf8("three"));
    gateway.awaitCall("wake q 1 SIGNAL one");
    assertThat(plane.status(WorkflowId.of("q")).pendingSignals()).isEqualTo(2);

    // It waits again for the next one: already in the mailbox, so it wakes at once.
    plane.waiting("q", 2, WaitKind.SIGNAL, Optional.empty(), Optional.of("step"), false, Map.of());
    gateway.awaitCall("wake q 2 SIGNAL two");
    plane.waiting("q", 3, WaitKind.SIGNAL, Optional.empty(), Optional.of("step"), false, Map.of());
    gateway.awaitCall("wake q 3 SIGNAL three");
    assertThat(gateway.calls("wake", "q")).containsExactly("wake q 1 SIGNAL one", "wake q 2 SIGNAL two",
        "wake q 3 SIGNAL three");
    assertThat(plane.status(WorkflowId.of("q")).pendingSignals()).isZero();
  }

  private static PendingWait onSignals(long id, String... names) {
    return new PendingWait(id, WaitKind.SIGNAL, List.of(names), Optional.empty(), "\"t" + id + "\"\n\tat Main.run");
  }

  private static PendingWait onTimer(long id, Duration in) {
    return new PendingWait(id, WaitKind.TIMER, List.of(), Optional.of(Instant.now().plus(in)), "\"t" + id + "\"");
  }

  @Test
  void aWaitSetIsListedWholeAndWokenByASignalAnyOfItsWaitsAccepts() throws Exception {
    started("set");
    plane.waiting("set", 1, List.of(onSignals(1, "a"), onSignals(2, "b", "c"), onTimer(3, Duration.ofHours(1))), false,
        Map.of());
    WorkflowView v = plane.status(WorkflowId.of("set"));
    assertThat(v.waits()).extracting(WorkflowView.Wait::id, WorkflowView.Wait::kind, WorkflowView.Wait::signals)
        .containsExactly(Tuple.tuple(1L, "SIGNAL", List.of("a")), Tuple.tuple(2L, "SIGNAL", List.of("b", "c")),
            Tuple.tuple(3L, "TIMER", List.of()));
    assertThat(v.waits().get(1).stack()).isEqualTo("\"t2\"\n\tat Main.run");
    WorkflowView listed = plane.list(Optional.of(WorkflowState.SUSPENDED), Optional.empty(), 10).get(0);
    assertThat(listed.waits()).as("a list names each wait, without its stack").extracting(WorkflowView.Wait::signals)
        .containsExactly(List.of("a"), List.of("b", "c"), List.of());
    assertThat(listed.waits()).extracting(WorkflowView.Wait::stack).containsOnly("");
    assertThat(listed.stack()).isNull();
    assertThat(v.waitKind()).isEqualTo("SIGNAL");
    assertThat(v.wakeAt()).isEqualTo(v.waits().get(2).wakeAt());

    plane.signal(WorkflowId.of("set"), SignalName.of("nobody"), utf8("kept"));
    settle();
    assertThat(gateway.calls("wake", "set")).as("a name no wait accepts wakes nothing").isEmpty();
    plane.signal(WorkflowId.of("set"), SignalName.of("c"), utf8("see"));
    gateway.awaitCall("wake set 1 SIGNAL see");
    assertThat(plane.status(WorkflowId.of("set")).pendingSignals()).isEqualTo(1);
    assertThat(plane.status(WorkflowId.of("set")).waits()).as("listed only while suspended").isEmpty();
  }

  @Test
  void oneWakeClaimsForEachWaitInOrderTheOldestSignalItAcceptsAndAcrossARestartDeliversThemAgain() throws Exception {
    started("many");
    for (String s : List.of("a:1", "b:2", "a:3", "a:4")) {
      plane.signal(WorkflowId.of("many"), SignalName.of(s.split(":")[0]), utf8(s));
    }
    // Three waits: two on "a", one on either "b" or "a"; one "a" is left for later.
    plane.waiting("many", 1, List.of(onSignals(1, "a"), onSignals(2, "b", "a"), onSignals(3, "a")), false, Map.of());
    gateway.awaitCall("wake many 1 SIGNAL a:1,b:2,a:3");
    assertThat(plane.status(WorkflowId.of("many")).pendingSignals()).isEqualTo(1);
    // The JVM runs on and waits in memory when its worker's server dies: the restart wakes image 1
    // with what its wake gave it, every signal of it.
    plane.waiting("many", 1, List.of(onSignals(3, "zzz")), true, Map.of());

    restart();

    gateway.awaitCall("wake many 1 SIGNAL a:1,b:2,a:3");
    assertThat(plane.status(WorkflowId.of("many")).pendingSignals()).isEqualTo(1);
    Optional<Wakeup> rest = plane.dueNow("many", 1, List.of(onSignals(4, "a")));
    assertThat(rest.orElseThrow().signals()).extracting(dev.torpor.Signal::text).containsExactly("a:4");
  }

  @Test
  void anOperatorWakesASetThatHoldsATimerAndDueNowSeesAnyDueWait() {
    started("op");
    Optional<Wakeup> due = plane.dueNow("op", 0, List.of(onSignals(1, "x"), onTimer(2, Duration.ofMillis(-5))));
    assertThat(due.orElseThrow().reason()).isEqualTo(WakeReason.TIMER);
    plane.waiting("op", 1, List.of(onSignals(1, "x"), onTimer(2, Duration.ofHours(1))), false, Map.of());
    plane.wake(WorkflowId.of("op"));
    gateway.awaitCall("wake op 1 OPERATOR");
  }

  @Test
  void concurrentSignalsAreEachDeliveredExactlyOnce() throws Exception {
    started("c");
    int n = 40;
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<?>> sent = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        String text = Integer.toString(i);
        sent.add(pool.submit(() -> plane.signal(WorkflowId.of("c"), SignalName.of("s"), utf8(text))));
      }
      for (Future<?> f : sent) {
        f.get(30, TimeUnit.SECONDS);
      }
      List<Callable<Optional<Wakeup>>> claims = new ArrayList<>();
      for (int i = 0; i < n + 10; i++) {
        claims.add(() -> plane.dueNow("c", 0, WaitKind.SIGNAL, Optional.empty(), Optional.of("s")));
      }
      List<String> delivered = new ArrayList<>();
      for (Future<Optional<Wakeup>> f : pool.invokeAll(claims)) {
        f.get().ifPresent(w -> delivered.add(w.signal().orElseThrow().text()));
      }
      assertThat(delivered).hasSize(n).doesNotHaveDuplicates();
    } finally {
      pool.shutdownNow();
    }
    assertThat(plane.status(WorkflowId.of("c")).pendingSignals()).isZero();
  }

  @Test
  void aSignalThatRacedTheDumpWakesTheWorkflowAtOnce() {
    started("race");
    assertThat(plane.dueNow("race", 0, WaitKind.SIGNAL, Optional.empty(), Optional.of("go"))).isEmpty();
    plane.signal(WorkflowId.of("race"), SignalName.of("go"), utf8("late")); // arrives while the image is being written
    plane.waiting("race", 1, WaitKind.SIGNAL, Optional.empty(), Optional.of("go"), false, Map.of());

    gateway.awaitCall("wake race 1 SIGNAL late");
  }

  // ----- list, status, history -----

  @Test
  void listIsNewestFirstAndFiltersByStateAndWait() throws Exception {
    for (String id : List.of("l1", "l2", "l3", "l4")) {
      started(id);
      Thread.sleep(5); // distinct creation times
    }
    plane.waiting("l1", 1, WaitKind.TIMER, Optional.of(Instant.now().plus(Duration.ofHours(1))), Optional.empty(), false, Map.of());
    plane.waiting("l2", 1, WaitKind.SIGNAL, Optional.empty(), Optional.of("go"), false, Map.of());
    plane.exited("l3", 0, "");

    assertThat(plane.list(Optional.empty(), Optional.empty(), 10)).extracting(WorkflowView::id)
        .containsExactly("l4", "l3", "l2", "l1");
    assertThat(plane.list(Optional.empty(), Optional.empty(), 2)).extracting(WorkflowView::id).containsExactly("l4", "l3");
    assertThat(plane.list(Optional.of(WorkflowState.SUSPENDED), Optional.empty(), 10)).extracting(WorkflowView::id)
        .containsExactly("l2", "l1");
    assertThat(plane.list(Optional.empty(), Optional.of("timer"), 10)).extracting(WorkflowView::id).containsExactly("l1");
    assertThat(plane.list(Optional.of(WorkflowState.SUSPENDED), Optional.of("SIGNAL"), 10)).extracting(WorkflowView::id)
        .containsExactly("l2");
    assertThat(plane.list(Optional.of(WorkflowState.COMPLETED), Optional.empty(), 10)).extracting(WorkflowView::id)
        .containsExactly("l3");
    assertThat(plane.list(Optional.of(WorkflowState.RUNNING), Optional.of("timer"), 10)).isEmpty();
    assertThatThrownBy(() -> plane.list(Optional.empty(), Optional.of("lock"), 10))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("timer").hasMessageContaining("signal");
  }

  @Test
  void statusShowsTheWaitOnlyWhileSuspended() {
    started("s");
    Instant deadline = Instant.now().plus(Duration.ofHours(1));
    plane.signal(WorkflowId.of("s"), SignalName.of("other"), new byte[0]);
    plane.waiting("s", 1, WaitKind.SIGNAL, Optional.of(deadline), Optional.of("approve"), false,
        Map.of("stack", "at com.acme.Main.main(Main.java:7)", "rawBytes", 1000L, "packedBytes", 300L));

    WorkflowView v = plane.status(WorkflowId.of("s"));
    assertThat(v.state()).isEqualTo(WorkflowState.SUSPENDED);
    assertThat(v.seq()).isEqualTo(1);
    assertThat(v.mainClass()).isEqualTo("com.acme.Main");
    assertThat(v.appSha256()).isEqualTo(app);
    assertThat(v.waitKind()).isEqualTo("SIGNAL");
    assertThat(v.waitSignal()).isEqualTo("approve");
    assertThat(v.wakeAt()).isEqualTo(deadline.truncatedTo(java.time.temporal.ChronoUnit.MILLIS));
    assertThat(v.inMemory()).isFalse();
    assertThat(v.stack()).contains("com.acme.Main.main");
    assertThat(v.imageBytes()).isEqualTo(1000L);
    assertThat(v.packedBytes()).isEqualTo(300L);
    assertThat(v.pendingSignals()).isEqualTo(1);
    assertThat(v.exitCode()).isNull();
    assertThat(v.createdAt()).isBeforeOrEqualTo(v.updatedAt());

    plane.signal(WorkflowId.of("s"), SignalName.of("approve"), new byte[0]);
    gateway.awaitCall("wake s 1 SIGNAL ");
    WorkflowView running = plane.status(WorkflowId.of("s"));
    assertThat(running.state()).isEqualTo(WorkflowState.RUNNING);
    assertThat(running.waitKind()).isNull();
    assertThat(running.waitSignal()).isNull();
    assertThat(running.wakeAt()).isNull();
    assertThat(running.stack()).isNull();
    assertThat(running.pendingSignals()).isEqualTo(1);
  }

  @Test
  void unknownWorkflowsAreNotFoundEverywhere() {
    assertThatThrownBy(() -> plane.status(WorkflowId.of("ghost"))).isInstanceOf(NotFoundException.class).hasMessageContaining("ghost");
    assertThatThrownBy(() -> plane.history(WorkflowId.of("ghost"))).isInstanceOf(NotFoundException.class);
    assertThatThrownBy(() -> plane.logs(WorkflowId.of("ghost"), 0, 10)).isInstanceOf(NotFoundException.class);
    assertThatThrownBy(() -> plane.cancel(WorkflowId.of("ghost"))).isInstanceOf(NotFoundException.class);
    assertThatThrownBy(() -> plane.wake(WorkflowId.of("ghost"))).isInstanceOf(NotFoundException.class);
  }

  @Test
  void historyIsInOrderWithIncreasingNumbers() {
    submit("h");
    suspendOnSignal("h", "go");
    plane.signal(WorkflowId.of("h"), SignalName.of("go"), utf8("yes"));
    gateway.awaitCall("wake h 1 SIGNAL yes");
    plane.exited("h", 0, "");

    List<HistoryEvent> events = plane.history(WorkflowId.of("h"));
    assertThat(events).extracting(HistoryEvent::type)
        .containsSubsequence("SUBMITTED", "STARTED", "SUSPENDED", "SIGNAL_RECEIVED", "WAKING", "COMPLETED");
    assertThat(events).allSatisfy(e -> assertThat(e.workflowId()).isEqualTo("h"));
    assertThat(events).extracting(HistoryEvent::n).isSorted().doesNotHaveDuplicates();
    assertThat(events.get(events.size() - 1).details()).containsEntry("exitCode", 0);
  }

  // ----- cancel, wake -----

  @Test
  void aTimerFiresAtItsInstantAndAnOperatorCanWakeItEarly() {
    submit("w5");
    submit("w6");
    await().atMost(Duration.ofSeconds(10)).until(() -> gateway.calls.contains("start w5") && gateway.calls.contains("start w6"));
    plane.waiting("w5", 1, WaitKind.TIMER, Optional.of(Instant.now().plusMillis(300)), Optional.empty(), false, Map.of());
    plane.waiting("w6", 1, WaitKind.TIMER, Optional.of(Instant.now().plus(Duration.ofHours(1))), Optional.empty(), false, Map.of());
    assertThat(plane.list(Optional.empty(), Optional.of("timer"), 10)).hasSize(2);

    plane.wake(WorkflowId.of("w6"));
    await().atMost(Duration.ofSeconds(10)).until(() -> gateway.calls.contains("wake w5 1 TIMER")
        && gateway.calls.contains("wake w6 1 OPERATOR"));
    assertThatThrownBy(() -> plane.wake(WorkflowId.of("w6"))).isInstanceOf(ConflictException.class);
    assertThat(types("w5")).containsSubsequence("SUBMITTED", "STARTED", "SUSPENDED", "WAKING");
  }

  @Test
  void onlyATimerWaitCanBeWoken() {
    submit("sig");
    suspendOnSignal("sig", "go");
    started("run");
    started("done");
    plane.exited("done", 0, "");

    assertThatThrownBy(() -> plane.wake(WorkflowId.of("sig"))).isInstanceOf(ConflictException.class).hasMessageContaining("go");
    assertThatThrownBy(() -> plane.wake(WorkflowId.of("run"))).isInstanceOf(ConflictException.class).hasMessageContaining("RUNNING");
    assertThatThrownBy(() -> plane.wake(WorkflowId.of("done"))).isInstanceOf(ConflictException.class);
    assertThat(plane.status(WorkflowId.of("sig")).state()).isEqualTo(WorkflowState.SUSPENDED);
  }

  @Test
  void cancelKillsAndNothingWakesACancelledWorkflow() {
    submit("w7");
    suspendOnSignal("w7", "go");
    plane.cancel(WorkflowId.of("w7"));
    assertThatThrownBy(() -> plane.signal(WorkflowId.of("w7"), SignalName.of("go"), new byte[0])).isInstanceOf(ConflictException.class);
    assertThat(plane.status(WorkflowId.of("w7")).state()).isEqualTo(WorkflowState.CANCELLED);
    assertThat(gateway.calls).contains("kill w7").noneMatch(c -> c.startsWith("wake w7"));
    assertThatThrownBy(() -> plane.cancel(WorkflowId.of("w7"))).isInstanceOf(ConflictException.class);
  }

  @Test
  void aCancelledPendingWorkflowNeverStartsAndACancelledTimerNeverFires() throws Exception {
    started("t");
    plane.waiting("t", 1, WaitKind.TIMER, Optional.of(Instant.now().plusMillis(300)), Optional.empty(), false, Map.of());
    int free = gateway.slots.getAndSet(0); // a full worker: the next submit stays PENDING
    submit("p");
    assertThat(plane.status(WorkflowId.of("p")).state()).isEqualTo(WorkflowState.PENDING);

    plane.cancel(WorkflowId.of("p"));
    plane.cancel(WorkflowId.of("t"));
    gateway.slots.set(free);
    settle();

    assertThat(gateway.calls("start", "p")).isEmpty();
    assertThat(gateway.calls("wake", "t")).isEmpty();
    assertThat(plane.status(WorkflowId.of("p")).state()).isEqualTo(WorkflowState.CANCELLED);
    assertThat(plane.status(WorkflowId.of("p")).error()).isNotBlank();
    assertThat(types("p")).containsSubsequence("SUBMITTED", "CANCELLED").doesNotContain("STARTED");
  }

  // ----- logs -----

  @Test
  void logsAreServedInPiecesAndFinishedOnlyOnceAllIsRead() throws Exception {
    started("log");
    assertThat(plane.logs(WorkflowId.of("log"), 0, 100).data()).isEmpty();
    fixture.printed(plane, "log", utf8("hello\nworld\n"));

    ControlPlane.LogChunk head = plane.logs(WorkflowId.of("log"), 0, 5);
    assertThat(head.offset()).isZero();
    assertThat(new String(head.data(), StandardCharsets.UTF_8)).isEqualTo("hello");
    assertThat(head.finished()).isFalse();
    assertThat(new String(plane.logs(WorkflowId.of("log"), 5, 100).data(), StandardCharsets.UTF_8)).isEqualTo("\nworld\n");

    plane.exited("log", 0, "");
    ControlPlane.LogChunk part = plane.logs(WorkflowId.of("log"), 0, 5);
    assertThat(part.finished()).as("more remains to read").isFalse();
    ControlPlane.LogChunk rest = plane.logs(WorkflowId.of("log"), 5, 100);
    assertThat(rest.offset()).isEqualTo(5);
    assertThat(rest.finished()).isTrue();
    ControlPlane.LogChunk end = plane.logs(WorkflowId.of("log"), 12, 100);
    assertThat(end.data()).isEmpty();
    assertThat(end.finished()).isTrue();
  }

  // ----- worker callbacks -----

  @Test
  void dueNowClaimsWhatIsDueAndNothingElse() {
    started("d");
    Instant past = Instant.now().minusSeconds(1);
    Instant future = Instant.now().plus(Duration.ofHours(1));

    assertThat(plane.dueNow("d", 0, WaitKind.TIMER, Optional.of(future), Optional.empty())).isEmpty();
    assertThat(plane.dueNow("d", 0, WaitKind.TIMER, Optional.of(past), Optional.empty()))
        .hasValueSatisfying(w -> assertThat(w.reason()).isEqualTo(WakeReason.TIMER));
    assertThat(plane.dueNow("d", 0, WaitKind.SIGNAL, Optional.of(past), Optional.of("go")))
        .hasValueSatisfying(w -> {
          assertThat(w.reason()).isEqualTo(WakeReason.TIMEOUT);
          assertThat(w.signal()).isEmpty();
        });
    plane.signal(WorkflowId.of("d"), SignalName.of("go"), utf8("in"));
    assertThat(plane.dueNow("d", 0, WaitKind.SIGNAL, Optional.of(past), Optional.of("go")))
        .as("a signal that is in wins over the deadline")
        .hasValueSatisfying(w -> assertThat(w.signal().orElseThrow().text()).isEqualTo("in"));

    plane.signal(WorkflowId.of("d"), SignalName.of("go"), utf8("after"));
    plane.cancel(WorkflowId.of("d"));
    assertThat(plane.dueNow("d", 0, WaitKind.SIGNAL, Optional.empty(), Optional.of("go")))
        .as("nothing is due to a workflow that no longer runs").isEmpty();
  }

  @Test
  void waitingOnAFinishedWorkflowChangesNothing() throws Exception {
    started("f");
    plane.cancel(WorkflowId.of("f"));
    plane.waiting("f", 1, WaitKind.TIMER, Optional.of(Instant.now()), Optional.empty(), false, Map.of());
    settle();

    assertThat(plane.status(WorkflowId.of("f")).state()).isEqualTo(WorkflowState.CANCELLED);
    assertThat(plane.status(WorkflowId.of("f")).seq()).isZero();
    assertThat(gateway.calls("wake", "f")).isEmpty();
  }

  @Test
  void staleWakesOfAnOlderImageAreIgnored() throws Exception {
    submit("st");
    suspendOnSignal("st", "go");
    plane.signal(WorkflowId.of("st"), SignalName.of("go"), utf8("1"));
    gateway.awaitCall("wake st 1 SIGNAL 1");
    plane.waiting("st", 2, WaitKind.TIMER, Optional.of(Instant.now().plus(Duration.ofHours(1))), Optional.empty(), false, Map.of());

    fixture.fireWake(plane, "st", 1, "TIMER");
    fixture.fireWake(plane, "st", 1, "SIGNAL");
    fixture.fireWake(plane, "st", 3, "TIMER");
    fixture.fireWake(plane, "st", 2, "SIGNAL"); // no signal waits: a duplicate of a claimed one
    assertThat(gateway.calls("wake", "st")).containsExactly("wake st 1 SIGNAL 1");
    assertThat(plane.status(WorkflowId.of("st")).state()).isEqualTo(WorkflowState.SUSPENDED);
    assertThat(plane.status(WorkflowId.of("st")).seq()).isEqualTo(2);

    fixture.fireWake(plane, "st", 2, "TIMER");
    assertThat(gateway.calls("wake", "st")).containsExactly("wake st 1 SIGNAL 1", "wake st 2 TIMER");
  }

  @Test
  void aFailedWakeGivesItsSignalBackAndIsTriedAgain() {
    submit("u");
    suspendOnSignal("u", "go");
    plane.signal(WorkflowId.of("u"), SignalName.of("go"), utf8("p1"));
    gateway.awaitCall("wake u 1 SIGNAL p1");
    Wakeup first = gateway.wakeups.get("u");
    assertThat(plane.status(WorkflowId.of("u")).pendingSignals()).isZero();

    plane.undeliverable("u", 0, first, "a stale report"); // of another seq: ignored
    assertThat(plane.status(WorkflowId.of("u")).state()).isEqualTo(WorkflowState.RUNNING);
    plane.undeliverable("u", 1, first, "restore failed");
    WorkflowView v = plane.status(WorkflowId.of("u"));
    assertThat(v.state()).isIn(WorkflowState.SUSPENDED, WorkflowState.RUNNING); // the retry may already be under way
    assertThat(v.seq()).isEqualTo(1);
    assertThat(types("u")).contains("RESTORE_FAILED");

    await().atMost(Duration.ofSeconds(10)).until(() -> gateway.count("wake u 1 SIGNAL p1") == 2);
    assertThat(plane.status(WorkflowId.of("u")).pendingSignals()).isZero();
    assertThat(plane.status(WorkflowId.of("u")).state()).isEqualTo(WorkflowState.RUNNING);
  }

  @Test
  void aWakeThatFailsAgainAndAgainFailsTheWorkflow() {
    started("bad");
    plane.waiting("bad", 1, WaitKind.TIMER, Optional.of(Instant.now()), Optional.empty(), false, Map.of());
    for (int attempt = 1; attempt <= 5; attempt++) {
      int n = attempt;
      await().atMost(Duration.ofSeconds(10)).until(() -> gateway.count("wake bad 1 TIMER") == n);
      plane.undeliverable("bad", 1, Wakeup.of(WakeReason.TIMER), "restore failed " + n);
    }
    WorkflowView v = plane.status(WorkflowId.of("bad"));
    assertThat(v.state()).isEqualTo(WorkflowState.FAILED);
    assertThat(v.error()).contains("restore failed 5");
    assertThat(types("bad")).containsSubsequence("RESTORE_FAILED", "RESTORE_FAILED", "FAILED");
  }

  @Test
  void aDeclinedImageNoWorkerCanRestoreIsReportedNotRetriedForever() throws Exception {
    submit("dec");
    suspendOnSignal("dec", "go");
    plane.signal(WorkflowId.of("dec"), SignalName.of("go"), utf8("p"));
    gateway.awaitCall("wake dec 1 SIGNAL p");

    plane.declined("dec", 1, gateway.wakeups.get("dec"), "another JDK build");
    settle();

    WorkflowView v = plane.status(WorkflowId.of("dec"));
    assertThat(v.state()).isEqualTo(WorkflowState.SUSPENDED);
    assertThat(v.seq()).isEqualTo(1);
    assertThat(v.pendingSignals()).as("the signal is given back").isEqualTo(1);
    assertThat(gateway.count("wake dec 1 SIGNAL p")).isEqualTo(1);
    List<HistoryEvent> h = plane.history(WorkflowId.of("dec"));
    assertThat(h).extracting(HistoryEvent::type).containsSubsequence("DECLINED", "UNRESTORABLE");
    assertThat(h.get(h.size() - 1).details().get("error").toString()).contains("another JDK build");
  }

  @Test
  void eventsGoToTheHistory() {
    started("ev");
    plane.event("ev", SegmentEvent.CHECKPOINT_FAILED, 0, Map.of("error", "criu said no"));

    HistoryEvent last = plane.history(WorkflowId.of("ev")).get(plane.history(WorkflowId.of("ev")).size() - 1);
    assertThat(last.type()).isEqualTo("CHECKPOINT_FAILED");
    assertThat(last.details()).containsEntry("error", "criu said no");
    assertThat(plane.status(WorkflowId.of("ev")).seq()).isZero();
  }

  @Test
  void aSavepointMovesTheSeqSoARestartedPlaneResumesFromItAsACheckpoint() throws Exception {
    started("w8");
    plane.event("w8", SegmentEvent.CHECKPOINTED, 1, Map.of("rawBytes", 100, "packedBytes", 20));
    plane.event("w8", SegmentEvent.CHECKPOINTED, 1, Map.of()); // a duplicate changes nothing
    assertThat(plane.status(WorkflowId.of("w8")).seq()).isEqualTo(1);
    assertThat(plane.status(WorkflowId.of("w8")).packedBytes()).isEqualTo(20L);

    restart(); // as if the server died while the workflow ran after its savepoint
    gateway.awaitCall("wake w8 1 CHECKPOINT");
  }

  @Test
  void savepointsOnlyMoveTheSeqForwardAndFenceOlderWakes() {
    started("sp");
    plane.event("sp", SegmentEvent.CHECKPOINTED, 2, Map.of());
    plane.event("sp", SegmentEvent.CHECKPOINTED, 1, Map.of()); // late and out of order
    assertThat(plane.status(WorkflowId.of("sp")).seq()).isEqualTo(2);

    plane.waiting("sp", 3, WaitKind.SIGNAL, Optional.empty(), Optional.of("go"), false, Map.of());
    fixture.fireWake(plane, "sp", 2, "TIMER");
    assertThat(gateway.calls("wake", "sp")).isEmpty();
    plane.signal(WorkflowId.of("sp"), SignalName.of("go"), utf8("now"));
    gateway.awaitCall("wake sp 3 SIGNAL now");
  }

  @Test
  void aSavepointAfterAWakeDoesNotBringTheOldWaitBack() throws Exception {
    started("sw");
    plane.waiting("sw", 1, WaitKind.SIGNAL, Optional.of(Instant.now().plusMillis(400)), Optional.of("go"), false, Map.of());
    plane.signal(WorkflowId.of("sw"), SignalName.of("go"), utf8("a"));
    gateway.awaitCall("wake sw 1 SIGNAL a");
    plane.event("sw", SegmentEvent.CHECKPOINTED, 2, Map.of());
    plane.signal(WorkflowId.of("sw"), SignalName.of("go"), utf8("b")); // for a later wait: must stay in the mailbox
    settle(); // past the old wait's deadline

    WorkflowView v = plane.status(WorkflowId.of("sw"));
    assertThat(v.state()).isEqualTo(WorkflowState.RUNNING);
    assertThat(v.seq()).isEqualTo(2);
    assertThat(v.waitKind()).isNull();
    assertThat(v.pendingSignals()).isEqualTo(1);
    assertThat(gateway.calls("wake", "sw")).containsExactly("wake sw 1 SIGNAL a");
  }

  @Test
  void exitedFinishesOnceWithTheExitCode() {
    started("ok");
    started("ko");
    plane.exited("ok", 0, "");
    plane.exited("ko", 3, "boom at line 7");
    plane.exited("ok", 1, "a late duplicate");

    assertThat(plane.status(WorkflowId.of("ok")).state()).isEqualTo(WorkflowState.COMPLETED);
    assertThat(plane.status(WorkflowId.of("ok")).exitCode()).isZero();
    assertThat(plane.status(WorkflowId.of("ok")).error()).isNull();
    WorkflowView ko = plane.status(WorkflowId.of("ko"));
    assertThat(ko.state()).isEqualTo(WorkflowState.FAILED);
    assertThat(ko.exitCode()).isEqualTo(3);
    assertThat(ko.error()).contains("3").contains("boom at line 7");
    assertThat(types("ok")).containsOnlyOnce("COMPLETED").doesNotContain("FAILED");
  }

  @Test
  void aWaitInMemoryIsWokenLikeAnyOther() {
    started("mem");
    plane.waiting("mem", 0, WaitKind.SIGNAL, Optional.empty(), Optional.of("go"), true, Map.of());
    WorkflowView v = plane.status(WorkflowId.of("mem"));
    assertThat(v.state()).isEqualTo(WorkflowState.SUSPENDED);
    assertThat(v.inMemory()).isTrue();
    assertThat(types("mem")).contains("WAITING_IN_MEMORY");

    plane.signal(WorkflowId.of("mem"), SignalName.of("go"), utf8("x"));
    gateway.awaitCall("wake mem 0 SIGNAL x");
    assertThat(plane.status(WorkflowId.of("mem")).inMemory()).isFalse();
  }

  // ----- durability -----

  @Test
  void aWaitInMemoryResumesFromTheLastImageAfterARestartWithTheWakeupThatImageGot() throws Exception {
    started("m");
    plane.waiting("m", 1, WaitKind.SIGNAL, Optional.empty(), Optional.of("go"), false, Map.of());
    plane.signal(WorkflowId.of("m"), SignalName.of("go"), utf8("a"));
    gateway.awaitCall("wake m 1 SIGNAL a");
    // Its next checkpoint failed: it waits in the memory of a JVM that dies with the server.
    plane.waiting("m", 1, WaitKind.TIMER, Optional.of(Instant.now().plus(Duration.ofHours(1))), Optional.empty(), true, Map.of());

    restart();

    gateway.awaitCall("wake m 1 SIGNAL a");
    assertThat(plane.status(WorkflowId.of("m")).pendingSignals()).isZero();
    assertThat(types("m")).contains("RECOVERED");
  }

  @Test
  void whatACallReturnedSurvivesARestart() throws Exception {
    submit("r1", "x");
    suspendOnSignal("r1", "go");
    started("r2");
    plane.waiting("r2", 1, WaitKind.TIMER, Optional.of(Instant.now().plus(Duration.ofHours(1))), Optional.empty(), false, Map.of());
    started("r3");
    plane.exited("r3", 0, "");
    plane.signal(WorkflowId.of("r1"), SignalName.of("other"), utf8("kept"));
    List<HistoryEvent> before = plane.history(WorkflowId.of("r1"));

    restart();

    assertThat(plane.status(WorkflowId.of("r1")).state()).isEqualTo(WorkflowState.SUSPENDED);
    assertThat(plane.status(WorkflowId.of("r1")).args()).containsExactly("x");
    assertThat(plane.status(WorkflowId.of("r1")).pendingSignals()).isEqualTo(1);
    assertThat(plane.history(WorkflowId.of("r1"))).startsWith(before.toArray(HistoryEvent[]::new));
    assertThat(plane.status(WorkflowId.of("r2")).waitKind()).isEqualTo("TIMER");
    assertThat(plane.status(WorkflowId.of("r3")).state()).isEqualTo(WorkflowState.COMPLETED);
    assertThat(submit("r1", "x").created()).isFalse();
    assertThatThrownBy(() -> submit("r1", "y")).isInstanceOf(ConflictException.class);

    plane.wake(WorkflowId.of("r2"));
    gateway.awaitCall("wake r2 1 OPERATOR");
    plane.signal(WorkflowId.of("r1"), SignalName.of("go"), utf8("after"));
    gateway.awaitCall("wake r1 1 SIGNAL after");
  }

  @Test
  void aWorkflowThatRanWithoutAnImageStartsAgainAfterARestart() throws Exception {
    started("again");
    restart();

    gateway.awaitCall("start again");
    assertThat(types("again")).containsSubsequence("STARTED", "RECOVERED", "STARTED");
  }

  // ----- image ledger -----

  @Test
  void theLedgerListsFinishedWorkflowsHoldingImagesOldestFirst() throws Exception {
    submit("f1");
    submit("f2");
    submit("live");
    await().atMost(Duration.ofSeconds(10)).until(() -> gateway.calls.containsAll(List.of("start f1", "start f2", "start live")));
    plane.waiting("f1", 1, WaitKind.TIMER, Optional.of(Instant.now().plus(Duration.ofHours(1))), Optional.empty(), false, Map.of());
    plane.cancel(WorkflowId.of("f1"));
    Thread.sleep(5); // distinct finishing times
    plane.exited("f2", 0, "");
    List<ImageLedger.Finished> finished = plane.finishedHoldingImages(10);
    assertThat(finished).extracting(ImageLedger.Finished::workflowId).containsExactly("f1", "f2");
    assertThat(finished.get(0).state()).isEqualTo(WorkflowState.CANCELLED);
    assertThat(finished.get(0).seq()).isEqualTo(1);
    assertThat(finished.get(0).kept()).isEqualTo(ImageLedger.ImagesKept.ALL);

    plane.imagesKept("f1", ImageLedger.ImagesKept.LAST);
    plane.imagesKept("f2", ImageLedger.ImagesKept.NONE);
    assertThat(plane.finishedHoldingImages(10)).extracting(ImageLedger.Finished::workflowId, ImageLedger.Finished::kept)
        .containsExactly(Tuple.tuple("f1", ImageLedger.ImagesKept.LAST));
  }
}
