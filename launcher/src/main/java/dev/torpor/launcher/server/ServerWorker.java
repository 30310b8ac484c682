package dev.torpor.launcher.server;

import dev.torpor.internal.protocol.Suspend;
import dev.torpor.launcher.internal.Delivery;
import dev.torpor.launcher.internal.Supervisor;
import dev.torpor.launcher.internal.Worker;
import dev.torpor.launcher.internal.WorkflowEvent;
import dev.torpor.launcher.internal.WorkflowSpec;
import dev.torpor.scheduler.WorkerCallbacks;
import dev.torpor.scheduler.WorkerGateway;
import dev.torpor.scheduler.Wakeup;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Semaphore;
import java.util.function.Consumer;

/**
 * Joins the embedded {@link Worker} to the control plane: the worker's gateway (capacity,
 * start, wake, kill) on one side, the worker's supervisor and event listener on the other.
 * A slot is one live workflow JVM: taken before a start or a restore, given back when the JVM
 * is frozen into an image, exits, or could not be restored.
 */
public final class ServerWorker implements WorkerGateway, Supervisor, Consumer<WorkflowEvent> {
  private final Semaphore slots;
  private final WorkerCallbacks plane;
  private final ImageJanitor janitor;
  private volatile Worker worker;

  public ServerWorker(int maxRunning, WorkerCallbacks plane, ImageJanitor janitor) {
    this.slots = new Semaphore(maxRunning);
    this.plane = plane;
    this.janitor = janitor;
  }

  public void attach(Worker w) {
    this.worker = w;
  }

  // ----- gateway -----

  @Override
  public boolean tryReserve() {
    return slots.tryAcquire();
  }

  @Override
  public void release() {
    slots.release();
  }

  @Override
  public void start(String workflowId, Path appJar, String mainClass, List<String> args, List<String> javaOptions)
      throws IOException {
    worker.start(new WorkflowSpec(workflowId, List.of(appJar), mainClass, args, javaOptions, WorkflowSpec.currentJavaHome()));
  }

  @Override
  public void wake(String workflowId, long seq, Wakeup wakeup) throws IOException {
    worker.adopt(workflowId, seq);
    if (!worker.wake(workflowId, seq, new Delivery(wakeup.reason(), wakeup.signal()))) {
      throw new IOException("the worker does not hold workflow " + workflowId + " waiting on image " + seq);
    }
  }

  @Override
  public void kill(String workflowId) {
    worker.kill(workflowId);
  }

  // ----- supervisor -----

  @Override
  public Optional<Delivery> dueNow(String workflowId, Suspend wait) {
    return plane.dueNow(workflowId, worker.seqOf(workflowId), wait.kind().name(), wait.wakeAt(), wait.signal())
        .map(w -> new Delivery(w.reason(), w.signal()));
  }

  @Override
  public void waiting(String workflowId, long seq, Suspend wait, boolean inMemory, Map<String, Object> details) {
    if (!inMemory) {
      slots.release();
    }
    plane.waiting(workflowId, seq, wait.kind().name(), wait.wakeAt(), wait.signal(), inMemory, details);
    if (!inMemory) {
      janitor.superseded(workflowId, seq); // only once the registry names the new image
    }
  }

  @Override
  public void undeliverable(String workflowId, long seq, Suspend wait, Delivery delivery) {
    slots.release();
    plane.undeliverable(workflowId, seq, new Wakeup(delivery.reason(), delivery.signal()), worker.lastError(workflowId));
  }

  // ----- events -----

  @Override
  public void accept(WorkflowEvent e) {
    switch (e.type()) {
      case STARTED -> plane.event(e.workflowId(), "PROCESS_STARTED", e.seq(), e.details());
      case CHECKPOINTED -> {
        plane.event(e.workflowId(), e.type().name(), e.seq(), e.details());
        janitor.superseded(e.workflowId(), e.seq());
      }
      case CHECKPOINT_FAILED, RESUMED -> plane.event(e.workflowId(), e.type().name(), e.seq(), e.details());
      case EXITED -> {
        slots.release();
        int code = ((Number) e.details().get("exitCode")).intValue();
        plane.exited(e.workflowId(), code, code == 0 ? "" : tail(worker.logFile(e.workflowId()), 2000));
        worker.forget(e.workflowId());
      }
      // SUSPENDED and RESTORE_FAILED reach the plane through waiting() and undeliverable();
      // WAKING is recorded by the plane when it decides the wake.
      case SUSPENDED, RESTORE_FAILED, WAKING, WAITING_IN_MEMORY -> { }
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
