package dev.torpor.launcher.http;

import dev.torpor.SignalName;
import dev.torpor.WaitKind;
import dev.torpor.WorkflowId;
import dev.torpor.scheduler.ControlPlane;
import dev.torpor.scheduler.ControlPlaneConfig;
import dev.torpor.scheduler.HistoryEvent;
import dev.torpor.scheduler.ImageLedger;
import dev.torpor.scheduler.RecordingGateway;
import dev.torpor.scheduler.SignalReceipt;
import dev.torpor.scheduler.SubmitRequest;
import dev.torpor.scheduler.SubmitResult;
import dev.torpor.scheduler.WorkflowState;
import dev.torpor.scheduler.WorkflowView;
import dev.torpor.scheduler.internal.JdbcControlPlane;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

/**
 * The real control plane ({@link JdbcControlPlane}) on a private in-memory H2 database, with a
 * {@link RecordingGateway} for the worker, for the tests of the HTTP layer and of the CLI commands
 * that talk to it: they see exactly what a server answers. Tests bring workflows into a state
 * through the worker's callbacks ({@link #running}, {@link #suspended}, {@link #finish}, {@link
 * #appendLog}); the calls that reach the plane through {@link ControlPlane} are recorded, so a
 * test can check that a refused request reached nothing.
 */
public final class ApiTestPlane implements ControlPlane, ImageLedger, AutoCloseable {
  /** The seq of the image every {@link #suspended} workflow waits on. */
  public static final long SEQ = 3;

  public final RecordingGateway gateway = new RecordingGateway(1_000);
  private final List<Optional<String>> keysSeen = new ArrayList<>();
  private final Path dir;
  private JdbcControlPlane plane;
  private final List<String> calls = new ArrayList<>();
  private final Semaphore logReads = new Semaphore(0);
  private final AtomicReference<RuntimeException> failNext = new AtomicReference<>();
  private String app;

  public ApiTestPlane(Path dir) {
    this.dir = dir;
  }

  /**
   * The plane, opened at first use: most tests of the HTTP layer refuse the request before it
   * reaches the plane, and need none.
   */
  private synchronized JdbcControlPlane plane() {
    if (plane == null) {
      ControlPlaneConfig config = new ControlPlaneConfig("jdbc:h2:mem:api-" + UUID.randomUUID() + ";LOCK_TIMEOUT=10000",
          "sa", "", dir, dir.resolve("logs"), 2, Duration.ofSeconds(1));
      plane = new JdbcControlPlane(config, "api-test-" + System.nanoTime(), false);
      plane.start(gateway);
    }
    return plane;
  }

  // ---- ControlPlane, recorded ----

  @Override
  public String storeApp(InputStream jar) throws IOException {
    call("storeApp");
    return plane().storeApp(jar);
  }

  @Override
  public SubmitResult submit(SubmitRequest request) {
    call("submit");
    return plane().submit(request);
  }

  @Override
  public SignalReceipt signal(WorkflowId workflowId, SignalName name, byte[] payload, Optional<String> idempotencyKey) {
    call("signal");
    synchronized (this) {
      keysSeen.add(idempotencyKey);
    }
    return plane().signal(workflowId, name, payload, idempotencyKey);
  }

  /** The idempotency key of every signal that reached the plane, in order. */
  public synchronized List<Optional<String>> signalKeysSeen() {
    return List.copyOf(keysSeen);
  }

  @Override
  public List<WorkflowView> list(Optional<WorkflowState> state, Optional<String> waitingOn, int limit) {
    call("list");
    return plane().list(state, waitingOn, limit);
  }

  @Override
  public WorkflowView status(WorkflowId workflowId) {
    call("status");
    return plane().status(workflowId);
  }

  @Override
  public List<HistoryEvent> history(WorkflowId workflowId) {
    call("history");
    return plane().history(workflowId);
  }

  @Override
  public void cancel(WorkflowId workflowId) {
    call("cancel");
    plane().cancel(workflowId);
  }

  @Override
  public void wake(WorkflowId workflowId) {
    call("wake");
    plane().wake(workflowId);
  }

  @Override
  public LogChunk logs(WorkflowId workflowId, long offset, int max) throws IOException {
    call("logs");
    try {
      return plane().logs(workflowId, offset, max);
    } finally {
      logReads.release();
    }
  }

  @Override
  public List<Finished> finishedHoldingImages(int limit) {
    return plane().finishedHoldingImages(limit);
  }

  @Override
  public void imagesKept(String workflowId, ImagesKept kept) {
    plane().imagesKept(workflowId, kept);
  }

  // ---- bringing workflows into a state, as a worker would ----

  /** The application every fixture workflow runs. */
  public synchronized String app() throws IOException {
    if (app == null) {
      // Not the jar the tests upload, so that they can tell whether theirs was stored.
      java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
      try (java.util.zip.ZipOutputStream zip = new java.util.zip.ZipOutputStream(bytes)) {
        zip.putNextEntry(new java.util.zip.ZipEntry("com/acme/Fixture.class"));
        zip.write(new byte[] {(byte) 0xca, (byte) 0xfe});
      }
      app = plane().storeApp(new java.io.ByteArrayInputStream(bytes.toByteArray()));
    }
    return app;
  }

  /** A workflow with args a, b that a worker started, and that has no image yet. */
  public void running(String id) {
    try {
      plane().submit(new SubmitRequest(WorkflowId.of(id), app(), "com.acme.Main", List.of("a", "b"), List.of()));
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    gateway.awaitCall("start " + id); // the plane marks it RUNNING before it asks the worker
  }

  /**
   * A workflow frozen in image {@link #SEQ} (12.3 MB raw, 4.6 MB packed), waiting on a {@code
   * "TIMER"} or for signal {@code waitSignal}, until {@code wakeAt} if given, with one signal of
   * another name pending.
   */
  public void suspended(String id, String waitKind, String waitSignal, Instant wakeAt) {
    running(id);
    plane().signal(WorkflowId.of(id), SignalName.of("unrelated"), new byte[0]);
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("stack", "at dev.torpor.Durable.waitFor(Durable.java:42)\nat com.acme.Main.main(Main.java:7)");
    details.put("rawBytes", 12_345_678L);
    details.put("packedBytes", 4_567_890L);
    plane().waiting(id, SEQ, dev.torpor.WaitKind.valueOf(waitKind), Optional.ofNullable(wakeAt), Optional.ofNullable(waitSignal), false, details);
  }

  /** Appends output to a workflow's log, as the worker does. */
  public void appendLog(String workflowId, byte[] bytes) {
    try {
      Files.createDirectories(dir.resolve("logs"));
      Files.write(dir.resolve("logs").resolve(workflowId + ".log"), bytes, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** The workflow's JVM exited with {@code exitCode}. */
  public void finish(String workflowId, int exitCode) {
    plane().exited(workflowId, exitCode, "");
  }

  /** Takes the oldest pending signal {@code name} of a running workflow, as its JVM would when it waits for it. */
  public byte[] take(String workflowId, String name) {
    return plane().dueNow(workflowId, plane().status(WorkflowId.of(workflowId)).seq(), WaitKind.SIGNAL, Optional.empty(), Optional.of(name))
        .orElseThrow(() -> new AssertionError("no signal '" + name + "' pending for " + workflowId))
        .signal().orElseThrow().payload();
  }

  /** The names of the signals every workflow received, in order. */
  public List<String> receivedSignals() {
    List<String> out = new ArrayList<>();
    synchronized (this) {
      if (plane == null) {
        return out; // no request reached a plane
      }
    }
    for (WorkflowView v : plane().list(Optional.empty(), Optional.empty(), 1000)) {
      plane().history(WorkflowId.of(v.id())).stream().filter(e -> e.type().equals("SIGNAL_RECEIVED"))
          .forEach(e -> out.add(v.id() + ":" + e.details().get("signal")));
    }
    return out;
  }

  // ---- checks ----

  /** Makes the next ControlPlane call throw {@code e} (to test the 500 path). */
  public void failNextCallWith(RuntimeException e) {
    failNext.set(e);
  }

  /** Blocks until {@code n} more log reads have been answered, or fails after 10 s. */
  public void awaitLogReads(int n) throws InterruptedException {
    if (!logReads.tryAcquire(n, 10, TimeUnit.SECONDS)) {
      throw new AssertionError("no " + n + " log reads within 10 s");
    }
  }

  /** The application jars stored, by SHA-256. */
  public Map<String, byte[]> apps() throws IOException {
    Path apps = dir.resolve("apps");
    Map<String, byte[]> out = new LinkedHashMap<>();
    if (Files.isDirectory(apps)) {
      try (Stream<Path> files = Files.list(apps)) {
        for (Path p : files.filter(f -> f.toString().endsWith(".jar")).toList()) {
          out.put(p.getFileName().toString().replace(".jar", ""), Files.readAllBytes(p));
        }
      }
    }
    return out;
  }

  /** Forgets the calls so far (after a test's setup). */
  public synchronized void forgetCalls() {
    calls.clear();
  }

  /** The names of the ControlPlane methods called so far, in order. */
  public synchronized List<String> calls() {
    return List.copyOf(calls);
  }

  public static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private void call(String name) {
    synchronized (this) {
      calls.add(name);
    }
    RuntimeException e = failNext.getAndSet(null);
    if (e != null) {
      throw e;
    }
  }

  /**
   * Closes the plane in the background: Quartz's thread pool takes half a second to stop, and
   * nothing waits for this in-memory database.
   */
  @Override
  public synchronized void close() {
    if (plane == null) {
      return;
    }
    Thread t = new Thread(plane::close, "close-api-test-plane");
    t.setDaemon(true);
    t.start();
  }
}
