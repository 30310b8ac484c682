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
import java.util.List;
import java.util.function.Consumer;

/** The control plane and an embedded worker, wired together; the HTTP API goes in front. */
public final class Server implements AutoCloseable {
  private final JdbcControlPlane plane;
  private final Worker worker;

  private Server(JdbcControlPlane plane, Worker worker) {
    this.plane = plane;
    this.worker = worker;
  }

  /**
   * Kills workflow JVMs a previous server left behind, opens the registry, recovers, and starts
   * firing timers.
   */
  public static Server start(ControlPlaneConfig db, ImageStore store, CheckpointEngine engine, Worker.Config config,
      int maxRunning, Consumer<WorkflowEvent> print, PrintWriter err) throws IOException {
    List<Long> orphans = Orphans.killUnder(config.runBase());
    if (!orphans.isEmpty()) {
      err.println("torpor server: killed " + orphans.size() + " workflow JVM(s) left by a previous server: " + orphans
          + "; their workflows resume from their last image");
    }
    JdbcControlPlane plane = new JdbcControlPlane(db, "torpor-" + ProcessHandle.current().pid() + "-" + System.nanoTime(), false);
    try {
      ServerWorker gateway = new ServerWorker(maxRunning, plane);
      Worker worker = new Worker(config, store, engine, gateway, e -> {
        print.accept(e);
        gateway.accept(e);
      });
      gateway.attach(worker);
      plane.start(gateway);
      return new Server(plane, worker);
    } catch (IOException | RuntimeException e) {
      plane.close();
      throw e;
    }
  }

  public ControlPlane controlPlane() {
    return plane;
  }

  @Override
  public void close() {
    plane.close();
    worker.close();
  }
}
