package dev.torpor.launcher.server;

import dev.torpor.launcher.internal.CheckpointEngine;
import dev.torpor.launcher.internal.Worker;
import dev.torpor.launcher.internal.WorkflowEvent;
import dev.torpor.scheduler.ControlPlane;
import dev.torpor.scheduler.ControlPlaneConfig;
import dev.torpor.scheduler.internal.JdbcControlPlane;
import dev.torpor.storage.ImageStore;
import java.io.IOException;
import java.io.PrintWriter;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;

/** The control plane and an embedded worker, wired together; the HTTP API goes in front. */
public final class Server implements AutoCloseable {
  private final JdbcControlPlane plane;
  private final Worker worker;
  private final ImageJanitor janitor;

  private Server(JdbcControlPlane plane, Worker worker, ImageJanitor janitor) {
    this.plane = plane;
    this.worker = worker;
    this.janitor = janitor;
  }

  /** How long finished workflows keep their last image, and how often images are collected. */
  public record Retention(Duration keepLastImage, Duration gcInterval) {
    /** Keep the last image for a day; collect every ten minutes. */
    public static final Retention DEFAULT = new Retention(Duration.ofDays(1), Duration.ofMinutes(10));

    public Retention {
      if (keepLastImage.isNegative()) {
        throw new IllegalArgumentException("the image retention must not be negative, got " + keepLastImage);
      }
      if (gcInterval.isNegative() || gcInterval.isZero()) {
        throw new IllegalArgumentException("the image gc interval must be positive, got " + gcInterval);
      }
    }
  }

  /**
   * Kills workflow JVMs a previous server left behind, opens the registry, recovers, and starts
   * firing timers.
   */
  public static Server start(ControlPlaneConfig db, ImageStore store, CheckpointEngine engine, Worker.Config config,
      int maxRunning, Retention retention, Consumer<WorkflowEvent> print, PrintWriter err) throws IOException {
    List<Long> orphans = Orphans.killUnder(config.runBase());
    if (!orphans.isEmpty()) {
      err.println("torpor server: killed " + orphans.size() + " workflow JVM(s) left by a previous server: " + orphans
          + "; their workflows resume from their last image");
    }
    JdbcControlPlane plane = new JdbcControlPlane(db, "torpor-" + ProcessHandle.current().pid() + "-" + System.nanoTime(), false);
    try {
      ImageJanitor janitor = new ImageJanitor(store, plane, retention.keepLastImage(), Clock.systemUTC(), err);
      ServerWorker gateway = new ServerWorker(maxRunning, plane, janitor);
      Worker worker = new Worker(config, store, engine, gateway, e -> {
        print.accept(e);
        gateway.accept(e);
      });
      gateway.attach(worker);
      plane.start(gateway);
      janitor.start(retention.gcInterval());
      return new Server(plane, worker, janitor);
    } catch (IOException | RuntimeException e) {
      plane.close();
      throw e;
    }
  }

  public ControlPlane controlPlane() {
    return plane;
  }

  /** The images of the store: summaries and garbage collection. */
  public ImageJanitor images() {
    return janitor;
  }

  @Override
  public void close() {
    janitor.close();
    plane.close();
    worker.close();
  }
}
