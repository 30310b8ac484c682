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

  @Option(names = "--db-url", defaultValue = "${TORPOR_DB_URL}",
      description = "JDBC URL of the registry and Quartz job store, e.g. jdbc:postgresql://127.0.0.1/torpor"
          + " (env TORPOR_DB_URL; default: an H2 file database in <data>/db).")
  String dbUrl;

  @Option(names = "--db-user", defaultValue = "${TORPOR_DB_USER}", description = "Database user (env TORPOR_DB_USER).")
  String dbUser;

  @Option(names = "--db-password", defaultValue = "${TORPOR_DB_PASSWORD}",
      description = "Database password (env TORPOR_DB_PASSWORD).")
  String dbPassword;

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
    InetSocketAddress bind = parseListen(listen);
    CriuEngine criu = CriuEngine.locate();
    Path logs = worker.data.resolve("logs");
    ControlPlaneConfig db = dbUrl == null || dbUrl.isBlank()
        ? ControlPlaneConfig.embedded(worker.data, logs)
        : new ControlPlaneConfig(dbUrl, dbUser, dbPassword, worker.data, logs, 4, Duration.ofSeconds(5));
    var err = spec.commandLine().getErr();
    ImageStore store = worker.openStore();
    Server server = Server.start(db, store, criu, worker.workerConfig(null, err),
        maxRunning, new Server.Retention(imageRetention, imageGcInterval), WorkerOptions.printer(err, quiet), err);
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
        + " (data " + worker.data.toAbsolutePath() + ", database " + (dbUrl == null ? "embedded H2" : dbUrl)
        + ", store " + store.describe() + ", up to " + maxRunning + " running JVMs)");
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
