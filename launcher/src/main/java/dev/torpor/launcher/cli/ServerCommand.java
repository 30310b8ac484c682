package dev.torpor.launcher.cli;

import dev.torpor.launcher.http.HttpApi;
import dev.torpor.launcher.internal.CriuEngine;
import dev.torpor.launcher.internal.Worker;
import dev.torpor.launcher.server.Server;
import dev.torpor.scheduler.ControlPlaneConfig;
import dev.torpor.storage.ImageStore;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Runs the control plane, an embedded worker and the HTTP API until stopped. */
@Command(
    name = "server",
    mixinStandardHelpOptions = true,
    description = {
      "Runs Torpor in one process: the control plane (registry, signal mailbox, history and Quartz timers in an",
      "embedded H2 database, or PostgreSQL with --db-url), an embedded worker, the local image store, and the",
      "HTTP API on 127.0.0.1. Survives kill -9: on restart every timer that fell due fires, and workflows that",
      "were running resume from their last image.",
      "Every option can also come from the environment (shown below) or from a properties file named by",
      "TORPOR_CONFIG whose keys are the long option names without dashes (e.g. listen=127.0.0.1:7777)."
    })
public final class ServerCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Mixin WorkerOptions worker;

  @Option(names = "--listen", defaultValue = "${TORPOR_LISTEN:-127.0.0.1:7777}",
      description = "Address and port of the HTTP API (env TORPOR_LISTEN; default: ${DEFAULT-VALUE})."
          + " Any address other than loopback requires --token.")
  String listen;

  @Option(names = "--token", defaultValue = "${TORPOR_TOKEN}",
      description = "Bearer token the HTTP API requires (env TORPOR_TOKEN). Required unless bound to loopback.")
  String token;

  @Mixin DatabaseOptions database;

  @Option(names = "--no-worker",
      description = "Run no workflow JVMs here: the API and the scheduler of a cluster whose workers are `torpor worker`"
          + " processes sharing the same --db-url (PostgreSQL) and --store.")
  boolean noWorker;

  @Option(names = "--cluster",
      description = "Join a cluster as the API server and as one of its workers (named by --name): other `torpor"
          + " worker` processes share the same --db-url (PostgreSQL) and --store.")
  boolean cluster;

  @Option(names = "--name", defaultValue = "${TORPOR_WORKER_NAME}",
      description = "With --cluster: this worker's name, unique in the cluster (env TORPOR_WORKER_NAME; default:"
          + " the host name and a hash of --data).")
  String name;

  @Option(names = "--max-running", defaultValue = "${TORPOR_MAX_RUNNING:-8}",
      description = "How many workflow JVMs may run at once; suspended workflows take none (env TORPOR_MAX_RUNNING;"
          + " default: ${DEFAULT-VALUE}). Wakes beyond it wait in Quartz.")
  int maxRunning;

  @Option(names = "--image-retention", defaultValue = "${TORPOR_IMAGE_RETENTION:-1d}", converter = DurationConverter.class,
      description = "How long a finished workflow keeps its last image, e.g. 12h, 7d, 0 (env TORPOR_IMAGE_RETENTION;"
          + " default: ${DEFAULT-VALUE}). Older images go at once; a live workflow keeps only its newest.")
  Duration imageRetention;

  @Option(names = "--image-gc-interval", defaultValue = "${TORPOR_IMAGE_GC_INTERVAL:-10m}", converter = DurationConverter.class,
      description = "How often images are collected (env TORPOR_IMAGE_GC_INTERVAL; default: ${DEFAULT-VALUE});"
          + " `torpor images gc` collects now.")
  Duration imageGcInterval;

  @Option(names = "--quiet", description = "Do not print workflow events to stderr.")
  boolean quiet;

  @Override
  public Integer call() throws Exception {
    if (maxRunning < 1) {
      throw new IllegalArgumentException("--max-running must be at least 1, got " + maxRunning);
    }
    if (imageGcInterval.isZero()) {
      throw new IllegalArgumentException("--image-gc-interval must be more than 0");
    }
    if (noWorker && cluster) {
      throw new IllegalArgumentException("--no-worker and --cluster exclude each other: --no-worker serves the API"
          + " only, --cluster also runs a worker");
    }
    InetSocketAddress bind = parseListen(listen);
    Path logs = worker.data.resolve("logs");
    var err = spec.commandLine().getErr();
    Server.Retention retention = new Server.Retention(imageRetention, imageGcInterval);
    Server server;
    ImageStore store;
    if (noWorker || cluster) {
      ControlPlaneConfig db = database.sharedConfig(noWorker ? "--no-worker" : "--cluster", worker.data, logs,
          cluster ? maxRunning : 1);
      var options = database.cluster();
      Optional<Server.ClusterWorker> local = Optional.empty();
      if (cluster) {
        local = Optional.of(new Server.ClusterWorker(WorkerCommand.nameOrDefault(name, worker.data), maxRunning,
            CriuEngine.locate(), worker.workerConfig(null, err), WorkerOptions.printer(err, quiet)));
      }
      store = worker.openStore();
      server = Server.cluster(db, store, local, options, retention, true, err);
    } else {
      CriuEngine criu = CriuEngine.locate();
      ControlPlaneConfig db = database.config(worker.data, logs);
      store = worker.openStore();
      server = Server.start(db, store, criu, worker.workerConfig(null, err), maxRunning, retention,
          WorkerOptions.printer(err, quiet), err);
    }
    HttpApi api = new HttpApi(server.controlPlane(), server.images(), bind, token == null || token.isBlank() ? null : token);
    api.start();
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      api.close();
      server.close();
      store.close();
      stopped.countDown();
    }, "torpor-shutdown"));
    err.println("torpor server: listening on http://" + bind.getHostString() + ":" + api.port()
        + " (data " + worker.data.toAbsolutePath() + ", database " + (database.embedded() ? "embedded H2" : database.dbUrl)
        + ", store " + store.describe() + (noWorker ? ", no worker: workflows run on `torpor worker` nodes"
            : ", up to " + maxRunning + " running JVMs" + (cluster ? " as cluster worker " + server.nodeId() : "")) + ")");
    err.flush();
    stopped.await();
    return 0;
  }

  static InetSocketAddress parseListen(String listen) {
    int colon = listen.lastIndexOf(':');
    if (colon <= 0 || colon == listen.length() - 1) {
      throw new IllegalArgumentException("--listen must be HOST:PORT, e.g. 127.0.0.1:7777, not '" + listen + "'");
    }
    String host = listen.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    int port;
    try {
      port = Integer.parseInt(listen.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--listen port must be a number, not '" + listen.substring(colon + 1) + "'");
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("--listen port must be 0 to 65535, not " + port);
    }
    return new InetSocketAddress(host, port);
  }
}
