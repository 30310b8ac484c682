package dev.torpor.internal;

import dev.torpor.CheckpointException;
import dev.torpor.Signal;
import dev.torpor.TorporException;
import dev.torpor.internal.protocol.FrameCodec;
import dev.torpor.internal.protocol.Resumed;
import dev.torpor.internal.protocol.Suspend;
import dev.torpor.WaitKind;
import dev.torpor.internal.protocol.Wake;
import dev.torpor.WakeReason;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;
import org.crac.Resource;

/**
 * The runtime of a JVM started by a worker. A wait runs the resources' {@code
 * beforeCheckpoint} hooks, marks the output stream, sends SUSPEND over a fresh connection to
 * the worker's control socket, closes it and blocks until a WAKE arrives on the wake socket.
 * Between the two, the worker dumps the process and the process is gone; the WAKE arrives in
 * the restored process. Waits are serialised: one thread suspends the JVM at a time.
 */
public final class SupervisedRuntime implements DurableRuntime {
  /** Environment variables the worker sets. */
  public static final String ENV_WORKFLOW_ID = "TORPOR_WORKFLOW_ID";

  public static final String ENV_RUN_DIR = "TORPOR_RUN_DIR";
  public static final String CONTROL_SOCKET = "ctl.sock";
  public static final String WAKE_SOCKET = "wake.sock";

  private static final int CONNECT_ATTEMPTS = 50;

  private final String workflowId;
  private final Path runDir;
  private final ResourceRegistry resources = new ResourceRegistry();
  private final ReentrantLock lock = new ReentrantLock();
  private final FileOutputStream rawStdout = new FileOutputStream(FileDescriptor.out);
  private WakeListener listener;
  private String workerAddress;
  private long markers;

  public SupervisedRuntime(String workflowId, Path runDir) {
    this.workflowId = workflowId;
    this.runDir = runDir;
    this.workerAddress = runDir.resolve(CONTROL_SOCKET).toString();
  }

  @Override
  public String workflowId() {
    return workflowId;
  }

  @Override
  public boolean isDurable() {
    return true;
  }

  @Override
  public void sleepUntil(Instant wakeAt) {
    suspend(WaitKind.TIMER, Optional.of(wakeAt), Optional.empty());
  }

  @Override
  public Optional<Signal> awaitSignal(String name, Optional<Instant> deadline) {
    Wake w = suspend(WaitKind.SIGNAL, deadline, Optional.of(name));
    if (w.reason() != WakeReason.SIGNAL) {
      return Optional.empty();
    }
    return Optional.of(
        new Signal(
            w.signalName().orElse(name),
            w.signalPayload().orElse(new byte[0]),
            w.signalReceivedAt().orElse(Instant.now())));
  }

  @Override
  public void checkpoint() {
    Wake w = suspend(WaitKind.CHECKPOINT, Optional.empty(), Optional.empty());
    if (w.checkpointFailure().isPresent()) {
      throw new CheckpointException(workflowId, "checkpoint failed: " + w.checkpointFailure().get());
    }
  }

  @Override
  public void register(Resource resource) {
    resources.register(resource);
  }

  private Wake suspend(WaitKind kind, Optional<Instant> wakeAt, Optional<String> signal) {
    lock.lock();
    try {
      List<Throwable> refusals = resources.beforeCheckpoint();
      WakeListener l = listener();
      l.clear();
      String marker = "\u001eTORPOR-SYNC-" + (++markers) + "-" + System.nanoTime() + "\u001e";
      Optional<String> refused =
          refusals.isEmpty() ? Optional.empty() : Optional.of("a resource refused: " + refusals.get(0));
      syncOutput(marker);
      send(new Suspend(workflowId, kind, wakeAt, signal, marker, stackOfCaller(), refused).toFrame());
      // The worker may dump the process from here on; the next line may run in a restored JVM.
      Wake wake = l.take();
      long t0 = System.nanoTime();
      List<Throwable> afterFailures = resources.afterRestore();
      long hooks = System.nanoTime() - t0;
      workerAddress = wake.workerAddress();
      trySend(new Resumed(workflowId, wake.seq(), hooks).toFrame());
      if (!refusals.isEmpty() && kind == WaitKind.CHECKPOINT) {
        CheckpointException e = new CheckpointException(workflowId, "resources refused the checkpoint");
        refusals.forEach(e::addSuppressed);
        afterFailures.forEach(e::addSuppressed);
        throw e;
      }
      for (Throwable t : refusals) {
        System.err.println("torpor: a resource refused the checkpoint; the wait was kept in memory: " + t);
      }
      for (Throwable t : afterFailures) {
        System.err.println("torpor: a resource failed in afterRestore: " + t);
      }
      wake.checkpointFailure()
          .filter(f -> kind != WaitKind.CHECKPOINT)
          .ifPresent(f -> System.err.println("torpor: checkpoint failed, the wait was kept in memory: " + f));
      return wake;
    } finally {
      lock.unlock();
    }
  }

  private WakeListener listener() {
    if (listener == null) {
      try {
        listener = new WakeListener(runDir.resolve(WAKE_SOCKET));
      } catch (IOException e) {
        throw new TorporException("cannot listen on the wake socket in " + runDir + ": " + e.getMessage(), e);
      }
    }
    return listener;
  }

  /** Flushes Java's buffers and writes a marker straight to fd 1 (stdout and stderr share a pipe). */
  private void syncOutput(String marker) {
    System.out.flush();
    System.err.flush();
    try {
      rawStdout.write(marker.getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new TorporException("cannot write to stdout before a checkpoint: " + e.getMessage(), e);
    }
  }

  private void send(dev.torpor.internal.protocol.Frame frame) {
    IOException last = null;
    for (int attempt = 0; attempt < CONNECT_ATTEMPTS; attempt++) {
      try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
        ch.connect(UnixDomainSocketAddress.of(workerAddress));
        FrameCodec.write(Channels.newOutputStream(ch), frame);
        return;
      } catch (IOException e) {
        last = e;
        Uninterruptibles.sleepUntil(Instant.now().plusMillis(100));
      }
    }
    throw new TorporException(
        "workflow " + workflowId + " cannot reach its worker at " + workerAddress + ": " + last.getMessage(), last);
  }

  private void trySend(dev.torpor.internal.protocol.Frame frame) {
    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      ch.connect(UnixDomainSocketAddress.of(workerAddress));
      FrameCodec.write(Channels.newOutputStream(ch), frame);
    } catch (IOException e) {
      System.err.println("torpor: could not tell the worker the workflow resumed: " + e.getMessage());
    }
  }

  /** The waiting thread's stack from the {@code Durable} call down, for {@code torpor status}. */
  private static String stackOfCaller() {
    StackTraceElement[] frames = Thread.currentThread().getStackTrace();
    int start = 0;
    for (int i = 0; i < frames.length; i++) {
      if (frames[i].getClassName().equals("dev.torpor.Durable")) {
        start = i;
        break;
      }
    }
    StringBuilder s = new StringBuilder("\"").append(Thread.currentThread().getName()).append("\"\n");
    for (int i = start; i < frames.length; i++) {
      s.append("\tat ").append(frames[i]).append('\n');
    }
    return s.toString();
  }
}
