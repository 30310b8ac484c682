package dev.torpor.launcher.server;

import dev.torpor.scheduler.SegmentEvent;
import dev.torpor.WaitKind;
import dev.torpor.launcher.internal.Worker;
import dev.torpor.launcher.internal.WorkflowEvent;
import dev.torpor.launcher.internal.WorkflowSpec;
import dev.torpor.scheduler.CrashPoint;
import dev.torpor.PendingWait;
import dev.torpor.scheduler.Wakeup;
import dev.torpor.scheduler.WorkerCallbacks;
import dev.torpor.scheduler.WorkerGateway;
import dev.torpor.storage.ImageStore;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Joins the embedded {@link Worker} to the control plane: the worker's gateway (capacity,
 * start, wake, kill) on one side, the worker's supervisor and event listener on the other.
 * A slot is one live workflow JVM: taken before a start or a restore, given back when the JVM
 * is frozen into an image, exits, or could not be restored.
 */
public final class ServerWorker implements WorkerGateway, WorkerCallbacks, Consumer<WorkflowEvent> {
  private final Semaphore slots;
  /** Notified whenever a slot is given back. */
  private final Object freed = new Object();
  private final WorkerCallbacks plane;
  private final ImageJanitor janitor;
  private final Optional<ImageStore> apps;
  private final Consumer<Boolean> capacity;
  /** Whether the plane keeps the logs (a cluster): each ended segment's output is shipped, then its local spool goes. */
  private final boolean shipLogs;
  private volatile Worker worker;
  /**
   * The name of each workflow's current segment run, for its log: the image it started from and a
   * random part, since the same image may run again (a failed wake, a recovery) and print anew.
   */
  private final Map<String, String> segments = new java.util.concurrent.ConcurrentHashMap<>();
  /** Set while the worker, having lost its lease, kills its JVMs: their exits are not the workflows' outcome. */
  private volatile boolean fenced;

  public ServerWorker(int maxRunning, WorkerCallbacks plane, ImageJanitor janitor) {
    this(maxRunning, plane, janitor, Optional.empty(), available -> { }, false);
  }

  /**
   * @param apps where application jars missing from this machine are fetched from (a cluster's store)
   * @param capacity told when the worker fills up ({@code false}: take no more wakes) and when it
   *     has room again
   */
  public ServerWorker(int maxRunning, WorkerCallbacks plane, ImageJanitor janitor, Optional<ImageStore> apps,
      Consumer<Boolean> capacity, boolean shipLogs) {
    this.shipLogs = shipLogs;
    this.slots = new Semaphore(maxRunning);
    this.plane = plane;
    this.janitor = janitor;
    this.apps = apps;
    this.capacity = capacity;
  }

  /**
   * The worker lost its lease: kill every workflow JVM and report none of their exits; returns
   * once they are gone, so that no late exit can be taken for that of a later run.
   */
  public void fence() {
    fenced = true;
    worker.killAll(java.time.Duration.ofSeconds(30));
  }

  /** The worker rejoined under a new lease. */
  public void unfence() {
    fenced = false;
  }

  public void attach(Worker w) {
    this.worker = w;
  }

  // ----- gateway -----

  /** Slots free now: workflow JVMs this worker may still start or restore. */
  public int freeSlots() {
    return slots.availablePermits();
  }

  @Override
  public boolean tryReserve() {
    boolean got = slots.tryAcquire();
    adjustCapacity();
    return got;
  }

  @Override
  public void release() {
    slots.release();
    adjustCapacity();
    synchronized (freed) {
      freed.notifyAll();
    }
  }

  @Override
  public int awaitFreeSlots(java.time.Duration max) throws InterruptedException {
    long deadline = System.nanoTime() + max.toNanos();
    synchronized (freed) {
      int free;
      long left;
      while ((free = slots.availablePermits()) == 0 && (left = deadline - System.nanoTime()) > 0) {
        TimeUnit.NANOSECONDS.timedWait(freed, left);
      }
      return free;
    }
  }

  /** Tells the plane whether this worker has a free slot, as of now (calls may interleave; the last one is right). */
  private synchronized void adjustCapacity() {
    capacity.accept(slots.availablePermits() > 0);
  }

  @Override
  public void start(String workflowId, String appSha256, Path appJar, String mainClass, List<String> args,
      List<String> javaOptions, Map<String, String> env) throws IOException {
    materialise(appSha256, appJar);
    beginSegment(workflowId, 0);
    worker.start(new WorkflowSpec(workflowId, List.of(appJar), mainClass, args, javaOptions,
        WorkflowSpec.currentJavaHome(), env));
  }

  @Override
  public void wake(String workflowId, long seq, String appSha256, Path appJar, Wakeup wakeup) throws IOException {
    materialise(appSha256, appJar); // a restored JVM reopens its class path at the same paths
    // An image another worker made binds the library's copy of the jar: the same content-addressed
    // path on every worker, made here if this worker never started the workflow.
    worker.publish(List.of(appJar));
    worker.adopt(workflowId, seq);
    beginSegment(workflowId, seq);
    if (!worker.wake(workflowId, seq, wakeup)) {
      throw new IOException("the worker does not hold workflow " + workflowId + " waiting on image " + seq);
    }
  }

  @Override
  public void kill(String workflowId) {
    worker.kill(workflowId);
  }

  /** Names the segment that starts now from image {@code seq}, unless one is still unshipped (an in-memory wait goes on with it). */
  private void beginSegment(String workflowId, long seq) {
    segments.putIfAbsent(workflowId, "from-" + seq + "-" + java.util.UUID.randomUUID());
  }

  /** Fetches the application jar from the store to its content-addressed path if this machine lacks it. */
  private void materialise(String appSha256, Path appJar) throws IOException {
    if (apps.isPresent() && !Files.exists(appJar)) {
      Files.createDirectories(appJar.getParent());
      apps.get().fetchApp(appSha256, appJar);
    }
  }

  // ----- the worker's callbacks: the plane's, with this server's slots, log shipping and janitor -----

  @Override
  public Optional<Wakeup> dueNow(String workflowId, long seq, List<PendingWait> waits) {
    return plane.dueNow(workflowId, seq, waits);
  }

  @Override
  public boolean waiting(String workflowId, long seq, List<PendingWait> waits, boolean inMemory,
      Map<String, Object> details) {
    if (!inMemory) {
      release();
      shipLog(workflowId);
    }
    boolean recorded = plane.waiting(workflowId, seq, waits, inMemory, details);
    CrashPoint.reach(CrashPoint.SUSPEND_RECORDED);
    if (!inMemory && recorded) {
      janitor.superseded(workflowId, seq); // only once the registry names the new image
    }
    // Not recorded: the registry still names image seq - 1, from which the worker that holds the
    // workflow now resumes it; the image made here is debris that the segment's next commit replaces.
    return recorded;
  }

  @Override
  public void undeliverable(String workflowId, long seq, Wakeup wakeup, String error) {
    if (!worker.waitsInMemory(workflowId)) {
      release(); // a failed restore's slot; a JVM waiting in memory keeps its own
    }
    plane.undeliverable(workflowId, seq, wakeup, error);
  }

  @Override
  public boolean owns(String workflowId) {
    return !fenced && plane.owns(workflowId);
  }

  @Override
  public void declined(String workflowId, long seq, Wakeup wakeup, String reason) {
    release();
    plane.declined(workflowId, seq, wakeup, reason);
  }

  /** The worker reports through {@link #accept}: this passes a record straight to the plane. */
  @Override
  public boolean event(String workflowId, SegmentEvent type, long seq, Map<String, Object> details) {
    return plane.event(workflowId, type, seq, details);
  }

  /** The worker's output reaches the plane when a segment ends (see {@link #accept}): this passes it straight on. */
  @Override
  public void output(String workflowId, String segment, byte[] bytes) {
    plane.output(workflowId, segment, bytes);
  }

  /** The worker reports through {@link #accept}: this passes an exit straight to the plane. */
  @Override
  public void exited(String workflowId, int exitCode, String logTail) {
    plane.exited(workflowId, exitCode, logTail);
  }

  // ----- events -----

  @Override
  public void accept(WorkflowEvent e) {
    switch (e.type()) {
      case STARTED -> plane.event(e.workflowId(), SegmentEvent.PROCESS_STARTED, e.seq(), e.details());
      case CHECKPOINTED -> {
        // A crash from here on resumes from this image: what the segment printed before it is
        // shipped first, or it would be lost with the worker's spool (found by CrashPointsIT).
        shipSoFar(e.workflowId());
        if (plane.event(e.workflowId(), SegmentEvent.CHECKPOINTED, e.seq(), e.details())) {
          CrashPoint.reach(CrashPoint.SAVEPOINT_RECORDED);
          janitor.superseded(e.workflowId(), e.seq());
        }
      }
      case CHECKPOINT_FAILED -> plane.event(e.workflowId(), SegmentEvent.CHECKPOINT_FAILED, e.seq(), e.details());
      case RESUMED -> plane.event(e.workflowId(), SegmentEvent.RESUMED, e.seq(), e.details());
      case EXITED -> {
        release();
        int code = ((Number) e.details().get("exitCode")).intValue();
        if (!fenced) {
          String tail = code == 0 ? "" : tail(worker.logFile(e.workflowId()), 2000);
          shipLog(e.workflowId());
          plane.exited(e.workflowId(), code, tail);
        }
        worker.forget(e.workflowId());
      }
      // SUSPENDED and RESTORE_FAILED reach the plane through waiting() and undeliverable();
      // WAKING is recorded by the plane when it decides the wake.
      case SUSPENDED, RESTORE_FAILED, WAKING, WAITING_IN_MEMORY -> { }
    }
  }

  /**
   * Ships what the running segment printed so far and keeps its spool: the segment goes on, and
   * its next ship adds only what it prints from now on.
   */
  private void shipSoFar(String workflowId) {
    ship(workflowId, false);
  }

  /** Ships what the segment that just ended printed, and empties the local spool for the next one. */
  private void shipLog(String workflowId) {
    ship(workflowId, true);
  }

  private void ship(String workflowId, boolean segmentEnded) {
    if (!shipLogs) {
      return;
    }
    Path log = worker.logFile(workflowId);
    try {
      if (Files.exists(log)) {
        // A segment unnamed here (the worker restarted in between) is still one run: any unique name does.
        String segment = segments.computeIfAbsent(workflowId, id -> "unnamed-" + java.util.UUID.randomUUID());
        plane.output(workflowId, segment, Files.readAllBytes(log));
        if (segmentEnded) {
          Files.delete(log);
        }
      }
      if (segmentEnded) {
        segments.remove(workflowId);
      }
    } catch (IOException | RuntimeException e) {
      System.err.println("torpor worker: the output of " + workflowId + (segmentEnded ? " stays in " + log
          : " before its savepoint is shipped with the rest of its segment") + ": " + e);
    }
  }

  private static String tail(Path log, int bytes) {
    try (RandomAccessFile f = new RandomAccessFile(log.toFile(), "r")) {
      long start = Math.max(0, f.length() - bytes);
      byte[] b = new byte[(int) (f.length() - start)];
      f.seek(start);
      f.readFully(b);
      return new String(b, StandardCharsets.UTF_8).strip();
    } catch (IOException e) {
      return "(log unreadable: " + e.getMessage() + ")";
    }
  }
}
