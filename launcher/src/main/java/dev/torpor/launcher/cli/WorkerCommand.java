package dev.torpor.launcher.cli;

import dev.torpor.launcher.http.ApiAccess;
import dev.torpor.launcher.http.HttpApi;
import dev.torpor.launcher.internal.CriuEngine;
import dev.torpor.launcher.internal.ImagePacker;
import dev.torpor.launcher.internal.SystemFacts;
import dev.torpor.launcher.server.Server;
import dev.torpor.scheduler.ControlPlaneConfig;
import dev.torpor.storage.ImageStore;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Runs workflow JVMs for a cluster: no API, a lease, clustered Quartz on PostgreSQL, a shared store. */
@Command(
    name = "worker",
    mixinStandardHelpOptions = true,
    description = {
      "Joins a Torpor cluster as a worker: takes timers and dispatches from Quartz's clustered job store in the",
      "PostgreSQL database named by --db-url while it has a free slot (--max-running), runs and restores workflow",
      "JVMs, and puts their images in the shared --store (s3://BUCKET/PREFIX, or a directory every worker sees).",
      "It holds a lease that it renews every second; if it dies, its running workflows resume on the other workers",
      "from their last image once the lease expires (--lease-ttl), and its JVMs die with it. The API is served by",
      "`torpor server --no-worker` against the same database and store."
    })
public final class WorkerCommand implements Callable<Integer> {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Mixin WorkerOptions worker;

  @Mixin DatabaseOptions database;

  @Option(names = "--name", defaultValue = "${TORPOR_WORKER_NAME}",
      description = "This worker's name, unique in the cluster and the same across its restarts (a restarted worker"
          + " hands its old lease over at once) (env TORPOR_WORKER_NAME; default: the host name and a hash of --data).")
  String name;

  @Option(names = "--max-running", defaultValue = "${TORPOR_MAX_RUNNING:-8}",
      description = "How many workflow JVMs may run here at once; suspended workflows take none (env TORPOR_MAX_RUNNING;"
          + " default: ${DEFAULT-VALUE}). A full worker takes no wakes: they wait in Quartz for a worker with room.")
  int maxRunning;

  @Option(names = "--quiet", description = "Do not print workflow events to stderr.")
  boolean quiet;

  @Option(names = "--metrics-listen", paramLabel = "HOST:PORT", defaultValue = "${TORPOR_METRICS_LISTEN}",
      description = "Serve this worker's metrics (Prometheus text) at http://HOST:PORT/metrics, behind a bearer token:"
          + " TORPOR_TOKEN, or <data>/api-token, made at the first start (env TORPOR_METRICS_LISTEN; default: none)."
          + " Loopback addresses only: the token must not cross the network in clear.")
  String metricsListen;

  @Override
  public Integer call() throws Exception {
    if (maxRunning < 1) {
      throw new IllegalArgumentException("--max-running must be at least 1, got " + maxRunning);
    }
    java.net.InetSocketAddress metricsBind = metricsListen == null || metricsListen.isBlank() ? null
        : loopbackOnly(metricsListen); // bad input is refused before anything starts
    String me = nameOrDefault(name, worker.data);
    var options = database.cluster();
    var err = spec.commandLine().getErr();
    // The plane's data directory is where application jars are: the cluster-wide lib directory.
    ControlPlaneConfig db = database.sharedConfig("a worker", worker.lib(), worker.data.resolve("logs"), maxRunning);
    CriuEngine criu = CriuEngine.locate();
    ImageStore store = worker.openStore(err);
    Server node = Server.cluster(db, store, Optional.of(new Server.ClusterWorker(me, maxRunning, criu,
        worker.workerConfig(null, err), WorkerOptions.printer(err, quiet))), options, Server.Retention.DEFAULT, false, err);
    HttpApi metrics = null;
    if (metricsBind != null) {
      try {
        metrics = metrics(node, metricsBind, err);
      } catch (IOException | RuntimeException e) {
        node.close();
        store.close();
        throw e;
      }
    }
    HttpApi metricsApi = metrics;
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      if (metricsApi != null) {
        metricsApi.close();
      }
      node.close();
      store.close();
      stopped.countDown();
    }, "torpor-shutdown"));
    err.println("torpor worker: " + me + " joined as " + node.nodeId() + " (data " + worker.data.toAbsolutePath()
        + ", lib " + worker.lib().toAbsolutePath() + ", run dir " + worker.runBase + ", store " + store.describe()
        + ", up to " + maxRunning + " running JVMs, lease " + options.leaseTtl().toSeconds() + " s)");
    err.flush();
    stopped.await();
    return 0;
  }

  /** The metrics listener: loopback only, the token of {@code TORPOR_TOKEN} or {@code <data>/api-token}. */
  private HttpApi metrics(Server node, java.net.InetSocketAddress bind, java.io.PrintWriter err) throws IOException {
    ApiToken.Found token = ApiToken.forServer(worker.data, null, System.getenv("TORPOR_TOKEN"), err);
    HttpApi api = HttpApi.metricsOnly(bind, new ApiAccess(token.token(), Optional.empty(), List.of(), List.of(), false),
        node.metrics()::scrape).start();
    err.println("torpor worker: metrics at http://" + metricsListen + "/metrics (token: " + token.source() + ")");
    return api;
  }

  static java.net.InetSocketAddress loopbackOnly(String listen) {
    java.net.InetSocketAddress bind = ServerCommand.parseListen(listen);
    if (bind.isUnresolved() || !bind.getAddress().isLoopbackAddress()) {
      throw new IllegalArgumentException("--metrics-listen " + listen + " is not a loopback address: the token"
          + " would cross the network in clear; listen on 127.0.0.1 and scrape through a local agent or a TLS proxy");
    }
    return bind;
  }

  /** {@code name}, checked, or the host name and a hash of the data directory. */
  static String nameOrDefault(String name, Path data) {
    if (name == null || name.isBlank()) {
      String hash = HexFormat.of().formatHex(ImagePacker.sha256().digest(
          data.toAbsolutePath().toString().getBytes(StandardCharsets.UTF_8))).substring(0, 6);
      String host = SystemFacts.hostName().replaceAll("[^A-Za-z0-9._-]", "-");
      return (host.isEmpty() ? "worker" : host) + "-" + hash;
    }
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("--name must be 1 to 64 letters, digits, '.', '_' or '-', starting with a"
          + " letter or digit, not '" + name + "'");
    }
    return name;
  }

}
