package dev.torpor.launcher.internal;

import dev.torpor.PendingWait;
import dev.torpor.internal.SupervisedRuntime;
import dev.torpor.internal.protocol.Frame;
import dev.torpor.internal.protocol.FrameCodec;
import dev.torpor.internal.protocol.ProtocolException;
import dev.torpor.internal.protocol.Suspend;
import dev.torpor.internal.protocol.Wake;
import dev.torpor.scheduler.SegmentEvent;
import dev.torpor.scheduler.WorkerCallbacks;
import dev.torpor.scheduler.Wakeup;
import java.io.IOException;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The supervisor of {@code torpor run --test-control DIR}, which {@code torpor-testing} starts
 * for its real-checkpoint mode: the test decides every wake, on its virtual clock. Each time the
 * workflow waits (its JVM checkpointed and gone), this writes an output marker to the run's
 * stdout, after the workflow's output, and sends the test a SUSPEND (the agent's own frame, with
 * the image's {@code seq}) on {@code DIR/ctl.sock}; the test answers with a WAKE (reason, signals,
 * {@code asOf} on its clock) on {@code DIR/wake.sock}, which this hands to the worker, which
 * restores the image. Nothing is due until the test says so; one workflow per run.
 */
public final class TestClockSupervisor implements WorkerCallbacks, AutoCloseable {
  private final Path dir;
  private final OutputStream out;
  private final ServerSocketChannel wakes;
  private Worker worker;
  private String workflowId;
  private long markers;

  /**
   * @param dir the test's directory of this workflow: the test listens on its {@code ctl.sock};
   *     this binds its {@code wake.sock}
   * @param out the run's stdout, where the worker copies the workflow's output
   */
  public TestClockSupervisor(Path dir, OutputStream out) throws IOException {
    this.dir = dir;
    this.out = out;
    Path socket = dir.resolve(SupervisedRuntime.WAKE_SOCKET);
    Files.deleteIfExists(socket);
    wakes = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    wakes.bind(UnixDomainSocketAddress.of(socket), 8);
    Thread t = new Thread(this::acceptLoop, "torpor-test-wakes");
    t.setDaemon(true);
    t.start();
  }

  public synchronized void attach(Worker w) {
    this.worker = w;
  }

  /** The test decides: nothing is due before it says so. */
  @Override
  public Optional<Wakeup> dueNow(String id, long seq, List<PendingWait> waits) {
    return Optional.empty();
  }

  @Override
  public synchronized boolean waiting(String id, long seq, List<PendingWait> waits, boolean inMemory,
      Map<String, Object> details) {
    workflowId = id;
    String marker = "\u001eTORPOR-SYNC-test-" + (++markers) + "-" + System.nanoTime() + "\u001e";
    try {
      synchronized (out) {
        out.write(marker.getBytes(StandardCharsets.UTF_8)); // after the output the worker copied up to the wait
        out.flush();
      }
      Frame f = new Suspend(id, waits, marker, Optional.empty(), 0, "").toFrame();
      Map<String, byte[]> fields = new LinkedHashMap<>(f.fields());
      fields.put("seq", Long.toString(seq).getBytes(StandardCharsets.UTF_8));
      try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
        ch.connect(UnixDomainSocketAddress.of(dir.resolve(SupervisedRuntime.CONTROL_SOCKET)));
        FrameCodec.write(Channels.newOutputStream(ch), new Frame(f.type(), fields));
      }
    } catch (IOException e) {
      System.err.println("torpor: cannot tell the test that " + id + " waits: " + e.getMessage());
    }
    return true;
  }

  @Override
  public void undeliverable(String id, long seq, Wakeup wakeup, String error) {
    System.err.println("torpor: the test's wake of " + id + " (image " + seq + ") failed: " + error);
  }

  @Override
  public boolean event(String id, SegmentEvent type, long seq, Map<String, Object> details) {
    return true;
  }

  @Override
  public void exited(String id, int exitCode, String logTail) {}

  private void acceptLoop() {
    while (wakes.isOpen()) {
      try (SocketChannel ch = wakes.accept()) {
        Wake w = Wake.from(FrameCodec.read(Channels.newInputStream(ch)));
        Worker target;
        String id;
        synchronized (this) {
          target = worker;
          id = workflowId;
        }
        if (target == null || id == null) {
          System.err.println("torpor: a wake from the test before the workflow waited: ignored");
          continue;
        }
        Wakeup d = new Wakeup(w.reason(), w.signals(), Optional.of(w.asOf()));
        if (!target.wake(id, w.seq(), d)) {
          System.err.println("torpor: the worker does not hold " + id + " waiting on image " + w.seq());
        }
      } catch (ProtocolException e) {
        System.err.println("torpor: refused a frame on the test's wake socket: " + e.getMessage());
      } catch (IOException e) {
        if (wakes.isOpen()) {
          System.err.println("torpor: the test's wake socket: " + e.getMessage());
        }
      }
    }
  }

  @Override
  public void close() throws IOException {
    wakes.close();
  }
}
