package dev.torpor.launcher.server;

import dev.torpor.launcher.internal.CheckpointEngine;
import dev.torpor.launcher.internal.ProcessScan;
import dev.torpor.launcher.internal.SystemFacts;
import dev.torpor.launcher.internal.WorkflowSpec;
import dev.torpor.launcher.internal.Worker;
import dev.torpor.launcher.internal.WorkflowEvent;
import dev.torpor.scheduler.ClusterOptions;
import dev.torpor.scheduler.ControlPlane;
import dev.torpor.scheduler.ControlPlaneConfig;
import dev.torpor.scheduler.internal.JdbcControlPlane;
import dev.torpor.scheduler.internal.Leases;
import dev.torpor.storage.ImageStore;
import java.io.IOException;
import java.io.PrintWriter;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/** The control plane and an embedded worker, wired together; the HTTP API goes in front. */
public final class Server implements AutoCloseable {
  private final JdbcControlPlane plane;
  private final Worker worker;
  private final ImageJanitor janitor;
  private final TorporMetrics metrics;

  private Server(JdbcControlPlane plane, Worker worker, ImageJanitor janitor, TorporMetrics metrics) {
    this.plane = plane;
    this.worker = worker;
    this.janitor = janitor;
    this.metrics = metrics;
  }

  /** This node's metrics ({@code /metrics}). */
  public TorporMetrics metrics() {
    return metrics;
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
    // A single server owns its whole run base: what runs under it was left by its previous
    // incarnation (kill -9 does not take the workflow JVMs with it), and resumes from its image.
    List<Long> orphans = new java.util.ArrayList<>(ProcessScan.killUnder(config.runBase()));
    orphans.addAll(ProcessScan.killOrphansOf(config.user().namespaceRootUid()));
    if (!orphans.isEmpty()) {
      err.println("torpor server: killed " + orphans.size() + " workflow JVM(s) left by a previous server: " + orphans
          + "; their workflows resume from their last image");
    }
    JdbcControlPlane plane = new JdbcControlPlane(db, "torpor-" + ProcessHandle.current().pid() + "-" + System.nanoTime(), false);
    try {
      ImageJanitor janitor = new ImageJanitor(store, plane, retention.keepLastImage(), Clock.systemUTC(), err);
      ServerWorker gateway = new ServerWorker(maxRunning, plane, janitor);
      TorporMetrics metrics = new TorporMetrics(plane::countByState, gateway::freeSlots);
      plane.listen(metrics);
      Worker worker = new Worker(config, store, engine, gateway, e -> {
        print.accept(e);
        metrics.accept(e);
        gateway.accept(e);
      });
      gateway.attach(worker);
      plane.start(gateway);
      janitor.start(retention.gcInterval());
      return new Server(plane, worker, janitor, metrics);
    } catch (IOException | RuntimeException e) {
      plane.close();
      throw e;
    }
  }

  /**
   * A node of a cluster: the registry and Quartz on a shared PostgreSQL, images and application
   * jars in a shared store. With {@code worker} it runs workflow JVMs under a lease named {@code
   * name}, taking timers and dispatches (Quartz, clustered) while it has a free slot; without, it
   * only serves the API and collects images. Every node watches the leases and resumes elsewhere
   * the workflows of a worker that stopped renewing its own.
   *
   * @param collectImages whether this node collects images every {@code retention.gcInterval()}
   *     (one node, the API server, is enough)
   */
  public static Server cluster(ControlPlaneConfig db, ImageStore store, Optional<ClusterWorker> worker,
      ClusterOptions options, Retention retention, boolean collectImages, PrintWriter err) throws IOException {
    JdbcControlPlane plane = new JdbcControlPlane(db, worker.map(ClusterWorker::name).orElse("api")
        + "-" + ProcessHandle.current().pid(), true);
    try {
      plane.publishAppsTo(store);
      ImageJanitor janitor = new ImageJanitor(store, plane, retention.keepLastImage(), Clock.systemUTC(), err);
      Worker w = null;
      TorporMetrics metrics;
      if (worker.isPresent()) {
        ClusterWorker cw = worker.get();
        ServerWorker gateway = new ServerWorker(cw.maxRunning(), plane, janitor, Optional.of(store), plane::capacity, true);
        metrics = new TorporMetrics(plane::countByState, gateway::freeSlots);
        w = new Worker(cw.config().inCluster(), store, cw.engine(), gateway, e -> {
          cw.print().accept(e);
          metrics.accept(e);
          gateway.accept(e);
        });
        gateway.attach(w);
        Map<String, Object> facts = new LinkedHashMap<>();
        facts.put("jdk", SystemFacts.jdk(WorkflowSpec.currentJavaHome()));
        facts.put("engine", cw.engine().describe());
        facts.put("pid", ProcessHandle.current().pid());
        facts.put("host", SystemFacts.hostName());
        Leases.Member member = new Leases.Member(cw.name(), cw.maxRunning(), facts, why -> gateway.fence(), id -> {
          gateway.unfence();
          err.println("torpor worker: " + cw.name() + " holds lease " + id);
          err.flush();
        });
        plane.listen(metrics);
        plane.startClustered(Optional.of(gateway), Optional.of(member), options);
      } else {
        metrics = new TorporMetrics(plane::countByState, null);
        plane.listen(metrics);
        plane.startClustered(Optional.empty(), Optional.empty(), options);
      }
      if (collectImages) {
        janitor.start(retention.gcInterval());
      }
      return new Server(plane, w, janitor, metrics);
    } catch (IOException | RuntimeException e) {
      plane.close();
      throw e;
    }
  }

  /**
   * The worker of a cluster node.
   *
   * @param name unique in the cluster, and the same across the worker's restarts
   * @param maxRunning workflow JVMs alive at once (the Quartz threads of this node too)
   */
  public record ClusterWorker(String name, int maxRunning, CheckpointEngine engine, Worker.Config config,
      Consumer<WorkflowEvent> print) {}

  /** This node's id in the cluster (a worker's lease), for logs. */
  public String nodeId() {
    return plane.nodeId();
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
    if (worker != null) {
      worker.close();
    }
  }
}
