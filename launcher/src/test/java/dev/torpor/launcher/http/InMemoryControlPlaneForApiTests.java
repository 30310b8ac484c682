package dev.torpor.launcher.http;

import dev.torpor.scheduler.ConflictException;
import dev.torpor.scheduler.ControlPlane;
import dev.torpor.scheduler.HistoryEvent;
import dev.torpor.scheduler.IdempotencyKey;
import dev.torpor.scheduler.ImageLedger;
import dev.torpor.scheduler.NotFoundException;
import dev.torpor.scheduler.SignalReceipt;
import dev.torpor.scheduler.SubmitRequest;
import dev.torpor.scheduler.SubmitResult;
import dev.torpor.scheduler.WorkflowState;
import dev.torpor.scheduler.WorkflowView;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A map-based {@link ControlPlane} for testing the HTTP layer and the CLI commands that talk to
 * it: request parsing, status codes, JSON shapes, auth and limits. It runs nothing, persists
 * nothing and only roughly imitates the real control plane's rules (ids, conflicts, finished
 * workflows); it is NOT a reference for how the durable control plane behaves. Tests drive
 * workflows through its states with {@link #put}, {@link #appendLog} and {@link #finish}.
 */
public final class InMemoryControlPlaneForApiTests implements ControlPlane, ImageLedger {
  /** One signal as the control plane received it. */
  public record ReceivedSignal(String workflowId, String name, byte[] payload) {}

  /** A signal stored under an idempotency key, and the receipt it got. */
  private record Keyed(ReceivedSignal signal, SignalReceipt receipt) {}

  private final Map<String, byte[]> apps = new LinkedHashMap<>();
  private final Map<String, SubmitRequest> requests = new LinkedHashMap<>();
  private final Map<String, WorkflowView> views = new LinkedHashMap<>();
  private final Map<String, ByteArrayOutputStream> logs = new LinkedHashMap<>();
  private final Map<String, List<HistoryEvent>> history = new LinkedHashMap<>();
  private final List<ReceivedSignal> signals = new ArrayList<>();
  private final Map<String, Keyed> signalKeys = new LinkedHashMap<>();
  private final List<Optional<String>> signalKeysSeen = new ArrayList<>();
  private final Map<String, ImagesKept> imagesKept = new LinkedHashMap<>();
  private final List<String> calls = new ArrayList<>();
  private final Semaphore logReads = new Semaphore(0);
  private final AtomicReference<RuntimeException> failNext = new AtomicReference<>();
  private long clock = 1_700_000_000L;
  private long historyN;
  private int generated;

  // ---- ControlPlane ----

  @Override
  public String storeApp(InputStream jar) throws IOException {
    call("storeApp");
    byte[] bytes = jar.readAllBytes();
    String sha = sha256(bytes);
    synchronized (this) {
      apps.put(sha, bytes);
    }
    return sha;
  }

  @Override
  public synchronized SubmitResult submit(SubmitRequest request) {
    call("submit");
    if (!apps.containsKey(request.appSha256())) {
      throw new NotFoundException("no application " + request.appSha256() + ": upload the jar first (POST /v1/apps)");
    }
    String id = request.id() != null ? request.id() : "wf-" + (++generated);
    SubmitRequest normalized = new SubmitRequest(id, request.appSha256(), request.mainClass(), request.args(), request.javaOptions());
    SubmitRequest earlier = requests.get(id);
    if (earlier != null) {
      if (earlier.equals(normalized)) {
        return new SubmitResult(id, false);
      }
      throw new ConflictException("workflow " + id + " was submitted with another request: pick another --id");
    }
    requests.put(id, normalized);
    Instant now = tick();
    views.put(id, new WorkflowView(id, WorkflowState.PENDING, 0, request.mainClass(), request.args(), request.appSha256(),
        null, null, null, false, null, null, null, 0, null, null, now, now));
    record(id, "SUBMITTED", 0, Map.of());
    return new SubmitResult(id, true);
  }

  @Override
  public synchronized SignalReceipt signal(String workflowId, String name, byte[] payload, Optional<String> idempotencyKey) {
    call("signal");
    signalKeysSeen.add(idempotencyKey);
    if (payload.length > MAX_SIGNAL_PAYLOAD) {
      throw new IllegalArgumentException("payload over 1 MiB");
    }
    idempotencyKey.ifPresent(IdempotencyKey::check);
    WorkflowView v = view(workflowId);
    Keyed earlier = idempotencyKey.map(k -> signalKeys.get(workflowId + "/" + k)).orElse(null);
    if (earlier != null) {
      if (!earlier.signal().name().equals(name) || !Arrays.equals(earlier.signal().payload(), payload)) {
        throw new ConflictException("idempotency key '" + idempotencyKey.get() + "' was already used for another signal");
      }
      return new SignalReceipt(earlier.receipt().id(), earlier.receipt().receivedAt(), true);
    }
    if (v.state().isFinal()) {
      throw new ConflictException("workflow " + workflowId + " has finished (" + v.state() + "): it takes no more signals");
    }
    ReceivedSignal s = new ReceivedSignal(workflowId, name, payload.clone());
    signals.add(s);
    SignalReceipt receipt = new SignalReceipt(signals.size(), tick(), false);
    idempotencyKey.ifPresent(k -> signalKeys.put(workflowId + "/" + k, new Keyed(s, receipt)));
    views.put(workflowId, copy(v, v.state(), v.pendingSignals() + 1, v.exitCode(), v.error()));
    record(workflowId, "SIGNAL_RECEIVED", v.seq(), Map.of("name", name, "bytes", payload.length));
    return receipt;
  }

  /** The idempotency key of every signal request, in order (empty for none). */
  public synchronized List<Optional<String>> signalKeysSeen() {
    return List.copyOf(signalKeysSeen);
  }

  @Override
  public synchronized List<WorkflowView> list(Optional<WorkflowState> state, Optional<String> waitingOn, int limit) {
    call("list");
    return views.values().stream()
        .filter(v -> state.map(s -> s == v.state()).orElse(true))
        .filter(v -> waitingOn.map(w -> w.equals(v.waitKind())).orElse(true))
        .sorted(Comparator.comparing(WorkflowView::createdAt).reversed())
        .limit(limit)
        .toList();
  }

  @Override
  public synchronized WorkflowView status(String workflowId) {
    call("status");
    return view(workflowId);
  }

  @Override
  public synchronized List<HistoryEvent> history(String workflowId) {
    call("history");
    view(workflowId);
    return List.copyOf(history.getOrDefault(workflowId, List.of()));
  }

  @Override
  public synchronized void cancel(String workflowId) {
    call("cancel");
    WorkflowView v = view(workflowId);
    if (v.state().isFinal()) {
      throw new ConflictException("workflow " + workflowId + " has already finished (" + v.state() + ")");
    }
    views.put(workflowId, copy(v, WorkflowState.CANCELLED, v.pendingSignals(), null, "cancelled by an operator"));
    record(workflowId, "CANCELLED", v.seq(), Map.of());
  }

  @Override
  public synchronized void wake(String workflowId) {
    call("wake");
    WorkflowView v = view(workflowId);
    if (v.state() != WorkflowState.SUSPENDED || !"TIMER".equals(v.waitKind())) {
      throw new ConflictException("workflow " + workflowId + " is " + v.state() + ", not suspended on a timer: nothing to wake");
    }
    views.put(workflowId, new WorkflowView(v.id(), WorkflowState.RUNNING, v.seq(), v.mainClass(), v.args(), v.appSha256(),
        null, null, null, false, null, v.imageBytes(), v.packedBytes(), v.pendingSignals(), null, null, v.createdAt(), tick()));
    record(workflowId, "WAKING", v.seq(), Map.of("reason", "operator"));
  }

  @Override
  public LogChunk logs(String workflowId, long offset, int max) {
    LogChunk chunk;
    synchronized (this) {
      call("logs");
      WorkflowView v = view(workflowId);
      byte[] all = logs.getOrDefault(workflowId, new ByteArrayOutputStream()).toByteArray();
      int from = (int) Math.min(offset, all.length);
      byte[] data = Arrays.copyOfRange(all, from, Math.min(all.length, from + max));
      chunk = new LogChunk(from, data, v.state().isFinal());
    }
    logReads.release();
    return chunk;
  }

  // ---- test controls ----

  /** Puts a workflow in the given view (replacing any), as if the engine had moved it there. */
  public synchronized void put(WorkflowView view) {
    views.put(view.id(), view);
    requests.putIfAbsent(view.id(), new SubmitRequest(view.id(), view.appSha256(), view.mainClass(), view.args(), List.of()));
  }

  /** Appends output to a workflow's log. */
  public synchronized void appendLog(String workflowId, byte[] bytes) {
    logs.computeIfAbsent(workflowId, k -> new ByteArrayOutputStream()).writeBytes(bytes);
  }

  /** Marks a workflow as exited with {@code exitCode}. */
  public synchronized void finish(String workflowId, int exitCode) {
    WorkflowView v = view(workflowId);
    views.put(workflowId, copy(v, exitCode == 0 ? WorkflowState.COMPLETED : WorkflowState.FAILED, v.pendingSignals(), exitCode, null));
    record(workflowId, exitCode == 0 ? "COMPLETED" : "FAILED", v.seq(), Map.of("exitCode", exitCode));
  }

  /** Makes the next control-plane call throw {@code e} (to test the 500 path). */
  public void failNextCallWith(RuntimeException e) {
    failNext.set(e);
  }

  /** Blocks until {@code n} more log reads have been answered, or fails after 10 s. */
  public void awaitLogReads(int n) throws InterruptedException {
    if (!logReads.tryAcquire(n, 10, java.util.concurrent.TimeUnit.SECONDS)) {
      throw new AssertionError("no " + n + " log reads within 10 s");
    }
  }

  public synchronized Map<String, byte[]> apps() {
    return Map.copyOf(apps);
  }

  public synchronized List<ReceivedSignal> signals() {
    return List.copyOf(signals);
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

  // ---- fixtures ----

  /** The time every fixture was created at. */
  public static final Instant CREATED = Instant.parse("2024-05-01T10:00:00Z");

  /** A workflow suspended at seq 3 on a timer ({@code "TIMER"}) or a signal ({@code "SIGNAL"}). */
  public static WorkflowView suspended(String id, String waitKind, String waitSignal, Instant wakeAt) {
    return new WorkflowView(id, WorkflowState.SUSPENDED, 3, "com.acme.Main", List.of("a", "b"), "ab12cd",
        waitKind, waitSignal, wakeAt, false,
        "at dev.torpor.Durable.waitFor(Durable.java:42)\nat com.acme.Main.main(Main.java:7)",
        12_345_678L, 4_567_890L, 1, null, null, CREATED, CREATED.plusSeconds(5));
  }

  /** A running workflow without any image yet, created {@code minutes} after {@link #CREATED}. */
  public static WorkflowView running(String id, int minutes) {
    Instant t = CREATED.plusSeconds(60L * minutes);
    return new WorkflowView(id, WorkflowState.RUNNING, 0, "com.acme.Main", List.of(), "ab12cd",
        null, null, null, false, null, null, null, 0, null, null, t, t);
  }

  // ---- helpers ----

  private void call(String name) {
    synchronized (this) {
      calls.add(name);
    }
    RuntimeException e = failNext.getAndSet(null);
    if (e != null) {
      throw e;
    }
  }

  private WorkflowView view(String workflowId) {
    WorkflowView v = views.get(workflowId);
    if (v == null) {
      throw new NotFoundException("no workflow '" + workflowId + "': `torpor list` shows the known ones");
    }
    return v;
  }

  private WorkflowView copy(WorkflowView v, WorkflowState state, int pending, Integer exitCode, String error) {
    return new WorkflowView(v.id(), state, v.seq(), v.mainClass(), v.args(), v.appSha256(),
        state == WorkflowState.SUSPENDED ? v.waitKind() : null, state == WorkflowState.SUSPENDED ? v.waitSignal() : null,
        state == WorkflowState.SUSPENDED ? v.wakeAt() : null, v.inMemory(), state == WorkflowState.SUSPENDED ? v.stack() : null,
        v.imageBytes(), v.packedBytes(), pending, exitCode, error, v.createdAt(), tick());
  }

  private Instant tick() {
    return Instant.ofEpochSecond(++clock);
  }

  private void record(String id, String type, long seq, Map<String, Object> details) {
    history.computeIfAbsent(id, k -> new ArrayList<>()).add(new HistoryEvent(++historyN, id, tick(), type, seq, details));
  }

  // ---- ImageLedger ----

  @Override
  public synchronized List<Finished> finishedHoldingImages(int limit) {
    return views.values().stream()
        .filter(v -> v.state().isFinal() && imagesKept.getOrDefault(v.id(), ImagesKept.ALL) != ImagesKept.NONE)
        .map(v -> new Finished(v.id(), v.state(), v.seq(), v.updatedAt(), imagesKept.getOrDefault(v.id(), ImagesKept.ALL)))
        .limit(limit)
        .toList();
  }

  @Override
  public synchronized void imagesKept(String workflowId, ImagesKept kept) {
    imagesKept.put(workflowId, kept);
  }
}
